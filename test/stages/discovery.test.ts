/** Discovery rules shared by the scanners: identity dedup, venue isolation, exclusions, floors, limit. */
import { discover, identityOf, pickVenue, type DiscoveryRules, type FunnelStep } from '../../stages/ingestion/scanner.js';
import type { Candidate } from '../../src/core/context.js';

const rules: DiscoveryRules = { min_volume_spot: 20e6, min_volume_perp: 50e6, exclude: [], exclude_stablecoins: true, exclude_gold_tokens: true, limit: 100, sort_by: 'volume_24h' };
const spot = (symbol: string, volume_24h?: number, extra: Partial<Candidate> = {}): Candidate => ({ symbol, asset_type: 'spot', volume_24h, ...extra });

test('BTCUSDT, BTCFDUSD and BTCUSDC are one identity: the most liquid listing is kept', () => {
  expect(['BTCUSDT', 'BTCFDUSD', 'BTCUSDC', 'BTC/USDT:USDT', 'BTC-USD'].map((s) => identityOf({ symbol: s }))).toEqual(['BTC', 'BTC', 'BTC', 'BTC', 'BTC']);
  const funnel: FunnelStep[] = [];
  const out = discover([spot('BTCUSDT', 9e9), spot('BTCFDUSD', 12e9), spot('BTCUSDC', 1e9), spot('ETHUSDT', 5e9)], rules, funnel);
  expect(out.map((c) => c.symbol)).toEqual(['BTCFDUSD', 'ETHUSDT']);
  expect(funnel.find((f) => f.step === 'identity_dedup')).toMatchObject({ left: 2, dropped: [{ symbol: 'BTCUSDT', identity: 'BTC', kept: 'BTCFDUSD' }, { symbol: 'BTCUSDC', identity: 'BTC', kept: 'BTCFDUSD' }] });
});

test('floors by asset type ($20M spot, $50M perpetual), stablecoins and gold tokens out, regex exclusions, sort and limit', () => {
  const funnel: FunnelStep[] = [];
  const out = discover(
    [
      spot('SOLUSDT', 30e6),
      spot('THINUSDT', 19e6),
      { symbol: 'SOLUSDT_PERP', asset_type: 'perp', volume_24h: 40e6 },
      { symbol: 'ETHUSDT_PERP', asset_type: 'perp', volume_24h: 60e6 },
      spot('USDCUSDT', 9e9),
      spot('PAXGUSDT', 80e6),
      spot('DOGEUSDT', 70e6),
      spot('NOVOLUSDT'), // unknown volume (e.g. a wide CSV of closes): cannot be judged here, kept
    ],
    { ...rules, exclude: ['^DOGE'], limit: 3 },
    funnel,
  );
  expect(out.map((c) => c.symbol)).toEqual(['ETHUSDT_PERP', 'SOLUSDT', 'NOVOLUSDT']);
  // Each step names what it dropped, with its evidence.
  const dropped = Object.fromEntries(funnel.map((f) => [f.step, f.dropped ?? []]));
  expect(dropped.liquidity).toEqual([
    { symbol: 'THINUSDT', reason: 'quote volume 19,000,000 below the spot floor of 20,000,000', value: 19e6, floor: 20e6 },
    { symbol: 'SOLUSDT_PERP', reason: 'quote volume 40,000,000 below the perp floor of 50,000,000', value: 40e6, floor: 50e6 },
  ]);
  expect(dropped.exclusions.map((d) => [d.symbol, d.rule])).toEqual([['USDCUSDT', 'stablecoin'], ['PAXGUSDT', 'gold_token'], ['DOGEUSDT', 'pattern']]);
  expect(dropped.limit).toEqual([]);
  const limited: FunnelStep[] = [];
  discover([spot('AUSDT', 90e6), spot('BUSDT', 80e6), spot('CUSDT', 70e6)], { ...rules, limit: 2 }, limited);
  expect(limited.at(-1)).toMatchObject({ step: 'limit', left: 2, dropped: [{ symbol: 'CUSDT', rank: 3, limit: 2, reason: 'ranked 3 by volume_24h, beyond the limit of 2' }] });
});

test('venue isolation: one venue per run, the only spot venue unless one is named', () => {
  const row = (symbol: string, venue: string, asset_type: string) => ({ symbol, venue, asset_type }) as never;
  const rows = [row('BTCUSDT', 'binance-perp', 'perp'), row('ETHUSDT', 'binance-perp', 'perp'), row('BTCUSDT', 'binance', 'spot')];
  const auto = pickVenue(rows);
  expect('venue' in auto && auto.venue).toBe('binance');
  expect('venue' in auto && auto.rows.length).toBe(1);
  const named = pickVenue(rows, 'binance-perp');
  expect('venue' in named && named.rows.map((r) => r.symbol)).toEqual(['BTCUSDT', 'ETHUSDT']);
  expect(pickVenue(rows, 'kraken')).toEqual({ error: expect.stringContaining("venue 'kraken' is not in the lakehouse") });
  // Two spot venues: no rule picks one. Counting symbols did, and a listing added after a date changed the venue
  // and so every decision before it.
  const two = [...rows, row('ETHUSDT', 'kraken', 'spot'), row('SOLUSDT', 'kraken', 'spot')];
  expect(pickVenue(two)).toEqual({ error: expect.stringContaining('several spot venues (binance, kraken) and `venue` does not choose one') });
  expect('venue' in pickVenue(two, 'binance') && (pickVenue(two, 'binance') as { rows: unknown[] }).rows.length).toBe(1);
  // Perpetual venues only: one is picked only when it is the only one.
  const perps = [row('BTCUSDT', 'a-perp', 'perp'), row('BTCUSDT', 'b-perp', 'perp'), row('ETHUSDT', 'b-perp', 'perp')];
  expect(pickVenue(perps)).toEqual({ error: expect.stringContaining('several venues (a-perp, b-perp)') });
  expect('venue' in pickVenue(perps.slice(1)) && (pickVenue(perps.slice(1)) as { venue: string }).venue).toBe('b-perp');
});
