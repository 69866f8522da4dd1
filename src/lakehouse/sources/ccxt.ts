/**
 * Real exchanges through ccxt (any exchange id). Markets and tickers fill the symbols table; daily OHLCV is fetched
 * with paging, and a later call fetches only the days after what is stored (idempotent). ccxt's own rate limiter is
 * on. API keys come from the environment (FRACTAL_<EXCHANGE>_API_KEY / _SECRET / _PASSWORD), live only in memory,
 * and never reach a file. ccxt is 60 MB: it is imported here, lazily, only when an ingestion runs.
 */
import { inputError, runError } from '../../core/errors.js';
import { dayFromMs, isoFromDay, msFromDay, parseIsoDay, todayDay } from '../../util/dates.js';
import type { Ohlcv } from '../ohlcv.js';
import type { SymbolWrite } from '../store.js';
import type { Registry, SymbolMeta } from '../registry.js';
import { entryKey } from '../registry.js';

export interface CcxtOptions {
  exchange: string;
  quote?: string;
  type?: 'spot' | 'swap';
  /** Minimum 24h quote volume (from tickers). */
  minVolume?: number;
  /** First day for symbols not stored yet (YYYY-MM-DD); default 365 days ago. */
  since?: string;
  /** Only these markets (exchange ids like BTCUSDT or unified symbols like BTC/USDT). */
  symbols?: string[];
  /** At most this many markets, by 24h quote volume. */
  maxSymbols?: number;
  /** Candles per request (default 1000; the exchange may cap it lower). */
  pageLimit?: number;
  /** Venue name (default the exchange id, with "-perp" for swaps). */
  venue?: string;
  /** Re-fetch from `since` even when rows are stored (repair). */
  full?: boolean;
  /** ccxt's hook: tests serve recorded responses through it. */
  fetchImplementation?: (url: string, init?: unknown) => Promise<Response>;
  /** Extra ccxt constructor options (never credentials: those come from the environment). */
  exchangeOptions?: Record<string, unknown>;
  /** Pin the clock (tests). */
  nowMs?: number;
  onProgress?: (label: string, done: number, total: number) => void;
}

export interface CcxtFetch {
  writes: SymbolWrite[];
  /** Symbols whose stored rows were already up to date. */
  upToDate: string[];
  requests: number;
}

interface Market {
  id: string;
  symbol: string;
  base: string;
  quote: string;
  type?: string;
  spot?: boolean;
  swap?: boolean;
  linear?: boolean;
  active?: boolean;
  /** ccxt's market info: the amount's precision (a step under TICK_SIZE, decimals under DECIMAL_PLACES) and limits. */
  precision?: { amount?: number | null };
  limits?: { amount?: { min?: number | null }; cost?: { min?: number | null } };
}

// Typed loosely on purpose: ccxt's own typings are heavy and we use a small surface.
interface Exchange {
  id: string;
  has: Record<string, unknown>;
  /** How `precision` counts (ccxt: 2 decimal places, 3 significant digits, 4 tick size). */
  precisionMode?: number;
  loadMarkets(): Promise<Record<string, Market>>;
  fetchTickers(symbols?: string[]): Promise<Record<string, { quoteVolume?: number; baseVolume?: number; last?: number }>>;
  fetchOHLCV(symbol: string, timeframe: string, since?: number, limit?: number): Promise<number[][]>;
  close?: () => Promise<void>;
}

export function venueFor(exchange: string, type: 'spot' | 'swap'): string {
  return type === 'swap' ? `${exchange}-perp` : exchange;
}

/** Exchange ids can contain characters that cannot be file names ("BTC/USDT", "tBTCUSD:..."). */
export function symbolFor(m: Market): string {
  return m.id.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[^A-Za-z0-9]+/, '');
}

function credentials(exchange: string): Record<string, string> {
  const p = `FRACTAL_${exchange.toUpperCase()}_`;
  const out: Record<string, string> = {};
  if (process.env[`${p}API_KEY`]) out.apiKey = process.env[`${p}API_KEY`]!;
  if (process.env[`${p}SECRET`]) out.secret = process.env[`${p}SECRET`]!;
  if (process.env[`${p}PASSWORD`]) out.password = process.env[`${p}PASSWORD`]!;
  return out;
}

