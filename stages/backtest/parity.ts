/**
 * Parity: how far the vectorized backtest can be trusted. The same decisions held by two simulators (the
 * order-level one and the vectorized reference) give two daily paths on one calendar; parity.json says how they
 * differ: each one's Sharpe, CAGR, max drawdown, turnover and costs, their differences, the tracking error, the
 * largest equity gap and its date, and the orders the order-level simulator could not complete.
 */
import { isoFromDay } from '../../src/util/dates.js';
import { computeMetrics, equityCurve } from '../../src/math/metrics.js';
import type { Ledger } from '../../src/portfolio/simulator.js';

interface CostedWindow {
  turnover: number;
  cost: number;
  borrow: number;
  funding: number;
}

/** Trading costs and carry of a path, apart: totals (sums of fractions of equity) and per year. */
export function pathCosts(path: { windows: CostedWindow[]; returns: Float64Array }, ppy: number) {
  const sum = (f: (w: CostedWindow) => number) => path.windows.reduce((a, w) => a + f(w), 0);
  const years = path.returns.length / ppy;
  const borrow = sum((w) => w.borrow);
  const funding = sum((w) => w.funding);
  return {
    turnover: sum((w) => w.turnover) / Math.max(1, path.windows.length),
    costs: sum((w) => w.cost),
    carry: { borrow, funding, total: borrow + funding, per_year: years > 0 ? (borrow + funding) / years : 0 },
  };
}

export interface ParitySide {
  name: string;
  dates: Int32Array;
  returns: Float64Array;
  windows: CostedWindow[];
  liquidated: boolean;
  ledger?: Ledger;
}

/** The parity record (parity.json) of `sim` against `reference`, both held on the same decisions and calendar. */
export function parityRecord(sim: ParitySide, reference: ParitySide, ppy: number, rf: number, settings: Record<string, unknown>) {
  const d = sim.dates;
  const T = d.length;
  const side = (x: ParitySide) => {
    const m = computeMetrics(x.returns, ppy, rf);
    return { sharpe: m.sharpe, cagr: m.cagr, volatility: m.volatility, max_drawdown: m.max_drawdown, total_return: m.total_return, ...pathCosts(x, ppy), liquidated: x.liquidated };
  };
  const a = side(sim);
  const b = side(reference);
  const ea = equityCurve(sim.returns);
  const eb = equityCurve(reference.returns);
  let gapAt = 0;
  for (let t = 1; t < T; t++) if (Math.abs(ea[t] - eb[t]) > Math.abs(ea[gapAt] - eb[gapAt])) gapAt = t;
  let mean = 0;
  for (let t = 0; t < T; t++) mean += sim.returns[t] - reference.returns[t];
  mean /= Math.max(1, T);
  let ss = 0;
  for (let t = 0; t < T; t++) ss += (sim.returns[t] - reference.returns[t] - mean) ** 2;
  const tracking = T > 1 ? Math.sqrt(ss / (T - 1)) * Math.sqrt(ppy) : 0;
  const unfilled = (sim.ledger?.orders ?? []).filter((o) => o.status !== 'filled');
  const byReason: Record<string, number> = {};
  for (const o of unfilled) byReason[o.reason] = (byReason[o.reason] ?? 0) + 1;
  return {
    simulator: sim.name,
    reference: reference.name,
    settings,
    note: 'Both simulators hold the same decisions (the champion\'s net physical weights at every rebalance) on the same calendar. Differences are simulator minus reference; equity starts at 1.',
    first: T ? isoFromDay(d[0]) : null,
    last: T ? isoFromDay(d[T - 1]) : null,
    days: T,
    metrics: { [sim.name]: a, [reference.name]: b },
    differences: {
      sharpe: a.sharpe - b.sharpe,
      cagr: a.cagr - b.cagr,
      max_drawdown: a.max_drawdown - b.max_drawdown,
      total_return: a.total_return - b.total_return,
      turnover: a.turnover - b.turnover,
      costs: a.costs - b.costs,
      carry: a.carry.total - b.carry.total,
    },
    tracking_error: tracking,
    largest_equity_gap: T ? { date: isoFromDay(d[gapAt]), gap: ea[gapAt] - eb[gapAt], relative: ea[gapAt] / eb[gapAt] - 1, [sim.name]: ea[gapAt], [reference.name]: eb[gapAt] } : null,
    final_equity: T ? { [sim.name]: ea[T - 1], [reference.name]: eb[T - 1] } : null,
    // Where the fills happened: a next-open fill on data of closes alone, or on an open not trusted, is at a close.
    fills: { at_open: (sim.ledger?.fills ?? []).filter((x) => x.at === 'open').length, at_close: (sim.ledger?.fills ?? []).filter((x) => x.at === 'close').length },
    unfilled: {
      orders: unfilled.length,
      of: sim.ledger?.orders.length ?? 0,
      by_reason: byReason,
      list: unfilled.map((o) => ({ id: o.id, date: isoFromDay(o.date), symbol: o.symbol, side: o.side, kind: o.kind, quantity: o.quantity, filled: o.filled, reason: o.reason })),
    },
  };
}

export type ParityRecord = ReturnType<typeof parityRecord>;
