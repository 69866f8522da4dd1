/** Weights proportional to 1/volatility. */
import { plannedError } from '../../../src/core/planned.js';
import { params } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';

export class InverseVolEngine {
  static readonly meta: PluginMeta = {
    kind: 'engine',
    name: 'inverse_vol',
    description: 'Weights proportional to 1/volatility.',
    params: params({}),
    planned: 'the inverse_vol engine lands with allocation (issue 5).',
  };

  run(): never {
    throw plannedError(InverseVolEngine.meta);
  }
}
