/**
 * Sleeves on different calendars (a crypto sleeve every day, an equity sleeve on weekdays), on synthetic records,
 * against an independent implementation written here (plain arrays, nothing shared with src/ or stages/):
 * - join: inner: each row is what holding each sleeve earned since the previous shared day (the crypto sleeve's
 *   weekend compounded into Monday), the first shared day that day alone, the days after the last shared day left
 *   for the next one; the meta held on those rows earns what holding the sleeves through every calendar day earns;
 *   annualised at the fewest of the sleeves' periods per year;
 * - join: outer: every day of the span when a sleeve trades every day; an equity sleeve's weekends inside its record
 *   are 0 returns and do not count against it in the health gate, a weekday its record lacks does;
 * - no row depends on data after its day: the records cut at any day give the full records' rows up to it.
 */
import { alignSleeves } from '../../stages/meta/align.js';
import { metaWalkForward } from '../../stages/meta/walk-forward.js';
import { VectorizedSimulator } from '../../stages/backtest/simulators/vectorized.simulator.js';

// 2024-01-01 is a Monday: epoch day 19723.
const MONDAY = 19_723;
const isWeekend = (d: number) => [5, 6].includes((d - MONDAY) % 7);
/** A deterministic return for a sleeve on a day (no randomness: reruns give the same numbers). */
const ret = (seed: number, d: number) => 0.02 * Math.sin(seed * 12.9898 + d * 78.233) + 0.001 * Math.cos(d * seed);

interface Rec {
  dates: number[];
  returns: number[];
  periods_per_year: number;
}
/** Crypto: every day of [from, to]. Equity: the weekdays, less `holes`. */
function crypto(from: number, to: number, seed = 1): Rec {
  const dates: number[] = [];
  for (let d = from; d <= to; d++) dates.push(d);
  return { dates, returns: dates.map((d) => ret(seed, d)), periods_per_year: 365 };
}
function equity(from: number, to: number, holes: number[] = [], seed = 2): Rec {
  const dates: number[] = [];
  for (let d = from; d <= to; d++) if (!isWeekend(d) && !holes.includes(d)) dates.push(d);
  return { dates, returns: dates.map((d) => ret(seed, d)), periods_per_year: 252 };
}
const col = (a: { dates: Int32Array; values: Float64Array }, j: number) => Array.from(a.values.subarray(j * a.dates.length, (j + 1) * a.dates.length));
const asRecords = (rs: Rec[]) => rs.map((r) => ({ dates: Int32Array.from(r.dates), returns: Float64Array.from(r.returns), periods_per_year: r.periods_per_year }));

