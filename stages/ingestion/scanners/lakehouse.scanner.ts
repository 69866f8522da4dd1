/**
 * Candidates from the lakehouse symbols table: one venue (spot and perpetual never mix), asset-type filter,
 * liquidity floors ($20M spot / $50M perpetual 24h quote volume), stablecoin, gold-token and regex exclusions,
 * identity dedup (BTCUSDT, BTCFDUSD, BTCUSDC are one identity; the most liquid is kept), sort and limit.
 */
import type { Candidate } from '../../../src/core/context.js';
import { inputError } from '../../../src/core/errors.js';
import { bool, int, num, oneOfStr, params, str, strList, typed, type Static } from '../../../src/core/params.js';
import type { ScannerMeta, PreflightEnv, StageEnv, Universe } from '../../../src/core/plugin.js';
import type { Lakehouse } from '../../../src/lakehouse/index.js';
import { entryKey } from '../../../src/lakehouse/registry.js';
import { adoptedLiquidity, noteLiquidity, sharedArray, type LiquiditySums } from '../../../src/lakehouse/shared-series.js';
import { barSpan, barsUpTo, barsUpToIn, calendarOffset, discover, freshAt, LIQUIDITY_DAYS, pickVenue, spanWithStep, toCandidate, type BarSpan, type Freshness, type ScanEnv, type ScanResult, type Scanner } from '../scanner.js';

/** The discovery params, shared with the synthetic scanner (which stages a market and then discovers the same way). */
export const DISCOVERY_PARAMS = {
  venue: str("Only this venue (e.g. binance_spot). When omitted: the lakehouse's only venue, else its only spot venue beside perpetual ones (a spot venue added later then takes over: name the venue of a pipeline you backtest); several spot venues must be named."),
  asset_types: typed<('spot' | 'perp' | 'equity' | 'etf')[] | undefined>({ type: 'array', items: { type: 'string', enum: ['spot', 'perp', 'equity', 'etf'] }, uniqueItems: true, description: 'Asset types to keep; all when omitted.' }),
  min_volume_spot: num('24h quote-volume floor for spot, USD.', 20_000_000, { min: 0 }),
  min_volume_perp: num('24h quote-volume floor for perpetuals, USD.', 50_000_000, { min: 0 }),
  exclude: strList('Regular expressions of symbols to drop.', [], { format: 'regex' }),
  exclude_stablecoins: bool('Drop stablecoins.', true),
  exclude_gold_tokens: bool('Drop gold-pegged tokens.', true),
  limit: int('Keep at most this many candidates after sorting.', 100, { min: 1 }),
  sort_by: oneOfStr(['volume_24h', 'market_cap_rank'] as const, 'Sort order before the limit.', 'volume_24h'),
};

const PARAMS = params(DISCOVERY_PARAMS);
/** The discovery params as validated. */
export type DiscoveryParams = Static<typeof PARAMS>;

/** Discovery over an open lakehouse handle. */
export function discoverIn(lh: Lakehouse, p: DiscoveryParams, close: () => Promise<void>): ScanResult {
  return discoverWith(lh, p.venue, close, (candidates, funnel) => discover(candidates, p, funnel));
}

/**
 * Every symbol of the venue a candidate, with no floor, exclusion or limit (a CSV's symbols: the user chose them), and
 * rediscovered point in time like the lakehouse's (fresh at the as-of date, liquidity from the bars up to it): a past
 * decision never sees a volume or a listing from after its date. `detail` says where the universe came from.
 */
export function discoverAllIn(lh: Lakehouse, venue: string | undefined, close: () => Promise<void>, detail?: string): ScanResult {
  return discoverWith(lh, venue, close, (candidates) => candidates, detail);
}

