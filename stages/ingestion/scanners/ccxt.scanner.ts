/**
 * Live discovery from an exchange through ccxt: its active markets of one type and quote, their 24h quote volume
 * from the tickers, the liquidity floors ($20M spot, $50M perpetual unless `min_volume`), exclusions and identity
 * dedup like the lakehouse scanner. Bars come from the lakehouse (`pipeline-run lakehouse ingest` fills it from
 * the same exchange). ccxt loads lazily; API keys come from the environment only.
 */
import { int, num, oneOfStr, params, str, type Static } from '../../../src/core/params.js';
import type { ScannerMeta, StageEnv } from '../../../src/core/plugin.js';
import type { CcxtOptions } from '../../../src/lakehouse/sources/ccxt.js';
import { discover, withLakehouseData, type ScanResult, type Scanner } from '../scanner.js';
import { DISCOVERY_PARAMS } from './lakehouse.scanner.js';

const PARAMS = params(
  {
    exchange: str('ccxt exchange id, e.g. binance.', undefined, { examples: ['binance'] }),
    quote: str('Quote currency.', 'USDT'),
    type: oneOfStr(['spot', 'swap'] as const, 'Market type.', 'spot'),
    min_volume: num('24h quote-volume floor; 20M for spot, 50M for swaps when omitted.', undefined, { min: 0 }),
    limit: int('Keep at most this many candidates.', 100, { min: 1 }),
    venue: str('Lakehouse venue holding the bars; the exchange id (with -perp for swaps) when omitted.'),
    exclude: DISCOVERY_PARAMS.exclude,
    exclude_stablecoins: DISCOVERY_PARAMS.exclude_stablecoins,
    exclude_gold_tokens: DISCOVERY_PARAMS.exclude_gold_tokens,
  },
  { required: ['exchange'] },
);
export type CcxtParams = Static<typeof PARAMS>;

export class CcxtScanner implements Scanner<CcxtParams> {
  static readonly meta: ScannerMeta = {
    kind: 'scanner',
    name: 'ccxt',
    live: true,
    pointInTime: false,
    cacheable: false,
    readsLakehouse: true,
    description: 'Live discovery from an exchange through ccxt (markets and tickers), with the same liquidity floors; bars from the lakehouse.',
    params: PARAMS,
  };

  private transport?: CcxtOptions['fetchImplementation'];

  /** Replaces the network (tests replay recorded exchange responses through ccxt's own parser). */
  useTransport(transport: CcxtOptions['fetchImplementation']): this {
    this.transport = transport;
    return this;
  }

  async scan(p: CcxtParams, env: StageEnv): Promise<ScanResult> {
    const { discoverMarkets, symbolFor, venueFor } = await import('../../../src/lakehouse/sources/ccxt.js');
    const type = p.type;
    const floor = p.min_volume ?? (type === 'swap' ? 50_000_000 : 20_000_000);
    const { markets } = await discoverMarkets({ exchange: p.exchange, quote: p.quote, type, fetchImplementation: this.transport });
    const venue = p.venue ?? venueFor(p.exchange, type);
    const funnel: ScanResult['funnel'] = [{ step: 'universe', left: markets.length, detail: `${p.exchange} ${type} ${p.quote} markets` }];
    const found = discover(
      markets.map((m) => ({ symbol: symbolFor(m), exchange: p.exchange, venue, asset_type: type === 'swap' ? 'perp' : 'spot', base: m.base, quote: m.quote, volume_24h: m.volume_24h })),
      { min_volume_spot: floor, min_volume_perp: floor, exclude: p.exclude, exclude_stablecoins: p.exclude_stablecoins, exclude_gold_tokens: p.exclude_gold_tokens, limit: p.limit, sort_by: 'volume_24h' },
      funnel,
    );
    return withLakehouseData(found, venue, env, funnel, `pipeline-run lakehouse ingest --exchange ${p.exchange} --type ${type} --quote ${p.quote}`);
  }
}
