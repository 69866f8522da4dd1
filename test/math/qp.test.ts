/** The dense QP solver against the KKT conditions, checked here from scratch on random problems. */
import { QPInfeasibleError, solveQP } from '../../src/math/qp.js';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
}

function randomSpd(n: number, r: () => number): Float64Array {
  const T = n + 5;
  const X = Float64Array.from({ length: n * T }, () => r() - 0.5);
  const Q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let t = 0; t < T; t++) s += X[i * T + t]! * X[j * T + t]!;
    Q[i * n + j] = s / T + (i === j ? 1e-3 : 0);
  }
  return Q;
}

test.each([5, 20, 60])('random box + budget + group QPs satisfy KKT to 1e-10 (n = %i)', (n) => {
  const r = rng(n);
  for (let trial = 0; trial < 10; trial++) {
    const Q = randomSpd(n, r);
    const c = Float64Array.from({ length: n }, () => r() - 0.5);
    const lb = Float64Array.from({ length: n }, () => (r() < 0.3 ? -0.1 : 0));
    const ub = Float64Array.from({ length: n }, () => 2 / n + r() * 0.3);
    const g = Float64Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const cap = 0.3;
    const sol = solveQP({ n, Q, c, eq: { A: [new Float64Array(n).fill(1)], b: [1] }, ineq: { A: [g], b: [cap] }, lb, ub });
    const x = sol.x;
    // primal feasibility
    expect(Math.abs(x.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-10);
    const gx = x.reduce((s, v, i) => s + v * g[i]!, 0);
    expect(gx).toBeLessThanOrEqual(cap + 1e-10);
    for (let i = 0; i < n; i++) { expect(x[i]).toBeGreaterThanOrEqual(lb[i]! - 1e-10); expect(x[i]).toBeLessThanOrEqual(ub[i]! + 1e-10); }
    // stationarity: Qx + c + nu 1 + lambda g - muL + muU = 0, with nu recovered from the free variables
    const grad = Float64Array.from({ length: n }, (_, i) => { let s = c[i]!; for (let j = 0; j < n; j++) s += Q[i * n + j]! * x[j]!; return s; });
    for (let i = 0; i < n; i++) {
      const res = grad[i]! + sol.nu[0]! + sol.lambda[0]! * g[i]! - sol.muLower[i]! + sol.muUpper[i]!;
      expect(Math.abs(res)).toBeLessThan(1e-10);
    }
    // dual feasibility and complementary slackness
    expect(sol.lambda[0]).toBeGreaterThanOrEqual(-1e-12);
    expect(Math.abs(sol.lambda[0]! * (gx - cap))).toBeLessThan(1e-10);
    for (let i = 0; i < n; i++) {
      expect(sol.muLower[i]).toBeGreaterThanOrEqual(-1e-12);
      expect(sol.muUpper[i]).toBeGreaterThanOrEqual(-1e-12);
      expect(Math.abs(sol.muLower[i]! * (x[i]! - lb[i]!))).toBeLessThan(1e-10);
      expect(Math.abs(sol.muUpper[i]! * (ub[i]! - x[i]!))).toBeLessThan(1e-10);
    }
  }
});

test('unconstrained problem: x = -Q^-1 c (2x2 by hand)', () => {
  const sol = solveQP({ n: 2, Q: Float64Array.of(2, 1, 1, 3), c: Float64Array.of(-1, -2) });
  // [2 1; 1 3] x = [1; 2] -> x = [0.2, 0.6]
  expect(sol.x[0]).toBeCloseTo(0.2, 14);
  expect(sol.x[1]).toBeCloseTo(0.6, 14);
});

test('inconsistent constraints raise QPInfeasibleError', () => {
  expect(() => solveQP({ n: 2, Q: Float64Array.of(1, 0, 0, 1), eq: { A: [Float64Array.of(1, 1)], b: [1] }, ub: Float64Array.of(0.3, 0.3) })).toThrow(QPInfeasibleError);
});
