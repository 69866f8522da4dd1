/**
 * The scanner contract and the discovery rules scanners share. A scanner returns candidates (the raw pool) and
 * the market data their bars come from; the ingestion stage then loads aligned returns up to the as-of date.
 */
import type { Candidate, DroppedSymbol, FunnelStep } from '../../src/core/context.js';
import type { Params, PreflightEnv, StageEnv, Universe } from '../../src/core/plugin.js';
import type { Lakehouse, SymbolRow } from '../../src/lakehouse/index.js';
import { isoFromDay } from '../../src/util/dates.js';
import { tradesDaily } from '../../src/lakehouse/health.js';
import { byCodeUnit, lowerBound } from '../../src/util/order.js';
import { wholeNumber } from '../../src/util/words.js';

/** Discovery's record of each step (the contract is core's: the context and the reports carry it). */
export type { DroppedSymbol, FunnelStep } from '../../src/core/context.js';

export interface ScanResult {
  candidates: Candidate[];
  /** Where the candidates' bars are read from (a read-only lakehouse handle). */
  data: Lakehouse;
  /** The one venue the candidates come from (spot and perpetual data never mix). */
  venue: string;
  /** Each discovery step and how many candidates were left after it, for the funnel and the audit. */
  funnel: FunnelStep[];
  /** Releases temporary data (a CSV or synthetic market staged in a temporary lakehouse). */
  close(): Promise<void>;
  /**
   * Discovery again as of a past date, from what was known then (liquidity from the bars up to that day, not
   * today's 24h volume): how a backtest's earlier decisions see their universe. Absent for live sources
   * (an exchange's or a screener's tickers are only ever today's). Symbols without a bar within the freshness
   * window of `asOf` are dropped first, by name (`fresh_at_as_of`), so stale names never take a place in the limit.
   */
  rediscover?: (asOf: number, opts: { freshness: Freshness }) => Promise<{ candidates: Candidate[]; funnel: ScanResult['funnel'] }>;
}

/** Calendar days before the decision date over which point-in-time liquidity (quote volume, close × volume) is averaged. */
export const LIQUIDITY_DAYS = 30;

/**
 * Freshness: the most calendar days a symbol's last bar may lie before the decision date for it to be a candidate
 * then, by asset type. Crypto trades every day (3 days tolerates a short outage of the source); equities and ETFs
 * trade on sessions (5 covers a weekend plus a holiday).
 */
export type Freshness = Record<string, number>;
export const DEFAULT_FRESHNESS: Freshness = { spot: 3, perp: 3, equity: 5, etf: 5 };

/** The freshness limit of an asset type: its own, else that of a daily (crypto) or session-traded type. */
export function freshnessLimit(freshness: Freshness, assetType: string | undefined): number {
  const own = assetType === undefined ? undefined : freshness[assetType];
  if (own !== undefined) return own;
  return tradesDaily(assetType ?? 'spot') ? freshness.spot ?? DEFAULT_FRESHNESS.spot : freshness.equity ?? DEFAULT_FRESHNESS.equity;
}

/** Index one past the last element of ascending `dates` that is <= day (days are whole numbers). */
export function barsUpTo(dates: Int32Array, day: number): number {
  return lowerBound(dates, day + 1);
}

/**
 * Where `dates` lie in a reference calendar `ref` (both ascending): the index in `ref` of their first day when they
 * are an unbroken run of it (a symbol listed and delisted inside the calendar, no day missing), else -1. Then the
 * count of its bars up to any day is that of the calendar less the offset, clamped to the series (barsUpToIn):
 * one search of the calendar a decision serves every such symbol, instead of one search of each symbol's dates.
 */
export function calendarOffset(ref: Int32Array, dates: Int32Array): number {
  if (!dates.length) return -1;
  const at = barsUpTo(ref, dates[0]) - 1;
  if (at < 0 || ref[at] !== dates[0] || at + dates.length > ref.length) return -1;
  for (let i = 1; i < dates.length; i++) if (ref[at + i] !== dates[i]) return -1;
  return at;
}

