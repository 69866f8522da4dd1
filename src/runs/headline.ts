/**
 * A run's headline metrics, read back from its metrics.json: the out-of-sample record of a selection run's backtest
 * or of a meta run's walk-forward. What `--json`, the runs index and `compare` show beside a run's ids and hashes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Headline {
  /** Which record the figures are of: a selection run's `backtest` block or a meta run's `meta` block. */
  record: 'backtest' | 'meta';
  cagr: number | null;
  sharpe: number | null;
  max_drawdown: number | null;
  /** Traded notional per rebalance (a meta run: at the meta level; `physical_turnover` is what it flattens to). */
  turnover: number | null;
  volatility: number | null;
  first: string | null;
  last: string | null;
}

const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/** The headline of parsed metrics.json content, or null when the run has no out-of-sample record. */
export function headlineOf(metrics: unknown): Headline | null {
  if (!metrics || typeof metrics !== 'object') return null;
  const all = metrics as Record<string, Record<string, unknown> | undefined>;
  const record = all.backtest ? 'backtest' : all.meta ? 'meta' : undefined;
  if (!record) return null;
  const m = all[record]!;
  return {
    record,
    cagr: num(m.cagr),
    sharpe: num(m.sharpe),
    max_drawdown: num(m.max_drawdown),
    turnover: num(m.turnover),
    volatility: num(m.volatility),
    first: typeof m.first === 'string' ? m.first : null,
    last: typeof m.last === 'string' ? m.last : null,
  };
}

/** The headline of the run in `folder`, or null (no metrics.json, unreadable, or no out-of-sample record). */
export function headlineMetrics(folder: string): Headline | null {
  const f = join(folder, 'metrics.json');
  if (!existsSync(f)) return null;
  try {
    return headlineOf(JSON.parse(readFileSync(f, 'utf8')));
  } catch {
    return null;
  }
}
