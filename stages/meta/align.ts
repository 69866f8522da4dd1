/**
 * The sleeves' out-of-sample returns on one calendar (meta_returns' `join`), on plain arrays. Sleeves may trade on
 * different calendars: a crypto sleeve every day, an equity sleeve on weekdays (its calendar is read from its
 * declared periods per year: more than fit in the weekdays of a year, 5 × 365.25 / 7 ≈ 261, is every day).
 *
 * - `inner`: the days every sleeve has. A row is what holding each sleeve earned since the previous shared day:
 *   its returns on its own days after the previous shared day, up to and including this one, compounded
 *   ((1 + r1)(1 + r2)… − 1); a crypto sleeve's weekend comes into the next shared weekday. The first shared day is
 *   that day's return alone: a sleeve's days before the joined calendar starts are not part of it (no previous
 *   shared day bounds them). A sleeve's days after the last shared day wait for the next one: with more data they
 *   come into its row, and no earlier row changes.
 * - `outer`: every day any sleeve has; when one of them trades every day, every day from the first to the last of
 *   them (a calendar day is then a period, as its 365 a year says, before that sleeve starts too; the last day
 *   any record has bounds it, so appended data add rows after it and change none before). A sleeve's row on a day
 *   of its record is its return. From its first day on,
 *   a day its calendar does not trade (an equity sleeve's weekend) is a 0 return: its holdings do not move while
 *   its market is closed, and what they do over the closure is in its next day's return. A day its calendar trades
 *   but its record lacks is missing (NaN: flat when held, and counted against it by the health gate), as is every
 *   day before its first. Only the record up to a day decides that day's row: appended data change no earlier row.
 *
 * `calendar` marks, per sleeve and row, the rows its own calendar counts (a day of its record or one its calendar
 * trades): the health gate measures coverage on those rows alone, so a weekday sleeve is not faulted for weekends.
 * `periodsPerYear` is the joined calendar's annualisation: the fewest of the sleeves' for `inner` (the shared days
 * are at most the sparsest sleeve's), the most for `outer` (every day any sleeve trades).
 */
import { isBusinessDay } from '../../src/util/dates.js';

export interface SleeveRecordIn {
  dates: ArrayLike<number>;
  returns: ArrayLike<number>;
  periods_per_year: number;
}

export interface AlignedSleeves {
  dates: Int32Array;
  /** Column-major: values[j * T + t]. */
  values: Float64Array;
  /** Column-major: 1 where the row is a day of sleeve j's own calendar (counted by the health gate). */
  calendar: Uint8Array;
  periodsPerYear: number;
  /** Per sleeve: its returns over the days of the union of the records its calendar counts (reported, not a gate). */
  health: number[];
}

/** Weekdays in a year: a calendar of more periods than this must trade on weekends too. */
const WEEKDAYS_A_YEAR = (5 * 365.25) / 7;

/** Whether a sleeve annualised at `periodsPerYear` trades every day (else on weekdays). */
export function tradesEveryDay(periodsPerYear: number): boolean {
  return periodsPerYear > WEEKDAYS_A_YEAR;
}

export function alignSleeves(records: SleeveRecordIn[], join: 'inner' | 'outer'): AlignedSleeves {
  const S = records.length;
  const union = [...new Set(records.flatMap((r) => Array.from(r.dates)))].sort((a, b) => a - b);
  const everyDay = records.map((r) => tradesEveryDay(r.periods_per_year));
  const trades = (j: number, d: number) => everyDay[j] || isBusinessDay(d);
  const rows = records.map((r) => {
    const m = new Map<number, number>();
    for (let i = 0; i < r.dates.length; i++) m.set(r.dates[i], r.returns[i]);
    return m;
  });
  const health = records.map((r, j) => {
    let valid = 0;
    for (let i = 0; i < r.returns.length; i++) if (Number.isFinite(r.returns[i])) valid++;
    let days = 0;
    for (const d of union) if (rows[j].has(d) || trades(j, d)) days++;
    return days ? valid / days : 0;
  });

  // Outer, with a sleeve that trades every day: every day of the records' span, so that the calendar is as dense as
  // its annualisation throughout (also before that sleeve starts, when the others' weekdays alone would be rows).
  const daily = join === 'outer' && everyDay.some(Boolean) && union.length > 0;
  const axis = join === 'inner' ? union.filter((d) => rows.every((m) => m.has(d))) : daily ? Array.from({ length: union[union.length - 1] - union[0] + 1 }, (_, i) => union[0] + i) : union;
  const T = axis.length;
  const values = new Float64Array(T * S).fill(NaN);
  const calendar = new Uint8Array(T * S);
  records.forEach((r, j) => {
    if (join === 'inner') {
      // Every row is a day of every sleeve's record; the days between two rows are compounded into the later.
      calendar.fill(1, j * T, (j + 1) * T);
      const order = Array.from(r.dates, (d, i) => i).sort((a, b) => r.dates[a] - r.dates[b]);
      let k = 0;
      for (let t = 0; t < T; t++) {
        const from = t ? axis[t - 1] : axis[0] - 1;
        while (k < order.length && r.dates[order[k]] <= from) k++;
        let growth = 1;
        let finite = 0;
        let single = NaN;
        for (; k < order.length && r.dates[order[k]] <= axis[t]; k++) {
          const x = r.returns[order[k]];
          if (!Number.isFinite(x)) continue; // no return that day: flat
          growth *= 1 + x;
          single = x;
          finite++;
        }
        // One day is its own return, exactly (a sleeve on the joined calendar's days is unchanged).
        values[j * T + t] = finite === 1 ? single : finite ? growth - 1 : NaN;
      }
      return;
    }
    let first = Infinity;
    for (let i = 0; i < r.dates.length; i++) first = Math.min(first, r.dates[i]);
    for (let t = 0; t < T; t++) {
      const d = axis[t];
      const x = rows[j].get(d);
      if (x !== undefined) {
        values[j * T + t] = x;
        calendar[j * T + t] = 1;
      } else if (trades(j, d)) calendar[j * T + t] = 1; // before its first day, or a hole in its record: missing
      else if (d > first) values[j * T + t] = 0; // its market is closed: nothing moves
    }
  });
  const ppys = records.map((r) => r.periods_per_year);
  return { dates: Int32Array.from(axis), values, calendar, periodsPerYear: join === 'inner' ? Math.min(...ppys) : Math.max(...ppys), health };
}
