/** The seeds' capital segmentation: a core of the most resilient assets and an aggressor sleeve of the highest conviction. */
import { plannedError } from '../../../src/core/planned.js';
import { fraction, int, params } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';

export class BarbellEngine {
  static readonly meta: PluginMeta = {
    kind: 'engine',
    name: 'barbell',
    description: 'The seeds\' capital segmentation: a core of the most resilient assets and an aggressor sleeve of the highest conviction.',
    params: params({ core_fraction: fraction('Share of capital in the core.', 0.9), aggressors: int('Number of aggressor assets.', 3, { min: 1 }) }),
    planned: 'the barbell engine lands with allocation (issue 5).',
  };

  run(): never {
    throw plannedError(BarbellEngine.meta);
  }
}
