/** Maximum-Sharpe (tangency) portfolio. */
import { plannedError } from '../../../src/core/planned.js';
import { params } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';

export class MaxSharpeEngine {
  static readonly meta: PluginMeta = {
    kind: 'engine',
    name: 'max_sharpe',
    description: 'Maximum-Sharpe (tangency) portfolio.',
    params: params({}),
    planned: 'the max_sharpe engine lands with allocation (issue 5).',
  };

  run(): never {
    throw plannedError(MaxSharpeEngine.meta);
  }
}
