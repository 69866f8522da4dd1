/**
 * The policy's floor of names against what the record held. The policy stage relaxes its filters until `min_winners`
 * names get through (the HTR loop), but a decision can still hold fewer: a universe with too few names with enough
 * history yet (a venue whose calendar starts at its first listing), filters nothing relaxes, an engine that leaves
 * winners out. Such decisions are concentrated bets the pipeline did not ask for, and when they come first they can
 * carry the headline; metrics.json's `min_winners_floor` counts them, says from which day every later decision held
 * the floor, and gives the record's figures from that day. The flag built on it is src/runs/record-flags.ts's FLOOR.
 */
import type { BacktestWindow } from '../../src/core/context.js';
import { computeMetrics } from '../../src/math/metrics.js';
import { dayFromIso, isoFromDay } from '../../src/util/dates.js';

/**
 * metrics.json's `min_winners_floor` for the policy's `min_winners` (`floor`; nothing without a policy stage):
 * - `windows_below`: the decisions that picked fewer names than the floor (a decision holding cash is
 *   counted apart, `cash_windows`), and `last_below_as_of`, the date of the last of them;
 * - `met_from`: the first day of the record from which every later decision holds at least the floor (the day after
 *   the decision that follows the last one below it; the record's first day when none is below; null when the
 *   latest decision is below it);
 * - `since_met`: the record's figures from `met_from` on, when some decisions before it were below the floor.
 */
export function minWinnersFloor(windows: readonly BacktestWindow[], dates: Int32Array, returns: Float64Array, ppy: number, rf: number, floor: number | undefined) {
  if (floor === undefined || !dates.length) return {};
  let below = 0;
  let last = -1;
  windows.forEach((w, k) => {
    // The names the policy picked (an engine that then holds fewer of them, max_sharpe keeping 3 of 9, chose to),
    // as the tournament's thin-start check counts them; the holdings where a record has no winners count.
    if (!w.cash_reason && (w.winners ?? w.holdings) < floor) {
      below++;
      last = k;
    }
  });
  const metFrom = last < 0 ? isoFromDay(dates[0]) : last + 1 < windows.length ? windows[last + 1].start : null;
  let sinceMet = null;
  if (below && metFrom !== null) {
    const from = dayFromIso(metFrom);
    let i = 0;
    while (i < dates.length && dates[i] < from) i++;
    const m = computeMetrics(returns.subarray(i), ppy, rf);
    sinceMet = { first: metFrom, last: isoFromDay(dates[dates.length - 1]), days: dates.length - i, total_return: m.total_return, cagr: m.cagr, volatility: m.volatility, sharpe: m.sharpe, max_drawdown: m.max_drawdown };
  }
  return {
    min_winners_floor: { floor, windows_below: below, last_below_as_of: last < 0 ? null : windows[last].as_of, met_from: metFrom, since_met: sinceMet },
  };
}
