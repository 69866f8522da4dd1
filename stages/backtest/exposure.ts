/**
 * Realised exposure: the leverage of the book actually held, day by day, rather than the targets a decision set.
 * Between rebalances the weights drift with prices (a short book whose names rally grows its gross), so the
 * decided gross (metrics.json's `gross_exposure`, the as-of decision's) says nothing of what the record carried.
 * The simulators keep each day's start-of-day gross Σ|wᵢ| and net Σwᵢ as they walk the path
 * (src/portfolio/simulator.ts, DailyExposure); this summarises them for metrics.json.
 */
import type { DailyExposure } from '../../src/portfolio/simulator.js';
import { isoFromDay } from '../../src/util/dates.js';

/**
 * metrics.json's `realised_gross_exposure` and `realised_net_exposure`: over every day of the record (a day in cash,
 * or after a liquidation, counts as 0), the largest and the mean gross, and the smallest, largest and mean net, with
 * the first day each extreme was held (to 1e-12). Empty when the simulator keeps no daily exposure.
 */
export function realisedExposure(dates: Int32Array, e: DailyExposure | undefined) {
  const T = dates.length;
  if (!e || !T || e.gross.length !== T || e.net.length !== T) return {};
  let gMax = -Infinity;
  let gSum = 0;
  let nMin = Infinity;
  let nMax = -Infinity;
  let nSum = 0;
  for (let t = 0; t < T; t++) {
    const g = e.gross[t];
    const x = e.net[t];
    gSum += g;
    nSum += x;
    if (g > gMax) gMax = g;
    if (x < nMin) nMin = x;
    if (x > nMax) nMax = x;
  }
  // The first day the extreme was held, float noise aside: a fully invested long book is at 1 every day, and its
  // max is not the day whose sum happened to round to 1.0000000000000007.
  const first = (a: Float64Array, v: number) => {
    const tol = TIE * Math.max(1, Math.abs(v));
    let t = 0;
    while (t < T - 1 && Math.abs(a[t] - v) > tol) t++;
    return isoFromDay(dates[t]);
  };
  return {
    realised_gross_exposure: { max: gMax, max_date: first(e.gross, gMax), mean: gSum / T },
    realised_net_exposure: { min: nMin, min_date: first(e.net, nMin), max: nMax, max_date: first(e.net, nMax), mean: nSum / T },
  };
}

/** Exposures this close (relative, at least 1 in scale) are one level: the extreme's date is the first of them. */
const TIE = 1e-12;
