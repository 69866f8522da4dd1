/**
 * The meta's allocation across sleeves at one rebalance: an engine, then its declared fallbacks, on the sleeves'
 * out-of-sample returns of one train window, under the bounds, the budget and the direction caps. A small function
 * over the engines (no context, no artifacts), called once per meta rebalance; the selection funnel's allocation
 * stage adds clusters, atoms and beta on top of the same estimates.
 */
import { FractalError, inputError, runError } from '../../src/core/errors.js';
import type { EngineMeta, PluginResolver } from '../../src/core/plugin.js';
import { correlationMatrix } from '../../src/math/correlation.js';
import { estimateCovariance, expectedReturns, regulariseCovariance } from '../../src/math/covariance-estimators.js';
import { QPInfeasibleError } from '../../src/math/qp.js';
import { emptyBookProblem, FEASIBILITY_TOLERANCE, violation, type AllocationEngine, type AllocationProblem } from '../../src/portfolio/engine.js';
import type { SharedAllocationParams } from '../../src/portfolio/allocation-params.js';
import { messageOf } from '../../src/util/thrown.js';

export interface SleeveAllocation {
  /** Weight per column of the window (0 for a column with fewer than two returns). */
  weights: Float64Array;
  engine: string;
  /** Engines that failed before the one that answered, with why. */
  attempts: { engine: string; error: string }[];
  covariance_regularised: number;
}

/** `window` is column-major (`values[j * nDays + t]`, NaN where a sleeve has no return); `p` the meta_optimize params. */
export function allocateSleeves(window: { values: Float64Array; nSymbols: number; nDays: number }, names: string[], p: SharedAllocationParams, plugins: PluginResolver, periods: number): SleeveAllocation {
  const { values, nSymbols, nDays: T } = window;
  const keep: number[] = [];
  for (let j = 0; j < nSymbols; j++) {
    let c = 0;
    for (let t = 0; t < T && c < 2; t++) if (Number.isFinite(values[j * T + t])) c++;
    if (c >= 2) keep.push(j);
  }
  if (!keep.length) throw runError('EMPTY_UNIVERSE', `meta_optimize: none of the sleeves ${names.join(', ')} has two returns in the window`);
  const n = keep.length;
  const cols = new Float64Array(n * T);
  keep.forEach((j, k) => cols.set(values.subarray(j * T, (j + 1) * T), k * T));
  const matrix = { values: cols, nSymbols: n, nDays: T };

  const budget = p.budget ?? 1;
  const [lo, hi] = p.bounds ?? [0, 1];
  const lb = new Float64Array(n).fill(lo);
  const ub = new Float64Array(n).fill(hi);
  const empty = emptyBookProblem(budget, [[lo, hi]]);
  if (empty) throw empty;
  if (lo * n > budget + 1e-12) throw inputError('MINIMUMS_ABOVE_BUDGET', `meta_optimize: ${n} sleeves at a lower bound of ${lo} exceed the budget ${budget}`, undefined, { param: ['bounds'] });
  if (hi * n < budget - 1e-12) throw inputError('CAPS_BELOW_BUDGET', `meta_optimize: ${n} sleeves capped at ${hi} cannot hold the budget ${budget}`, undefined, { param: ['bounds'] });
  const caps = p.direction_caps ?? {};
  if (caps.net !== undefined && Math.abs(budget) > caps.net) throw inputError('NET_CAP_BELOW_BUDGET', `meta_optimize: |budget| ${Math.abs(budget)} exceeds the net direction cap ${caps.net}`, undefined, { param: ['direction_caps', 'net'] });
  if (caps.gross !== undefined && Math.abs(budget) > caps.gross) throw inputError('GROSS_CAP_BELOW_BUDGET', `meta_optimize: |budget| ${Math.abs(budget)} exceeds the gross direction cap ${caps.gross}`, undefined, { param: ['direction_caps', 'gross'] });

  const cov: Partial<NonNullable<SharedAllocationParams['covariance']>> = p.covariance ?? {};
  const missing = cov.missing ?? 'pairwise';
  const est = estimateCovariance(matrix, { estimator: cov.estimator ?? 'sample', missing, halflife: cov.halflife, periods });
  const reg = regulariseCovariance(est.cov, n);
  const mu = expectedReturns(matrix, (p.expected_returns?.method) ?? 'mean', periods);
  for (let i = 0; i < n; i++) if (!Number.isFinite(mu[i])) mu[i] = 0;
  const problem: AllocationProblem = {
    symbols: keep.map((j) => names[j]), n, cov: reg.cov, mu, corr: correlationMatrix(matrix, { missing }), riskFreeRate: p.risk_free_rate ?? 0,
    budget, lb, ub, groups: [], linear: [], returns: { values: cols, days: T }, ...(caps.gross !== undefined ? { gross: caps.gross } : {}),
  };

  const attempts: SleeveAllocation['attempts'] = [];
  for (const [k, ref] of [p.engine, ...(p.fallback ?? [])].entries()) {
    const engine = plugins.get<AllocationEngine>('engine', ref.name);
    // As in the allocation stage: no covariance engine on a window with no more days than sleeves.
    if (plugins.meta<EngineMeta>('engine', ref.name).needs === 'covariance' && T <= n) {
      attempts.push({ engine: ref.name, error: `${ref.name} needs a covariance matrix, and ${T} day(s) of returns for ${n} sleeves do not determine one (it needs more days than assets)` });
      continue;
    }
    try {
      const w = engine.run(problem, ref.params ?? {}).weights;
      const v = violation(problem, w);
      if (!(v <= FEASIBILITY_TOLERANCE * Math.max(1, Math.abs(budget)) * 10)) throw new Error(`${ref.name} returned weights that break a constraint by ${v.toExponential(2)}`);
      const weights = new Float64Array(nSymbols);
      keep.forEach((j, k) => (weights[j] = w[k]));
      return { weights, engine: ref.name, attempts, covariance_regularised: reg.shrinkage };
    } catch (err) {
      // A param the engine refuses (a risk budget for a sleeve the meta does not have) is the input's: no fallback.
      if (err instanceof FractalError && err.exitCode === 2) throw err.underParam(k === 0 ? ['engine', 'params'] : ['fallback', k - 1, 'params']);
      attempts.push({ engine: ref.name, error: err instanceof QPInfeasibleError ? 'infeasible: the constraints have no common portfolio' : messageOf(err) });
    }
  }
  throw runError('ALLOCATION_FAILED', `meta_optimize: every engine failed (${attempts.map((a) => `${a.engine}: ${a.error}`).join('; ')})`);
}
