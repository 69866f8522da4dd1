/**
 * Predictability vetoes: entropy too high, efficiency too low, Hurst outside bounds.
 * - entropy > entropy_max (permutation entropy of the returns by default, see ./entropy.ts);
 * - Kaufman efficiency ratio (feature `efficiency`) < efficiency_min;
 * - Hurst exponent (feature `hurst`) < hurst_min or > hurst_max.
 */
import { dict } from '../../../src/util/keyed.js';
import type { FeatureTable, SelectionContext } from '../../../src/core/context.js';
import { fraction, params, type Static } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';
import { ceiling, featureColumn, floor, optionalFeatureColumn, relaxFloor, relaxUnitCeiling, type Filter, type FilterCheck, type FilterVerdicts } from '../filter.js';
import { ENTROPY_PARAMS, entropyColumn } from './entropy.js';

const PARAMS = params({
  entropy_max: fraction('Largest normalised return entropy.', 0.995),
  efficiency_min: fraction('Smallest Kaufman efficiency ratio.', 0.3),
  hurst_min: fraction('Smallest Hurst exponent.', 0),
  hurst_max: fraction('Largest Hurst exponent.', 1),
  ...ENTROPY_PARAMS,
});
export type SpectralParams = Static<typeof PARAMS>;

export class SpectralFilter implements Filter<SpectralParams> {
  static readonly meta: PluginMeta = {
    kind: 'filter',
    name: 'spectral',
    description: 'Predictability vetoes: entropy too high, efficiency too low, Hurst outside bounds.',
    params: PARAMS,
  };

  readonly hard = false;

  evaluate(features: FeatureTable, p: SpectralParams, ctx: SelectionContext): FilterVerdicts {
    const entropy = entropyColumn(features, p, ctx);
    const efficiency = featureColumn(features, 'efficiency');
    // Hurst bounds at [0, 1] cannot veto: the feature is needed only when they are narrowed.
    const hurstBound = p.hurst_min > 0 || p.hurst_max < 1;
    const hurst = hurstBound ? featureColumn(features, 'hurst') : optionalFeatureColumn(features, 'hurst');
    const out = dict<FilterCheck[]>();
    features.symbols.forEach((s, i) => {
      out[s] = [
        ceiling(entropy.metric, entropy.values[i]!, p.entropy_max),
        floor('efficiency', efficiency[i]!, p.efficiency_min),
        floor('hurst', hurst[i]!, p.hurst_min),
        ceiling('hurst', hurst[i]!, p.hurst_max),
      ];
    });
    return out;
  }

  relax(p: SpectralParams, amount: number): SpectralParams {
    return {
      ...p,
      entropy_max: relaxUnitCeiling(p.entropy_max, amount),
      efficiency_min: relaxFloor(p.efficiency_min, amount),
      hurst_min: relaxFloor(p.hurst_min, amount),
      hurst_max: relaxUnitCeiling(p.hurst_max, amount),
    };
  }
}
