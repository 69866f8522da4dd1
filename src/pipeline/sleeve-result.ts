/** What a finished child run (a sleeve) contributes to its meta pipeline: plain data, so it can cross threads. */
import { dayFromIso } from '../util/dates.js';
import type { AnyContext, BacktestMetrics, DatedHoldings, MetaMetrics, OutOfSampleRecord, RunFigures, RunRecord, SleeveResult } from '../core/context.js';

const numberOrNull = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/**
 * A selection sleeve's physical weights through time: each rebalance's decision from its date, an empty book from
 * the end of a holding period that stops before the next decision (test_window < step_size: the book is sold
 * there), and the final decision at its as-of date.
 */
export function selectionHoldings(bt: Pick<OutOfSampleRecord, 'windows' | 'metrics'>, final: { symbol: string; weight: number }[]): DatedHoldings[] {
  const out: DatedHoldings[] = [];
  const asOf = dayFromIso(bt.metrics.weights_as_of);
  bt.windows.forEach((w, k) => {
    const decided = dayFromIso(w.as_of);
    out.push({ date: decided, weights: w.weights.map((h) => ({ symbol: h.symbol, weight: h.weight })) });
    const next = k + 1 < bt.windows.length ? dayFromIso(bt.windows[k + 1].as_of) : asOf;
    const end = dayFromIso(w.end);
    if (end > decided && end < next) out.push({ date: end, weights: [] });
  });
  out.push({ date: asOf, weights: final.map((h) => ({ symbol: h.symbol, weight: h.weight })) });
  return out;
}

/** What a finished child run contributes: its out-of-sample returns and its physical weights through time. */
export function resultOf(name: string, kind: 'selection' | 'meta', context: AnyContext, run: string): SleeveResult | undefined {
  if (kind === 'meta') {
    const c = context;
    if (c.kind !== 'meta') return undefined;
    if (!c.meta_returns || !c.flattened_weights || !c.tree_history) return undefined;
    return {
      name, kind, run, cached: false, dates: c.meta_returns.dates, returns: c.meta_returns.returns, tree: c.cluster_tree,
      weights: c.flattened_weights.map((w) => ({ symbol: w.symbol, weight: w.weight, direction: w.direction })), periods_per_year: c.periods_per_year ?? 252,
      holdings: c.tree_history.map((h) => ({ date: h.date, weights: h.weights })),
      trees: c.tree_history.map((h) => ({ date: h.date, tree: h.tree })),
      ...(c.meta_liquidated ? { liquidated: true } : {}),
      record: {
        ...recordOf(c.meta_metrics),
        point_in_time: allPointInTime(Object.values(c.sleeve_results ?? {}).map((s) => s.record?.point_in_time)),
        ...figuresOf(c.meta_metrics, c.meta_returns.dates.length, 0),
      },
    };
  }
  const c = context;
  if (c.kind !== 'selection' || !c.backtest) return undefined;
  const liquidated = Boolean(c.backtest.metrics.liquidated);
  const weights = liquidated ? [] : (c.weights ?? []).filter((w) => w.weight !== 0);
  return {
    name, kind, run, cached: false, dates: c.backtest.dates, returns: c.backtest.returns, weights, holdings: selectionHoldings(c.backtest, weights),
    periods_per_year: c.backtest.metrics.periods_per_year, ...(liquidated ? { liquidated } : {}),
    record: {
      ...recordOf(c.backtest.metrics),
      rebalances: c.backtest.windows.length,
      point_in_time: typeof c.backtest.metrics.universe_point_in_time === 'boolean' ? c.backtest.metrics.universe_point_in_time : null,
      ...figuresOf(c.backtest.metrics, c.backtest.dates.length, numberOrNull(c.backtest.metrics.risk_free_rate) ?? 0),
      windows: c.backtest.windows.map((w) => ({ as_of: w.as_of, winners: w.winners, holdings: w.holdings, ...(w.cash_reason ? { cash_reason: w.cash_reason } : {}) })),
    },
  };
}

/** A meta's universe is point in time when every sleeve's is: false when one's is not, null when one is not known. */
function allPointInTime(flags: (boolean | null | undefined)[]): boolean | null {
  if (flags.some((f) => f === false)) return false;
  return flags.length > 0 && flags.every((f) => f === true) ? true : null;
}

/** Turnover, costs and volatility-band drift as a run's metrics.json states them (a meta's `meta` section). */
function recordOf(m: MetaMetrics | BacktestMetrics | undefined): RunRecord {
  const band: unknown = m?.volatility_band;
  const drift = typeof band === 'object' && band !== null && 'drift' in band ? band.drift : undefined;
  return { turnover: numberOrNull(m?.turnover), costs: numberOrNull(m?.costs), volatility_band_drift: numberOrNull(drift), rebalances: numberOrNull(m?.rebalances) };
}

/** The run's own Sharpe ratio and CAGR as its metrics.json states them, with the basis they were computed on. */
function figuresOf(m: MetaMetrics | BacktestMetrics | undefined, days: number, riskFree: number): { own?: RunFigures } {
  if (!m) return {};
  const iso = (x: unknown) => (typeof x === 'string' ? x : null);
  return { own: { days, first: iso(m.first), last: iso(m.last), sharpe: numberOrNull(m.sharpe), cagr: numberOrNull(m.cagr), risk_free_rate: riskFree, periods_per_year: m.periods_per_year } };
}

/** A finished child run as plain data, with what it contributes as a sleeve. */
export function childRunOf(
  name: string,
  kind: 'selection' | 'meta',
  s: { outcome: 'succeeded' | 'failed'; run_id: string; folder: string; config_hash: string; data_hash: string | null; data_inputs: number; error?: { code: string; message: string; stage: string | null } },
  context: AnyContext,
): import('../core/plugin.js').ChildRun {
  const found = s.outcome === 'succeeded' ? resultOf(name, kind, context, s.folder) : undefined;
  const result = found ? { ...found, data_hash: s.data_hash, data_inputs: s.data_inputs } : undefined;
  return { name, outcome: s.outcome, run_id: s.run_id, folder: s.folder, config_hash: s.config_hash, data_hash: s.data_hash, ...(s.error ? { error: s.error } : {}), ...(result ? { result } : {}) };
}
