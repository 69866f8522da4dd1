/**
 * The params of an allocation on a window of returns, shared by the selection funnel's allocation stage and the
 * meta walk-forward (meta_optimize), so both accept the same engines, estimates, bounds and caps, stated once.
 */
import { fraction, int, num, oneOfStr, params, pluginRef, pluginRefList, typed, type ObjectOf } from '../core/params.js';

/** [lower, upper] weight of one asset. */
export const BOUND = typed<[number, number]>({ type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2, description: '[lower, upper] weight of one asset.' });

/** Cluster caps by market regime (the seeds' numbers), the defaults of `regime_caps`. */
export const REGIME_CAPS = { NORMAL: 0.25, TURBULENT: 0.2, CRISIS: 0.15 } as const;

/** The engine and its fallbacks, the estimates they see, the budget and the bounds. */
export const ALLOCATION_PARAMS = {
  engine: pluginRef('engine', 'The allocation engine.', 'hrp'),
  fallback: pluginRefList('engine', 'Engines tried in order when the engine fails or is infeasible.', []),
  covariance: params({
    estimator: oneOfStr(['sample', 'ledoit_wolf', 'ewma'] as const, 'Covariance estimator.', 'sample'),
    missing: oneOfStr(['complete', 'pairwise'] as const, "Missing data: 'complete' rows only, or per pair every date both have (as pandas).", 'pairwise'),
    halflife: num('EWMA half-life in days.', 60, { exclusiveMin: 0 }),
  }, { description: 'How the covariance matrix is estimated.' }),
  expected_returns: params({ method: oneOfStr(['mean', 'cagr'] as const, 'Expected returns estimator.', 'mean') }),
  periods_per_year: int('Annualisation; by asset type when omitted (365 crypto, 252 otherwise).', undefined, { min: 1 }),
  risk_free_rate: num('Annual risk-free rate.', 0),
  budget: num('Target net exposure (sum of weights). 0 only when bounds force positions (a dollar-neutral book of fixed legs); where every bound allows 0 the weights would all be 0, and it is refused.', 1),
  bounds: { ...BOUND, default: [0, 1] },
};

/**
 * Caps. meta_optimize accepts these too (it always has); only direction_caps acts there: a meta has no clusters and no
 * regime, so regime_caps and on_infeasible_caps change nothing in it.
 */
export const CAP_PARAMS = {
  regime_caps: params({
    normal: fraction('Cluster cap in a NORMAL regime.', REGIME_CAPS.NORMAL),
    turbulent: fraction('Cluster cap in a TURBULENT regime.', REGIME_CAPS.TURBULENT),
    crisis: fraction('Cluster cap in a CRISIS regime.', REGIME_CAPS.CRISIS),
  }, { description: 'When a regime-aware champion ranker read the regime, the cluster cap is the lower of cluster_cap and this.', default: {} }),
  on_infeasible_caps: oneOfStr(['relax', 'refuse'] as const, "When the clusters capped at the cap cannot hold the budget (fewer than 1/cap clusters): 'relax' raises the cap to an equal share per cluster (1/k), recorded in the audit, metrics.json and each backtest window; 'refuse' fails the run (CLUSTER_CAPS_INFEASIBLE).", 'relax'),
  direction_caps: params({ net: num('Largest |net exposure|.', undefined, { min: 0 }), gross: num('Largest gross exposure.', undefined, { min: 0 }) }),
};

/** The allocation and cap params as validated (defaults filled): what `allocation` and `meta_optimize` both read. */
export type SharedAllocationParams = ObjectOf<typeof ALLOCATION_PARAMS & typeof CAP_PARAMS>;
