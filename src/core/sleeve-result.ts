/** What a finished child run (a sleeve) contributes to its meta pipeline: plain data, so it can cross threads. */
import type { MetaContext, SleeveResult } from './context.js';

/** What a finished child run contributes: its out-of-sample returns and its physical weights. */
export function resultOf(name: string, kind: 'selection' | 'meta', context: unknown, run: string): SleeveResult | undefined {
  if (kind === 'meta') {
    const c = context as MetaContext;
    if (!c.meta_returns || !c.flattened_weights) return undefined;
    return {
      name, kind, run, cached: false, dates: c.meta_returns.dates, returns: c.meta_returns.returns, tree: c.cluster_tree,
      weights: c.flattened_weights.map((w) => ({ symbol: w.symbol, weight: w.weight, direction: w.direction })), periods_per_year: c.periods_per_year ?? 252,
    };
  }
  const c = context as { backtest?: { dates: Int32Array; returns: Float64Array; metrics: { periods_per_year: number; liquidated?: boolean } }; weights?: SleeveResult['weights'] };
  if (!c.backtest) return undefined;
  const liquidated = Boolean(c.backtest.metrics.liquidated);
  return { name, kind, run, cached: false, dates: c.backtest.dates, returns: c.backtest.returns, weights: liquidated ? [] : (c.weights ?? []).filter((w) => w.weight !== 0), periods_per_year: c.backtest.metrics.periods_per_year, ...(liquidated ? { liquidated } : {}) };
}

/** A finished child run as plain data, with what it contributes as a sleeve. */
export function childRunOf(
  name: string,
  kind: 'selection' | 'meta',
  s: { outcome: 'succeeded' | 'failed'; run_id: string; folder: string; config_hash: string; data_hash: string | null; error?: { code: string; message: string; stage: string | null } },
  context: unknown,
): import('./plugin.js').ChildRun {
  const result = s.outcome === 'succeeded' ? resultOf(name, kind, context, s.folder) : undefined;
  return { name, outcome: s.outcome, run_id: s.run_id, folder: s.folder, config_hash: s.config_hash, data_hash: s.data_hash, ...(s.error ? { error: s.error } : {}), ...(result ? { result } : {}) };
}