/** barsUpTo(dates, day) for dates at `offset` of a calendar, from the calendar's own count up to that day. */
export function barsUpToIn(calendarCount: number, offset: number, length: number): number {
  return Math.min(length, Math.max(0, calendarCount - offset));
}

/**
 * Why a symbol is not tradable at `asOf`, or undefined when it is: no bar on or before that day (listed later), or
 * its last bar on or before it is more than the freshness limit of its asset type before it (delisted, halted, or
 * inside a long gap of the source).
 */
export function staleReason(dates: Int32Array, asOf: number, assetType: string | undefined, freshness: Freshness): string | undefined {
  return staleAfter(dates, barsUpTo(dates, asOf), asOf, assetType, freshnessLimit(freshness, assetType));
}

/** staleReason with the symbol's bars up to `asOf` (k of them) and its freshness limit already found. */
function staleAfter(dates: Int32Array, k: number, asOf: number, assetType: string | undefined, limit: number): string | undefined {
  if (k === 0) return dates.length ? `listed ${isoFromDay(dates[0])}, after ${isoFromDay(asOf)}` : 'no bars';
  const last = dates[k - 1];
  const lag = asOf - last;
  return lag > limit ? `last bar ${isoFromDay(last)}, ${lag} days before ${isoFromDay(asOf)} (freshness ${limit} days for ${assetType ?? 'spot'})` : undefined;
}

/**
 * A symbol's bar dates with their first and last day and the longest step between two bars: what tells, without
 * searching the dates, that a symbol is fresh on any day of its history when no gap is longer than the freshness
 * limit (a backtest asks again at every decision; the plain test is staleReason).
 */
export interface BarSpan {
  dates: Int32Array;
  first: number;
  last: number;
  maxStep: number;
}

export function barSpan(dates: Int32Array): BarSpan {
  let maxStep = 0;
  for (let i = 1; i < dates.length; i++) maxStep = Math.max(maxStep, dates[i] - dates[i - 1]);
  return spanWithStep(dates, maxStep);
}

/** barSpan with the longest step already known (found for the same dates by the thread that shared it). */
export function spanWithStep(dates: Int32Array, maxStep: number): BarSpan {
  return { dates, first: dates.length ? dates[0] : Infinity, last: dates.length ? dates[dates.length - 1] : -Infinity, maxStep };
}

/** Whether the symbol has no bar within `limit` days on or before `asOf`: staleReason's rule, searched only inside a long gap. */
export function staleOn(s: BarSpan, asOf: number, limit: number): boolean {
  if (asOf < s.first) return true; // not listed yet (or no bars at all)
  if (asOf >= s.last) return asOf - s.last > limit;
  // Inside the history, the last bar lies at most the longest step less a day before any day.
  if (s.maxStep - 1 <= limit) return false;
  return asOf - s.dates[barsUpTo(s.dates, asOf) - 1] > limit;
}

/** The freshness step of discovery: candidates with a recent bar kept, the others named with their reason. */
export function freshAt(cands: Candidate[], asOf: number, freshness: Freshness, spanOf: (c: Candidate, i: number) => BarSpan | undefined, funnel: FunnelStep[]): Candidate[] {
  const dropped: DroppedSymbol[] = [];
  const limits = new Map<string | undefined, number>();
  const kept = cands.filter((c, i) => {
    const s = spanOf(c, i);
    if (!s) return true; // unknown to the source: the returns reader names it
    let limit = limits.get(c.asset_type);
    if (limit === undefined) limits.set(c.asset_type, (limit = freshnessLimit(freshness, c.asset_type)));
    if (!staleOn(s, asOf, limit)) return true;
    const k = barsUpTo(s.dates, asOf);
    dropped.push({ symbol: c.symbol, reason: staleAfter(s.dates, k, asOf, c.asset_type, limit)!, ...(k > 0 ? { last_bar: isoFromDay(s.dates[k - 1]!) } : {}) });
    return false;
  });
  funnel.push({ step: 'fresh_at_as_of', left: kept.length, detail: `a bar within ${Object.entries(freshness).map(([t, d]) => `${d} days (${t})`).join(', ')} of ${isoFromDay(asOf)}`, ...(dropped.length ? { dropped } : {}) });
  return kept;
}

