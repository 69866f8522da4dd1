/**
 * The returns panel (src/lakehouse/panel.ts) serves every decision's reads from one build: what it serves must be,
 * bit for bit, what the plain readers (returns.ts) read from the files for the same request, on a market with
 * what makes alignment hard: late listings, delistings, gaps, a symbol that trades on days no other does, toxic
 * spikes and their reversals (and one symbol with a bar on every day of the calendar from its listing to its
 * delisting: the build's one-pass column). And no request ever sees a day after its `end`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openLakehouse, type Lakehouse, type MarketReader } from '../../src/lakehouse/index.js';
import { panelCounters } from '../../src/lakehouse/panel.js';
import type { PriceMatrix, ReturnsMatrix } from '../../src/core/context.js';
import { dayFromIso, isoFromDay } from '../../src/util/dates.js';
import { tempDir } from './helpers.js';

const SYMBOLS = ['AAA', 'BBB', 'CCC', 'DDD', 'EEE', 'FFF', 'GGG'];
const DAYS = 160;
const START = dayFromIso('2023-01-02');

/** A seeded path per symbol with the market's awkward cases written in (a wide CSV: an empty cell is no bar). */
function marketCsv(): string {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const close = SYMBOLS.map(() => 100);
  const rows = [`date,${SYMBOLS.join(',')}`];
  for (let t = 0; t < DAYS; t++) {
    const cells = SYMBOLS.map((s, j) => {
      close[j] *= 1 + (rand() - 0.5) * 0.06;
      let c = close[j];
      if (s === 'BBB' && t < 40) return ''; // listed late
      if (s === 'CCC' && t > 110) return ''; // delisted
      if (s === 'DDD' && t % 7 === 3) return ''; // gaps
      if (s === 'EEE' && (t === 50 || t === 90 || t === 91)) c *= 9; // a spike given back; a spike that lasts two days
      if (s === 'EEE' && t === 120) close[j] *= 8; // a rise that persists
      if (s === 'FFF' && t % 2 === 1 && t < 150) return ''; // every other day only
      if (s === 'GGG' && (t <= 30 || t >= 75)) return ''; // listed late, delisted, a bar on every day of the calendar between
      return c.toPrecision(10);
    });
    // Day 75 has a bar for FFF alone; no symbol has a bar on day 30 (a market holiday).
    if (t === 30) cells.fill('');
    if (t === 75) cells.forEach((_, j) => SYMBOLS[j] !== 'FFF' && (cells[j] = ''));
    rows.push(`${isoFromDay(START + t)},${cells.join(',')}`);
  }
  return `${rows.join('\n')}\n`;
}

let lh: Lakehouse;
let panel: MarketReader;
beforeAll(async () => {
  const dir = await tempDir();
  const csv = join(dir, 'market.csv');
  writeFileSync(csv, marketCsv());
  const w = await openLakehouse(join(dir, 'lh'), { create: true });
  await w.importCsv(csv, { layout: 'wide', venue: 'v', assetType: 'spot' });
  lh = await openLakehouse(join(dir, 'lh'), { readOnly: true });
  panel = (await lh.returnsPanel('v', SYMBOLS, 5))!;
  expect(panel).toBeDefined();
});

