/**
 * Timing of every allocation engine at 100, 500 and 1000 assets on a random factor-model problem. Not a test:
 *   npm run build && node dist/src/math/bench-allocation.js [sizes...]
 */
import { BarbellEngine } from '../../stages/allocation/engines/barbell.engine.js';
import { EqualWeightEngine } from '../../stages/allocation/engines/equal-weight.engine.js';
import { HercEngine } from '../../stages/allocation/engines/herc.engine.js';
import { HrpEngine } from '../../stages/allocation/engines/hrp.engine.js';
import { InverseVolEngine } from '../../stages/allocation/engines/inverse-vol.engine.js';
import { MaxSharpeEngine } from '../../stages/allocation/engines/max-sharpe.engine.js';
import { MinVarianceEngine } from '../../stages/allocation/engines/min-variance.engine.js';
import { RiskParityEngine } from '../../stages/allocation/engines/risk-parity.engine.js';
import { EfficientReturnEngine } from '../../stages/allocation/engines/efficient-return.engine.js';
import type { AllocationProblem } from '../../stages/allocation/engine.js';
import { correlationMatrix } from './correlation.js';
import { estimateCovariance, expectedReturns, regulariseCovariance } from './covariance-estimators.js';

function problem(n: number): AllocationProblem {
  let s = 12345;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
  const normal = () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  const T = 2 * n + 100, k = 8;
  const F = Float64Array.from({ length: k * T }, normal);
  const values = new Float64Array(n * T);
  for (let j = 0; j < n; j++) {
    const load = Array.from({ length: k }, normal);
    for (let t = 0; t < T; t++) values[j * T + t] = 0.0004 + 0.01 * (load.reduce((a, l, f) => a + l * F[f * T + t]!, 0) / 3 + normal());
  }
  const data = { values, nSymbols: n, nDays: T };
  const cov = regulariseCovariance(estimateCovariance(data, { periods: 252 }).cov, n).cov;
  return {
    symbols: Array.from({ length: n }, (_, i) => `S${i}`), n, cov, mu: expectedReturns(data, 'mean', 252), corr: correlationMatrix(data),
    riskFreeRate: 0, budget: 1, lb: new Float64Array(n), ub: new Float64Array(n).fill(Math.max(0.05, 2 / n)), groups: [], linear: [],
  };
}

const sizes = process.argv.slice(2).map(Number).filter((x) => x > 0);
const engines: [string, { run(p: AllocationProblem, params: Record<string, unknown>): unknown }, Record<string, unknown>][] = [
  ['equal_weight', new EqualWeightEngine(), {}], ['inverse_vol', new InverseVolEngine(), {}], ['risk_parity', new RiskParityEngine(), {}],
  ['hrp', new HrpEngine(), { linkage: 'single' }], ['herc', new HercEngine(), { linkage: 'ward' }], ['barbell', new BarbellEngine(), {}],
  ['min_variance', new MinVarianceEngine(), {}], ['max_sharpe', new MaxSharpeEngine(), {}], ['efficient_return', new EfficientReturnEngine(), { target_return: 0.1 }],
];
for (const n of sizes.length ? sizes : [100, 500, 1000]) {
  const p = problem(n);
  for (const [name, engine, params] of engines) {
    const t0 = performance.now();
    try {
      engine.run(p, params);
      console.log(`n=${n}\t${name}\t${(performance.now() - t0).toFixed(1)} ms`);
    } catch (e) {
      console.log(`n=${n}\t${name}\tfailed after ${(performance.now() - t0).toFixed(1)} ms: ${(e as Error).message}`);
    }
  }
}
