/**
 * The meta's allocation across sleeves at one rebalance: `allocate` (src/portfolio/allocate.ts, the function the
 * selection funnel's allocation stage calls) on the sleeves' out-of-sample returns of one train window, under the
 * bounds, the budget and the direction caps, with the engine's declared fallbacks. Called once per meta rebalance.
 */
import { inputError, runError } from '../../src/core/errors.js';
import type { PluginResolver } from '../../src/core/plugin.js';
import { allocate, columnsWithReturns, engineChoices } from '../../src/portfolio/allocate.js';
import { emptyBookProblem } from '../../src/portfolio/engine.js';
import type { SharedAllocationParams } from '../../src/portfolio/allocation-params.js';

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
  const keep = columnsWithReturns(values, nSymbols, T);
  if (!keep.length) throw runError('EMPTY_UNIVERSE', `meta_optimize: none of the sleeves ${names.join(', ')} has two returns in the window`);
  const n = keep.length;
  const cols = new Float64Array(n * T);
  keep.forEach((j, k) => cols.set(values.subarray(j * T, (j + 1) * T), k * T));

  const budget = p.budget ?? 1;
  const [lo, hi] = p.bounds ?? [0, 1];
  const empty = emptyBookProblem(budget, [[lo, hi]]);
  if (empty) throw empty;
  if (lo * n > budget + 1e-12) throw inputError('MINIMUMS_ABOVE_BUDGET', `meta_optimize: ${n} sleeves at a lower bound of ${lo} exceed the budget ${budget}`, undefined, { param: ['bounds'] });
  if (hi * n < budget - 1e-12) throw inputError('CAPS_BELOW_BUDGET', `meta_optimize: ${n} sleeves capped at ${hi} cannot hold the budget ${budget}`, undefined, { param: ['bounds'] });
  const caps = p.direction_caps ?? {};
  if (caps.net !== undefined && Math.abs(budget) > caps.net) throw inputError('NET_CAP_BELOW_BUDGET', `meta_optimize: |budget| ${Math.abs(budget)} exceeds the net direction cap ${caps.net}`, undefined, { param: ['direction_caps', 'net'] });
  if (caps.gross !== undefined && Math.abs(budget) > caps.gross) throw inputError('GROSS_CAP_BELOW_BUDGET', `meta_optimize: |budget| ${Math.abs(budget)} exceeds the gross direction cap ${caps.gross}`, undefined, { param: ['direction_caps', 'gross'] });

  const cov: Partial<NonNullable<SharedAllocationParams['covariance']>> = p.covariance ?? {};
  const a = allocate(
    { values: cols, days: T, symbols: keep.map((j) => names[j]) },
    { budget, lb: new Float64Array(n).fill(lo), ub: new Float64Array(n).fill(hi), groups: [], linear: [], ...(caps.gross !== undefined ? { gross: caps.gross } : {}) },
    engineChoices([p.engine, ...(p.fallback ?? [])], plugins),
    { estimator: cov.estimator ?? 'sample', missing: cov.missing ?? 'pairwise', halflife: cov.halflife, periods, expectedReturns: p.expected_returns?.method ?? 'mean', riskFreeRate: p.risk_free_rate ?? 0 },
    undefined,
    'sleeves',
  );
  // The meta records which engine failed and why (not the code).
  const attempts = a.attempts.map(({ engine, error }) => ({ engine, error }));
  if (a.engine === null) throw runError('ALLOCATION_FAILED', `meta_optimize: every engine failed (${attempts.map((x) => `${x.engine}: ${x.error}`).join('; ')})`);
  const weights = new Float64Array(nSymbols);
  keep.forEach((j, k) => (weights[j] = a.weights[k]));
  return { weights, engine: a.engine, attempts, covariance_regularised: a.estimates.regularisation };
}
