/** Discovery through the TradingView screener HTTP API (filters and columns such as Recommend.All, ROC, Volatility.D, Value.Traded). */
import { plannedError } from '../../../src/core/planned.js';
import { int, params, str, strList } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';

export class TradingViewScanner {
  static readonly meta: PluginMeta = {
    kind: 'scanner',
    name: 'tradingview',
    description: 'Discovery through the TradingView screener HTTP API (filters and columns such as Recommend.All, ROC, Volatility.D, Value.Traded).',
    params: params({
      market: str('Screener market, e.g. crypto or america.', 'crypto'),
      filters: { type: 'array', items: { type: 'object' }, description: 'Screener filters ({left, operation, right}).', default: [] },
      columns: strList('Screener columns to fetch.', ['name', 'close', 'Recommend.All', 'Recommend.MA', 'ROC', 'Volatility.D', 'Value.Traded']),
      sort_by: str('Column to sort by.', 'Value.Traded'),
      limit: int('Rows to fetch.', 100, { min: 1 }),
    }),
    planned: 'the TradingView scanner lands with the selection funnel (issue 4).',
  };

  run(): never {
    throw plannedError(TradingViewScanner.meta);
  }
}
