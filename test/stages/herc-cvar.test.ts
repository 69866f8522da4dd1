/**
 * HERC with the CVaR risk measure on a hand-built market: two obvious pairs, (0,1) and (2,3). The expected
 * weights are computed here the textbook way: the top split in inverse proportion to each pair's CVaR 95% (of
 * its inverse-variance portfolio, worst 5 of 100 days averaged), then each pair split by its assets' own CVaR.
 */
import { HercEngine } from '../../stages/allocation/engines/herc.engine.js';
import type { AllocationProblem } from '../../src/portfolio/engine.js';

const T = 100;
let seed = 5;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;
const f1 = Array.from({ length: T }, () => 0.02 * rand());
const f2 = Array.from({ length: T }, () => 0.03 * rand());
const cols = [f1.map((x) => x + 0.002 * rand()), f1.map((x) => 1.5 * x + 0.002 * rand()), f2.map((x) => x + 0.003 * rand()), f2.map((x) => 0.7 * x + 0.003 * rand())];
const values = Float64Array.from(cols.flat());

function cov(a: number[], b: number[]) {
  const ma = a.reduce((s, x) => s + x, 0) / T;
  const mb = b.reduce((s, x) => s + x, 0) / T;
  return a.reduce((s, x, t) => s + (x - ma) * (b[t] - mb), 0) / (T - 1);
}
const n = 4;
const C = new Float64Array(n * n);
for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) C[i * n + j] = cov(cols[i], cols[j]);
const corr = new Float64Array(n * n);
for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) corr[i * n + j] = C[i * n + j] / Math.sqrt(C[i * n + i] * C[j * n + j]);

/** Worst 5 of 100 days, averaged, as a positive loss. */
const cvar = (series: number[]) => -[...series].sort((a, b) => a - b).slice(0, 5).reduce((s, x) => s + x, 0) / 5;
const ivPortfolio = (members: number[]) => {
  const iv = members.map((i) => 1 / C[i * n + i]);
  const tot = iv.reduce((a, b) => a + b, 0);
  return Array.from({ length: T }, (_, t) => members.reduce((s, i, k) => s + (iv[k] / tot) * cols[i][t], 0));
};

test('the top split and each pair split follow the CVaR of each side', () => {
  const p: AllocationProblem = {
    symbols: ['A', 'B', 'C', 'D'], n, cov: C, mu: new Float64Array(n), corr, riskFreeRate: 0, budget: 1,
    lb: new Float64Array(n), ub: new Float64Array(n).fill(1), groups: [], linear: [], returns: { values, days: T },
  };
  const r = new HercEngine().run(p, { linkage: 'single', risk_measure: 'cvar' });
  const cL = cvar(ivPortfolio([0, 1]));
  const cR = cvar(ivPortfolio([2, 3]));
  const left = 1 - cL / (cL + cR);
  const c = [0, 1, 2, 3].map((i) => cvar(cols[i]));
  const expected = [left * (1 - c[0] / (c[0] + c[1])), left * (1 - c[1] / (c[0] + c[1])), (1 - left) * (1 - c[2] / (c[2] + c[3])), (1 - left) * (1 - c[3] / (c[2] + c[3]))];
  Array.from(r.weights).forEach((w, i) => expect(w).toBeCloseTo(expected[i], 12));
  expect(r.diagnostics).toMatchObject({ risk_measure: 'cvar' });
  // And it differs from the variance measure (the check can fail).
  const v = new HercEngine().run(p, { linkage: 'single', risk_measure: 'variance' });
  expect(Math.max(...Array.from(v.weights, (w, i) => Math.abs(w - r.weights[i])))).toBeGreaterThan(1e-4);
});
