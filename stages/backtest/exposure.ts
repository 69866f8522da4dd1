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
 * the first day each extreme was held. Empty when the simulator keeps no daily exposure.
 */
export function realisedExposure(dates: Int32Array, e: DailyExposure | undefined) {
  const T = dates.length;
  if (!e || !T || e.gross.length !== T || e.net.length !== T) return {};
  let gMax = 0;
  let gSum = 0;
  let nMin = 0;
  let nMax = 0;
  let nSum = 0;
  for (let t = 0; t < T; t++) {
    const g = e.gross[t];
    const x = e.net[t];
    gSum += g;
    nSum += x;
    if (g > e.gross[gMax]) gMax = t;
    if (x < e.net[nMin]) nMin = t;
    if (x > e.net[nMax]) nMax = t;
  }
  return {
    realised_gross_exposure: { max: e.gross[gMax], max_date: isoFromDay(dates[gMax]), mean: gSum / T },
    realised_net_exposure: { min: e.net[nMin], min_date: isoFromDay(dates[nMin]), max: e.net[nMax], max_date: isoFromDay(dates[nMax]), mean: nSum / T },
  };
}
