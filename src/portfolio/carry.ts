/**
 * Carry: what holding a book costs between trades, apart from trading it. Two charges, accrued daily on the
 * exposure held over the day (the start-of-day weights, as fractions of equity; dollar positions give dollars):
 *
 * - borrow: an asset sold short is borrowed; its lender charges `borrow` (a rate per day) on the short exposure.
 *   Perpetuals are not borrowed: they pay funding instead.
 * - funding: a perpetual's long side pays `funding` (a rate per day; negative: it receives) on its exposure, its
 *   short side receives it: w × funding for any sign of w.
 *
 * Pure functions over exposures and rates, shared by every simulator (the vectorized one today; an order-level one
 * can call carryOfDay with dollar positions). docs/backtest.md has the conventions.
 */

/** Daily rates for one holding window, column-major like its returns: `rates[j * days + t]`. */
export interface CarryRates {
  /** 1 where the symbol is a perpetual (funding, no borrow), 0 where a short is borrowed. */
  perp: Uint8Array;
  /** Borrow charged that day on a unit of short exposure (annual rate × calendar days / 365). */
  borrow: Float64Array;
  /** Funding a unit of long exposure pays that day (a short receives it). */
  funding: Float64Array;
}

/** The day's charges on exposures `w` (fractions of equity or currency), as the same unit: positive = a cost. */
export function carryOfDay(w: ArrayLike<number>, t: number, days: number, rates: CarryRates): { borrow: number; funding: number } {
  let borrow = 0;
  let funding = 0;
  for (let j = 0; j < w.length; j++) {
    const x = w[j];
    if (x === 0) continue;
    if (rates.perp[j]) funding += x * rates.funding[j * days + t];
    else if (x < 0) borrow += -x * rates.borrow[j * days + t];
  }
  return { borrow, funding };
}

export const DAY_COUNT = 365;

/**
 * The window's daily rates: each day accrues the calendar days since the previous day of the axis (a weekend is 3
 * days of borrow for an equity). `fundingSeries` (per symbol per day, a day's total funding rate, NaN where
 * unknown) is used where it has a value, else the constant annual `fundingRate`.
 */
export function carryRates(dates: Int32Array, previousDay: number, perp: Uint8Array, borrowRate: number, fundingRate: number, fundingSeries?: Float64Array): CarryRates {
  const T = dates.length;
  const n = perp.length;
  const borrow = new Float64Array(n * T);
  const funding = new Float64Array(n * T);
  for (let t = 0; t < T; t++) {
    const days = dates[t] - (t === 0 ? previousDay : dates[t - 1]);
    for (let j = 0; j < n; j++) {
      borrow[j * T + t] = (borrowRate * days) / DAY_COUNT;
      const s = fundingSeries?.[j * T + t];
      funding[j * T + t] = s !== undefined && Number.isFinite(s) ? s : (fundingRate * days) / DAY_COUNT;
    }
  }
  return { perp, borrow, funding };
}