const bits = (a: Float64Array | undefined) => (a ? Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex') : undefined);
const same = (a: ReturnsMatrix, b: ReturnsMatrix) => {
  expect([...a.dates]).toEqual([...b.dates]);
  expect(a.symbols).toEqual(b.symbols);
  expect(bits(a.values)).toBe(bits(b.values));
};
const samePrices = (a: PriceMatrix, b: PriceMatrix) => {
  expect([...a.dates]).toEqual([...b.dates]);
  for (const k of ['close', 'open', 'high', 'low', 'volume'] as const) expect(bits(a[k])).toBe(bits(b[k]));
};

test('every as-of date, lookback and symbol subset: the same returns, dates, bars and toxic bars as the plain readers, bit for bit', async () => {
  const subsets = [SYMBOLS, ['EEE', 'AAA'], ['DDD'], ['FFF', 'DDD'], ['BBB', 'CCC', 'EEE']];
  let served = 0;
  for (let t = 1; t < DAYS; t += 3) {
    const end = START + t;
    for (const symbols of subsets) {
      for (const lookbackDays of [undefined, 1, 5, 30]) {
        const req = { symbols, venue: 'v', end, lookbackDays, toxicThreshold: 5 };
        const plain = await lh.readReturns(req).then((r) => ({ r }), (e: { code?: string }) => ({ e: e.code }));
        const before = { ...panelCounters };
        const fromPanel = await panel.readReturns(req).then((r) => ({ r }), (e: { code?: string }) => ({ e: e.code }));
        // A request the plain readers refuse (a symbol not listed yet, delisted) is refused the same way: handed to them.
        expect('e' in fromPanel ? fromPanel.e : undefined).toBe('e' in plain ? plain.e : undefined);
        if (!('r' in plain) || !('r' in fromPanel)) {
          expect(panelCounters).toEqual({ ...before, fellBack: before.fellBack + 1 });
          continue;
        }
        same(fromPanel.r, plain.r);
        expect(fromPanel.r.dates[fromPanel.r.dates.length - 1]).toBeLessThanOrEqual(end);
        const prices = await panel.readPrices(req);
        samePrices(prices, await lh.readPrices(req));
        expect(await panel.readToxicBars(req)).toEqual(await lh.readToxicBars(req));
        expect([...(await panel.readDates(req))]).toEqual([...plain.r.dates]);
        // The panel answered all four itself (a panel that hands every request to the plain readers would pass the
        // comparisons above).
        expect(panelCounters).toEqual({ ...before, served: before.served + 4 });
        served++;
      }
    }
  }
  expect(served).toBeGreaterThan(300);
});

test('windows with a start, symbols without bars in them (allowEmpty) and unknown symbols', async () => {
  let servedWindows = 0;
  for (const [start, end] of [[10, 60], [28, 32], [74, 76], [100, 159], [0, 5]]) {
    for (const symbols of [SYMBOLS, ['CCC', 'BBB'], ['FFF']]) {
      const req = { symbols, venue: 'v', start: START + start, end: START + end, allowEmpty: true, toxicThreshold: 5 };
      const before = { ...panelCounters };
      const plain = await lh.readReturns(req);
      same(await panel.readReturns(req), plain);
      samePrices(await panel.readPrices(req), await lh.readPrices(req));
      expect(await panel.readToxicBars(req)).toEqual(await lh.readToxicBars(req));
      // Served by the panel itself unless the window has no day at all (the plain readers answer that).
      expect(panelCounters.served - before.served).toBe(plain.dates.length ? 3 : 0);
      servedWindows += plain.dates.length ? 1 : 0;
    }
  }
  expect(servedWindows).toBeGreaterThan(10);
  const unknown = { symbols: ['AAA', 'ZZZ'], venue: 'v', end: START + 50, toxicThreshold: 5 };
  const before = { ...panelCounters };
  await expect(panel.readReturns(unknown)).rejects.toMatchObject({ code: 'LAKEHOUSE_MISSING_DATA' });
  await expect(panel.readReturns({ ...unknown, symbols: ['AAA', 'AAA'] })).rejects.toMatchObject({ code: 'LAKEHOUSE_DUPLICATE' });
  expect(panelCounters).toEqual({ served: before.served, fellBack: before.fellBack + 2 });
});

test('the toxic rule is in the served returns: a spike is not booked, its reversal is booked from the last good close', async () => {
  const r = await panel.readReturns({ symbols: ['EEE'], venue: 'v', end: START + 60, lookbackDays: 20, toxicThreshold: 5 });
  const at = (day: number) => r.values[[...r.dates].indexOf(START + day)];
  expect(at(50)).toBeNaN();
  const bars = await panel.readToxicBars({ symbols: ['EEE'], venue: 'v', end: START + 60, lookbackDays: 20, toxicThreshold: 5 });
  expect(bars.map((b) => [b.date - START, b.kind])).toEqual([[50, 'spike'], [51, 'reversal']]);
  expect(at(51)).toBe(bars[1].booked);
  const p = await panel.readPrices({ symbols: ['EEE'], venue: 'v', end: START + 60, lookbackDays: 20, toxicThreshold: 5 });
  expect(p.close[[...p.dates].indexOf(START + 50)]).toBeNaN();
});