/** Discovery over an open lakehouse handle, `select` the rules applied after the venue (and, as of a date, freshness). */
function discoverWith(lh: Lakehouse, venue: string | undefined, close: () => Promise<void>, select: (candidates: Candidate[], funnel: ScanResult['funnel']) => Candidate[], detail?: string): ScanResult {
  const rows = lh.symbols();
  const funnel: ScanResult['funnel'] = [{ step: 'universe', left: rows.length, ...(detail ? { detail } : {}) }];
  const picked = pickVenue(rows, venue);
  if ('error' in picked) throw inputError('SCAN_VENUE', picked.error, 'Run `pipeline-run lakehouse status` to see what the lakehouse holds.', { param: ['venue'] });
  funnel.push({ step: 'venue', left: picked.rows.length, detail: picked.detail, ...(picked.dropped.length ? { dropped: picked.dropped } : {}) });
  const candidates = select(picked.rows.map(toCandidate), funnel);

  // Point in time: each symbol's mean daily quote volume over its bars in the LIQUIDITY_DAYS calendar days up to
  // the as-of date (never older bars: a delisted coin has none), from running sums built once per run (every
  // backtest replay then costs O(symbols log bars)), or adopted from the thread that built them for the same venue,
  // symbols and file versions (a backtest worker: src/lakehouse/shared-series.ts). Loaded once (concurrent
  // decisions wait for the same load); `shared` holds the sums for as long as this scan lives, as what is noted for
  // sharing is weakly held. Each row's bar span (scanner.ts BarSpan) is made with them, for the freshness step, and
  // its offset in the run's reference calendar (the longest series' dates; -1 when not an unbroken run of it), so a
  // decision searches that calendar once rather than every symbol's dates twice.
  type Series = { span: BarSpan; offset: number } & LiquiditySums;
  type Sums = { byRow: Series[]; shared: LiquiditySums[]; calendar: Int32Array };
  let loading: Promise<Sums> | undefined;
  const build = async (): Promise<Sums> => {
    const registry = lh.registry();
    const key = `${picked.venue}\u0000${picked.rows.map((r) => r.symbol).join('\u0001')}`;
    const checksums = picked.rows.map((r) => registry.entries[entryKey(picked.venue, r.symbol)]!.checksum);
    const adopted = adoptedLiquidity(key, checksums);
    const sums: Sums = { byRow: [], shared: [], calendar: new Int32Array(0) };
    for (const [j, r] of picked.rows.entries()) {
      // Read either way: the series' dates, and the entry logged as read (the run's data hash).
      const o = await lh.readOhlcv(r.symbol, picked.venue);
      const s = adopted?.[j] ?? runningSums(o);
      sums.shared.push(s);
      sums.byRow.push({ span: s.bars ? spanWithStep(o.date, s.bars.maxStep) : barSpan(o.date), offset: s.bars?.offset ?? -1, ...s });
      if (o.date.length > sums.calendar.length) sums.calendar = o.date;
    }
    // Placed once per file versions: a thread that adopted the sums with their places skips both passes over the dates.
    for (const [j, s] of sums.byRow.entries()) {
      if (s.bars) continue;
      s.offset = calendarOffset(sums.calendar, s.span.dates);
      sums.shared[j]!.bars = { maxStep: s.span.maxStep, offset: s.offset };
    }
    if (!adopted) noteLiquidity(key, checksums, sums.shared);
    return sums;
  };
  // `upTo` and `from`: the reference calendar's bar counts up to the as-of date and to LIQUIDITY_DAYS before it.
  const liquidityAt = (s: Series, asOf: number, upTo: number, from: number): number | undefined => {
    const n = s.span.dates.length;
    const hi = s.offset < 0 ? barsUpTo(s.span.dates, asOf) : barsUpToIn(upTo, s.offset, n);
    const lo = s.offset < 0 ? barsUpTo(s.span.dates, asOf - LIQUIDITY_DAYS) : barsUpToIn(from, s.offset, n);
    const k = s.known[hi] - s.known[lo];
    return k > 0 ? (s.cum[hi] - s.cum[lo]) / k : undefined;
  };
  // The venue's rows as candidates, made once for every decision: only read here (each decision's candidates are
  // copies carrying that day's liquidity), with their rows' places.
  let listed: { candidates: Candidate[]; row: Map<Candidate, number> } | undefined;
  const rediscover = async (asOf: number, opts: { freshness: Freshness }) => {
    const { byRow: series, calendar } = await (loading ??= build());
    const f: ScanResult['funnel'] = [funnel[0], { ...funnel[1] }];
    if (!listed) {
      const candidates = picked.rows.map(toCandidate);
      listed = { candidates, row: new Map(candidates.map((c, i) => [c, i])) };
    }
    const fresh = freshAt(listed.candidates, asOf, opts.freshness, (_c, i) => series[i].span, f);
    const row = listed.row;
    const upTo = barsUpTo(calendar, asOf);
    const from = barsUpTo(calendar, asOf - LIQUIDITY_DAYS);
    const pit = fresh.map((c) => ({ ...c, volume_24h: liquidityAt(series[row.get(c)!], asOf, upTo, from) }));
    const found = select(pit, f);
    const liquidity = f.find((x) => x.step === 'liquidity');
    if (liquidity) liquidity.detail += `, mean quote volume of the bars in the ${LIQUIDITY_DAYS} calendar days to the as-of date`;
    return { candidates: found, funnel: f };
  };
  return { candidates, data: lh, venue: picked.venue, funnel, close, rediscover };
}