describe('join: inner on a crypto (every day) and an equity (weekday) sleeve', () => {
  // Crypto from a Thursday a week before the equity starts, to the Sunday after it ends; a Wednesday holiday.
  const holiday = MONDAY + 7 * 5 + 2;
  const c = crypto(MONDAY - 4, MONDAY + 7 * 20 - 1);
  const e = equity(MONDAY, MONDAY + 7 * 20 - 3, [holiday]);
  const a = alignSleeves(asRecords([c, e]), 'inner');

  test("each row compounds the sleeve's returns since the previous shared day; the first is its day alone", () => {
    // Independently: the shared days, then for each the product over the sleeve's days in (previous, this].
    const shared = e.dates.filter((d) => c.dates.includes(d));
    expect(Array.from(a.dates)).toEqual(shared);
    const expected = (r: Rec) =>
      shared.map((d, k) => {
        if (k === 0) return r.returns[r.dates.indexOf(d)];
        let g = 1;
        r.dates.forEach((x, i) => {
          if (x > shared[k - 1] && x <= d) g *= 1 + r.returns[i];
        });
        return g - 1;
      });
    const [gotC, gotE] = [col(a, 0), col(a, 1)];
    const wantC = expected(c);
    for (let t = 0; t < shared.length; t++) expect(Math.abs(gotC[t] - wantC[t])).toBeLessThan(1e-15);
    // The equity sleeve has every shared day and nothing between: its own returns, bit for bit.
    expect(gotE).toEqual(shared.map((d) => e.returns[e.dates.indexOf(d)]));
    // A Monday holds the crypto weekend; the day after the holiday holds two crypto days; the first row is the
    // crypto sleeve's Monday alone (its Thursday to Sunday before the calendar starts are not in it).
    const monday = shared.indexOf(MONDAY + 7);
    expect(Math.abs(gotC[monday] - ((1 + ret(1, MONDAY + 5)) * (1 + ret(1, MONDAY + 6)) * (1 + ret(1, MONDAY + 7)) - 1))).toBeLessThan(1e-15);
    const afterHoliday = shared.indexOf(holiday + 1);
    expect(Math.abs(gotC[afterHoliday] - ((1 + ret(1, holiday)) * (1 + ret(1, holiday + 1)) - 1))).toBeLessThan(1e-15);
    expect(gotC[0]).toBe(ret(1, MONDAY));
    // The gate counts every row (every row is a day of both records); the calendar is the equity's: 252 a year.
    expect(Array.from(a.calendar).every((x) => x === 1)).toBe(true);
    expect(a.periodsPerYear).toBe(252);
  });

  test('the meta held on the shared days earns what holding the sleeves through every calendar day earns', () => {
    const T = a.dates.length;
    const [train, step] = [10, 10];
    const wf = metaWalkForward({
      dates: a.dates, names: ['c', 'e'], values: a.values, train, test: step, step, costRate: 0, healthThreshold: 0.75, calendar: a.calendar,
      physicalAt: () => [],
      decide: () => ({ weights: Float64Array.of(0.6, 0.4), engine: 'fixed' }),
      simulator: new VectorizedSimulator(),
    });
    // Independently: day by day over the calendar, each sleeve's value moving with its own return that day (none:
    // its market is closed, it does not move), the book set to 60/40 at each rebalance (rows train-1, +step).
    const shared = Array.from(a.dates);
    const rebalanceDays = new Set<number>();
    for (let t = train - 1; t < T - 1; t += step) rebalanceDays.add(shared[t]);
    const own = (r: Rec, d: number) => (r.dates.includes(d) ? r.returns[r.dates.indexOf(d)] : 0);
    let [vc, ve] = [0, 0];
    let started = false;
    const equityOn = new Map<number, number>();
    for (let d = shared[train - 1]; d <= shared[T - 1]; d++) {
      if (started) [vc, ve] = [vc * (1 + own(c, d)), ve * (1 + own(e, d))];
      if (rebalanceDays.has(d)) {
        const eq = started ? vc + ve : 1;
        [vc, ve] = [0.6 * eq, 0.4 * eq];
        started = true;
      }
      equityOn.set(d, vc + ve);
    }
    expect(Array.from(wf.dates)).toEqual(shared.slice(train));
    let eq = 1;
    wf.dates.forEach((d, i) => {
      eq *= 1 + wf.returns[i];
      expect(Math.abs(eq - equityOn.get(d)!)).toBeLessThan(1e-12);
    });
    // Not the same as dropping the weekends: the crypto sleeve's weekend moves are material here.
    let dropped = 1;
    for (let t = train; t < T; t++) dropped *= 1 + 0.6 * c.returns[c.dates.indexOf(shared[t])] + 0.4 * e.returns[e.dates.indexOf(shared[t])];
    expect(Math.abs(dropped - eq)).toBeGreaterThan(1e-3);
  });

  test('one calendar: the rows are the records themselves, bit for bit (the existing crypto metas are unchanged)', () => {
    const one = alignSleeves(asRecords([crypto(MONDAY, MONDAY + 60, 3), crypto(MONDAY + 5, MONDAY + 70, 4)]), 'inner');
    expect(Array.from(one.dates)).toEqual(crypto(MONDAY + 5, MONDAY + 60).dates);
    for (const [j, seed] of [[0, 3], [1, 4]]) expect(col(one, j)).toEqual(Array.from(one.dates, (d) => ret(seed, d)));
    expect(one.periodsPerYear).toBe(365);
  });
});

