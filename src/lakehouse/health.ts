/**
 * Data health per symbol. Findings from the series itself (gaps, toxic or extreme moves, flat zero-volume tails, the
 * missing fraction, bad prices) are computed when a symbol is written and kept in the registry; staleness depends on
 * "now" and is recomputed at every commit. Any finding makes the symbol DEGRADED, and the reasons say why.
 */
import { isoFromDay, isBusinessDay, msFromDay } from '../util/dates.js';
import type { Ohlcv } from './ohlcv.js';

export type HealthStatus = 'STABLE' | 'DEGRADED';

export interface HealthOptions {
  /** A daily close-to-close move beyond this (5 = 500%, either way in log terms) is toxic. */
  toxicMove: number;
  /** A move beyond this (1.5 = 150%) is flagged as extreme: often real (LUNA 2.0), worth a look before trading it. */
  extremeMove: number;
  /** More missing sessions than this fraction of the expected ones. */
  maxMissingFraction: number;
  /** This many trailing flat, zero-volume bars (trading stopped). */
  flatTailBars: number;
  /** Crypto: the last bar must have closed within 24 h of the reference time. */
  cryptoStaleDays: number;
  /** Equities: calendar days tolerated after the last session (a weekend plus a holiday). */
  equityStaleDays: number;
}

export const DEFAULT_HEALTH: HealthOptions = {
  toxicMove: 5,
  extremeMove: 1.5,
  maxMissingFraction: 0.05,
  flatTailBars: 2,
  cryptoStaleDays: 1,
  equityStaleDays: 4,
};

/** Crypto (spot, perp) trades every calendar day; equities and ETFs on sessions. */
export function tradesDaily(assetType: string): boolean {
  return assetType !== 'equity' && assetType !== 'etf';
}

