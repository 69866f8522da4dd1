/**
 * Backtest: walk-forward. At each rebalance the decision stages before this one run again on data up to that
 * date only; weights drift with prices between rebalances; costs are charged on traded notional.
 */
import { plannedError } from '../../src/core/planned.js';
import { int, num, params, pluginRef, str } from '../../src/core/params.js';
import type { Stage, StageMeta } from '../../src/core/plugin.js';

export class BacktestStage implements Stage {
  static readonly meta: StageMeta = {
    kind: 'stage',
    name: 'backtest',
    description: 'Walk-forward, point-in-time backtest of the decision stages before it, with drift and costs.',
    documents: ['selection'],
    requires: ['weights'],
    provides: ['backtest'],
    params: params({
      train_window: int('Days of history each decision sees.', 252, { min: 2 }),
      test_window: int('Days each set of weights is held.', 20, { min: 1 }),
      step_size: int('Days between rebalances.', 20, { min: 1 }),
      slippage_bps: num('Slippage on traded notional, basis points.', 5, { min: 0 }),
      commission_bps: num('Commission on traded notional, basis points.', 1, { min: 0 }),
      benchmark: str('Benchmark symbol for the report.'),
      simulator: pluginRef('simulator', 'How holdings are simulated between rebalances.', 'vectorized'),
      periods_per_year: int('Annualisation; by asset type when omitted (365 crypto, 252 otherwise).', undefined, { min: 1 }),
    }),
    planned: 'the walk-forward backtest lands with issue 6.',
  };

  execute(): never {
    throw plannedError(BacktestStage.meta);
  }
}