export interface Scanner<P = Params> {
  scan(params: P, env: StageEnv): Promise<ScanResult>;
  /**
   * The data identity a scan with these params records (src/lakehouse/registry.ts `dataIdentity`), found without
   * discovering: what the sleeve cache keys on. Absent for live scanners (an exchange's or a screener's candidates
   * are today's; nothing on disk says whether they changed): their sleeves are never cached.
   */
  dataIdentity?(params: P, env: ScanEnv): Promise<string>;
  /**
   * The venue and symbols table the scan would draw from, read without any bars (for the runner's preflight);
   * absent when the scanner cannot tell before scanning. Errors name the scanner param that caused them.
   */
  universe?(params: P, env: PreflightEnv): Promise<Universe | undefined>;
}

/** What finding a scanner's data identity needs from the environment. */
export type ScanEnv = Pick<StageEnv, 'baseDir' | 'lakehousePath' | 'progress'>;

export const toCandidate = (r: SymbolRow): Candidate => ({
  symbol: r.symbol,
  exchange: r.exchange,
  venue: r.venue,
  asset_type: r.asset_type,
  base: r.base ?? undefined,
  quote: r.quote ?? undefined,
  sector: r.sector ?? undefined,
  market_cap_rank: r.market_cap_rank ?? undefined,
  volume_24h: r.volume_24h ?? undefined,
  metadata: { first_date: r.first_date, last_date: r.last_date, rows: r.rows, status: r.status, reasons: r.reasons, source: r.source },
});

/** Base assets that are stablecoins or gold-pegged tokens: they carry no crypto risk premium to select on. */
export const STABLECOINS = ['USDT', 'USDC', 'BUSD', 'FDUSD', 'TUSD', 'DAI', 'USDP', 'USDD', 'UST', 'USTC', 'PYUSD', 'FRAX', 'GUSD', 'LUSD', 'USDE', 'USDX', 'EURT', 'EURC', 'AEUR', 'SUSD'];
export const GOLD_TOKENS = ['PAXG', 'XAUT', 'XAUM', 'DGX', 'PMGT', 'CACHE'];
/** Quote currencies stripped to find an identity: BTCUSDT, BTCFDUSD and BTCUSDC are one identity, BTC. */
const QUOTES = ['FDUSD', 'USDT', 'USDC', 'BUSD', 'TUSD', 'USD', 'DAI', 'EUR', 'BTC', 'ETH'];

export function identityOf(c: Candidate): string {
  if (c.base) return c.base.toUpperCase();
  // ccxt writes BTC/USDT:USDT for a perpetual; the settle part is not part of the identity.
  const s = c.symbol.toUpperCase().split(':')[0].replace(/[-_/]/g, '');
  for (const q of QUOTES) if (s.endsWith(q) && s.length > q.length) return s.slice(0, -q.length);
  return s;
}

/**
 * One venue per run, so a spot and a perpetual listing of one coin never land in one returns matrix: the requested
 * one, else the only venue, else the only one with spot (non-perp) assets. Several spot venues and no `venue` is an
 * error: any rule among them that counts symbols would change every past decision as listings are added (a run's
 * result on day d must not depend on data after d), and a rule on dates alone would pick silently.
 */
