/**
 * Alpha-predictability vetoes combining entropy, Hurst and efficiency:
 * - entropy > entropy_max (permutation entropy of the returns by default, see ./entropy.ts);
 * - Kaufman efficiency ratio < efficiency_min;
 * - Hurst exponent inside `hurst_band` (closed): indistinguishable from a random walk.
 */
import { dict } from '../../../src/util/keyed.js';
import type { FeatureTable, SelectionContext } from '../../../src/core/context.js';
import { fraction, params, typed, type Static } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';
import { ceiling, featureColumn, floor, relaxFloor, relaxUnitCeiling, toValue, type Filter, type FilterCheck, type FilterVerdicts } from '../filter.js';
import { ENTROPY_PARAMS, entropyColumn } from './entropy.js';

const PARAMS = params({
  entropy_max: fraction('Largest normalised return entropy.', 0.995),
  efficiency_min: fraction('Smallest efficiency ratio.', 0.3),
  hurst_band: typed<[number, number]>({ type: 'array', items: { type: 'number', minimum: 0, maximum: 1 }, minItems: 2, maxItems: 2, default: [0.45, 0.55], description: 'Hurst values inside this band are a random walk and vetoed.' }),
  ...ENTROPY_PARAMS,
});
export type PredictabilityParams = Static<typeof PARAMS>;

export class PredictabilityFilter implements Filter<PredictabilityParams> {
  static readonly meta: PluginMeta = {
    kind: 'filter',
    name: 'predictability',
    description: 'Alpha-predictability vetoes combining entropy, Hurst and efficiency.',
    params: PARAMS,
  };

  readonly hard = false;

  evaluate(features: FeatureTable, p: PredictabilityParams, ctx: SelectionContext): FilterVerdicts {
    const entropy = entropyColumn(features, p, ctx);
    const efficiency = featureColumn(features, 'efficiency');
    const hurst = featureColumn(features, 'hurst');
    const [lo, hi] = p.hurst_band;
    const out = dict<FilterCheck[]>();
    features.symbols.forEach((s, i) => {
      const h = hurst[i]!;
      out[s] = [
        ceiling(entropy.metric, entropy.values[i]!, p.entropy_max),
        floor('efficiency', efficiency[i]!, p.efficiency_min),
        { metric: 'hurst', value: toValue(h), threshold: `[${lo}, ${hi}]`, rule: 'inside', vetoed: Number.isFinite(h) && h >= lo && h <= hi },
      ];
    });
    return out;
  }

  /** Relaxed: entropy ceiling toward 1, efficiency floor down, the Hurst band narrowed by `amount` around its centre. */
  relax(p: PredictabilityParams, amount: number): PredictabilityParams {
    const [lo, hi] = p.hurst_band;
    const centre = (lo + hi) / 2;
    const half = ((hi - lo) / 2) * (1 - amount);
    return {
      ...p,
      entropy_max: relaxUnitCeiling(p.entropy_max, amount),
      efficiency_min: relaxFloor(p.efficiency_min, amount),
      hurst_band: [centre - half, centre + half],
    };
  }
}
