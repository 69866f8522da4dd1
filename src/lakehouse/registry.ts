/**
 * The registry (registry.json): one entry per symbol and venue, the single source of truth of what the store holds.
 * A commit renames it into place last, so an entry only ever points at a file that is fully written.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import { runError } from '../core/errors.js';
import { parseJsonText } from '../util/json-text.js';
import { staleFinding, type HealthOptions, type HealthStatus } from './health.js';
import { dayFromIso, isoFromDay, parseIsoDay } from '../util/dates.js';
import { codeOf } from '../util/thrown.js';

export const REGISTRY_FILE = 'registry.json';

/** Where a symbol came from, enough to fetch it again (`lakehouse repair`). Never holds credentials. */
export type SourceRef =
  | { kind: 'synthetic'; seed: number; symbols: number; days: number; end: string }
  | { kind: 'csv'; path: string; layout: 'wide' | 'ohlcv' }
  | { kind: 'ccxt'; exchange: string; type: 'spot' | 'swap'; market: string };

/** A row of the symbols table. */
export interface SymbolMeta {
  symbol: string;
  venue: string;
  /** Exchange or market the venue belongs to (e.g. binance for binance and binance-perp). */
  exchange: string;
  asset_type: 'spot' | 'perp' | 'equity' | 'etf' | string;
  base: string | null;
  quote: string | null;
  sector: string | null;
  market_cap_rank: number | null;
  volume_24h: number | null;
  /** Order quantities are whole multiples of this many units (an exchange's step size); null or absent when unknown. */
  lot_size?: number | null;
  /** The smallest order an exchange accepts, in the quote currency; null or absent when unknown. */
  min_notional?: number | null;
}

/** The symbols-table fields a symbols file (`lakehouse symbols FILE.csv`) may declare. */
export const DECLARABLE_FIELDS = ['asset_type', 'sector', 'market_cap_rank', 'lot_size', 'min_notional'] as const;
export type DeclaredFields = Partial<Pick<SymbolMeta, (typeof DECLARABLE_FIELDS)[number]>>;

export interface RegistryEntry extends SymbolMeta {
  /** Path of the OHLCV file, relative to the lakehouse root. */
  file: string;
  rows: number;
  first_date: string;
  last_date: string;
  /** sha256 of the file bytes, "sha256:<hex>". */
  checksum: string;
  /** The file as its commit wrote it (store.ts checkBytes): readers hash the bytes only when the file's stamp
   *  differs or is racy. Absent in stores written before stamps: always hashed. */
  stamp?: FileStamp;
  bytes: number;
  /** Byte offsets of the column buffers in the file: lets readers copy them out without decoding the Arrow
   *  metadata (the file stays self-describing; readers elsewhere ignore this). Stores written before the other
   *  columns were recorded hold the date and close only. */
  offsets?: ColumnOffsets;
  source: SourceRef;
  /**
   * The days whose bars hold a close alone, stored as the bar's open, high and low too (no open anyone printed): a
   * wide CSV's, a file whose every bar is a single print (open = high = low = close), and those a later source's
   * rows merged over such a series left in place. Inclusive ISO-day ranges, ascending; absent when every open was
   * printed. Stores written before it was recorded lack it: closesOnlyRanges reads their wide CSVs as closes alone.
   */
  closes_only?: DayRange[];
  written_at: string;
  status: HealthStatus;
  reasons: string[];
  /** Findings from the series itself, fixed when written (status adds staleness to these). */
  findings: string[];
  /**
   * Fields a symbols file declared (`lakehouse symbols`): they win over what a source writes, so a later import or
   * ingest of the same symbol keeps them.
   */
  declared?: DeclaredFields;
}

/** An inclusive range of days, [first, last] as YYYY-MM-DD. */
export type DayRange = [string, string];

export interface ColumnOffsets {
  date: number;
  close: number;
  open?: number;
  high?: number;
  low?: number;
  volume?: number;
  funding?: number;
}

/** Size, modification time (ns) and inode of a file (decimal strings: 64-bit integers). */
export interface FileStamp {
  size: number;
  mtime_ns: string;
  ino: string;
  /** When the commit registered the file, on the file-system clock (ns). A stamp whose mtime is not strictly older
   *  is "racy" (a rewrite in the same clock tick keeps the mtime) and is not trusted; absent: not trusted. */
  registered_ns?: string;
}

export interface Registry {
  format: 'fractal-lakehouse-registry';
  version: 1;
  updated_at: string;
  entries: Record<string, RegistryEntry>;
}

export const entryKey = (venue: string, symbol: string) => `${venue}/${symbol}`;

export function emptyRegistry(): Registry {
  return { format: 'fractal-lakehouse-registry', version: 1, updated_at: new Date(0).toISOString(), entries: {} };
}

