/**
 * A meta across a crypto sleeve (every day: ../shared/data/crypto) and an equity sleeve (weekdays:
 * ../shared/data/skfolio/ftse100 from 2019), end to end, against an independent implementation written here that
 * reads only the sleeves' own returns.arrow: the meta (equal weight among the eligible sleeves, train 60, held 30,
 * no costs) is held day by day over the calendar, each sleeve moving with its own return on the days it has one,
 * and the meta's daily returns must agree to 1e-12 on the meta's own rows.
 * - join: inner: the crypto sleeve's weekends are in the next shared weekday's return (they were dropped); the
 *   record is annualised at 252 (it was at 365);
 * - join: outer: the equity sleeve is eligible wherever its record covers its own calendar's days (weekdays) of the
 *   window at the health threshold (it was shut out for good from 2022-08-24, returns on 5 of 7 days); the calendar
 *   is every day of the span, annualised at 365.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { validateFile } from '../../src/config/validate.js';
import { runPipeline } from '../../src/pipeline/runner.js';
import { openLakehouse } from '../../src/lakehouse/index.js';
import { builtinRegistry } from '../../stages/index.js';
import { DATA_DIR } from '../data.js';
import { cryptoLong, FTSE_LONG, ftseFrom2019, mixMeta } from './mixed-calendar-fixtures.js';

const [TRAIN, STEP] = [60, 30]; // as mixMeta's meta_optimize
let tmp: string;
let lakehouse: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-mixed-'));
  lakehouse = join(tmp, 'lakehouse');
  const lh = await openLakehouse(lakehouse, { create: true });
  await lh.importCsv(join(DATA_DIR, 'crypto'), { layout: 'ohlcv', venue: 'binance_spot', assetType: 'spot' });
  writeFileSync(join(tmp, 'ftse.csv'), ftseFrom2019());
  await lh.importCsv(join(tmp, 'ftse.csv'), { layout: 'wide', venue: 'ftse', assetType: 'equity' });
  writeFileSync(join(tmp, 'crypto_long.yaml'), cryptoLong());
  writeFileSync(join(tmp, 'ftse_long.yaml'), FTSE_LONG);
}, 120_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(joinKind: 'inner' | 'outer', sets?: string[]) {
  const file = join(tmp, `mix_${joinKind}.yaml`);
  writeFileSync(file, mixMeta(joinKind));
  const v = await validateFile(file, { registry: builtinRegistry(), sets });
  expect(v.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const s = await runPipeline(v, { outRoot: join(tmp, 'runs'), lakehousePath: lakehouse });
  expect(s.outcome).toBe('succeeded');
  return s.folder;
}
const json = (folder: string, f: string) => JSON.parse(readFileSync(join(folder, f), 'utf8'));
function arrowReturns(file: string): Map<number, number> {
  const t = tableFromIPC(readFileSync(file));
  const d = t.getChild('date')!.toArray() as Int32Array;
  const r = t.getChild('return')!.toArray() as Float64Array;
  // Date32 columns read back as milliseconds: days here.
  return new Map(Array.from(d, (x, i) => [Math.round(Number(x) / 86_400_000), r[i]]));
}
const weekend = (d: number) => [0, 6].includes(new Date(d * 86_400_000).getUTCDay());
const iso = (d: number) => new Date(d * 86_400_000).toISOString().slice(0, 10);

/**
 * The meta, independently: its rows, its rebalances (rows TRAIN-1, +STEP, before the last), the eligible sleeves
 * (inner: both; outer: returns on at least 75% of the window's rows its calendar trades: every day for crypto,
 * weekdays for the FTSE), equal weights among them, held over every calendar day until the next rebalance.
 */
