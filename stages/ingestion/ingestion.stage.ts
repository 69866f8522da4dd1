/**
 * Ingestion: a scanner discovers the raw pool (symbols with discovery metadata), then aligned daily returns (and
 * bars) are loaded for `lookback_days` up to the as-of date, never a day after it. The identity of the source's
 * data is recorded for the manifest's data hash.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Candidate, SelectionContext } from '../../src/core/context.js';
import { asFractalError, FractalError, inputError, runError } from '../../src/core/errors.js';
import { date, int, num, params, path, pluginRef, type Static } from '../../src/core/params.js';
import { DEFAULT_HEALTH } from '../../src/lakehouse/health.js';
import type { MarketReader, SymbolRow } from '../../src/lakehouse/index.js';
import { closesOnlySpans, entryKey } from '../../src/lakehouse/registry.js';
import { inject } from 'inversify';
import { type PreflightEnv, type RunCache, SERVICE, type Stage, type StageEnv, type StageMeta, type Universe } from '../../src/core/plugin.js';
import { parseJsonText } from '../../src/util/json-text.js';
import { dayFromIso, isoFromDay } from '../../src/util/dates.js';
import { barSpan, DEFAULT_FRESHNESS, freshAt, type BarSpan, type ScanResult, type Scanner } from './scanner.js';
import { codeOf } from '../../src/util/thrown.js';

const PARAMS = params({
  scanner: pluginRef('scanner', 'Where candidates come from.', 'lakehouse'),
  lookback_days: int('Days of history to load up to the as-of date; omit for all history.', undefined, { min: 2 }),
  as_of: date('Decision date (YYYY-MM-DD); defaults to the last date in the data. No later day is read.'),
  candidates_path: path("A JSON list of candidates ({symbol, ...}) used instead of the scanner's discovery (the seed format); their data comes from the scanner's source.", 'file'),
  toxic_threshold: num('A close-to-close rise above this (5 = +500%) is a bad print, not booked by the decisions or the backtest; the bar that gives it back is booked from the last good close (docs/backtest.md).', DEFAULT_HEALTH.toxicMove, { exclusiveMin: 0 }),
  freshness_days: params(
    Object.fromEntries(Object.entries(DEFAULT_FRESHNESS).map(([type, days]) => [type, int(`Most calendar days a ${type} symbol's last bar may lie before the decision date for it to be a candidate then.`, days, { min: 0 })])),
    { description: 'Freshness by asset type: a symbol with no bar this close to the decision date (delisted, halted, not yet listed) is not a candidate, and the discovery funnel names it.', default: {} },
  ),
});
export type IngestionParams = Static<typeof PARAMS>;

export class IngestionStage implements Stage<SelectionContext, IngestionParams> {
  static readonly meta: StageMeta = {
    kind: 'stage',
    name: 'ingestion',
    description: 'Discovers the candidate pool with a scanner and loads aligned daily returns up to the as-of date.',
    documents: ['selection'],
    requires: [],
    provides: ['raw_pool', 'returns'],
    // A past date on which nothing was tradable yet (the venue's calendar can start before any candidate's history).
    cashOn: { EMPTY_UNIVERSE: 'nothing tradable', NOT_ENOUGH_HISTORY: 'not enough history' },
    params: PARAMS,
  };

  constructor(@inject(SERVICE.RunCache) private readonly cache: RunCache) {}

  /** The scanner's universe (when it can tell without reading bars), the as-of date and the candidates file against it. */
  async preflight(p: IngestionParams, env: PreflightEnv): Promise<FractalError[]> {
    const ref = p.scanner;
    const scanner = env.plugins.get<Scanner>('scanner', ref.name);
    if (!scanner.universe) return [];
    let universe: Universe | undefined;
    try {
      universe = await scanner.universe(ref.params, env);
    } catch (err) {
      if (err instanceof FractalError && err.exitCode === 2) return [err.underParam(['scanner', 'params'])];
      throw err;
    }
    if (!universe) return [];
    const span = venueSpan(universe.symbols);
    if (!span) return [inputError('LAKEHOUSE_MISSING_DATA', `scanner '${ref.name}' found no data on venue ${universe.venue}`, undefined, { param: ['scanner'] })];
    const problems: FractalError[] = [];
    let asOf: number | undefined = p.as_of ? dayFromIso(p.as_of) : span.last;
    try {
      checkAsOf(asOf, span, universe.venue);
    } catch (err) {
      problems.push(asFractalError(err));
      asOf = undefined; // the stages after this one do not judge their windows against a date already refused
    }
    if (p.candidates_path) {
      try {
        const known = new Set(universe.symbols.map((s) => s.symbol));
        const missing = readCandidates(resolve(env.baseDir, p.candidates_path), universe.venue).map((c) => c.symbol).filter((s) => !known.has(s));
        if (missing.length)
          problems.push(inputError('LAKEHOUSE_MISSING_DATA', `${missing.length} candidate(s) of ${p.candidates_path} are not in the lakehouse on venue ${universe.venue}: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''}`, 'Fill the lakehouse first (`pipeline-run lakehouse import|ingest`), or drop them from the file.', { param: ['candidates_path'] }));
      } catch (err) {
        problems.push(asFractalError(err));
      }
    }
    env.universe = { ...universe, ...(asOf !== undefined ? { asOf } : {}) };
    return problems;
  }

  async execute(ctx: SelectionContext, p: IngestionParams, env: StageEnv): Promise<SelectionContext> {
    const ref = p.scanner;
    // One scan per run: backtest windows replay this stage many times over the same discovered market.
    const key = `ingestion.scan:${JSON.stringify(ref)}`;
    let scan = this.cache.get<ScanResult>(key);
    if (!scan) {
      const fresh = await env.plugins.get<Scanner>('scanner', ref.name).scan(ref.params, env).catch((err) => {
        throw err instanceof FractalError ? err.underParam(['scanner', 'params']) : err;
      });
      scan = this.cache.set(key, fresh, () => fresh.close());
    }
    {
      const venue = scan.venue;
      const { rows: stored, span, symbols: venueSymbols } = venueOf(scan);
      let candidates = p.candidates_path ? readCandidates(resolve(env.baseDir, p.candidates_path), venue) : scan.candidates;
      // Default as-of: the latest bar on the venue (the data decides, not the calendar).
      if (!span) throw inputError('LAKEHOUSE_MISSING_DATA', `scanner '${ref.name}' found no data on venue ${venue}`, undefined, { param: ['scanner'] });
      const asOf = p.as_of ? dayFromIso(p.as_of) : span.last;
      checkAsOf(asOf, span, venue);
      // Discovery as of that day: liquidity from the bars up to it, not today's volume (no survivorship in the
      // backtest's earlier decisions). Live scanners only know today: their snapshot stands, and says so.
      let funnel = [...scan.funnel];
      const freshness = { ...DEFAULT_FRESHNESS, ...p.freshness_days };
      if (!p.candidates_path && scan.rediscover) {
        const r = await scan.rediscover(asOf, { freshness });
        candidates = r.candidates;
        funnel = r.funnel;
      } else {
        // A given list, or a source without history (a live scanner): tradable at the as-of date all the same.
        const spans = new Map<string, BarSpan>();
        for (const c of candidates) if (stored.has(c.symbol)) spans.set(c.symbol, barSpan((await scan.data.readOhlcv(c.symbol, venue)).date));
        candidates = freshAt(candidates, asOf, freshness, (c) => spans.get(c.symbol), funnel);
      }
      const stale = funnel.find((f) => f.step === 'fresh_at_as_of')?.dropped ?? [];
      if (stale.length) env.audit.event('ingestion', 'not_fresh_at_as_of', { as_of: isoFromDay(asOf), freshness, symbols: stale });
      // The scanner is the candidates' logic unless they say otherwise (synthesis names atoms by it).
      candidates = candidates.map((c) => ({ ...c, metadata: { scanner: ref.name, ...c.metadata } }));
      env.audit.event('ingestion', 'discovery', { scanner: ref.name, venue, as_of: isoFromDay(asOf), point_in_time: Boolean(scan.rediscover && !p.candidates_path), funnel, candidates: candidates.length });
      const writeCandidates = () => env.artifacts.writeJson('candidates.json', { scanner: ref.name, venue, as_of: isoFromDay(asOf), point_in_time: Boolean(scan.rediscover && !p.candidates_path), funnel, candidates });
      const symbols = candidates.map((c) => c.symbol);
      const toxicThreshold = p.toxic_threshold ?? DEFAULT_HEALTH.toxicMove;
      const request = { symbols, venue: scan.venue, end: asOf, lookbackDays: p.lookback_days, toxicThreshold };
      // A source with history (every decision of a backtest rediscovers from it, reading every symbol of the
      // venue): one returns panel per run, which each decision's reads slice (src/lakehouse/panel.ts).
      const data: MarketReader = (scan.rediscover && !p.candidates_path && (await scan.data.returnsPanel(venue, venueSymbols, toxicThreshold))) || scan.data;
      // The run's data identity: the whole source it discovers from (see src/lakehouse/registry.ts dataIdentity).
      const dataHash = scan.data.dataIdentity();
      env.recordData({ data_hash: dataHash, entries: Object.keys(scan.data.registry().entries).length });
      // The market is open before the as-of day's candidates are judged: a backtest's run whose own decision holds
      // cash on them (nothing tradable, too little history: the runner's holdsCash) still replays the earlier dates.
      ctx.as_of = asOf;
      ctx.raw_pool = candidates;
      ctx.discovery_funnel = funnel;
      const lh = scan.data;
      ctx.market = {
        venue: scan.venue,
        toxicThreshold,
        readReturns: (req) => data.readReturns({ venue: scan!.venue, ...req, toxicThreshold }),
        readToxicBars: (req) => data.readToxicBars({ venue: scan!.venue, ...req, toxicThreshold }),
        // Every day of the venue's data up to `end` (the toxic rule changes values, not days: the panel serves it).
        calendar: (end) => data.readDates({ venue: scan!.venue, symbols: venueSymbols, end, allowEmpty: true, toxicThreshold }),
        assetType: (symbol) => stored.get(symbol)?.asset_type,
        readFunding: (req) => lh.readFunding({ venue: scan!.venue, ...req }),
        readBars: ({ printed, ...req }) => data.readPrices({ venue: scan!.venue, ...req, ...(printed ? {} : { toxicThreshold }) }),
        // Closes alone (a wide CSV, single prints) are stored as the bar's open, high and low too: the registry
        // entry says on which days (registry.ts closesOnlyRanges).
        closesAlone: (symbol) => {
          const entry = lh.registry().entries[entryKey(scan!.venue, symbol)];
          return entry ? closesOnlySpans(entry) : [];
        },
        tradingRules: (symbol) => tradingRulesOf(stored.get(symbol)),
      };
      if (!candidates.length) {
        await writeCandidates();
        throw runError('EMPTY_UNIVERSE', `scanner '${ref.name}' found no candidates tradable at ${isoFromDay(asOf)} (${funnel.map((f) => `${f.step}: ${f.left}`).join(' → ')})`, 'Loosen the scanner params (venue, liquidity floors, exclusions, freshness_days) or check the data.');
      }
      const returns = await data.readReturns(request);
      const prices = await data.readPrices(request);
      // One policy for bad prints: the decisions below and the backtest's simulator read the same cleaned series.
      const toxic = await data.readToxicBars(request);
      for (const b of toxic) env.audit.event('ingestion', 'toxic_bar', { symbol: b.symbol, date: isoFromDay(b.date), kind: b.kind, value: b.value, booked: Number.isFinite(b.booked) ? b.booked : null, threshold: toxicThreshold });
      if (returns.dates.length < 2)
        throw inputError('NOT_ENOUGH_HISTORY', `only ${returns.dates.length} day(s) of data up to ${isoFromDay(asOf)} for ${symbols.length} symbols`, undefined, { param: [p.as_of ? 'as_of' : 'lookback_days'] });
      ctx.toxic_bars = toxic;
      ctx.returns = returns;
      ctx.prices = prices;
      const first = isoFromDay(returns.dates[0]);
      const last = isoFromDay(returns.dates[returns.dates.length - 1]);
      await writeCandidates();
      env.audit.event('ingestion', 'returns_loaded', { symbols: symbols.length, days: returns.dates.length, first, last, as_of: isoFromDay(asOf), data_hash: dataHash });
      env.log(`ingestion: ${symbols.length} symbols × ${returns.dates.length} days (${first} to ${last}) from ${ref.name}/${scan.venue}`);
      return ctx;
    }
  }
}