async function createExchange(opts: CcxtOptions, type: 'spot' | 'swap'): Promise<Exchange> {
  // ccxt's ESM entry exports the classes by id and `exchanges` as an object; its default export has the id list.
  const mod = (await import('ccxt')) as unknown as Record<string, unknown> & { default?: Record<string, unknown> };
  const ids = (Array.isArray(mod.default?.exchanges) ? mod.default!.exchanges : Object.keys((mod.exchanges as object) ?? {})) as string[];
  const id = opts.exchange;
  const Ctor = (ids.includes(id) ? mod[id] ?? mod.default?.[id] : undefined) as (new (config: Record<string, unknown>) => Exchange) | undefined;
  if (typeof Ctor !== 'function') {
    const near = ids.filter((e) => e.startsWith(id.slice(0, 3))).slice(0, 6);
    throw inputError('CCXT_EXCHANGE', `Unknown exchange "${id}".`, near.length ? `Did you mean ${near.join(', ')}?` : 'See ccxt.exchanges for the list of ids.');
  }
  const config: Record<string, unknown> = { enableRateLimit: true, ...opts.exchangeOptions, ...credentials(id) };
  // Load only the markets we need on binance-family exchanges (otherwise it also loads futures and margin info).
  if (id.startsWith('binance')) {
    config.options = { fetchMargins: false, fetchCurrencies: false, defaultType: type, fetchMarkets: { types: [type === 'swap' ? 'linear' : 'spot'] }, ...(config.options as object) };
  } else {
    config.options = { defaultType: type, ...(config.options as object) };
  }
  if (opts.fetchImplementation) config.fetchImplementation = opts.fetchImplementation;
  return new Ctor(config);
}

function wrap(what: string, err: unknown): never {
  const e = err as Error;
  throw runError('CCXT_FAILED', `${what}: ${e?.constructor?.name ?? 'Error'}: ${e?.message ?? String(err)}`, 'Check the network and the exchange status; run again to fetch only what is missing.', { cause: err });
}

/** ccxt's precision modes (ccxt/js/src/base/functions/number.js). */
const DECIMAL_PLACES = 2;
const TICK_SIZE = 4;

const positive = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) && x > 0 ? x : null);

/**
 * A market's trading rules from ccxt's market info: the lot size is the amount's step (`precision.amount`: the step
 * itself under TICK_SIZE, a count of decimals under DECIMAL_PLACES), else the smallest amount (`limits.amount.min`);
 * the minimum notional is `limits.cost.min`. Null where the exchange does not say.
 */
export function tradingRulesOf(m: Market, precisionMode: number | undefined): { lot_size: number | null; min_notional: number | null } {
  const p = m.precision?.amount;
  let lot: number | null = null;
  if (typeof p === 'number' && Number.isFinite(p)) {
    if (precisionMode === TICK_SIZE) lot = positive(p);
    else if (precisionMode === DECIMAL_PLACES && Number.isInteger(p) && p >= 0 && p <= 18) lot = Number(`1e-${p}`);
  }
  lot ??= positive(m.limits?.amount?.min);
  return { lot_size: lot, min_notional: positive(m.limits?.cost?.min) };
}

/** A market found by discovery, with its 24h quote volume from the tickers (when the exchange gives one). */
export interface DiscoveredMarket extends Market {
  volume_24h?: number;
}

/**
 * Live discovery: the exchange's active markets of one type and quote, their 24h quote volume from the tickers,
 * the volume floor, sorted by volume (most liquid first), at most `maxSymbols`. Shared by ingestion and the
 * `ccxt` scanner.
 */
export async function discoverMarkets(opts: CcxtOptions, ex?: Exchange): Promise<{ markets: DiscoveredMarket[]; requests: number; exchange: Exchange }> {
  const type = opts.type ?? 'spot';
  if (type !== 'spot' && type !== 'swap') throw inputError('CCXT_TYPE', `--type must be spot or swap, got "${type}".`);
  const quote = (opts.quote ?? 'USDT').toUpperCase();
  ex ??= await createExchange(opts, type);
  let requests = 0;
  let markets: Record<string, Market>;
  try {
    markets = await ex.loadMarkets();
    requests++;
  } catch (err) {
    wrap(`${opts.exchange}: loading markets`, err);
  }
  let chosen = Object.values(markets).filter((m) =>
    m.quote === quote && m.active !== false && (type === 'spot' ? m.spot || m.type === 'spot' : (m.swap || m.type === 'swap') && m.linear !== false));
  if (opts.symbols?.length) {
    const want = new Set(opts.symbols);
    chosen = chosen.filter((m) => want.has(m.id) || want.has(m.symbol) || want.has(symbolFor(m)));
    const found = new Set(chosen.flatMap((m) => [m.id, m.symbol, symbolFor(m)]));
    const unknown = opts.symbols.filter((s) => !found.has(s));
    if (unknown.length) throw inputError('CCXT_SYMBOLS', `${opts.exchange} has no active ${type} ${quote} market for: ${unknown.join(', ')}.`);
  }

  // Tickers give the 24h quote volume: the liquidity filter and the ranking.
  const volume = new Map<string, number>();
  if (ex.has.fetchTickers && chosen.length) {
    try {
      const tickers = await ex.fetchTickers(chosen.map((m) => m.symbol));
      requests++;
      for (const [sym, t] of Object.entries(tickers)) {
        const qv = t.quoteVolume ?? (t.baseVolume !== undefined && t.last !== undefined ? t.baseVolume * t.last : undefined);
        if (qv !== undefined && Number.isFinite(qv)) volume.set(sym, qv);
      }
    } catch (err) {
      wrap(`${opts.exchange}: fetching tickers`, err);
    }
  }
  if (opts.minVolume) chosen = chosen.filter((m) => (volume.get(m.symbol) ?? 0) >= opts.minVolume!);
  chosen.sort((a, b) => (volume.get(b.symbol) ?? 0) - (volume.get(a.symbol) ?? 0) || (a.id < b.id ? -1 : 1));
  if (opts.maxSymbols) chosen = chosen.slice(0, opts.maxSymbols);
  return { markets: chosen.map((m) => ({ ...m, volume_24h: volume.get(m.symbol) })), requests, exchange: ex };
}


