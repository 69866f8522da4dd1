/** Risk parity by Newton's method against the coordinate descent used before, and the contributions themselves. */
import { regulariseCovariance } from '../../src/math/covariance-estimators.js';
import { riskContributions, riskParity, riskParityCCD } from '../../src/math/risk-parity.js';

function rng(seed: number) {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** A sample covariance of a correlated factor model (T = 2n days), the hard case for coordinate descent. */
function covariance(n: number, seed: number): Float64Array {
  const normal = rng(seed);
  const T = 2 * n, k = 6;
  const F = Float64Array.from({ length: k * T }, normal);
  const X = new Float64Array(n * T);
  for (let i = 0; i < n; i++) {
    const load = Array.from({ length: k }, normal);
    const idio = 0.5 + Math.abs(normal());
    for (let t = 0; t < T; t++) { let s = idio * normal(); for (let f = 0; f < k; f++) s += load[f]! * F[f * T + t]!; X[i * T + t] = 0.01 * s; }
  }
  const C = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
    let s = 0;
    for (let t = 0; t < T; t++) s += X[i * T + t]! * X[j * T + t]!;
    C[i * n + j] = C[j * n + i] = (252 * s) / (T - 1);
  }
  return regulariseCovariance(C, n).cov;
}

test.each([false, true])('n = 300: Newton matches the coordinate descent and the contributions equal the budgets (budgets %s)', (withBudgets) => {
  const n = 300;
  const cov = covariance(n, 42);
  const budgets = withBudgets ? Float64Array.from({ length: n }, (_, i) => 1 + (i % 7)) : undefined;
  const b = budgets ? Float64Array.from(budgets, (v) => v / budgets.reduce((s, x) => s + x, 0)) : new Float64Array(n).fill(1 / n);
  const newton = riskParity(cov, n, budgets);
  const ccd = riskParityCCD(cov, n, budgets);
  expect(newton.sweeps).toBe(0);
  expect(newton.newtonSteps).toBeLessThan(30);
  for (let i = 0; i < n; i++) expect(Math.abs(newton.weights[i]! - ccd.weights[i]!)).toBeLessThan(1e-10 * ccd.weights[i]! + 1e-15);
  expect(Math.abs(newton.weights.reduce((s, x) => s + x, 0) - 1)).toBeLessThan(1e-14);
  const rc = riskContributions(cov, n, newton.weights);
  for (let i = 0; i < n; i++) expect(Math.abs(rc[i]! - b[i]!)).toBeLessThan(1e-13);
  expect(newton.error).toBeLessThan(1e-13);
});

test('small and ill-conditioned cases', () => {
  // two assets: w1 sigma1 = w2 sigma2 when uncorrelated
  const r = riskParity(Float64Array.of(0.04, 0, 0, 0.01), 2);
  expect(r.weights[0]).toBeCloseTo(1 / 3, 15);
  // nearly collinear assets and widely different variances
  const n = 30;
  const C = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) C[i * n + j] = Math.sqrt((i + 1) * (j + 1)) * 1e-3 * (i === j ? 1 : 0.999);
  const s = riskParity(C, n);
  const rc = riskContributions(C, n, s.weights);
  for (let i = 0; i < n; i++) expect(Math.abs(rc[i]! - 1 / n)).toBeLessThan(1e-13);
  expect(() => riskParity(Float64Array.of(0, 0, 0, 1), 2)).toThrow(/positive variances/);
  expect(() => riskParity(Float64Array.of(1, 0, 0, 1), 2, [1, 0])).toThrow(/must be > 0/);
});