export function pickVenue(rows: SymbolRow[], requested?: string): { venue: string; rows: SymbolRow[]; detail: string; dropped: DroppedSymbol[] } | { error: string } {
  const venues = [...new Set(rows.map((r) => r.venue))].sort();
  if (requested) {
    if (!venues.includes(requested)) return { error: `venue '${requested}' is not in the lakehouse (venues: ${venues.join(', ') || 'none'})` };
    return { venue: requested, rows: rows.filter((r) => r.venue === requested), detail: `venue ${requested} (requested)`, dropped: otherVenues(rows, requested) };
  }
  if (!venues.length) return { error: 'the lakehouse holds no symbols' };
  const spot = venues.filter((v) => rows.some((r) => r.venue === v && r.asset_type !== 'perp'));
  if (spot.length > 1) return { error: `the lakehouse holds several spot venues (${spot.join(', ')}) and \`venue\` does not choose one: set it (choosing by their symbols would change past decisions as listings are added)` };
  const venue = spot[0] ?? (venues.length === 1 ? venues[0]! : undefined);
  if (venue === undefined) return { error: `the lakehouse holds several venues (${venues.join(', ')}) and \`venue\` does not choose one: set it` };
  return { venue, rows: rows.filter((r) => r.venue === venue), detail: venues.length > 1 ? `venue ${venue} (of ${venues.join(', ')}; set \`venue\` to choose)` : `venue ${venue}`, dropped: otherVenues(rows, venue) };
}

/** Symbols held only on venues other than the run's (a symbol also on the run's venue is not dropped). */
function otherVenues(rows: SymbolRow[], venue: string): DroppedSymbol[] {
  const here = new Set(rows.filter((r) => r.venue === venue).map((r) => r.symbol));
  const elsewhere = new Map<string, string[]>();
  for (const r of rows) if (!here.has(r.symbol)) elsewhere.set(r.symbol, [...(elsewhere.get(r.symbol) ?? []), r.venue]);
  return [...elsewhere].sort(([a], [b]) => byCodeUnit(a, b)).map(([symbol, vs]) => ({ symbol, reason: `on ${vs.sort().join(', ')}, not on the run's venue ${venue}`, venue: vs[0]! }));
}

export interface DiscoveryRules {
  asset_types?: string[];
  min_volume_spot: number;
  min_volume_perp: number;
  exclude: string[];
  exclude_stablecoins: boolean;
  exclude_gold_tokens: boolean;
  limit: number;
  /** 'given' keeps the source's own order (a screener's sort). */
  sort_by: 'volume_24h' | 'market_cap_rank' | 'given';
}

/**
 * Liquidity floors, exclusions, identity dedup (the most liquid listing kept), sort and limit; each step counted, and
 * every symbol it drops named with why (FunnelStep.dropped).
 */
