/**
 * Timing of every allocation engine at 100, 500 and 1000 assets on a random factor-model problem. Not a test:
 *   npm run build && node dist/bench/allocation.js [--repeat R] [sizes...]   (or `npm run bench -- --only allocation`)
 * Each engine runs R times (default 3; the machine is shared, so the best run is the figure; once when it takes over
 * 5 s); one line per engine
 * and size, plus the QP engines on a second problem shaped like a clustered universe (bounds [0, 1], budget 1,
 * 25 cluster caps of 0.06, marked `+caps`).
 *
 * Figures (ms, best of 3, a shared 2-core machine; the spread between runs is up to ~30%):
 *   engine                    n=100    n=500    n=1000
 *   equal_weight                0.0      0.1       0.0
 *   inverse_vol                 0.0      0.1       0.1
 *   risk_parity                 9.8     53.8     216.1   (coordinate descent before: 5.2 / 786.6 / 12272.0)
 *   hrp                         4.4      8.2      33.5
 *   herc                        8.4     10.1      32.3
 *   barbell                     0.1      0.4       0.5
 *   min_variance                6.8     51.8     377.8
 *   max_sharpe                  6.5     52.3     549.2
 *   efficient_return            7.8     50.3     382.2
 *   efficient_risk             13.8     80.5     580.9   (cold bisection before: 50.6 / 5687.1 / 42255.6)
 *   min_variance +caps          3.5     51.9     367.6
 *   max_sharpe +caps            6.3     36.1     327.3
 *   efficient_return +caps      1.4     51.5     385.2
 *   efficient_risk +caps        6.1     80.3     572.3   (cold bisection before: 63.2 / 6115.2 / 53480.9)
 */
import { BarbellEngine } from '../stages/allocation/engines/barbell.engine.js';
import { EfficientReturnEngine } from '../stages/allocation/engines/efficient-return.engine.js';
import { EfficientRiskEngine } from '../stages/allocation/engines/efficient-risk.engine.js';
import { EqualWeightEngine } from '../stages/allocation/engines/equal-weight.engine.js';
import { HercEngine } from '../stages/allocation/engines/herc.engine.js';
import { HrpEngine } from '../stages/allocation/engines/hrp.engine.js';
import { InverseVolEngine } from '../stages/allocation/engines/inverse-vol.engine.js';
import { MaxSharpeEngine } from '../stages/allocation/engines/max-sharpe.engine.js';
import { MinVarianceEngine } from '../stages/allocation/engines/min-variance.engine.js';
import { RiskParityEngine } from '../stages/allocation/engines/risk-parity.engine.js';
import { portfolioVariance, violation, type AllocationProblem } from '../src/portfolio/engine.js';
import { correlationMatrix } from '../src/math/correlation.js';
import { estimateCovariance, expectedReturns, regulariseCovariance } from '../src/math/covariance-estimators.js';

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

/** The same universe with bounds [0, 1] and 25 clusters (i mod 25) capped at 0.06 each. */
function clustered(p: AllocationProblem): AllocationProblem {
  const groups = Array.from({ length: 25 }, (_, l) => ({ name: `c${l}`, members: p.symbols.map((_, i) => i).filter((i) => i % 25 === l), cap: 0.06 }));
  return { ...p, ub: new Float64Array(p.n).fill(1), groups };
}

type Engine = { run(p: AllocationProblem, params: Record<string, unknown>): { weights: Float64Array } };
const engines: [string, Engine, (p: AllocationProblem) => Record<string, unknown>][] = [
  ['equal_weight', new EqualWeightEngine(), () => ({})], ['inverse_vol', new InverseVolEngine(), () => ({})], ['risk_parity', new RiskParityEngine(), () => ({})],
  ['hrp', new HrpEngine(), () => ({ linkage: 'single' })], ['herc', new HercEngine(), () => ({ linkage: 'ward' })], ['barbell', new BarbellEngine(), () => ({})],
  ['min_variance', new MinVarianceEngine(), () => ({})], ['max_sharpe', new MaxSharpeEngine(), () => ({})],
  ['efficient_return', new EfficientReturnEngine(), () => ({ target_return: 0.1 })],
  // a target 10% above the minimum volatility (found outside the timing)
  ['efficient_risk', new EfficientRiskEngine(), (p) => ({ target_volatility: 1.1 * Math.sqrt(portfolioVariance(p.cov, p.n, new MinVarianceEngine().run(p).weights)) })],
];
const QP_ENGINES = new Set(['min_variance', 'max_sharpe', 'efficient_return', 'efficient_risk']);

const args = process.argv.slice(2);
const ri = args.indexOf('--repeat');
const repeat = ri >= 0 ? Math.max(1, Number(args[ri + 1])) : 3;
const sizes = args.filter((_, i) => ri < 0 || (i !== ri && i !== ri + 1)).map(Number).filter((x) => x > 0);

function time(label: string, n: number, engine: Engine, p: AllocationProblem, params: Record<string, unknown>): void {
  let best = Infinity, w: Float64Array | null = null;
  try {
    for (let r = 0; r < repeat; r++) {
      const t0 = performance.now();
      w = engine.run(p, params).weights;
      best = Math.min(best, performance.now() - t0);
      if (best > 5000) break; // slow engines run once, so that the whole benchmark stays within a few minutes
    }
    console.log(`n=${n}\t${label.padEnd(22)}\t${best.toFixed(1).padStart(9)} ms\tviolation ${violation(p, w!).toExponential(1)}`);
  } catch (e) {
    console.log(`n=${n}\t${label.padEnd(22)}\tfailed: ${(e as Error).message}`);
  }
}

for (const n of sizes.length ? sizes : [100, 500, 1000]) {
  const p = problem(n);
  const pc = clustered(p);
  for (const [name, engine, params] of engines) time(name, n, engine, p, params(p));
  for (const [name, engine, params] of engines) if (QP_ENGINES.has(name)) time(`${name} +caps`, n, engine, pc, params(pc));
}
