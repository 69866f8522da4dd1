/**
 * A run's headline metrics, read back from its folder: the out-of-sample record of a selection run's backtest or of a
 * meta run's walk-forward (metrics.json), or of a tournament's champion cell (tournament.json: the configuration the
 * tournament is about, not its best cell, whose record is chosen after the fact). What `--json`, the runs index and
 * `compare` show beside a run's ids and hashes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Headline {
  /** Which record the figures are of: a selection run's `backtest` block, a meta run's `meta` block, a tournament's champion cell. */
  record: 'backtest' | 'meta' | 'champion';
  /** A tournament: the champion cell's id. */
  cell?: string;
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

/** A tournament's champion cell (tournament.json's `champion` among its `cells`), with its metrics and calendar. */
export function championOf(tournament: unknown): { id: string; metrics: Record<string, unknown>; run: string | null; first: string | null; last: string | null } | null {
  if (!tournament || typeof tournament !== 'object') return null;
  const t = tournament as { champion?: unknown; cells?: { id?: unknown; metrics?: unknown; run?: unknown }[]; calendar?: { first?: unknown; last?: unknown } };
  const cell = Array.isArray(t.cells) ? t.cells.find((c) => c.id === t.champion) : undefined;
  if (!cell || typeof cell.id !== 'string' || !cell.metrics || typeof cell.metrics !== 'object') return null;
  const day = (x: unknown) => (typeof x === 'string' ? x : null);
  return { id: cell.id, metrics: cell.metrics as Record<string, unknown>, run: typeof cell.run === 'string' ? cell.run : null, first: day(t.calendar?.first), last: day(t.calendar?.last) };
}

/** The headline of the run in `folder`, or null (no metrics.json or tournament.json, unreadable, or no out-of-sample record). */
export function headlineMetrics(folder: string): Headline | null {
  try {
    const f = join(folder, 'metrics.json');
    if (existsSync(f)) return headlineOf(JSON.parse(readFileSync(f, 'utf8')));
    const t = join(folder, 'tournament.json');
    const champion = existsSync(t) ? championOf(JSON.parse(readFileSync(t, 'utf8'))) : null;
    if (!champion) return null;
    const m = champion.metrics;
    return { record: 'champion', cell: champion.id, cagr: num(m.cagr), sharpe: num(m.sharpe), max_drawdown: num(m.max_drawdown), turnover: num(m.turnover), volatility: num(m.volatility), first: champion.first, last: champion.last };
  } catch {
    return null;
  }
}
