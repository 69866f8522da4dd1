/** The simulator contract: how a set of target weights is held over one window of realised returns. */
import type { CarryRates } from './carry.js';

export interface HoldingPeriod {
  /** Days of the window (after the rebalance day), ascending. */
  dates: Int32Array;
  symbols: string[];
  /** Column-major realised simple returns, `returns[j * dates.length + t]`; NaN = no bar (price unchanged). */
  returns: Float64Array;
  /** Target weight per symbol (negative = short); the rest of the equity is cash at 0%. */
  target: Float64Array;
  /** Holdings just before the rebalance (the previous window's drifted weights), per symbol. */
  current: Float64Array;
  /** Cost per unit of traded notional (slippage + commission), e.g. 6 bps = 0.0006. */
  costRate: number;
  /** Daily borrow and funding rates (carry.ts); no carry when absent. */
  carry?: CarryRates;
}

export interface HoldingResult {
  /** Net portfolio return per day of the window (after trading costs and carry). */
  returns: Float64Array;
  /** Drifted weights at the end of the window, per symbol. */
  end: Float64Array;
  /** Σ |target − current|: the traded notional as a fraction of equity. */
  turnover: number;
  /** Cost charged at the rebalance, as a fraction of equity. */
  cost: number;
  /** Borrow and funding paid over the window: the sum of each day's charge as a fraction of that day's equity. */
  borrow: number;
  funding: number;
  /** The window's equity reached zero: the portfolio was liquidated and stays at zero. */
  liquidated: boolean;
}

export interface Simulator {
  hold(period: HoldingPeriod): HoldingResult;
}