/** The scan's venue as every decision reads it: its symbols-table rows by symbol, their symbols, the span of its bars. */
interface Venue {
  rows: Map<string, SymbolRow>;
  symbols: string[];
  span: { first: number; last: number } | undefined;
}

/** Made once per scan (every backtest decision asks): readers get the symbols list, never change it. */
const venues = new WeakMap<ScanResult, Venue>();
function venueOf(scan: ScanResult): Venue {
  let venue = venues.get(scan);
  if (!venue) {
    const rows = new Map(scan.data.symbols().filter((r) => r.venue === scan.venue).map((r) => [r.symbol, r] as const));
    venues.set(scan, (venue = { rows, symbols: [...rows.keys()], span: venueSpan([...rows.values()]) }));
  }
  return venue;
}

/** First and last bar over the venue's symbols. */
function venueSpan(rows: { first_date: string; last_date: string }[]): { first: number; last: number } | undefined {
  if (!rows.length) return undefined;
  let first = Infinity;
  let last = -Infinity;
  for (const r of rows) {
    first = Math.min(first, dayFromIso(r.first_date));
    last = Math.max(last, dayFromIso(r.last_date));
  }
  return { first, last };
}

/** A decision date the data cannot speak for is refused, never silently moved to the nearest bar. */
function checkAsOf(asOf: number, span: { first: number; last: number }, venue: string): void {
  if (asOf < span.first)
    throw inputError('AS_OF_OUTSIDE_DATA', `as_of ${isoFromDay(asOf)} is before the first bar on venue ${venue} (${isoFromDay(span.first)})`, `The data on ${venue} runs from ${isoFromDay(span.first)} to ${isoFromDay(span.last)}.`, { param: ['as_of'] });
  if (asOf > span.last)
    throw inputError('AS_OF_OUTSIDE_DATA', `as_of ${isoFromDay(asOf)} is after the last bar on venue ${venue} (${isoFromDay(span.last)}): there is no data to decide on that day`, `The data on ${venue} runs from ${isoFromDay(span.first)} to ${isoFromDay(span.last)}; omit as_of to decide as of ${isoFromDay(span.last)}.`, { param: ['as_of'] });
}