/**
 * Fetches what is missing. `registry` tells where each symbol stops; only later days are requested (or from
 * `since` for new symbols, or everything with `full`). The current UTC day's candle is still forming: never stored.
 */
export async function fetchCcxt(opts: CcxtOptions, registry: Registry): Promise<CcxtFetch> {
  const type = opts.type ?? 'spot';
  const nowMs = opts.nowMs ?? Date.now();
  const today = todayDay(nowMs);
  let sinceDay = today - 365;
  if (opts.since !== undefined) {
    const d = parseIsoDay(opts.since);
    if (d === undefined) throw inputError('CCXT_SINCE', `--since "${opts.since}" is not a YYYY-MM-DD date.`);
    sinceDay = d;
  }
  const venue = opts.venue ?? venueFor(opts.exchange, type);
  const found = await discoverMarkets(opts);
  const ex = found.exchange;
  const chosen = found.markets;
  const volume = new Map(chosen.map((m) => [m.symbol, m.volume_24h] as const));
  let requests = found.requests;

  const pageLimit = opts.pageLimit ?? 1000;
  const writes: SymbolWrite[] = [];
  const upToDate: string[] = [];
  let done = 0;
  for (const m of chosen) {
    const symbol = symbolFor(m);
    const stored = registry.entries[entryKey(venue, symbol)];
    const storedFromHere = stored && stored.source.kind === 'ccxt' && stored.source.exchange === opts.exchange;
    let from = storedFromHere && !opts.full ? parseIsoDay(stored.last_date)! + 1 : sinceDay;
    const rows: number[][] = [];
    // Page forward until the last complete day (yesterday); stop on an empty or non-advancing page.
    while (from < today) {
      let page: number[][];
      try {
        page = await ex.fetchOHLCV(m.symbol, '1d', msFromDay(from), pageLimit);
        requests++;
      } catch (err) {
        wrap(`${opts.exchange} ${m.symbol}: fetching daily candles from ${isoFromDay(from)}`, err);
      }
      const fresh = page.filter((c) => dayFromMs(c[0]) >= from && dayFromMs(c[0]) < today);
      if (fresh.length === 0) break;
      rows.push(...fresh);
      from = dayFromMs(fresh[fresh.length - 1][0]) + 1;
    }
    opts.onProgress?.(`${opts.exchange} ${type}`, ++done, chosen.length);
    const meta: SymbolMeta = {
      symbol, venue, exchange: opts.exchange, asset_type: type === 'swap' ? 'perp' : 'spot', base: m.base, quote: m.quote,
      sector: null, market_cap_rank: null, volume_24h: volume.get(m.symbol) ?? null, ...tradingRulesOf(m, ex.precisionMode),
    };
    if (rows.length === 0) {
      upToDate.push(symbol);
      continue;
    }
    // Exchanges can repeat a candle across pages: keep the last one per day, ascending.
    const byDay = new Map<number, number[]>();
    for (const c of rows) byDay.set(dayFromMs(c[0]), c);
    const days = [...byDay.keys()].sort((a, b) => a - b);
    const n = days.length;
    const data: Ohlcv = { date: Int32Array.from(days), open: new Float64Array(n), high: new Float64Array(n), low: new Float64Array(n), close: new Float64Array(n), volume: new Float64Array(n) };
    days.forEach((d, i) => {
      const c = byDay.get(d)!;
      data.open[i] = c[1]; data.high[i] = c[2]; data.low[i] = c[3]; data.close[i] = c[4]; data.volume[i] = c[5] ?? NaN;
    });
    writes.push({ meta, data, merge: !opts.full, source: { kind: 'ccxt', exchange: opts.exchange, type, market: m.symbol } });
  }
  await ex.close?.().catch(() => {});
  return { writes, upToDate, requests };
}
