/**
 * The simulator contract. A simulator is logic-agnostic: it sees only the decision path, every rebalance's net
 * physical target weights (what a selection backtest decided, or what a meta pipeline's tree flattens to) with its
 * dates, and a market to read bars from. It returns the daily path of the equity, per-window costs and, for an
 * order-level simulator, the orders, fills and cash account it kept. docs/backtest.md compares the simulators.
 */
import type { MarketSource, ToxicBar } from '../core/context.js';
import type { CarryRates } from './carry.js';
import type { Params } from '../core/plugin.js';

/** One decision on the path. Indices are into the path's calendar. */
export interface Rebalance {
  /** The decision day: its close is the last data the decision saw; the weights are held from the next day. */
  at: number;
  /** The last day the decision is held: when it comes before the next rebalance, the book is sold at its close. */
  until: number;
  /** Net physical target weights, fractions of equity (negative = net short); the rest of the equity is cash. */
  weights: { symbol: string; weight: number }[];
}

export interface DecisionPath {
  /** The days of the backtest, ascending (the venue's calendar). */
  calendar: Int32Array;
  /** In date order; the path runs from the day after the first decision to the calendar's last day. */
  rebalances: Rebalance[];
}

/** Trading costs and carry, shared by every simulator (carry.ts has the carry conventions). */
export interface Costs {
  slippageBps: number;
  commissionBps: number;
  /** Annual borrow rate on the short exposure of borrowed assets; annual funding rate of perpetuals. */
  borrowRate: number;
  fundingRate: number;
}

/** What one rebalance's holding window cost and earned (the window runs to the day before the next rebalance's first held day). */
export interface SimulatedWindow {
  /** Traded notional over the window (the rebalance, carried remainders, the exit) as fractions of the equity at each trade. */
  turnover: number;
  /** Trading costs (slippage, commission, fixed fees) as fractions of the equity at each trade. */
  cost: number;
  /** Borrow and funding paid: the sum of each day's charge as a fraction of that day's starting equity. */
  borrow: number;
  funding: number;
  /** The compounded return of the days the decision was held. */
  return: number;
  /** The equity had reached zero by the end of the window. */
  liquidated: boolean;
  /** Bad prints of the window's names inside the holding period, and what was booked instead (src/lakehouse/toxic.ts). */
  toxic: ToxicBar[];
  /** Orders of this window that did not fill completely (order-level simulators). */
  unfilled?: number;
}

/** An order-level simulator's record (orders.arrow, fills.arrow, cash.arrow). Dates are EpochDays. */
export interface Ledger {
  orders: {
    id: number;
    date: number;
    symbol: string;
    side: 'buy' | 'sell';
    kind: 'rebalance' | 'exit';
    /** Units ordered (after lot rounding), and units filled in the end. */
    quantity: number;
    filled: number;
    /** The price the order was sized at. */
    reference_price: number;
    status: 'filled' | 'partial' | 'unfilled';
    /** Why it did not fill completely ('' when it did). */
    reason: string;
  }[];
  fills: {
    order_id: number;
    date: number;
    symbol: string;
    side: 'buy' | 'sell';
    /** At the open or the close of `date`. */
    at: 'open' | 'close';
    quantity: number;
    /** The price paid or received (slippage included), and the bar's price it was measured from. */
    price: number;
    reference_price: number;
    notional: number;
    commission: number;
    slippage: number;
    cash_after: number;
  }[];
  /** One row per day of the path: the cash account, the long and short market values and the equity. */
  cash: { date: Int32Array; cash: Float64Array; long_value: Float64Array; short_value: Float64Array; equity: Float64Array };
  /** Starting equity in the quote currency. */
  capital: number;
}

export interface Simulation {
  /** Every day of the path, and the net portfolio return of each (after trading costs and carry). */
  dates: Int32Array;
  returns: Float64Array;
  /** One per rebalance, in order. */
  windows: SimulatedWindow[];
  /** The equity reached zero: from that day on every return is 0. */
  liquidated: boolean;
  /** The book held over each day (aligned with `dates`): the realised exposure, absent when the simulator keeps none. */
  exposure?: DailyExposure;
  ledger?: Ledger;
}

/**
 * The book held over each day of a path, as fractions of that day's starting equity: the start-of-day (drifted)
 * positions, after the day's trades at the open; 0 on a day in cash or after a liquidation.
 */
export interface DailyExposure {
  /** Σ |wᵢ|: long plus short exposure. */
  gross: Float64Array;
  /** Σ wᵢ: long minus short exposure. */
  net: Float64Array;
}

/** Bars and reference data a simulator reads; the ingestion stage's market (same toxic-bar rule as the decisions). */
export type SimulatorMarket = Pick<MarketSource, 'toxicThreshold' | 'readReturns' | 'readToxicBars' | 'readFunding' | 'readBars' | 'closesAlone' | 'assetType' | 'tradingRules'>;

/** A simulator; `P` is its params type (derived from its params schema: src/core/params.ts). */
export interface Simulator<P = Params> {
  /** Holds the decision path on the market. `params` are the simulator's own (validated against its meta). */
  simulate(path: DecisionPath, market: SimulatorMarket, costs: Costs, params: P): Promise<Simulation>;
  /**
   * Holds one window of weights over return streams that have no bars (a meta pipeline's sleeves). Only a
   * simulator that works on weights and returns has it; an order-level one needs prices.
   */
  hold?(period: HoldingPeriod): HoldingResult;
}

/** One window of weights held over realised returns (Simulator.hold). */
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
  /** The start-of-day weights' gross and net per day of the window (0 after a liquidation). */
  exposure?: DailyExposure;
}

/** The path's windows: each rebalance's held days [at + 1, until] and the day its window ends (the next decision, or the last day). */
export function windowBounds(path: DecisionPath, k: number): { at: number; until: number; next: number } {
  const r = path.rebalances[k];
  const T = path.calendar.length;
  const next = k + 1 < path.rebalances.length ? path.rebalances[k + 1].at : T - 1;
  return { at: r.at, until: r.until, next };
}
