/**
 * Live-discovery scanners driven offline: ccxt through its real binance parser with recorded API responses
 * (ccxt's fetchImplementation hook), TradingView through a recorded screener response. Bars come from a
 * lakehouse filled from ../shared/data/crypto.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openLakehouse } from '../../src/lakehouse/index.js';
import { CcxtScanner, type CcxtParams } from '../../stages/ingestion/scanners/ccxt.scanner.js';
import { TradingViewScanner } from '../../stages/ingestion/scanners/tradingview.scanner.js';
import { binanceReplay, CRYPTO, tempDir } from '../lakehouse/helpers.js';

let lakehouse: string;
const events: { event: string; data: unknown }[] = [];
const env = () => ({ lakehousePath: lakehouse, audit: { event: (_s: string | null, event: string, data: unknown) => events.push({ event, data }) } }) as never;

beforeAll(async () => {
  lakehouse = await tempDir('fractal-scan-');
  const lh = await openLakehouse(lakehouse, { create: true });
  await lh.importCsv(CRYPTO, { layout: 'ohlcv', venue: 'binance', assetType: 'spot' });
});
afterAll(() => rmSync(lakehouse, { recursive: true, force: true }));

test('ccxt: markets and tickers through the real binance parser, the $20M floor, data from the lakehouse', async () => {
  const replay = await binanceReplay();
  const scanner = new CcxtScanner().useTransport(replay.fetch);
  const params: CcxtParams = { exchange: 'binance', quote: 'USDT', type: 'spot', limit: 100, exclude: [], exclude_stablecoins: true, exclude_gold_tokens: true };
  const r = await scanner.scan(params, env());
  // Recorded: BTCUSDT ($5B) and ETHUSDT ($2B) trading; LUNAUSDT in BREAK (inactive); ETHBTC is not a USDT market.
  expect(r.venue).toBe('binance');
  expect(r.candidates.map((c) => c.symbol)).toEqual(['BTCUSDT', 'ETHUSDT']);
  expect(r.candidates[0]).toMatchObject({ exchange: 'binance', asset_type: 'spot', base: 'BTC', quote: 'USDT', volume_24h: 5e9 });
  expect(r.funnel.map((f) => f.step)).toEqual(['universe', 'liquidity', 'exclusions', 'identity_dedup', 'limit', 'in_lakehouse']);
  // A floor above ETH's volume drops it.
  const high = await new CcxtScanner().useTransport((await binanceReplay()).fetch).scan({ ...params, min_volume: 3e9 }, env());
  expect(high.candidates.map((c) => c.symbol)).toEqual(['BTCUSDT']);
  expect(replay.log.some((u) => u.includes('/api/v3/exchangeInfo'))).toBe(true);
});

test('tradingview: the request carries filters, columns, sort and range; rows become candidates of one venue', async () => {
  const fixture = JSON.parse(readFileSync(join(new URL('.', import.meta.url).pathname, 'fixtures', 'scanners', 'tradingview-crypto.json'), 'utf8'));
  const sent: { url: string; body: Record<string, unknown> }[] = [];
  const scanner = new TradingViewScanner().useTransport(async (url, init) => {
    sent.push({ url, body: JSON.parse(init.body) });
    return new Response(JSON.stringify(fixture.response), { status: 200, headers: { 'content-type': 'application/json' } });
  });
  const filters = [{ left: 'Value.Traded', operation: 'greater', right: 20000000 }];
  const r = await scanner.scan(
    { market: 'crypto', filters, columns: fixture.request_columns, sort_by: 'Recommend.All', sort_order: 'desc', limit: 50, url: 'https://scanner.tradingview.com', exclude_stablecoins: true, exclude_gold_tokens: true },
    env(),
  );
  expect(sent[0].url).toBe('https://scanner.tradingview.com/crypto/scan');
  expect(sent[0].body).toMatchObject({ filter: filters, columns: fixture.request_columns, sort: { sortBy: 'Recommend.All', sortOrder: 'desc' }, range: [0, 50], markets: ['crypto'] });
  // BINANCE is the venue most rows come from; FDUSD (stablecoin) and PAXG (gold) are excluded; XYZ has no bars.
  expect(r.venue).toBe('binance');
  expect(r.candidates.map((c) => c.symbol)).toEqual(['BTCUSDT', 'ETHUSDT', 'SOLUSDT']);
  expect(r.candidates[0].metadata).toMatchObject({ 'Recommend.All': 0.41, ROC: 3.2, 'Volatility.D': 2.1, 'Value.Traded': 1850000000 });
  expect(r.funnel.find((f) => f.step === 'in_lakehouse')).toMatchObject({ left: 3, detail: '1 not in the lakehouse on binance' });
  expect(events.some((e) => e.event === 'candidates_without_data' && JSON.stringify(e.data).includes('XYZUSDT'))).toBe(true);
});

test('tradingview: an HTTP error is a clear run error', async () => {
  const scanner = new TradingViewScanner().useTransport(async () => new Response('rate limited', { status: 429 }));
  await expect(scanner.scan({ market: 'crypto', filters: [], columns: ['name'], sort_by: 'Value.Traded', sort_order: 'desc', limit: 5, url: 'https://x', exclude_stablecoins: true, exclude_gold_tokens: true }, env())).rejects.toMatchObject({
    code: 'TRADINGVIEW_FAILED',
    message: expect.stringContaining('HTTP 429'),
  });
});
