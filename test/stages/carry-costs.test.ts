/**
 * Carry costs (issue 10, item 6), from a user's side: borrow on SHORT exposure and funding on perpetuals, charged
 * daily on exposure and reported apart from trading costs. The markets are flat (every price 100), so the only
 * thing that moves the equity is carry, and the expected path is worked out here in dollars: a position's notional
 * stays where the rebalance set it, and each day's charge is rate × notional, paid out of cash.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { openLakehouse } from '../../src/lakehouse/index.js';
import { readJson as read, runYaml as run } from './pipeline-helpers.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-carry-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const DAYS = 26;
const dates = Array.from({ length: DAYS }, (_, t) => new Date(Date.UTC(2024, 0, 1 + t)).toISOString().slice(0, 10));

const runYaml = (name: string, yaml: string, lakehouse?: string) => run(tmp, name, yaml, lakehouse);
const returnsOf = (folder: string) => Array.from(tableFromIPC(readFileSync(join(folder, 'returns.arrow'))).getChild('return')!.toArray() as Float64Array);

test('a SHORT spot book pays borrow daily on its short notional; trading costs are reported apart', async () => {
  const csv = join(tmp, 'flat.csv');
  writeFileSync(csv, ['date,FLAT', ...dates.map((d) => `${d},100`)].join('\n'));
  const s = await runYaml('borrow', `pipeline: selection\nversion: "4.0"\nname: borrow\nstages:
  - type: ingestion
    params: { scanner: { name: csv, params: { path: ${JSON.stringify(csv)}, layout: wide, asset_type: spot } } }
  - type: allocation
    params: { engine: equal_weight, budget: -1, bounds: [-1, 0] }
  - type: backtest
    params: { train_window: 5, test_window: 10, step_size: 10, slippage_bps: 0, commission_bps: 0, borrow_rate: 0.1, workers: 1 }
  - type: report
`);
  expect(s.outcome).toBe('succeeded');
  // Rebalances on days 4, 14 and 24: windows of 10, 10 and 1 days. Each rebalance shorts the whole equity E; the
  // short's notional stays E (flat price) and pays c = 0.1 / 365 of it a day: E_end = E (1 - days × c).
  const c = 0.1 / 365;
  let e = 1;
  let borrowFractions = 0;
  const want: number[] = [];
  for (const days of [10, 10, 1]) {
    const notional = e;
    for (let d = 0; d < days; d++) {
      const before = e;
      e -= c * notional;
      want.push(e / before - 1);
      borrowFractions += (c * notional) / before;
    }
  }
  const got = returnsOf(s.folder);
  expect(got).toHaveLength(21);
  got.forEach((g, i) => expect(Math.abs(g - want[i]!)).toBeLessThan(1e-15));
  expect(got.reduce((a, r) => a * (1 + r), 1)).toBeCloseTo((1 - 10 * c) ** 2 * (1 - c), 14);
  const bt = read(s.folder, 'metrics.json').backtest;
  expect(bt.carry.borrow).toBeCloseTo(borrowFractions, 14);
  expect(bt.carry.funding).toBe(0);
  expect(bt.costs).toBe(0);
  expect(bt.carry.per_year).toBeCloseTo(borrowFractions / (21 / 365), 12);
  const report = readFileSync(join(s.folder, 'report.md'), 'utf8');
  expect(report).toMatch(/\| borrow on shorts \| 0\.58% \|/);
  expect(report).toMatch(/\| trading costs \| 0\.00% \|/);
  expect(readFileSync(join(s.folder, 'report.html'), 'utf8')).toContain('Borrow on shorts (total)');
});

test('perpetuals pay funding from the lakehouse series where it has a day, the constant rate where not; no borrow on a short perp', async () => {
  // Two perpetuals, flat at 100: LNG held long (+1), SHT held short (-1). Funding per day, a fraction of notional.
  const fL = dates.map((_, t) => (t % 5 === 3 ? '' : (t % 3 === 0 ? -0.0001 : 0.0003).toString())); // '' = unknown
  const fS = dates.map((_, t) => (t % 4 === 0 ? 0.0005 : 0.0001).toString());
  const dir = join(tmp, 'perps');
  mkdirSync(dir, { recursive: true });
  const file = (f: string[]) => ['date,open,high,low,close,volume,funding', ...dates.map((d, t) => `${d},100,100,100,100,1000000,${f[t]}`)].join('\n');
  writeFileSync(join(dir, 'LNG.csv'), file(fL));
  writeFileSync(join(dir, 'SHT.csv'), file(fS));
  const lakehouse = join(tmp, 'perp-lh');
  const lh = await openLakehouse(lakehouse, { create: true });
  await lh.importCsv(dir, { layout: 'ohlcv', venue: 'perp_venue', assetType: 'perp' });
  const s = await runYaml('funding', `pipeline: selection\nversion: "4.0"\nname: funding\nstages:
  - type: ingestion
    params: { scanner: { name: lakehouse, params: { min_volume_perp: 0 } } }
  - type: allocation
    params: { engine: equal_weight, budget: 0, bounds: [-1, 1], symbol_bounds: { LNG: [1, 1], SHT: [-1, -1] } }
  - type: backtest
    params: { train_window: 5, test_window: 20, step_size: 20, slippage_bps: 0, commission_bps: 0, borrow_rate: 0.5, funding_rate: 0.0365, workers: 1 }
`, lakehouse);
  expect(s.outcome).toBe('succeeded');
  // Rebalances on days 4 and 24 (windows of 20 and 1 days). Notionals +E and -E set at each rebalance; each day the
  // long pays its funding, the short receives its own: E -= E_reb × (fL - fS). An unknown LNG day: 0.0365 / 365.
  const rate = (f: string) => (f === '' ? 0.0365 / 365 : Number(f));
  let e = 1;
  let fundingFractions = 0;
  const want: number[] = [];
  for (const [from, to] of [[5, 24], [25, 25]] as const) {
    const notional = e;
    for (let t = from; t <= to; t++) {
      const before = e;
      const charge = notional * (rate(fL[t]!) - rate(fS[t]!));
      e -= charge;
      want.push(e / before - 1);
      fundingFractions += charge / before;
    }
  }
  const got = returnsOf(s.folder);
  expect(got).toHaveLength(21);
  got.forEach((g, i) => expect(Math.abs(g - want[i]!)).toBeLessThan(1e-15));
  const bt = read(s.folder, 'metrics.json').backtest;
  expect(bt.carry.funding).toBeCloseTo(fundingFractions, 14);
  expect(bt.carry.borrow).toBe(0); // the short is a perpetual: funding, never borrow
  expect(bt.costs).toBe(0);
});

test('the day a short is liquidated pays its borrow in both simulators: the position was held over that day', async () => {
  // One spot name, shorted with the whole equity (weight −1) at the close of 2024-01-03 (train 3: day 2), no trading
  // costs, borrow 10% a year: b = 0.1 / 365 a day on the start-of-day short exposure. Closes 10, 10, 10, 11, 25, …:
  //   01-04: exposure −1 pays b; the price rises 10%: r = −0.1 − b; the weight drifts to −1 × 1.1 / (0.9 − b);
  //   01-05: exposure 1.1 / (0.9 − b) pays b × 1.1 / (0.9 − b); the price rises 14/11: the equity would be
  //          1 − 1.1 / (0.9 − b) × 14 / 11 − … < 0: liquidated, −100%, then 0 for good.
  // Borrow booked: b + b × 1.1 / (0.9 − b) (the liquidation day's charge is part of the loss it books, and the
  // lender charged it: the short was open over that day).
  const closes = [10, 10, 10, 11, 25, 24, 20, 22, 21, 20];
  const csv = join(tmp, 'liq.csv');
  writeFileSync(csv, ['date,CCC', ...closes.map((c, t) => `${dates[t]},${c}`)].join('\n'));
  const s = await runYaml('liq', `pipeline: selection\nversion: "4.0"\nname: liq\nstages:
  - type: ingestion
    params: { scanner: { name: csv, params: { path: ${JSON.stringify(csv)}, layout: wide, asset_type: spot } } }
  - type: allocation
    params: { engine: equal_weight, budget: -1, bounds: [-1, 0] }
  - type: backtest
    params: { train_window: 3, test_window: 3, step_size: 3, slippage_bps: 0, commission_bps: 0, borrow_rate: 0.1, workers: 1, parity: true, simulator: { name: event_driven, params: { fill: close } } }
`);
  expect(s.outcome).toBe('succeeded');
  const b = 0.1 / 365;
  const borrow = b + (b * 1.1) / (0.9 - b);
  const got = returnsOf(s.folder);
  expect(got).toHaveLength(7);
  expect(Math.abs(got[0]! - (-0.1 - b))).toBeLessThan(1e-15);
  expect(got.slice(1)).toEqual([-1, 0, 0, 0, 0, 0]);
  const parity = read(s.folder, 'parity.json');
  expect(parity.metrics.vectorized.liquidated).toBe(true);
  expect(parity.metrics.event_driven.liquidated).toBe(true);
  expect(Math.abs(parity.metrics.event_driven.carry.borrow - borrow)).toBeLessThan(1e-17);
  expect(Math.abs(parity.metrics.vectorized.carry.borrow - borrow)).toBeLessThan(1e-17);
  expect(Math.abs(parity.differences.carry)).toBeLessThan(1e-17);
  expect(Math.abs(read(s.folder, 'metrics.json').backtest.carry.borrow - borrow)).toBeLessThan(1e-17);
});
