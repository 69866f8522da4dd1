/** Equal weights within bounds and caps. */
import { plannedError } from '../../../src/core/planned.js';
import { params } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';

export class EqualWeightEngine {
  static readonly meta: PluginMeta = {
    kind: 'engine',
    name: 'equal_weight',
    description: 'Equal weights within bounds and caps.',
    params: params({}),
    planned: 'the equal_weight engine lands with allocation (issue 5).',
  };

  run(): never {
    throw plannedError(EqualWeightEngine.meta);
  }
}
