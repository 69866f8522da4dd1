/** Holds weights between rebalances with drift, charging costs on traded notional, on typed arrays. */
import { plannedError } from '../../../src/core/planned.js';
import { params } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';

export class VectorizedSimulator {
  static readonly meta: PluginMeta = {
    kind: 'simulator',
    name: 'vectorized',
    description: 'Holds weights between rebalances with drift, charging costs on traded notional, on typed arrays.',
    params: params({}),
    planned: 'the vectorized simulator lands with the backtest (issue 6).',
  };

  run(): never {
    throw plannedError(VectorizedSimulator.meta);
  }
}
