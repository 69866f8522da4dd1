/**
 * The freshness step's quick test (scanner.ts staleOn over a BarSpan: no search of the dates unless the day lies
 * inside a gap longer than the limit) against the rule written out here: a symbol is fresh on day d when one of its
 * bars lies in [d − limit, d]. Over a market with late listings, delistings, gaps of every length around the
 * limits, a single bar and no bars, on every day from before the first bar to after the last.
 */
import type { FunnelStep } from '../../src/core/context.js';
import { barSpan, barsUpTo, barsUpToIn, calendarOffset, freshAt, staleOn, staleReason, toCandidate, type Freshness } from '../../stages/ingestion/scanner.js';
import type { SymbolRow } from '../../src/lakehouse/index.js';

/** Ascending bar days: a listing day, then steps of 1 day with gaps of `gaps[i]` days inserted, up to a delisting day. */
function market(): Int32Array[] {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const out: Int32Array[] = [new Int32Array([]), new Int32Array([100]), new Int32Array([100, 101, 102, 110, 111])];
  for (let s = 0; s < 60; s++) {
    const days: number[] = [];
    let d = Math.floor(rand() * 40); // listed at different days
    const end = 120 + Math.floor(rand() * 80); // delisted at different days
    while (d <= end) {
      days.push(d);
      // mostly daily, sometimes a weekend-like step, sometimes a gap around or beyond every limit
      const r = rand();
      d += r < 0.8 ? 1 : r < 0.9 ? 3 : 1 + Math.floor(rand() * 10);
    }
    out.push(new Int32Array(days));
  }
  return out;
}

/** The rule itself: a bar in [asOf − limit, asOf]. */
const freshByScan = (dates: Int32Array, asOf: number, limit: number) => dates.some((d) => d <= asOf && d >= asOf - limit);

test('staleOn agrees with a scan of the dates and with staleReason on every day, for limits 0 to 8', () => {
  let stale = 0;
  let fresh = 0;
  const disagree: { dates: number[]; asOf: number; limit: number; expected: boolean }[] = [];
  for (const dates of market()) {
    const span = barSpan(dates);
    for (let limit = 0; limit <= 8; limit++)
      for (let asOf = -5; asOf <= 220; asOf++) {
        const expected = !freshByScan(dates, asOf, limit);
        if (staleOn(span, asOf, limit) !== expected || (staleReason(dates, asOf, 'equity', { equity: limit }) !== undefined) !== expected) disagree.push({ dates: [...dates], asOf, limit, expected });
        if (expected) stale++;
        else fresh++;
      }
  }
  expect(disagree.slice(0, 3)).toEqual([]);
  // Both outcomes are exercised, many times over.
  expect(stale).toBeGreaterThan(10_000);
  expect(fresh).toBeGreaterThan(10_000);
});

test("freshAt keeps and names exactly the symbols the plain rule does, with staleReason's reasons and the last bar", () => {
  const dates = market();
  const row = (i: number): SymbolRow => ({ symbol: `S${i}`, exchange: 'x', venue: 'v', asset_type: i % 2 ? 'spot' : 'equity', first_date: '', last_date: '', rows: 0 }) as unknown as SymbolRow;
  const cands = dates.map((_, i) => toCandidate(row(i)));
  cands.push({ symbol: 'UNKNOWN' }); // no bars known to the source: kept, for the returns reader to name
  const freshness: Freshness = { spot: 2, equity: 5 };
  const spans = dates.map(barSpan);
  for (let asOf = -5; asOf <= 220; asOf += 3) {
    const funnel: FunnelStep[] = [];
    const kept = freshAt(cands, asOf, freshness, (_c, i) => spans[i], funnel);
    const reasons = cands.map((c, i) => (i < dates.length ? staleReason(dates[i], asOf, c.asset_type, freshness) : undefined));
    expect(kept).toEqual(cands.filter((_, i) => !reasons[i]));
    const dropped = funnel[0].dropped ?? [];
    expect(dropped.map((d) => d.symbol)).toEqual(cands.filter((_, i) => reasons[i]).map((c) => c.symbol));
    for (const d of dropped) {
      const i = Number(d.symbol.slice(1));
      expect(d.reason).toBe(reasons[i]);
      const before = [...dates[i]].filter((x) => x <= asOf);
      expect(d.last_bar).toBe(before.length ? new Date(before[before.length - 1] * 86_400_000).toISOString().slice(0, 10) : undefined);
    }
  }
});

test("a series' bar counts from its offset in a reference calendar equal a count of its own dates, on every day", () => {
  // A calendar with weekend-like holes; series cut from it (listed late, delisted early), and series that are not an
  // unbroken run of it (a day missing, a day the calendar lacks, running past its end, no bars).
  const calendar = new Int32Array([...Array(300).keys()].filter((d) => d % 7 !== 5 && d % 7 !== 6));
  const slice = (a: number, b: number) => calendar.slice(a, b);
  const runs = [slice(0, calendar.length), slice(0, 1), slice(17, 18), slice(30, 120), slice(100, calendar.length), slice(0, 50)];
  const broken = [
    new Int32Array([...slice(10, 40)].filter((_, i) => i !== 12)), // a day missing
    new Int32Array([...slice(10, 20), 40, ...slice(30, 40)].sort((x, y) => x - y)), // a Saturday, which the calendar lacks
    new Int32Array([...slice(200, calendar.length), 300, 301]), // past the calendar's end
    new Int32Array([-3, ...slice(0, 10)]), // before its start
    new Int32Array([]),
  ];
  for (const dates of runs) {
    const offset = calendarOffset(calendar, dates);
    expect(offset).toBe(calendar.indexOf(dates[0]));
    const differ: number[] = [];
    for (let day = -5; day <= 310; day++) {
      const own = [...dates].filter((d) => d <= day).length;
      if (barsUpToIn(barsUpTo(calendar, day), offset, dates.length) !== own) differ.push(day);
    }
    expect(differ).toEqual([]);
  }
  for (const dates of broken) expect(calendarOffset(calendar, dates)).toBe(-1);
});