/** The seed's candidates file: a JSON list of objects with at least `symbol`. Errors never quote the file. */
function readCandidates(file: string, venue: string): Candidate[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw inputError('CANDIDATES_FILE', `cannot read candidates from ${file}: ${codeOf(err) ?? 'unreadable'}`, undefined, { param: ['candidates_path'] });
  }
  const parsed = parseJsonText(text);
  if (!parsed.ok) throw inputError('CANDIDATES_FILE', `${file} is not valid JSON (${parsed.error})`, 'It must be a JSON list of objects with a string `symbol`.', { param: ['candidates_path'] });
  const list = parsed.value;
  const bad = Array.isArray(list) ? list.findIndex((c) => typeof c !== 'object' || c === null || Array.isArray(c) || typeof (c as Candidate).symbol !== 'string') : -1;
  if (!Array.isArray(list) || bad >= 0)
    throw inputError('CANDIDATES_FILE', `${file} must be a JSON list of objects with a string \`symbol\`${bad >= 0 ? ` (item ${bad} is not)` : ''}`, undefined, { param: ['candidates_path'] });
  return (list as Candidate[]).map((c) => ({ ...c, venue: c.venue ?? venue }));
}

/**
 * A symbol's lot size and minimum order notional, from its symbols-table row when the table carries them (the
 * order-level simulator falls back on its params otherwise). Only positive finite numbers count.
 */
function tradingRulesOf(row: object | undefined): { lot_size?: number; min_notional?: number } {
  const out: { lot_size?: number; min_notional?: number } = {};
  if (!row) return out;
  for (const key of ['lot_size', 'min_notional'] as const) {
    const v = Object.hasOwn(row, key) ? (row as Record<string, unknown>)[key] : undefined;
    if (typeof v === 'number' && Number.isFinite(v) && v > 0) out[key] = v;
  }
  return out;
}