export function discover(cands: Candidate[], rules: DiscoveryRules, funnel: ScanResult['funnel']): Candidate[] {
  let out = cands;
  const step = (name: string, next: Candidate[], why: (c: Candidate) => Omit<DroppedSymbol, 'symbol'>, detail?: string) => {
    // `next` is `out` filtered or cut, in order: as long, it dropped nothing (a backtest's every decision, mostly).
    const kept = next.length === out.length ? undefined : new Set(next);
    const dropped = kept ? out.filter((c) => !kept.has(c)).map((c) => ({ symbol: c.symbol, ...why(c) })) : [];
    out = next;
    funnel.push({ step: name, left: out.length, ...(detail ? { detail } : {}), ...(dropped.length ? { dropped } : {}) });
  };
  if (rules.asset_types?.length)
    step('asset_types', out.filter((c) => rules.asset_types!.includes(String(c.asset_type))), (c) => ({ reason: `asset type ${c.asset_type ?? 'unknown'}, not one of ${rules.asset_types!.join(', ')}`, asset_type: String(c.asset_type) }), rules.asset_types.join(', '));
  // Equities and ETFs have no 24h-volume floor here (their liquidity is checked by the darwinian filter).
  const floor = (c: Candidate) => (c.asset_type === 'perp' ? rules.min_volume_perp : c.asset_type === 'spot' ? rules.min_volume_spot : 0);
  // An unknown volume (e.g. a wide CSV of closes) cannot be judged here and is kept.
  step(
    'liquidity',
    out.filter((c) => c.volume_24h === undefined || c.volume_24h >= floor(c)),
    (c) => ({ reason: `quote volume ${wholeNumber(c.volume_24h!)} below the ${c.asset_type} floor of ${wholeNumber(floor(c))}`, value: c.volume_24h!, floor: floor(c) }),
    `spot >= ${rules.min_volume_spot}, perp >= ${rules.min_volume_perp}`,
  );
  const stable = new Set(rules.exclude_stablecoins ? STABLECOINS : []);
  const gold = new Set(rules.exclude_gold_tokens ? GOLD_TOKENS : []);
  const patterns = rules.exclude.map((p) => ({ p, re: new RegExp(p) }));
  const excludedBy = (c: Candidate): Omit<DroppedSymbol, 'symbol'> | undefined => {
    const id = identityOf(c);
    if (stable.has(id)) return { reason: `a stablecoin (${id}); exclude_stablecoins is on`, rule: 'stablecoin' };
    if (gold.has(id)) return { reason: `a gold-pegged token (${id}); exclude_gold_tokens is on`, rule: 'gold_token' };
    const hit = patterns.find(({ re }) => re.test(c.symbol));
    return hit ? { reason: `matches the exclude pattern ${JSON.stringify(hit.p)}`, rule: 'pattern', pattern: hit.p } : undefined;
  };
  step('exclusions', out.filter((c) => !excludedBy(c)), (c) => excludedBy(c)!);
  const best = new Map<string, Candidate>();
  for (const c of out) {
    const id = identityOf(c);
    const prev = best.get(id);
    if (!prev || (c.volume_24h ?? -1) > (prev.volume_24h ?? -1)) best.set(id, c);
  }
  step('identity_dedup', out.filter((c) => best.get(identityOf(c)) === c), (c) => {
    const twin = best.get(identityOf(c))!;
    return { reason: `the same asset (${identityOf(c)}) as ${twin.symbol}, which is more liquid and was kept`, identity: identityOf(c), kept: twin.symbol };
  });
  const key = rules.sort_by === 'market_cap_rank' ? (c: Candidate) => c.market_cap_rank ?? Infinity : (c: Candidate) => -(c.volume_24h ?? -Infinity);
  const sorted = rules.sort_by === 'given' ? out : [...out].sort((a, b) => key(a) - key(b) || byCodeUnit(a.symbol, b.symbol));
  const by = rules.sort_by === 'given' ? "the source's order" : rules.sort_by;
  out = sorted;
  // Places are asked only of candidates beyond the limit: made then.
  let place: Map<Candidate, number> | undefined;
  const placeOf = (c: Candidate) => (place ??= new Map(sorted.map((x, i) => [x, i + 1]))).get(c)!;
  step('limit', sorted.slice(0, rules.limit), (c) => ({ reason: `ranked ${placeOf(c)} by ${by}, beyond the limit of ${rules.limit}`, rank: placeOf(c), limit: rules.limit }), `top ${rules.limit} by ${rules.sort_by}`);
  return out;
}

/**
 * Live discovery (an exchange, a screener) finds candidates; their bars come from the lakehouse. Candidates the
 * lakehouse does not hold on `venue` are counted in the funnel and named in the audit, with the command that
 * fetches them.
 */
export async function withLakehouseData(found: Candidate[], venue: string, env: StageEnv, funnel: ScanResult['funnel'], fetchHint: string): Promise<ScanResult> {
  const { openLakehouse } = await import('../../src/lakehouse/index.js');
  const lh = await openLakehouse(env.lakehousePath, { readOnly: true });
  const stored = new Set(lh.symbols().filter((r) => r.venue === venue).map((r) => r.symbol));
  const candidates = found.filter((c) => stored.has(c.symbol));
  const missing = found.filter((c) => !stored.has(c.symbol)).map((c) => c.symbol);
  funnel.push({ step: 'in_lakehouse', left: candidates.length, ...(missing.length ? { detail: `${missing.length} not in the lakehouse on ${venue}`, dropped: missing.map((symbol) => ({ symbol, reason: `found by the scanner, but the lakehouse has no bars for it on ${venue} (${fetchHint})` })) } : {}) });
  if (missing.length) env.audit.event('ingestion', 'candidates_without_data', { venue, symbols: missing, hint: fetchHint });
  return { candidates, data: lh, venue, funnel, close: async () => {} };
}
