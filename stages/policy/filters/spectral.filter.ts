/** Predictability vetoes: entropy too high, efficiency too low, Hurst outside bounds. */
import { plannedError } from '../../../src/core/planned.js';
import { fraction, params } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';

export class SpectralFilter {
  static readonly meta: PluginMeta = {
    kind: 'filter',
    name: 'spectral',
    description: 'Predictability vetoes: entropy too high, efficiency too low, Hurst outside bounds.',
    params: params({
      entropy_max: fraction('Largest normalised return entropy.', 0.995),
      efficiency_min: fraction('Smallest Kaufman efficiency ratio.', 0.3),
      hurst_min: fraction('Smallest Hurst exponent.', 0),
      hurst_max: fraction('Largest Hurst exponent.', 1),
    }),
    planned: 'the spectral filter lands with the selection funnel (issue 4).',
  };

  run(): never {
    throw plannedError(SpectralFilter.meta);
  }
}
