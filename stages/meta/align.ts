/**
 * The sleeves' out-of-sample returns on one calendar (meta_returns' `join`), on plain arrays. Sleeves may trade on
 * different calendars: a crypto sleeve every day, an equity sleeve on weekdays.
 *
 * - `inner`: the days every sleeve has. A row is what holding each sleeve earned since the previous shared day:
 *   its returns on its own days after the previous shared day, up to and including this one, compounded
 *   ((1 + r1)(1 + r2)… − 1); a crypto sleeve's weekend comes into the next shared weekday. The first shared day is
 *   that day's return alone: a sleeve's days before the joined calendar starts are not part of it (no previous
 *   shared day bounds them). A sleeve's days after the last shared day wait for the next one: with more data they
 *   come into its row, and no earlier row changes.
 * - `outer`: every day any sleeve has; a sleeve's row on a day its record lacks is missing (NaN: flat when held).
 *
 * `periodsPerYear` is the joined calendar's annualisation: the fewest of the sleeves' for `inner` (the shared days
 * are at most the sparsest sleeve's), the most for `outer` (every day any sleeve trades).
 */
export interface SleeveRecordIn {
  dates: ArrayLike<number>;
  returns: ArrayLike<number>;
  periods_per_year: number;
}

export interface AlignedSleeves {
  dates: Int32Array;
  /** Column-major: values[j * T + t]. */
  values: Float64Array;
  periodsPerYear: number;
  /** Per sleeve: the share of the union of the records' days it has a return on (reported, not a gate). */
  health: number[];
}

export function alignSleeves(records: SleeveRecordIn[], join: 'inner' | 'outer'): AlignedSleeves {
  const S = records.length;
  const union = [...new Set(records.flatMap((r) => Array.from(r.dates)))].sort((a, b) => a - b);
  const rows = records.map((r) => {
    const m = new Map<number, number>();
    for (let i = 0; i < r.dates.length; i++) m.set(r.dates[i], r.returns[i]);
    return m;
  });
  const health = records.map((r) => {
    let valid = 0;
    for (let i = 0; i < r.returns.length; i++) if (Number.isFinite(r.returns[i])) valid++;
    return union.length ? valid / union.length : 0;
  });

  const axis = join === 'inner' ? union.filter((d) => rows.every((m) => m.has(d))) : union;
  const T = axis.length;
  const values = new Float64Array(T * S).fill(NaN);
  records.forEach((r, j) => {
    if (join === 'inner') {
      // Every row is a day of every sleeve's record; the days between two rows are compounded into the later.
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
    for (let t = 0; t < T; t++) {
      const x = rows[j].get(axis[t]);
      if (x !== undefined) values[j * T + t] = x;
    }
  });
  const ppys = records.map((r) => r.periods_per_year);
  return { dates: Int32Array.from(axis), values, periodsPerYear: join === 'inner' ? Math.min(...ppys) : Math.max(...ppys), health };
}