function independent(sleeves: Map<number, number>[], everyDay: boolean[], joinKind: 'inner' | 'outer') {
  const all = [...new Set(sleeves.flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
  const rows = joinKind === 'inner' ? all.filter((d) => sleeves.every((m) => m.has(d))) : Array.from({ length: all[all.length - 1] - all[0] + 1 }, (_, i) => all[0] + i);
  const T = rows.length;
  const rebalances: { day: number; weights: number[] }[] = [];
  for (let t = TRAIN - 1; t < T - 1; t += STEP) {
    const eligible = sleeves.map((m, j) => {
      if (joinKind === 'inner') return true;
      const counted = rows.slice(t - TRAIN + 1, t + 1).filter((d) => m.has(d) || everyDay[j] || !weekend(d));
      return counted.filter((d) => Number.isFinite(m.get(d))).length / counted.length >= 0.75;
    });
    const k = eligible.filter(Boolean).length;
    rebalances.push({ day: rows[t], weights: eligible.map((e) => (e && k ? 1 / k : 0)) });
  }
  const values = sleeves.map(() => 0);
  const equityOn = new Map<number, number>();
  let r = 0;
  for (let d = rebalances[0].day; d <= rows[T - 1]; d++) {
    sleeves.forEach((m, j) => (values[j] *= 1 + (m.get(d) ?? 0)));
    if (r < rebalances.length && rebalances[r].day === d) {
      const eq = r ? values.reduce((a, b) => a + b, 0) : 1;
      rebalances[r].weights.forEach((w, j) => (values[j] = w * eq));
      r++;
    }
    equityOn.set(d, values.reduce((a, b) => a + b, 0));
  }
  const held = rows.slice(rows.indexOf(rebalances[0].day) + 1);
  const returns = held.map((d, i) => equityOn.get(d)! / equityOn.get(i ? held[i - 1] : rebalances[0].day)! - 1);
  return { rows, rebalances, held, returns };
}

describe.each(['inner', 'outer'] as const)('join: %s, crypto and FTSE 100 sleeves', (joinKind) => {
  let folder: string;
  let mine: ReturnType<typeof independent>;
  beforeAll(async () => {
    folder = await run(joinKind);
    const sleeves = json(folder, 'sleeves.json').sleeves as { name: string; run: string }[];
    expect(sleeves.map((s) => s.name)).toEqual(['crypto', 'ftse']);
    mine = independent(sleeves.map((s) => arrowReturns(join(folder, s.run, 'returns.arrow'))), [true, false], joinKind);
  }, 240_000);

  test("the meta's daily returns are what holding the sleeves through every calendar day earns", () => {
    const got = arrowReturns(join(folder, 'returns.arrow'));
    expect([...got.keys()].map(iso)).toEqual(mine.held.map(iso));
    const off = mine.held.filter((d, i) => !(Math.abs(got.get(d)! - mine.returns[i]) < 1e-12)).map(iso);
    expect(off.slice(0, 5)).toEqual([]);
    const rebalances = json(folder, 'meta_rebalances.json') as { as_of: string; weights: Record<string, number> }[];
    expect(rebalances.slice(0, -1).map((r) => [r.as_of, r.weights.crypto, r.weights.ftse])).toEqual(mine.rebalances.map((r) => [iso(r.day), ...r.weights]));
    if (joinKind === 'inner') {
      // The shared calendar is the FTSE's weekdays: no weekend day in the record, the crypto weekends held through.
      expect(mine.held.some(weekend)).toBe(false);
      expect(mine.held.length).toBeGreaterThan(150);
    } else {
      // Both sleeves held together for months: the FTSE's record is complete there, and eligible throughout.
      const both = mine.rebalances.filter((r) => r.weights[0] > 0 && r.weights[1] > 0).map((r) => iso(r.day));
      expect(both.length).toBeGreaterThanOrEqual(8);
      expect(both).toContain('2022-09-15');
      expect(both).toContain('2023-05-13');
    }
  });

  test('annualised at the periods per year of the calendar it reports on, recorded with the rule', () => {
    const ppy = joinKind === 'inner' ? 252 : 365;
    const metrics = json(folder, 'metrics.json');
    expect(metrics.meta.periods_per_year).toBe(ppy);
    expect(metrics.meta_allocation.periods_per_year).toBe(ppy);
    expect(json(folder, 'sleeves.json')).toMatchObject({ join: joinKind, periods_per_year: ppy, sleeves: [{ periods_per_year: 365, calendar: 'every day' }, { periods_per_year: 252, calendar: 'weekdays' }] });
    const growth = mine.returns.reduce((g, x) => g * (1 + x), 1);
    expect(Math.abs(metrics.meta.cagr - (growth ** (ppy / mine.returns.length) - 1))).toBeLessThan(1e-9);
    const mean = mine.returns.reduce((a, b) => a + b, 0) / mine.returns.length;
    const sd = Math.sqrt(mine.returns.reduce((a, x) => a + (x - mean) ** 2, 0) / (mine.returns.length - 1));
    expect(Math.abs(metrics.meta.volatility - sd * Math.sqrt(ppy))).toBeLessThan(1e-9);
  });
});

test("meta_optimize's periods_per_year, given, annualises the metrics as it does the decisions", async () => {
  const folder = await run('inner', ['stages.meta_optimize.periods_per_year=365']);
  const metrics = json(folder, 'metrics.json');
  expect([metrics.meta_allocation.periods_per_year, metrics.meta.periods_per_year]).toEqual([365, 365]);
  const r = [...arrowReturns(join(folder, 'returns.arrow')).values()];
  const growth = r.reduce((g, x) => g * (1 + x), 1);
  expect(Math.abs(metrics.meta.cagr - (growth ** (365 / r.length) - 1))).toBeLessThan(1e-9);
}, 240_000);
