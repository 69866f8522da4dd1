/** Daily bars of one symbol, ascending by date, as typed arrays (NaN where a value is unknown, e.g. volume of a close-only CSV). */
export interface Ohlcv {
  date: Int32Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
  /** Perpetuals: the day's total funding rate as a fraction of notional (long pays when positive); NaN when unknown. */
  funding?: Float64Array;
}
