/** Lowest volatility at a target expected return. */
import { plannedError } from '../../../src/core/planned.js';
import { num, params } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';

export class EfficientReturnEngine {
  static readonly meta: PluginMeta = {
    kind: 'engine',
    name: 'efficient_return',
    description: 'Lowest volatility at a target expected return.',
    params: params({ target_return: num('Annualised expected return target.') }, { required: ['target_return'] }),
    planned: 'the efficient_return engine lands with allocation (issue 5).',
  };

  run(): never {
    throw plannedError(EfficientReturnEngine.meta);
  }
}