export async function loadRegistry(root: string): Promise<Registry | undefined> {
  const path = join(root, REGISTRY_FILE);
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return undefined;
    if (codeOf(err) === 'EISDIR') throw runError('LAKEHOUSE_REGISTRY', `${path} is unreadable: a folder, not a file`);
    throw err;
  }
  const parsed = parseJsonText(raw);
  const reg = parsed.ok ? (parsed.value as Registry | null) : undefined;
  if (!parsed.ok) throw runError('LAKEHOUSE_REGISTRY', `${path} is unreadable: not valid JSON at ${parsed.error}`);
  if (!reg || typeof reg !== 'object' || reg.format !== 'fractal-lakehouse-registry' || typeof reg.entries !== 'object' || reg.entries === null)
    throw runError('LAKEHOUSE_REGISTRY', `${path} is unreadable: not a lakehouse registry`);
  for (const [key, e] of Object.entries(reg.entries)) {
    const problem = entryProblem(e);
    if (problem) throw runError('LAKEHOUSE_REGISTRY', `${path} is damaged: entry ${key}: ${problem}`);
  }
  return reg;
}

/**
 * What makes a registry entry unusable, checked before any reader follows it: a file path that leaves the lakehouse
 * (a damaged or planted registry must not make a run open /etc/passwd) and dates that are not dates (they would
 * be read as a venue with no days, an input error blamed on the pipeline).
 */
function entryProblem(e: RegistryEntry): string | undefined {
  if (!e || typeof e !== 'object') return 'not an object';
  if (typeof e.file !== 'string' || !insideRoot(e.file)) return `its file ${JSON.stringify(e.file)} is not a path inside the lakehouse`;
  const first = typeof e.first_date === 'string' ? parseIsoDay(e.first_date) : undefined;
  if (first === undefined) return `its first_date ${JSON.stringify(e.first_date)} is not a date`;
  const last = typeof e.last_date === 'string' ? parseIsoDay(e.last_date) : undefined;
  if (last === undefined) return `its last_date ${JSON.stringify(e.last_date)} is not a date`;
  // Misread, closes-only days would let the simulator fill at opens that are closes: refuse them as damage.
  if (e.closes_only !== undefined) {
    const why = rangesProblem(e.closes_only, e, first, last);
    if (why) return `its closes_only ${JSON.stringify(e.closes_only).slice(0, 80)} ${why}`;
  }
  // Rows and dates that parse but do not fit the file are found where the file is read (LAKEHOUSE_CORRUPT, naming it).
  return undefined;
}

/**
 * What is wrong with a closes_only list, as a commit writes them: at least one range (an entry with none has no
 * field), each [first, last] of dates with first <= last, ascending, apart (a printed day between two), inside the
 * entry's days. Anything else is damage: one set of days has one way to be written, so one data identity.
 */
function rangesProblem(ranges: unknown, e: RegistryEntry, lo: number, hi: number): string | undefined {
  if (!Array.isArray(ranges) || ranges.length === 0) return 'is not a non-empty list of [first, last] date pairs';
  let before = -Infinity;
  for (const r of ranges as unknown[]) {
    if (!Array.isArray(r) || r.length !== 2 || !r.every((d) => typeof d === 'string')) return 'is not a list of [first, last] date pairs';
    const [a, b] = (r as string[]).map(parseIsoDay);
    if (a === undefined || b === undefined || a > b) return 'holds a range that is not [first, last] dates';
    if (a < lo || b > hi) return `reaches outside the entry's days (${e.first_date} to ${e.last_date})`;
    if (a <= before + 1) return 'is not ascending ranges with a day between them';
    before = b;
  }
  return undefined;
}

/**
 * The days an entry holds closes alone (see RegistryEntry.closes_only). An entry written before they were recorded
 * has none unless it is a wide CSV's, which is closes alone on every day.
 */
export function closesOnlyRanges(e: Pick<RegistryEntry, 'first_date' | 'last_date'> & { source?: SourceRef; closes_only?: DayRange[] }): DayRange[] {
  if (e.closes_only) return e.closes_only;
  return e.source?.kind === 'csv' && e.source.layout === 'wide' ? [[e.first_date, e.last_date]] : [];
}

/** Whether `days` (an entry's closesOnlyRanges) are its whole series: one range from its first day to its last. */
export function closesOnlyWhole(days: readonly DayRange[], e: Pick<RegistryEntry, 'first_date' | 'last_date'>): boolean {
  return days.length === 1 && days[0]![0] === e.first_date && days[0]![1] === e.last_date;
}

