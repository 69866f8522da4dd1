/** Live discovery from an exchange through ccxt (markets and tickers), with the same liquidity floors. */
import { plannedError } from '../../../src/core/planned.js';
import { int, num, oneOfStr, params, str } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';

export class CcxtScanner {
  static readonly meta: PluginMeta = {
    kind: 'scanner',
    name: 'ccxt',
    description: 'Live discovery from an exchange through ccxt (markets and tickers), with the same liquidity floors.',
    params: params({
      exchange: str('ccxt exchange id, e.g. binance.'),
      quote: str('Quote currency.', 'USDT'),
      type: oneOfStr(['spot', 'swap'] as const, 'Market type.', 'spot'),
      min_volume: num('24h quote-volume floor; 20M for spot, 50M for swaps when omitted.', undefined, { min: 0 }),
      limit: int('Keep at most this many candidates.', 100, { min: 1 }),
    }, { required: ['exchange'] }),
    planned: 'the ccxt scanner lands with the lakehouse sources (issue 3) and the funnel (issue 4).',
  };

  run(): never {
    throw plannedError(CcxtScanner.meta);
  }
}