/**
 * A series' running sums of finite daily quote volumes (close * volume) and of how many there are, in shared memory.
 * Sums start at the first finite one: before it they are zeros, and a series without any (a CSV of closes) gets
 * views of one zeroed buffer shared by every such series, read only, instead of two arrays of its own.
 */
function runningSums(o: { date: Int32Array; close: Float64Array; volume: Float64Array }): LiquiditySums {
  // The columns in locals: a series with deferred columns has accessors of its own (a shape per series), and a
  // property load per bar from such an object cost 40 ms over 2000 series of 1261 bars.
  const { close, volume } = o;
  const n = o.date.length;
  let i = 0;
  while (i < n && !Number.isFinite(close[i] * volume[i])) i++;
  if (i === n) return zeroSums(n + 1);
  const cum = sharedArray(Float64Array, n + 1);
  const known = sharedArray(Int32Array, n + 1);
  for (; i < n; i++) {
    const dv = close[i] * volume[i];
    const ok = Number.isFinite(dv);
    known[i + 1] = known[i] + (ok ? 1 : 0);
    cum[i + 1] = cum[i] + (ok ? dv : 0);
  }
  return { cum, known };
}

let zeros: LiquiditySums | undefined;
function zeroSums(length: number): LiquiditySums {
  if (!zeros || zeros.cum.length < length) zeros = { cum: sharedArray(Float64Array, 2 * length), known: sharedArray(Int32Array, 2 * length) };
  return { cum: zeros.cum.subarray(0, length), known: zeros.known.subarray(0, length) };
}

export class LakehouseScanner implements Scanner<DiscoveryParams> {
  static readonly meta: ScannerMeta = {
    kind: 'scanner',
    name: 'lakehouse',
    live: false,
    pointInTime: true,
    cacheable: true,
    readsLakehouse: true,
    description: 'Candidates from the lakehouse symbols table: venue and asset-type filters, liquidity floors, exclusions, dedup by identity.',
    params: PARAMS,
  };

  async scan(p: DiscoveryParams, env: StageEnv): Promise<ScanResult> {
    // Loaded here, not at the top: the registry (and so `validate`) must not pay for Arrow.
    const { openLakehouse } = await import('../../../src/lakehouse/index.js');
    const lh = await openLakehouse(env.lakehousePath, { readOnly: true });
    return discoverIn(lh, p, async () => {});
  }

  async dataIdentity(_p: DiscoveryParams, env: ScanEnv): Promise<string> {
    const { openLakehouse } = await import('../../../src/lakehouse/index.js');
    return (await openLakehouse(env.lakehousePath, { readOnly: true })).dataIdentity();
  }

  async universe(p: DiscoveryParams, env: PreflightEnv): Promise<Universe> {
    const { openLakehouse } = await import('../../../src/lakehouse/index.js');
    return universeIn(await openLakehouse(env.lakehousePath, { readOnly: true }), p);
  }
}

/** The venue a scan with these params would pick in `lh` and its symbols table (no bars read). */
export function universeIn(lh: Lakehouse, p: DiscoveryParams): Universe {
  const picked = pickVenue(lh.symbols(), p.venue);
  if ('error' in picked) throw inputError('SCAN_VENUE', picked.error, 'Run `pipeline-run lakehouse status` to see what the lakehouse holds.', { param: ['venue'] });
  return { venue: picked.venue, symbols: picked.rows.map((r) => ({ symbol: r.symbol, first_date: r.first_date, last_date: r.last_date, rows: r.rows })), limit: p.limit };
}