/** closesOnlyRanges as inclusive epoch-day spans: the days whose stored open is the day's close (no open printed). */
export function closesOnlySpans(e: Parameters<typeof closesOnlyRanges>[0]): [number, number][] {
  return closesOnlyRanges(e).map(([a, b]) => [dayFromIso(a), dayFromIso(b)]);
}

/** A path relative to a root that stays inside it, written as a commit writes them ("venue/SYMBOL.arrow"). */
export function insideRoot(rel: string): boolean {
  if (!rel || rel.includes('\0') || isAbsolute(rel) || rel.includes('\\')) return false;
  const n = normalize(rel);
  return n !== '..' && !n.startsWith('../') && n !== '.';
}

export function isLive(source: SourceRef): boolean {
  return source.kind === 'ccxt';
}

/**
 * Recomputes every entry's status: its stored findings plus staleness. Live sources are compared with the clock;
 * static ones with the latest day of their peers (same venue, asset type and source kind), so a historical file is
 * not stale as a whole but the symbols in it that stopped early are.
 */
export function refreshStatuses(reg: Registry, nowMs = Date.now(), options: Partial<HealthOptions> = {}): void {
  const group = (e: RegistryEntry) => `${e.venue}|${e.asset_type}|${e.source.kind}`;
  const latest = new Map<string, number>();
  for (const e of Object.values(reg.entries)) {
    const d = dayFromIso(e.last_date);
    const g = group(e);
    if (!(latest.get(g)! >= d)) latest.set(g, d);
  }
  for (const e of Object.values(reg.entries)) {
    const ref = isLive(e.source) ? { nowMs } : { venueLastDay: latest.get(group(e))! };
    const stale = staleFinding(dayFromIso(e.last_date), e.asset_type, ref, options);
    e.reasons = stale ? [...e.findings, stale] : [...e.findings];
    e.status = e.reasons.length ? 'DEGRADED' : 'STABLE';
  }
}

/**
 * The data identity: the one definition of a run's data hash. It is taken over every entry of the registry a run's
 * source holds (the lakehouse it opened, or the temporary one a CSV file or a synthetic market is staged in), not only
 * the entries it happened to read: discovery reads the whole symbols table, so any entry can change a decision, and a
 * set known before the run is what lets the sleeve cache key on the same value. Each entry contributes its file's
 * checksum, its rows and dates, the symbols-table fields discovery reads and the trading rules (lot size, minimum
 * notional) and which days it holds closes alone for, which the order-level simulator reads; the order of the entries does not
 * matter. The manifest's `data_hash`, the audit's `returns_loaded`, the sleeve cache key and the report all show it.
 */
export function dataIdentity(entries: Iterable<IdentityFields>): string {
  const lines = [...entries]
    .map((e) => {
      const fields: unknown[] = [`${e.venue}/${e.symbol}`, e.checksum, e.rows, e.first_date, e.last_date, e.exchange, e.asset_type, e.base, e.quote, e.sector, e.market_cap_rank, e.volume_24h];
      // The trading rules count only where known, so a store without them keeps the identity it always had.
      if ((e.lot_size ?? null) !== null || (e.min_notional ?? null) !== null) fields.push(e.lot_size, e.min_notional);
      // Closes alone have no opens of their own, which the order-level simulator fills by: the same file bytes as
      // OHLCV bars with printed opens are not the same data, nor are they with other days of closes alone. A whole
      // series of them counts as it always has (a wide CSV's), so a store written before the days were recorded
      // keeps its identity.
      const closesOnly = closesOnlyRanges(e);
      if (closesOnly.length) fields.push(closesOnlyWhole(closesOnly, e) ? 'closes only' : `closes only ${closesOnly.map((r) => r.join('..')).join(',')}`);
      return fields.map((x) => (x === null || x === undefined ? '' : String(x))).join('\t');
    })
    .sort();
  return `sha256:${createHash('sha256').update(lines.join('\n')).digest('hex')}`;
}

type IdentityFields = Pick<RegistryEntry, 'venue' | 'symbol' | 'checksum' | 'rows' | 'first_date' | 'last_date'> & Partial<SymbolMeta> & { source?: SourceRef; closes_only?: DayRange[] };

/**
 * The identity of data from several sources (a meta pipeline whose sleeves read different lakehouses): the one
 * identity when they all agree, else a hash of the distinct ones.
 */
export function combinedDataIdentity(identities: Iterable<string>): string | null {
  const distinct = [...new Set(identities)].sort();
  if (distinct.length <= 1) return distinct[0] ?? null;
  return `sha256:${createHash('sha256').update(distinct.join('\n')).digest('hex')}`;
}

export function describeRange(e: Pick<RegistryEntry, 'first_date' | 'last_date'>): string {
  return `${e.first_date}..${e.last_date}`;
}

export { isoFromDay };
