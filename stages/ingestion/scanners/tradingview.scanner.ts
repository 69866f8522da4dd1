/**
 * Discovery through the TradingView screener HTTP API (POST <url>/<market>/scan): filters, columns such as
 * Recommend.All, Recommend.MA, ROC, Volatility.D, Value.Traded, a sort and a range. Each row becomes a candidate
 * (its columns kept as metadata, Value.Traded as the 24h volume); bars come from the lakehouse.
 */
import { runError } from '../../../src/core/errors.js';
import { int, oneOfStr, params, str, strList, typed, type Static } from '../../../src/core/params.js';
import type { ScannerMeta, StageEnv } from '../../../src/core/plugin.js';
import type { Candidate } from '../../../src/core/context.js';
import { discover, withLakehouseData, type ScanResult, type Scanner } from '../scanner.js';
import { DISCOVERY_PARAMS } from './lakehouse.scanner.js';
import { byCodeUnit } from '../../../src/util/order.js';
import { messageOf } from '../../../src/util/thrown.js';

type Transport = (url: string, init: { method: string; headers: Record<string, string>; body: string }) => Promise<Response>;

export interface ScreenerResponse {
  totalCount: number;
  data: { s: string; d: unknown[] }[];
}

const PARAMS = params({
  market: str('Screener market, e.g. crypto or america.', 'crypto'),
  filters: typed<{ left: string; operation: string; right?: unknown }[]>({
    type: 'array',
    items: { type: 'object', required: ['left', 'operation'], properties: { left: { type: 'string' }, operation: { type: 'string' }, right: {} } },
    description: 'Screener filters ({left, operation, right}), e.g. {left: Value.Traded, operation: greater, right: 20000000}.',
    default: [],
  }),
  columns: strList('Screener columns to fetch.', ['name', 'close', 'Recommend.All', 'Recommend.MA', 'ROC', 'Volatility.D', 'Value.Traded']),
  sort_by: str('Column to sort by.', 'Value.Traded'),
  sort_order: oneOfStr(['desc', 'asc'] as const, 'Sort order.', 'desc'),
  limit: int('Rows to fetch.', 100, { min: 1, max: 5000 }),
  exchange: str('Keep only tickers of this exchange prefix (e.g. BINANCE).'),
  venue: str('Lakehouse venue holding the bars; the exchange prefix in lower case when omitted.'),
  url: str('Screener endpoint.', 'https://scanner.tradingview.com'),
  exclude_stablecoins: DISCOVERY_PARAMS.exclude_stablecoins,
  exclude_gold_tokens: DISCOVERY_PARAMS.exclude_gold_tokens,
});
export type TradingViewParams = Static<typeof PARAMS>;

export class TradingViewScanner implements Scanner<TradingViewParams> {
  static readonly meta: ScannerMeta = {
    kind: 'scanner',
    name: 'tradingview',
    live: true,
    pointInTime: false,
    cacheable: false,
    readsLakehouse: true,
    description: 'Discovery through the TradingView screener HTTP API (filters and columns such as Recommend.All, ROC, Volatility.D, Value.Traded); bars from the lakehouse.',
    params: PARAMS,
  };

  private transport: Transport = (url, init) => fetch(url, init);

  /** Replaces the network (tests replay recorded screener responses). */
  useTransport(transport: Transport): this {
    this.transport = transport;
    return this;
  }

  async scan(p: TradingViewParams, env: StageEnv): Promise<ScanResult> {
    const columns = p.columns;
    const body = {
      filter: p.filters,
      options: { lang: 'en' },
      markets: [p.market],
      symbols: { query: { types: [] }, tickers: [] },
      columns,
      sort: { sortBy: p.sort_by, sortOrder: p.sort_order },
      range: [0, p.limit],
    };
    const url = `${String(p.url).replace(/\/$/, '')}/${p.market}/scan`;
    let res: ScreenerResponse;
    try {
      const r = await this.transport(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (!r.ok) throw new Error(`HTTP ${r.status} ${await r.text().catch(() => '')}`.trim());
      res = (await r.json()) as ScreenerResponse;
      if (!Array.isArray(res?.data)) throw new Error('the response has no `data` list');
    } catch (err) {
      throw runError('TRADINGVIEW_FAILED', `TradingView screener ${url}: ${messageOf(err)}`, 'Check the network, the market name and the filters.', { cause: err });
    }
    const wantExchange = p.exchange?.toUpperCase();
    const rows = res.data.filter((row) => !wantExchange || row.s.split(':')[0].toUpperCase() === wantExchange);
    const funnel: ScanResult['funnel'] = [{ step: 'universe', left: res.data.length, detail: `screener ${p.market}: ${res.totalCount} matched, ${res.data.length} returned` }];
    if (wantExchange) funnel.push({ step: 'exchange', left: rows.length, detail: wantExchange });
    const venueOf = (prefix: string) => p.venue ?? prefix.toLowerCase();
    const cands: Candidate[] = rows.map((row) => {
      const [prefix, ticker] = row.s.includes(':') ? row.s.split(':', 2) : ['', row.s];
      const metadata = Object.fromEntries(columns.map((c, i) => [c, row.d[i] ?? null]));
      const traded = metadata['Value.Traded'];
      return { symbol: ticker, exchange: prefix.toLowerCase(), venue: venueOf(prefix), asset_type: p.market === 'crypto' ? 'spot' : 'equity', volume_24h: typeof traded === 'number' ? traded : undefined, metadata };
    });
    // One venue per run: the one most rows come from (spot and other venues never mix in one matrix).
    const counts = new Map<string, number>();
    for (const c of cands) counts.set(c.venue!, (counts.get(c.venue!) ?? 0) + 1);
    const venue = [...counts].sort((a, b) => b[1] - a[1] || byCodeUnit(a[0], b[0]))[0]?.[0] ?? venueOf(wantExchange ?? '');
    if (counts.size > 1) funnel.push({ step: 'venue', left: counts.get(venue)!, detail: `venue ${venue} (of ${[...counts.keys()].sort().join(', ')}; set \`exchange\` or \`venue\`)` });
    const found = discover(
      cands.filter((c) => c.venue === venue),
      { min_volume_spot: 0, min_volume_perp: 0, exclude: [], exclude_stablecoins: p.exclude_stablecoins, exclude_gold_tokens: p.exclude_gold_tokens, limit: p.limit, sort_by: 'given' },
      funnel,
    );
    return withLakehouseData(found, venue, env, funnel, `pipeline-run lakehouse ingest --exchange ${wantExchange?.toLowerCase() ?? venue}`);
  }
}
