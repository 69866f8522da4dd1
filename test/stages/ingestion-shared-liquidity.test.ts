/**
 * The lakehouse scanner's liquidity sums, built once per run and adopted by backtest workers
 * (src/lakehouse/shared-series.ts). A worker is another thread; here the same thread plays it, adopting what it
 * shared, which is what the worker runs. The point-in-time liquidity is checked against a mean written here.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Candidate } from '../../src/core/context.js';
import { openLakehouse, type Lakehouse } from '../../src/lakehouse/index.js';
import { adoptSharedSeries, shareDecoded, type SharedSeries } from '../../src/lakehouse/shared-series.js';
import { dayFromIso, isoFromDay } from '../../src/util/dates.js';
import { DEFAULT_FRESHNESS, LIQUIDITY_DAYS } from '../../stages/ingestion/scanner.js';
import { discoverIn, type DiscoveryParams } from '../../stages/ingestion/scanners/lakehouse.scanner.js';
import { tempDir } from '../lakehouse/helpers.js';

const VENUE = 'synthetic-spot';
const P: DiscoveryParams = {
  venue: VENUE, asset_types: undefined, min_volume_spot: 0, min_volume_perp: 0, exclude: [],
  exclude_stablecoins: false, exclude_gold_tokens: false, limit: 1000, sort_by: 'volume_24h',
};

/** The decision's candidates, from a new scan over a new read-only handle (a worker's). */
async function decide(dir: string, asOf: number): Promise<Candidate[]> {
  const lh = await openLakehouse(dir, { readOnly: true });
  return (await discoverIn(lh, P, async () => {}).rediscover!(asOf, { freshness: DEFAULT_FRESHNESS })).candidates;
}

/** Mean close × volume of the finite ones among a symbol's bars in (asOf - LIQUIDITY_DAYS, asOf]. */
async function meanVolume(lh: Lakehouse, symbol: string, asOf: number, venue = VENUE): Promise<number> {
  const o = await lh.readOhlcv(symbol, venue);
  const dv: number[] = [];
  for (let i = 0; i < o.date.length; i++) if (o.date[i] > asOf - LIQUIDITY_DAYS && o.date[i] <= asOf && Number.isFinite(o.close[i] * o.volume[i])) dv.push(o.close[i] * o.volume[i]);
  return dv.reduce((a, b) => a + b, 0) / dv.length;
}

const byVolume = (cs: Candidate[]) => Object.fromEntries(cs.map((c) => [c.symbol, c.volume_24h]));

test('a worker adopts the scan liquidity sums built from the same file versions, and builds its own otherwise', async () => {
  const dir = await tempDir();
  await (await openLakehouse(dir)).seedSynthetic({ symbols: 8, days: 120, seed: 5 });
  const lh = await openLakehouse(dir, { readOnly: true });
  const last = Math.min(...lh.symbols().filter((s) => s.venue === VENUE).map((s) => dayFromIso(s.last_date)));
  const asOf = last - 10;

  // The run's thread: the sums built from the bars, point in time.
  const mine = await decide(dir, asOf);
  expect(mine.length).toBe(8);
  for (const c of mine) expect(c.volume_24h).toBeCloseTo(await meanVolume(lh, c.symbol, asOf), 4);
  const shared = shareDecoded()!;
  expect(shared.liquidity).toHaveLength(1);
  const sums = shared.liquidity![0]!;
  expect(sums.data).toHaveLength(8);
  for (const s of sums.data) {
    expect(s.cum.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(s.known.buffer).toBeInstanceOf(SharedArrayBuffer);
  }

  // A worker handed sums whose volumes are doubled decides on doubled volumes: it reads what it adopted and does not
  // build its own (doubling is exact, so is the ratio).
  const doubled: SharedSeries = { ...shared, liquidity: [{ ...sums, data: sums.data.map((s) => ({ cum: s.cum.map((x) => 2 * x), known: s.known })) }] };
  adoptSharedSeries(doubled);
  const fromDoubled = byVolume(await decide(dir, asOf));
  for (const c of mine) expect(fromDoubled[c.symbol]).toBe(2 * c.volume_24h!);

  // Handed the sums as built: the same candidates, bit for bit.
  adoptSharedSeries(shared);
  expect(await decide(dir, asOf)).toEqual(mine);

  // With them, where each symbol's bars sit: a worker skips those passes over the dates. Handed as not an unbroken
  // run of the calendar (offset -1), each symbol's own dates are searched instead: the same candidates.
  for (const s of sums.data) expect(s.bars).toEqual({ maxStep: expect.any(Number), offset: expect.any(Number) });
  adoptSharedSeries({ ...shared, liquidity: [{ ...sums, data: sums.data.map((s) => ({ ...s, bars: { ...s.bars!, offset: -1 } })) }] });
  expect(await decide(dir, asOf)).toEqual(mine);

  // Sums of other file versions of the same symbols are not taken: the worker builds its own, the same bits.
  adoptSharedSeries({ ...doubled, liquidity: [{ ...doubled.liquidity![0]!, checksums: sums.checksums.map((c, j) => (j === 3 ? `${c}0` : c)) }] });
  expect(await decide(dir, asOf)).toEqual(mine);
});

test('point-in-time liquidity counts only finite quote volumes: none yet, none at all (a CSV of closes) or from some day on', async () => {
  const dir = await tempDir();
  const csv = join(dir, 'csv');
  mkdirSync(csv);
  const start = dayFromIso('2024-01-01');
  const file = (name: string, volume: (t: number) => string) =>
    writeFileSync(join(csv, `${name}.csv`), ['date,open,high,low,close,volume', ...Array.from({ length: 90 }, (_, t) => `${isoFromDay(start + t)},${10 + t},${11 + t},${9 + t},${10 + t},${volume(t)}`)].join('\n'));
  file('ALLVOL', (t) => String(1000 + t));
  file('LATEVOL', (t) => (t < 50 ? '' : String(2000 + t)));
  file('NOVOL', () => '');
  const lh = await openLakehouse(join(dir, 'lh'));
  await lh.importCsv(csv, { layout: 'ohlcv', venue: 'v', assetType: 'spot' });
  const ro = await openLakehouse(join(dir, 'lh'), { readOnly: true });
  const scan = discoverIn(ro, { ...P, venue: 'v' }, async () => {});
  for (const t of [10, 49, 50, 60, 89]) {
    const got = byVolume((await scan.rediscover!(start + t, { freshness: DEFAULT_FRESHNESS })).candidates);
    for (const symbol of ['ALLVOL', 'LATEVOL', 'NOVOL']) {
      const mean = await meanVolume(ro, symbol, start + t, 'v');
      if (Number.isNaN(mean)) expect(got[symbol]).toBeUndefined();
      else expect(got[symbol]).toBeCloseTo(mean, 6);
    }
  }
});
