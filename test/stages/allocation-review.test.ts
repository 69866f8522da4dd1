/** Constraint cases found in review: floors under cluster caps, caps with shorts, gross caps, budgets. */
import { hrpDistance, hercWeights, hrpWeights, linkage, quasiDiagonalOrder } from '../../src/math/hrp.js';
import { MaxSharpeEngine } from '../../stages/allocation/engines/max-sharpe.engine.js';
import { violation, type AllocationEngine, type AllocationProblem } from '../../src/portfolio/engine.js';
import { validateFile } from '../../src/config/validate.js';
import { builtinRegistry } from '../../stages/index.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let seed = 17;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;

function randomCov(n: number): { cov: Float64Array; corr: Float64Array } {
  const T = 120;
  const R = Array.from({ length: n }, (_, j) => Array.from({ length: T }, () => 0.01 * rand() + 0.005 * Math.sin(j)));
  const cov = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const mi = R[i].reduce((a, b) => a + b) / T, mj = R[j].reduce((a, b) => a + b) / T;
      cov[i * n + j] = R[i].reduce((a, x, t) => a + (x - mi) * (R[j][t] - mj), 0) / (T - 1);
    }
  const corr = cov.map((c, k) => c / Math.sqrt(cov[Math.floor(k / n) * (n + 1)] * cov[(k % n) * (n + 1)]));
  return { cov, corr };
}

test.each(Array.from({ length: 30 }, (_, i) => i))('HRP and HERC keep every floor when cluster caps bind (case %i)', () => {
  const n = 12 + Math.floor((rand() + 0.5) * 12);
  const { cov, corr } = randomCov(n);
  const lo = 0.01 + (rand() + 0.5) * 0.02;
  const lb = new Float64Array(n).fill(lo);
  const ub = new Float64Array(n).fill(1);
  // Three groups; caps that are feasible (each cap holds its group's floors, the caps together hold the budget).
  const groups = [0, 1, 2].map((g) => ({ members: [...Array(n).keys()].filter((i) => i % 3 === g), cap: 0 }));
  for (const g of groups) g.cap = Math.max(g.members.length * lo + 0.02, 0.36);
  const order = quasiDiagonalOrder(linkage(hrpDistance(corr, n), n, 'single'));
  const Z = linkage(hrpDistance(corr, n), n, 'ward');
  for (const w of [hrpWeights(cov, n, order, { lb, ub, groups, budget: 1 }), hercWeights(cov, n, Z, { lb, ub, groups, budget: 1 })]) {
    expect(Math.abs(w.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-9);
    for (let i = 0; i < n; i++) expect(w[i]).toBeGreaterThanOrEqual(lo - 1e-12);
    for (const g of groups) expect(g.members.reduce((a, i) => a + w[i], 0)).toBeLessThanOrEqual(g.cap + 1e-9);
  }
});

test('max_sharpe keeps an asset under its upper bound when others may go short', () => {
  const n = 3;
  const cov = Float64Array.from([0.04, 0.01, 0.0, 0.01, 0.09, 0.02, 0.0, 0.02, 0.16]);
  const p: AllocationProblem = {
    symbols: ['A', 'B', 'C'], n, cov, mu: Float64Array.from([0.3, -0.1, 0.05]), corr: new Float64Array(9), riskFreeRate: 0, budget: 1,
    lb: Float64Array.from([0, -1, -1]), ub: Float64Array.from([1, 1, 1]), groups: [], linear: [],
  };
  const r = (new MaxSharpeEngine() as AllocationEngine).run(p, {});
  expect(r.weights[0]).toBeLessThanOrEqual(1 + 1e-9);
  expect(violation(p, r.weights)).toBeLessThan(1e-9);
});

test('a gross cap is part of every feasibility check', () => {
  const p = { n: 2, lb: Float64Array.from([-1, -1]), ub: Float64Array.from([2, 2]), budget: 1, groups: [], linear: [], gross: 1.2 } as unknown as AllocationProblem;
  expect(violation(p, Float64Array.from([1.3, -0.3]))).toBeCloseTo(0.4, 12); // gross 1.6 over 1.2
  expect(violation(p, Float64Array.from([1.1, -0.1]))).toBeLessThan(1e-12);
});

test('zero or negative risk budgets are refused at validation, naming the symbol', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fractal-rb-'));
  writeFileSync(join(dir, 'p.yaml'), 'pipeline: selection\nversion: "4.0"\nstages:\n  - type: ingestion\n  - type: allocation\n    params: { engine: { name: risk_parity, params: { budgets: { AAPL: 0 } } } }\n');
  const v = await validateFile(join(dir, 'p.yaml'), { registry: builtinRegistry() });
  rmSync(dir, { recursive: true, force: true });
  expect(v.diagnostics.map((d) => `${d.line}:${d.column}:${d.code}`)).toEqual(['6:71:PARAM_OUT_OF_RANGE']);
  expect(v.diagnostics[0].message).toContain('budgets.AAPL');
});
