/**
 * The flags a backtest's record raises, as metrics.json states them: the sentence the report (report.md and
 * report.html) and the console both begin with, so they say the same thing.
 */

import { dict } from '../util/keyed.js';

/** The fields of metrics.json's backtest block the flags read. */
export interface FlaggedRecord {
  windows?: unknown;
  cash_windows?: unknown;
  cash_reasons?: unknown;
  universe_point_in_time?: unknown;
  universe_caveats?: unknown;
  min_winners_floor?: unknown;
  cagr?: unknown;
  sharpe?: unknown;
}

/** CASH, when at least half the decisions held cash: the sentence, and whether every one did (a flat record). */
export function cashFlag(m: FlaggedRecord): { text: string; flat: boolean } | undefined {
  const n = typeof m.windows === 'number' ? m.windows : 0;
  const k = typeof m.cash_windows === 'number' ? m.cash_windows : 0;
  if (!n || k * 2 < n) return undefined;
  const why = cashReasonsText((m.cash_reasons ?? {}) as Record<string, number>);
  return { text: `CASH: ${k === n ? `every one of the ${n} decisions` : `${k} of the ${n} decisions`} held cash (${why})`, flat: k === n };
}

/** Each reason the decisions held cash and how many did, in the order they first occur: metrics.json's `cash_reasons`. */
export function cashReasonCounts(windows: readonly { cash_reason?: string }[]): Record<string, number> {
  // Keyed by the reasons stages (and plugins) give: an object without a prototype.
  const counts = dict<number>();
  for (const w of windows) if (w.cash_reason) counts[w.cash_reason] = (counts[w.cash_reason] ?? 0) + 1;
  return counts;
}

/** Decisions' cash reasons with their counts, as metrics.json's `cash_reasons` holds them: "no winners ×36, …". */
export function cashReasonsText(counts: Record<string, number>): string {
  return Object.entries(counts).map(([r, c]) => `${r} ×${c}`).join(', ');
}

/** SURVIVORSHIP, when past decisions drew from a universe chosen with later knowledge: the sentence and why. */
export function survivorshipFlag(m: FlaggedRecord): string | undefined {
  if (m.universe_point_in_time !== false) return undefined;
  const caveats = Array.isArray(m.universe_caveats) ? (m.universe_caveats as string[]) : [];
  return `SURVIVORSHIP: the universe is not point in time (${caveats.length ? caveats.join('; ') : 'the scanner cannot tell which names traded on past dates'})`;
}

/**
 * FLOOR, when decisions held positions in fewer names than the policy's min_winners (metrics.json's
 * `min_winners_floor`): how many, from which day every decision holds the floor, and the record's CAGR and Sharpe from
 * that day beside the whole record's.
 */
export function floorFlag(m: FlaggedRecord): string | undefined {
  const f = m.min_winners_floor as { floor?: unknown; windows_below?: unknown; last_below_as_of?: unknown; met_from?: unknown; since_met?: { cagr?: unknown; sharpe?: unknown } | null } | undefined;
  const k = typeof f?.windows_below === 'number' ? f.windows_below : 0;
  if (!f || !k) return undefined;
  const n = typeof m.windows === 'number' ? m.windows : k;
  const pct = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '—');
  const fix = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(2) : '—');
  const held = `${k === n ? `every one of the ${n} decisions` : `${k} of the ${n} decisions`} picked fewer names than the policy's min_winners of ${String(f.floor)} (the last decided ${String(f.last_below_as_of)})`;
  if (typeof f.met_from !== 'string') return `FLOOR: ${held}; no later decision holds the floor throughout`;
  const since = f.since_met ? `: from then, CAGR ${pct(f.since_met.cagr)} and Sharpe ${fix(f.since_met.sharpe)}, against ${pct(m.cagr)} and ${fix(m.sharpe)} for the whole record` : '';
  return `FLOOR: ${held}; every decision picks at least ${String(f.floor)} names from ${f.met_from} on${since}`;
}
