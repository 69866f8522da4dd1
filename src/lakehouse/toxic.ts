/**
 * Toxic bars: the one rule that decides which prints a run does not book, used by every reader of returns (the
 * decisions and the backtest's simulator read the same cleaned series; docs/backtest.md).
 *
 * - A close-to-close rise above `threshold` (5 = +500%) is a bad print: its return is not booked (NaN, like a
 *   missing bar: a held position stays flat through it).
 * - When the next bar gives the spike back (gross return below 1/(1 + threshold)), that bar's return is measured
 *   from the last good close instead (the close before the spike), so the real move between the two good closes is
 *   kept and neither the spike nor its reversal is booked. If even that move is above the threshold, it is not
 *   booked either.
 * - A rise that persists stays unbooked; the series continues from the new level.
 * - A rise that gives back a fall below 1/(1 + threshold) on the bar just before it is a recovery, not a spike: the
 *   fall was booked when it happened (nothing later may change a past day), so its recovery is booked too.
 *
 * Causal: whether bar i is toxic depends on bars up to i only, so appending data never changes an earlier day.
 */
export interface ToxicBar {
  /** Index of the bar in the series. */
  index: number;
  kind: 'spike' | 'reversal';
  /** The raw close-to-close return of the bar. */
  value: number;
  /** What is booked instead: NaN (not booked), or the return from the last good close (a reversal). */
  booked: number;
}

export function toxicBars(close: ArrayLike<number>, threshold: number): ToxicBar[] {
  const out: ToxicBar[] = [];
  const ceiling = 1 + threshold;
  let lastGood = 0; // index of the last close not printed by a spike
  let prevSpike = false;
  let prevGross = NaN;
  for (let i = 1; i < close.length; i++) {
    const gross = close[i] / close[i - 1];
    if (!Number.isFinite(gross)) {
      prevSpike = false;
      prevGross = NaN;
      lastGood = i;
      continue;
    }
    if (gross > ceiling && !(prevGross < 1 / ceiling)) {
      if (!prevSpike) lastGood = i - 1;
      out.push({ index: i, kind: 'spike', value: gross - 1, booked: NaN });
      prevSpike = true;
    } else if (prevSpike && gross < 1 / ceiling) {
      const bridged = close[i] / close[lastGood] - 1;
      out.push({ index: i, kind: 'reversal', value: gross - 1, booked: bridged > threshold ? NaN : bridged });
      prevSpike = false;
      lastGood = i;
    } else {
      prevSpike = false;
      lastGood = i;
    }
    prevGross = gross;
  }
  return out;
}
