/** Alpha-predictability vetoes combining entropy, Hurst and efficiency. */
import { plannedError } from '../../../src/core/planned.js';
import { fraction, params } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';

export class PredictabilityFilter {
  static readonly meta: PluginMeta = {
    kind: 'filter',
    name: 'predictability',
    description: 'Alpha-predictability vetoes combining entropy, Hurst and efficiency.',
    params: params({
      entropy_max: fraction('Largest normalised return entropy.', 0.995),
      efficiency_min: fraction('Smallest efficiency ratio.', 0.3),
      hurst_band: { type: 'array', items: { type: 'number', minimum: 0, maximum: 1 }, minItems: 2, maxItems: 2, default: [0.45, 0.55], description: 'Hurst values inside this band are a random walk and vetoed.' },
    }),
    planned: 'the predictability filter lands with the selection funnel (issue 4).',
  };

  run(): never {
    throw plannedError(PredictabilityFilter.meta);
  }
}
