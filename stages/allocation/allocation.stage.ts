/**
 * Allocation: an engine turns returns (of atoms when synthesis ran, else of symbols) into weights under bounds,
 * cluster caps, direction caps and an optional beta target, falling back through a declared list of engines.
 */
import { plannedError } from '../../src/core/planned.js';
import { fraction, int, num, oneOfStr, params, pluginRef, pluginRefList, str } from '../../src/core/params.js';
import type { JsonSchema, Stage, StageMeta } from '../../src/core/plugin.js';

const bound: JsonSchema = { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2, description: '[lower, upper] weight of one asset.' };

export class AllocationStage implements Stage {
  static readonly meta: StageMeta = {
    kind: 'stage',
    name: 'allocation',
    description: 'Allocates weights with an engine under bounds, cluster, direction and beta constraints, with declared fallbacks.',
    documents: ['selection'],
    requires: ['returns'],
    provides: ['weights'],
    params: params({
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
      budget: num('Target net exposure (sum of weights).', 1),
      bounds: { ...bound, default: [0, 1] },
      symbol_bounds: { type: 'object', additionalProperties: bound, description: 'Per-symbol [lower, upper] overriding `bounds`.' },
      cluster_cap: fraction('Largest total weight of one cluster (when a clustering stage ran).', 0.25),
      direction_caps: params({ net: num('Largest |net exposure|.', undefined, { min: 0 }), gross: num('Largest gross exposure.', undefined, { min: 0 }) }),
      market_neutral: params({
        benchmark: str('Benchmark symbol for beta.'),
        tolerance: num('Largest |portfolio beta|; relaxed to 0.15 then 0.25 when infeasible.', 0.05, { min: 0 }),
      }, { required: ['benchmark'] }),
    }),
    planned: 'the engines and the QP solver land with allocation (issue 5).',
  };

  execute(): never {
    throw plannedError(AllocationStage.meta);
  }
}
