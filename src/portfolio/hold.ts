/**
 * Holding a sequence of decisions: each rebalance's net physical weights, held by a simulator on the calendar and
 * the market, with costs and carry → the daily path and one record per window. The backtest holds the champion's
 * decisions, each challenger's and both sides of a parity check with this one function.
 */
import type { BacktestWindow } from '../core/context.js';
import type { Params, ReplayDecision } from '../core/plugin.js';
import { isoFromDay } from '../util/dates.js';
import type { Costs, DailyExposure, DecisionPath, Ledger, Simulator, SimulatorMarket } from './simulator.js';

/** One sequence of decisions held: daily returns on the calendar and the windows that made them. */
export interface HeldPath {
  dates: Int32Array;
  returns: Float64Array;
  windows: BacktestWindow[];
  weightRows: { date: number; symbol: string; weight: number }[];
  liquidated: boolean;
  /** The book held over each day, aligned with `dates` (Simulation.exposure), when the simulator keeps it. */
  exposure?: DailyExposure;
  /** An order-level simulator's orders, fills and cash account. */
  ledger?: Ledger;
}

/** Where and how the decisions are held: the calendar, the rebalance days (indices into it), the holding period. */
export interface HoldSettings {
  calendar: Int32Array;
  rebalances: number[];
  /** Days each decision is held (when shorter than the gap to the next decision the book is sold, then cash). */
  test: number;
  costs: Costs;
  simulator: { name: string; instance: Simulator; params: Params };
  market: SimulatorMarket;
}

/**
 * Holds a sequence of decisions (one per rebalance) on the calendar with the simulator: each decision's net
 * physical weights are held from the day after it until its holding period ends (then sold: cash until the next
 * decision). Every ranker's path, and both sides of a parity check, are made by this one function.
 */
export async function holdPath(decisions: ReplayDecision[], s: HoldSettings, simulator = s.simulator): Promise<HeldPath> {
  const { calendar, rebalances, test, market } = s;
  const T = calendar.length;
  const path: DecisionPath = {
    calendar,
    rebalances: rebalances.map((t, k) => ({
      at: t,
      until: Math.min(t + test, k + 1 < rebalances.length ? rebalances[k + 1] : T - 1, T - 1),
      weights: decisions[k].weights.filter((w) => w.weight !== 0).map((w) => ({ symbol: w.symbol, weight: w.weight })),
    })),
  };
  const sim = await simulator.instance.simulate(path, market, s.costs, simulator.params);
  const windows: BacktestWindow[] = [];
  const weightRows: { date: number; symbol: string; weight: number }[] = [];
  path.rebalances.forEach((r, k) => {
    const asOf = calendar[r.at];
    const decided = decisions[k];
    const w = sim.windows[k];
    const start = r.at + 1 <= r.until ? calendar[r.at + 1] : asOf;
    const end = r.at + 1 <= r.until ? calendar[r.until] : asOf;
    for (const x of r.weights) weightRows.push({ date: asOf, symbol: x.symbol, weight: x.weight });
    windows.push({
      window: k,
      as_of: isoFromDay(asOf),
      start: isoFromDay(start),
      end: isoFromDay(end),
      holdings: r.weights.length,
      winners: decided.winners,
      engine: decided.engine,
      turnover: w.turnover,
      cost: w.cost,
      borrow: w.borrow,
      funding: w.funding,
      return: w.return,
      liquidated: w.liquidated,
      weights: r.weights.map((x) => ({ symbol: x.symbol, weight: x.weight })),
      ...(decided.cash_reason ? { cash_reason: decided.cash_reason } : {}),
      ...(decided.adjustments?.length ? { adjustments: decided.adjustments } : {}),
      ...(w.toxic.length ? { toxic_bars: w.toxic.map((b) => ({ symbol: b.symbol, date: isoFromDay(b.date), kind: b.kind, value: b.value, booked: Number.isFinite(b.booked) ? b.booked : null })) } : {}),
      ...(w.unfilled ? { unfilled: w.unfilled } : {}),
      ...(decided.regime ? { regime: decided.regime, ...(decided.regime_by ? { regime_by: decided.regime_by } : {}) } : {}),
    });
  });
  return { dates: sim.dates, returns: sim.returns, windows, weightRows, liquidated: sim.liquidated, ...(sim.exposure ? { exposure: sim.exposure } : {}), ...(sim.ledger ? { ledger: sim.ledger } : {}) };
}
