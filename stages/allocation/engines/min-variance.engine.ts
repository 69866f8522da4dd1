/** Minimum-variance portfolio (dense QP). */
import { plannedError } from '../../../src/core/planned.js';
import { params } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';

export class MinVarianceEngine {
  static readonly meta: PluginMeta = {
    kind: 'engine',
    name: 'min_variance',
    description: 'Minimum-variance portfolio (dense QP).',
    params: params({}),
    planned: 'the min_variance engine lands with allocation (issue 5).',
  };

  run(): never {
    throw plannedError(MinVarianceEngine.meta);
  }
}