describe('join: outer on a crypto and an equity sleeve', () => {
  // The equity sleeve starts 3 weeks after the crypto one (on a Wednesday) and ends a week before it.
  const c = crypto(MONDAY, MONDAY + 7 * 16 - 1);
  const start = MONDAY + 7 * 3 + 2;
  const hole = Array.from({ length: 15 }, (_, i) => MONDAY + 7 * 9 + i).filter((d) => !isWeekend(d)); // 3 weeks of weekdays
  const complete = equity(start, MONDAY + 7 * 15 - 3);
  const holed = equity(start, MONDAY + 7 * 15 - 3, hole);

  test("every day of the span; the equity sleeve's closed days in its record are 0, its missing weekdays and the days before it NaN", () => {
    const a = alignSleeves(asRecords([c, holed]), 'outer');
    const days = c.dates; // the crypto sleeve spans the whole union
    expect(Array.from(a.dates)).toEqual(days);
    const want = days.map((d) => {
      if (holed.dates.includes(d)) return holed.returns[holed.dates.indexOf(d)];
      if (d < start) return NaN;
      return isWeekend(d) ? 0 : NaN;
    });
    expect(col(a, 1)).toEqual(want);
    expect(col(a, 0)).toEqual(c.returns);
    // Its calendar: its weekdays (before its start too: missing there) and its record's days; weekends are not.
    expect(Array.from(a.calendar.subarray(days.length))).toEqual(days.map((d) => (isWeekend(d) ? 0 : 1)));
    expect(Array.from(a.calendar.subarray(0, days.length)).every((x) => x === 1)).toBe(true);
    expect(a.periodsPerYear).toBe(365);
  });

  const gate = (eq: Rec) => {
    const a = alignSleeves(asRecords([c, eq]), 'outer');
    const seen: boolean[][] = [];
    const wf = metaWalkForward({
      dates: a.dates, names: ['c', 'e'], values: a.values, train: 21, test: 7, step: 7, costRate: 0, healthThreshold: 0.75, calendar: a.calendar,
      physicalAt: () => [],
      decide: (_from, _to, eligible) => {
        seen.push(eligible);
        const k = eligible.filter(Boolean).length;
        return { weights: Float64Array.from(eligible, (x) => (x ? 1 / k : 0)), engine: 'equal_weight' };
      },
      simulator: new VectorizedSimulator(),
    });
    return { a, seen, wf };
  };
  /** Independently: the equity sleeve's share of the window's weekdays that its record has. */
  const coverage = (eq: Rec, days: number[], t: number, train: number) => {
    const window = days.slice(t - train + 1, t + 1).filter((d) => !isWeekend(d));
    return window.filter((d) => eq.dates.includes(d)).length / window.length;
  };

  test('a complete weekday record is eligible once its window is covered, and stays eligible while it lasts', () => {
    const { a, seen, wf } = gate(complete);
    const days = Array.from(a.dates);
    const rows = wf.rebalances.map((r) => days.indexOf(r.as_of));
    expect(seen.map((s) => s[1])).toEqual(rows.map((t) => coverage(complete, days, t, 21) >= 0.75));
    // Every window wholly inside its record: eligible (weekends and all); it was shut out for good before.
    const inside = rows.filter((t) => days[t - 20] >= start && days[t] <= complete.dates[complete.dates.length - 1]);
    expect(inside.length).toBeGreaterThan(5);
    for (const t of inside) expect(seen[rows.indexOf(t)][1]).toBe(true);
  });

  test('a record with a 3-week hole of weekdays is still caught by the gate', () => {
    const { a, seen, wf } = gate(holed);
    const days = Array.from(a.dates);
    const rows = wf.rebalances.map((r) => days.indexOf(r.as_of));
    expect(seen.map((s) => s[1])).toEqual(rows.map((t) => coverage(holed, days, t, 21) >= 0.75));
    const caught = wf.rebalances.filter((r) => r.excluded.e && days[days.indexOf(r.as_of) - 20] >= start);
    expect(caught.length).toBeGreaterThan(0);
    expect(caught[0].excluded.e).toMatch(/^returns on \d+ of the 15 days of the window its calendar trades, below 0.75$/);
  });

  test('weekday sleeves alone: the union of their records (a holiday none has is no row), 252 a year', () => {
    const x = equity(MONDAY, MONDAY + 40, [MONDAY + 9]);
    const y = equity(MONDAY + 3, MONDAY + 50, [MONDAY + 9], 5);
    const a = alignSleeves(asRecords([x, y]), 'outer');
    expect(Array.from(a.dates)).toEqual([...new Set([...x.dates, ...y.dates])].sort((p, q) => p - q));
    expect(a.periodsPerYear).toBe(252);
  });
});

describe('no row depends on data after its day', () => {
  const c = crypto(MONDAY - 10, MONDAY + 7 * 10);
  const e = equity(MONDAY, MONDAY + 7 * 10, [MONDAY + 17, MONDAY + 30, MONDAY + 31]);
  const cut = (r: Rec, day: number): Rec => ({ ...r, dates: r.dates.filter((d) => d <= day), returns: r.returns.filter((_, i) => r.dates[i] <= day) });
  test.each(['inner', 'outer'] as const)('%s: the records cut at any day give the full rows up to it', (join) => {
    const full = alignSleeves(asRecords([c, e]), join);
    for (let day = MONDAY + 3; day < MONDAY + 7 * 10; day++) {
      const part = alignSleeves(asRecords([cut(c, day), cut(e, day)]), join);
      const T = part.dates.length;
      expect(Array.from(part.dates)).toEqual(Array.from(full.dates.subarray(0, T)));
      for (const j of [0, 1]) {
        expect(col(part, j)).toEqual(col(full, j).slice(0, T));
        expect(Array.from(part.calendar.subarray(j * T, (j + 1) * T))).toEqual(Array.from(full.calendar.subarray(j * full.dates.length, j * full.dates.length + T)));
      }
    }
  });
});
