/**
 * Rate-of-change vetoes: moves over the window above roc_max or below roc_min. The feature `roc` is in percent
 * (100 (P_last / P_first - 1)); it is compared as a fraction (roc / 100), so roc_max 1 is +100% and roc_min -0.8
 * is -80%.
 */
import { dict } from '../../../src/util/keyed.js';
import type { FeatureTable } from '../../../src/core/context.js';
import { num, params, type Static } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';
import { ceiling, featureColumn, floor, relaxCeiling, type Filter, type FilterCheck, type FilterVerdicts } from '../filter.js';

const PARAMS = params({
  roc_max: num('Largest rate of change over the window (1 = +100%).', 1),
  roc_min: num('Smallest rate of change over the window (-0.8 = -80%).', -0.8, { min: -1 }),
});
export type RocParams = Static<typeof PARAMS>;

export class RocFilter implements Filter<RocParams> {
  static readonly meta: PluginMeta = {
    kind: 'filter',
    name: 'roc',
    description: 'Rate-of-change vetoes: moves over the window above roc_max or below roc_min.',
    params: PARAMS,
  };

  readonly hard = false;

  evaluate(features: FeatureTable, p: RocParams): FilterVerdicts {
    const roc = featureColumn(features, 'roc');
    const out = dict<FilterCheck[]>();
    features.symbols.forEach((s, i) => {
      const r = roc[i]! / 100;
      out[s] = [ceiling('roc', r, p.roc_max), floor('roc', r, p.roc_min)];
    });
    return out;
  }

  /** Relaxed: roc_max up by `amount`, roc_min `amount` further from zero (at most -100%). */
  relax(p: RocParams, amount: number): RocParams {
    const max = p.roc_max;
    const min = p.roc_min;
    return { ...p, roc_max: max >= 0 ? relaxCeiling(max, amount) : max * (1 - amount), roc_min: Math.max(-1, min <= 0 ? min * (1 + amount) : min * (1 - amount)) };
  }
}