const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(0)}%`;

/**
 * Findings for one series. `calendar` (ascending sessions of the venue) replaces the business-day rule for
 * equities when given, so market-wide closures (9/11, hurricane Sandy) are not gaps.
 */
export function seriesFindings(o: Ohlcv, assetType: string, calendar?: Int32Array, options: Partial<HealthOptions> = {}): string[] {
  const opt = { ...DEFAULT_HEALTH, ...options };
  const n = o.date.length;
  const out: string[] = [];
  if (n === 0) return ['no rows'];

  // Gaps: runs of missing sessions between consecutive rows. A one-session gap is tolerated.
  const daily = tradesDaily(assetType);
  let calIdx = 0;
  const sessionsBetween = (a: number, b: number): number => {
    if (daily) return b - a - 1;
    if (calendar && calendar.length) {
      // Count calendar sessions strictly between a and b (calendar is ascending; walk it forward once).
      while (calIdx < calendar.length && calendar[calIdx] <= a) calIdx++;
      let k = 0;
      while (calIdx + k < calendar.length && calendar[calIdx + k] < b) k++;
      return k;
    }
    let k = 0;
    for (let d = a + 1; d < b; d++) if (isBusinessDay(d)) k++;
    return k;
  };
  let missing = 0;
  let expected = 1;
  const gaps: { from: number; len: number }[] = [];
  for (let i = 1; i < n; i++) {
    const m = sessionsBetween(o.date[i - 1], o.date[i]);
    missing += m;
    expected += m + 1;
    if (m >= 2) gaps.push({ from: o.date[i - 1] + 1, len: m });
  }
  if (gaps.length) {
    const longest = gaps.reduce((a, b) => (b.len > a.len ? b : a));
    out.push(`gaps: ${gaps.length} run(s) of 2+ missing sessions, longest ${longest.len} from ${isoFromDay(longest.from)}`);
  }
  if (expected > 0 && missing / expected > opt.maxMissingFraction) {
    out.push(`missing: ${(100 * missing / expected).toFixed(1)}% of ${expected} expected sessions (limit ${(opt.maxMissingFraction * 100).toFixed(0)}%)`);
  }

  // Prices: must be positive and finite; moves beyond the thresholds are named with their date.
  let bad = 0;
  let firstBad = -1;
  let worst = 0; // magnitude in ratio terms: max(r, 1/r) - 1
  let worstRet = 0;
  let worstDay = -1;
  for (let i = 0; i < n; i++) {
    const c = o.close[i];
    if (!(c > 0) || !Number.isFinite(c)) {
      bad++;
      if (firstBad < 0) firstBad = o.date[i];
      continue;
    }
    if (i > 0 && o.close[i - 1] > 0) {
      const r = c / o.close[i - 1];
      // Symmetric in log terms: a fall to 1/6 is as toxic as a rise to 6x.
      const mag = Math.max(r, 1 / r) - 1;
      if (mag > worst) {
        worst = mag;
        worstRet = r - 1;
        worstDay = o.date[i];
      }
    }
  }
  if (bad) out.push(`bad prices: ${bad} row(s) with a missing, zero or negative close, first ${isoFromDay(firstBad)}`);
  const limit = (x: number) => `limit ${pct(x)}, or a fall to 1/${(1 + x).toFixed(1)}`;
  if (worst > opt.toxicMove) out.push(`toxic move: ${pct(worstRet)} close-to-close on ${isoFromDay(worstDay)} (${limit(opt.toxicMove)})`);
  else if (worst > opt.extremeMove) out.push(`extreme move: ${pct(worstRet)} close-to-close on ${isoFromDay(worstDay)} (${limit(opt.extremeMove)})`);

  // OHLC consistency (low <= open, close <= high) where all four are known.
  let incoherent = 0;
  for (let i = 0; i < n; i++) {
    const { open: op, high: h, low: l, close: c } = { open: o.open[i], high: o.high[i], low: o.low[i], close: o.close[i] };
    if (Number.isFinite(op) && Number.isFinite(h) && Number.isFinite(l) && Number.isFinite(c)) {
      const eps = 1e-9 * h;
      if (l > Math.min(op, c) + eps || h < Math.max(op, c) - eps) incoherent++;
    }
  }
  if (incoherent) out.push(`incoherent bars: ${incoherent} row(s) where low/high do not bracket open and close`);

  // Flat zero-volume tail: trading stopped but bars kept being published.
  let tail = 0;
  const last = o.close[n - 1];
  for (let i = n - 1; i >= 0; i--) {
    if (o.volume[i] === 0 && o.open[i] === last && o.high[i] === last && o.low[i] === last && o.close[i] === last) tail++;
    else break;
  }
  if (tail >= opt.flatTailBars) out.push(`flat zero-volume tail: ${tail} bar(s) from ${isoFromDay(o.date[n - tail])} at ${last}`);
  return out;
}

/**
 * Staleness. For live sources (ccxt) the reference is the wall clock: a daily bar dated d closes at d+1 00:00 UTC, and
 * crypto is stale when that close is more than 24 h old. For static sources (CSV, synthetic) the reference is the
 * latest day of the venue, so a delisted symbol in a historical file is stale but its peers are not.
 */
export function staleFinding(
  lastDay: number,
  assetType: string,
  ref: { nowMs: number } | { venueLastDay: number },
  options: Partial<HealthOptions> = {},
): string | undefined {
  const opt = { ...DEFAULT_HEALTH, ...options };
  const limitDays = tradesDaily(assetType) ? opt.cryptoStaleDays : opt.equityStaleDays;
  if ('nowMs' in ref) {
    const closedMs = msFromDay(lastDay + 1);
    const ageDays = (ref.nowMs - closedMs) / 86_400_000;
    if (ageDays <= limitDays) return undefined;
    return `stale: last bar ${isoFromDay(lastDay)} closed ${ageDays.toFixed(1)} days ago (limit ${limitDays})`;
  }
  const lag = ref.venueLastDay - lastDay;
  if (lag <= limitDays) return undefined;
  return `stale: last bar ${isoFromDay(lastDay)}, ${lag} days before the venue's latest ${isoFromDay(ref.venueLastDay)}`;
}
