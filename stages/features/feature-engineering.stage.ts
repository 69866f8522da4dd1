/** Feature engineering: per-symbol factors over a trailing window, on typed arrays (docs/math.md defines them). */
import { plannedError } from '../../src/core/planned.js';
import { int, params } from '../../src/core/params.js';
import type { Stage, StageMeta } from '../../src/core/plugin.js';

export const FEATURE_NAMES = [
  'momentum', 'roc', 'volatility', 'skew', 'kurtosis', 'cvar_95', 'max_drawdown', 'entropy', 'hurst',
  'efficiency', 'adx', 'dollar_volume', 'missing_fraction',
] as const;

export class FeatureEngineeringStage implements Stage {
  static readonly meta: StageMeta = {
    kind: 'stage',
    name: 'feature_engineering',
    description: 'Computes per-symbol factors (momentum, volatility, tails, entropy, Hurst, efficiency, ADX, liquidity) over a trailing window.',
    documents: ['selection'],
    requires: ['returns'],
    provides: ['features'],
    params: params({
      lookback: int('Trailing window in days.', 60, { min: 2 }),
      features: { type: 'array', items: { type: 'string', enum: [...FEATURE_NAMES] }, uniqueItems: true, description: 'Factors to compute; all by default.' },
      periods_per_year: int('Annualisation; by asset type when omitted (365 crypto, 252 otherwise).', undefined, { min: 1 }),
      adx_period: int("Wilder's ADX period.", 14, { min: 2 }),
      entropy_bins: int('Bins for the normalised return entropy.', 10, { min: 2 }),
    }),
    planned: 'the feature kernels land with the selection funnel (issue 4).',
  };

  execute(): never {
    throw plannedError(FeatureEngineeringStage.meta);
  }
}
