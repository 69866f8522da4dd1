/**
 * Decisions that hold fewer names than the policy's floor (min_winners): counted in metrics.json
 * (`min_winners_floor`), flagged (FLOOR) at the top of the reports, with the record's figures from the day every
 * decision holds the floor. The case is the crypto example's long sleeve (pipelines/crypto_long.yaml on the Binance
 * closes of ../shared/data/crypto): the venue's calendar starts at the first listing, so the first two decisions
 * (2022-06-13, 2022-07-13) see 46 of 49 names with too little history and hold 1 and 2 names against min_winners 8,
 * and they carry the headline. Counts come from the run's audit (the windows' holdings), the figures from its
 * returns.arrow, recomputed here; the rule's edges on hand-made windows.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { REPO_DIR } from '../data.js';
import { auditEvents, cryptoLakehouse, readJson, runYaml } from './pipeline-helpers.js';
import { minWinnersFloor } from '../../stages/backtest/holdings-floor.js';
import { floorFlag } from '../../src/runs/record-flags.js';
import type { BacktestWindow } from '../../src/core/context.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-floor-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const DAY = 86_400_000;
const iso = (d: number) => new Date(d * DAY).toISOString().slice(0, 10);

test('crypto_long: the two first decisions hold fewer names than min_winners 8, flagged, with the record from 2022-08-13', async () => {
  const lakehouse = await cryptoLakehouse(join(tmp, 'lh'));
  const yaml = `${readFileSync(join(REPO_DIR, 'pipelines', 'crypto_long.yaml'), 'utf8').trimEnd()}\n  - type: report\n`;
  expect(yaml).toMatch(/min_winners: 8\b/);
  const s = await runYaml(tmp, 'crypto_long', yaml, lakehouse, join(tmp, 'runs'));
  expect(s.outcome).toBe('succeeded');
  const bt = readJson(s.folder, 'metrics.json').backtest;

  // The windows as the backtest recorded them: holdings per decision.
  const windows = auditEvents(s.folder).filter((e) => e.stage === 'backtest' && e.event === 'window').map((e) => e.data);
  expect(windows).toHaveLength(bt.windows);
  const below = windows.filter((w) => !w.cash_reason && w.holdings < 8);
  expect(below.map((w) => [w.window, w.as_of, w.holdings])).toEqual([[0, '2022-06-13', 1], [1, '2022-07-13', 2]]);
  const next = windows[below.at(-1).window + 1];
  expect(next.start).toBe('2022-08-13');

  // The record from that day, recomputed from returns.arrow: CAGR by the 365-day year, Sharpe of the daily returns
  // (sample std), max drawdown of the compounded equity.
  const ret = tableFromIPC(readFileSync(join(s.folder, 'returns.arrow')));
  const days = Array.from(ret.getChild('date')!.toArray() as ArrayLike<number>, (ms) => Math.round(ms / DAY));
  const r = Array.from(ret.getChild('return')!.toArray() as Float64Array).slice(days.findIndex((d) => iso(d) === '2022-08-13'));
  const n = r.length;
  const growth = r.reduce((g, x) => g * (1 + x), 1);
  const mean = r.reduce((a, x) => a + x, 0) / n;
  const sd = Math.sqrt(r.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  let peak = 1;
  let e = 1;
  let mdd = 0;
  for (const x of r) {
    e *= 1 + x;
    peak = Math.max(peak, e);
    mdd = Math.min(mdd, e / peak - 1);
  }
  const f = bt.min_winners_floor;
  expect(f).toMatchObject({ floor: 8, windows_below: 2, last_below_as_of: '2022-07-13', met_from: '2022-08-13' });
  expect(f.since_met).toMatchObject({ first: '2022-08-13', last: bt.last, days: n });
  expect(f.since_met.total_return).toBeCloseTo(growth - 1, 12);
  expect(f.since_met.cagr).toBeCloseTo(growth ** (365 / n) - 1, 12);
  expect(f.since_met.sharpe).toBeCloseTo((mean / sd) * Math.sqrt(365), 10);
  expect(f.since_met.max_drawdown).toBeCloseTo(mdd, 12);
  // The reviewer's figures: the headline 35.7% and 0.79, from 2022-08-13 on 0.9% and 0.31.
  expect([bt.cagr, bt.sharpe, f.since_met.cagr, f.since_met.sharpe].map((x: number) => Number(x.toFixed(3)))).toEqual([0.357, 0.79, 0.009, 0.305]);

  // Flagged at the top of both reports, and each window below the floor noted in the windows table.
  const flag = 'FLOOR: 2 of the 34 decisions picked fewer names than the policy\'s min_winners of 8 (the last decided 2022-07-13); every decision picks at least 8 names from 2022-08-13 on: from then, CAGR 0.9% and Sharpe 0.31, against 35.7% and 0.79 for the whole record';
  expect(floorFlag(bt)).toBe(flag);
  const md = readFileSync(join(s.folder, 'report.md'), 'utf8');
  expect(md).toContain(`**${flag}.`);
  expect(md.split('\n').filter((l) => l.includes('fewer names than min_winners 8'))).toHaveLength(2);
  const html = readFileSync(join(s.folder, 'report.html'), 'utf8');
  expect(html).toContain(`<p class="flag">${flag}.`);

  // A fully invested long book holds a gross and a net of 1 every day: its extremes are dated the record's first day.
  expect(bt.realised_gross_exposure.max).toBeCloseTo(1, 12);
  expect(bt.realised_gross_exposure.max_date).toBe(bt.first);
  expect(bt.realised_net_exposure.min_date).toBe(bt.first);
});

describe('the rule on hand-made windows', () => {
  // Four windows of 3 days each on days 0..11, returns 1% a day; a floor of 3 names.
  const dates = Int32Array.from({ length: 12 }, (_, i) => 19_000 + i);
  const returns = new Float64Array(12).fill(0.01);
  const win = (k: number, holdings: number, cash?: string, winners = holdings): BacktestWindow => ({
    window: k, as_of: iso(19_000 + 3 * k - 1), start: iso(19_000 + 3 * k), end: iso(19_000 + 3 * k + 2), holdings, winners, engine: null,
    turnover: 0, cost: 0, borrow: 0, funding: 0, return: 0, liquidated: false, weights: [], ...(cash ? { cash_reason: cash } : {}),
  });

  test('no policy, no floor: nothing is recorded', () => {
    expect(minWinnersFloor([win(0, 1)], dates, returns, 365, 0, undefined)).toEqual({});
  });

  test('every decision at the floor: none below, met from the first day, no second set of figures, no flag', () => {
    const out = minWinnersFloor([win(0, 3), win(1, 5), win(2, 3), win(3, 4)], dates, returns, 365, 0, 3);
    expect(out).toEqual({ min_winners_floor: { floor: 3, windows_below: 0, last_below_as_of: null, met_from: iso(19_000), since_met: null } });
    expect(floorFlag({ windows: 4, ...out })).toBeUndefined();
  });

  test('a cash window is counted apart (cash_windows), not as below the floor; a later thin window moves the day', () => {
    const out = minWinnersFloor([win(0, 1), win(1, 0, 'no winners'), win(2, 2), win(3, 3)], dates, returns, 365, 0, 3).min_winners_floor!;
    expect(out).toMatchObject({ windows_below: 2, last_below_as_of: iso(19_000 + 5), met_from: iso(19_000 + 9) });
    // Days 9, 10, 11 at 1% a day.
    expect(out.since_met).toMatchObject({ first: iso(19_000 + 9), days: 3 });
    expect(out.since_met!.total_return).toBeCloseTo(1.01 ** 3 - 1, 14);
  });

  test("the floor is on the names the policy picked: an engine holding fewer of them (max_sharpe keeping 2 of 4) is not below it", () => {
    const out = minWinnersFloor([win(0, 2, undefined, 4), win(1, 3), win(2, 1, undefined, 3), win(3, 3)], dates, returns, 365, 0, 3);
    expect(out.min_winners_floor).toMatchObject({ windows_below: 0, met_from: iso(19_000) });
  });

  test('the latest decision below the floor: no day from which every decision holds it', () => {
    const out = minWinnersFloor([win(0, 3), win(1, 3), win(2, 3), win(3, 2)], dates, returns, 365, 0, 3);
    expect(out.min_winners_floor).toMatchObject({ windows_below: 1, met_from: null, since_met: null });
    expect(floorFlag({ windows: 4, ...out })).toBe(`FLOOR: 1 of the 4 decisions picked fewer names than the policy's min_winners of 3 (the last decided ${iso(19_000 + 8)}); no later decision holds the floor throughout`);
  });
});
