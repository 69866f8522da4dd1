/**
 * The registry (registry.json): one entry per symbol and venue, the single source of truth of what the store holds.
 * A commit renames it into place last, so an entry only ever points at a file that is fully written.
 */
import { createHash } from 'node:crypto';
import { isAbsolute, join, normalize } from 'node:path';
import { runError } from '../core/errors.js';
import { parseJsonText } from '../util/json-text.js';
import { staleFinding, type HealthOptions, type HealthStatus } from './health.js';
import { dayFromIso, isoFromDay, parseIsoDay } from '../util/dates.js';
import { codeOf } from '../util/thrown.js';
import { FileTooLarge, NotRegularFile, readRegularFile } from '../util/regular-file.js';

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

/**
 * A symbol or venue name becomes a file name: letters, digits, '.', '_' and '-', not starting with '.' or '-', at
 * most MAX_NAME_LENGTH characters. (A name like `constructor` or `__proto__` is a name like any other: lookups by
 * name go through Maps, see src/util/keyed.ts.)
 */
const NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
export const MAX_NAME_LENGTH = 120;

/** Why `name` cannot be a symbol or venue name, or undefined when it can. */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > MAX_NAME_LENGTH) return `is ${name.length} characters long, above the limit of ${MAX_NAME_LENGTH} (it becomes a file name)`;
  if (!NAME.test(name)) return "is not a usable name: use letters, digits, '.', '_' and '-', not starting with '.' or '-' (it becomes a file name)";
  return undefined;
}

export const entryKey = (venue: string, symbol: string) => `${venue}/${symbol}`;

export function emptyRegistry(): Registry {
  return { format: 'fractal-lakehouse-registry', version: 1, updated_at: new Date(0).toISOString(), entries: Object.create(null) as Record<string, RegistryEntry> };
}

/** The registry versions this code reads (and writes: `version` of emptyRegistry). */
export const REGISTRY_VERSION = 1;

/**
 * The largest registry.json read: about 1 KB an entry, so room for 200,000 symbols, and below V8's longest string
 * (a link to /dev/zero read 620 MB before failing with "Invalid string length").
 */
export const MAX_REGISTRY_BYTES = 256 * 2 ** 20;

/** The largest data file an entry may record (`bytes`): a century of daily bars with funding is about 2.5 MB. */
export const MAX_DATA_FILE_BYTES = 2 ** 30;

/** How many of an entry's problems one error lists. */
const LISTED_PROBLEMS = 10;

export async function loadRegistry(root: string): Promise<Registry | undefined> {
  const path = join(root, REGISTRY_FILE);
  let raw: string;
  try {
    // Without blocking on a FIFO, and never more than a registry can plausibly hold (src/util/regular-file.ts).
    raw = (await readRegularFile(path, MAX_REGISTRY_BYTES)).toString('utf8');
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return undefined;
    if (err instanceof NotRegularFile) throw runError('LAKEHOUSE_REGISTRY', `${path} is unreadable: ${err.kind}, not a file`);
    if (err instanceof FileTooLarge) throw runError('LAKEHOUSE_REGISTRY', `${path} is unreadable: ${err.size} bytes, more than a registry can plausibly hold (${MAX_REGISTRY_BYTES} bytes); nothing was read`);
    if (codeOf(err) === 'EISDIR') throw runError('LAKEHOUSE_REGISTRY', `${path} is unreadable: a folder, not a file`);
    throw err;
  }
  const parsed = parseJsonText(raw);
  if (!parsed.ok) throw runError('LAKEHOUSE_REGISTRY', `${path} is unreadable: not valid JSON at ${parsed.error}`);
  const reg = parsed.value as Registry | null;
  if (!isObject(reg) || reg.format !== 'fractal-lakehouse-registry' || !isObject(reg.entries))
    throw runError('LAKEHOUSE_REGISTRY', `${path} is unreadable: not a lakehouse registry`);
  // A registry another version wrote means what that version says: read as this one's, its entries were misread.
  if (reg.version !== REGISTRY_VERSION)
    throw runError('LAKEHOUSE_REGISTRY', `${path} is a version ${show(reg.version)} registry; this Fractal reads version ${REGISTRY_VERSION} only`, 'Use the Fractal that wrote it, or build the lakehouse again by importing its sources.');
  if (typeof reg.updated_at !== 'string') throw runError('LAKEHOUSE_REGISTRY', `${path} is damaged: its updated_at ${show(reg.updated_at)} is not a time`);
  // Keyed by names users choose: an object without a prototype (no key reaches Object.prototype).
  const entries = Object.create(null) as Record<string, RegistryEntry>;
  const problems: string[] = [];
  for (const key of Object.keys(reg.entries)) {
    const e = reg.entries[key] as RegistryEntry;
    const problem = entryProblem(key, e);
    if (problem) problems.push(`entry ${key}: ${problem}`);
    else entries[key] = e;
  }
  if (problems.length) {
    const more = problems.length > LISTED_PROBLEMS ? `\n  … and ${problems.length - LISTED_PROBLEMS} more` : '';
    throw runError('LAKEHOUSE_REGISTRY', `${path} is damaged: ${problems.slice(0, LISTED_PROBLEMS).join('\n  ')}${more}`, undefined, { details: { problems } });
  }
  reg.entries = entries;
  return reg;
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** A value as a message shows it: JSON, cut short. */
function show(x: unknown): string {
  if (x === undefined) return '(missing)';
  const s = JSON.stringify(x) ?? String(x);
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

const ASSET_TYPES: readonly string[] = ['spot', 'perp', 'equity', 'etf'];
const STATUSES: readonly string[] = ['STABLE', 'DEGRADED'];
const CHECKSUM = /^sha256:[0-9a-f]{64}$/;
const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;
const DIGITS = /^\d{1,30}$/;
/** Free text of an entry (an exchange, a base or quote, a sector, a source's path or market) is at most this long. */
const MAX_TEXT = 4096;

const text = (x: unknown): x is string => typeof x === 'string' && x.length > 0 && x.length <= MAX_TEXT;
const textOrNull = (x: unknown) => x === undefined || x === null || (typeof x === 'string' && x.length <= MAX_TEXT);
const wholeFrom = (x: unknown, min: number): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= min;
const numberOrNull = (x: unknown, ok: (n: number) => boolean) => x === undefined || x === null || (typeof x === 'number' && Number.isFinite(x) && ok(x));
const isoDay = (x: unknown): number | undefined => (typeof x === 'string' && ISO_DAY.test(x) ? parseIsoDay(x) : undefined);

/** What is wrong with the symbols-table fields a symbols file may declare, as entry fields or declared ones. */
function declarableProblem(e: Record<string, unknown>, prefix: string): string | undefined {
  if (e.asset_type !== undefined || prefix === '') {
    if (typeof e.asset_type !== 'string' || !ASSET_TYPES.includes(e.asset_type)) return `its ${prefix}asset_type ${show(e.asset_type)} is not one of ${ASSET_TYPES.join(', ')}`;
  }
  if (!textOrNull(e.sector)) return `its ${prefix}sector ${show(e.sector)} is not a text or null`;
  if (!numberOrNull(e.market_cap_rank, (n) => Number.isSafeInteger(n) && n >= 1)) return `its ${prefix}market_cap_rank ${show(e.market_cap_rank)} is not a whole number from 1, or null`;
  if (!numberOrNull(e.lot_size, (n) => n > 0)) return `its ${prefix}lot_size ${show(e.lot_size)} is not a positive number, or null`;
  if (!numberOrNull(e.min_notional, (n) => n >= 0)) return `its ${prefix}min_notional ${show(e.min_notional)} is not a number from 0, or null`;
  return undefined;
}

function sourceProblem(s: unknown): string | undefined {
  const bad = (field: string, value: unknown, why: string) => `its source.${field} ${show(value)} ${why}`;
  if (!isObject(s)) return `its source ${show(s)} is not a source ({kind: synthetic, csv or ccxt, …})`;
  switch (s.kind) {
    case 'synthetic':
      if (!wholeFrom(s.seed, 0) || s.seed > 0xffffffff) return bad('seed', s.seed, 'is not a whole number from 0 to 4294967295');
      if (!wholeFrom(s.symbols, 1)) return bad('symbols', s.symbols, 'is not a whole number from 1');
      if (!wholeFrom(s.days, 1)) return bad('days', s.days, 'is not a whole number from 1');
      if (isoDay(s.end) === undefined) return bad('end', s.end, 'is not a date (YYYY-MM-DD)');
      return undefined;
    case 'csv':
      if (!text(s.path)) return bad('path', s.path, 'is not a path');
      if (s.layout !== 'wide' && s.layout !== 'ohlcv') return bad('layout', s.layout, 'is not wide or ohlcv');
      return undefined;
    case 'ccxt':
      if (!text(s.exchange)) return bad('exchange', s.exchange, 'is not an exchange id');
      if (s.type !== 'spot' && s.type !== 'swap') return bad('type', s.type, 'is not spot or swap');
      if (!text(s.market)) return bad('market', s.market, 'is not a market');
      return undefined;
    default:
      return bad('kind', s.kind, 'is not synthetic, csv or ccxt');
  }
}

const strings = (x: unknown) => Array.isArray(x) && x.every((r) => typeof r === 'string');

/**
 * What makes a registry entry unusable, checked as the registry loads, before any reader follows it: every field of
 * the type and range a commit writes. Its key must be its own venue and symbol (an entry filed under another key, or
 * under `__proto__`, was found under one name and read as another). Its file must stay inside the lakehouse (a
 * damaged or planted registry must not make a run open /etc/passwd); its dates must be dates (they would be read as a
 * venue with no days, an input error blamed on the pipeline); its sizes plausible. Unknown fields are ignored.
 */
function entryProblem(key: string, e: RegistryEntry): string | undefined {
  if (!isObject(e)) return `it is ${show(e)}, not an object`;
  const x = e as unknown as Record<string, unknown>;
  for (const f of ['symbol', 'venue'] as const) {
    const name = x[f];
    if (typeof name !== 'string') return `its ${f} ${show(name)} is not a name`;
    const bad = nameProblem(name);
    if (bad) return `its ${f} ${show(name)} ${bad}`;
  }
  if (key !== entryKey(e.venue, e.symbol)) return `its venue and symbol say ${show(entryKey(e.venue, e.symbol))}, not its key`;
  if (!text(x.exchange)) return `its exchange ${show(x.exchange)} is not a name`;
  const declarable = declarableProblem(x, '');
  if (declarable) return declarable;
  for (const f of ['base', 'quote'] as const) if (!textOrNull(x[f])) return `its ${f} ${show(x[f])} is not a text or null`;
  if (!numberOrNull(x.volume_24h, (n) => n >= 0)) return `its volume_24h ${show(x.volume_24h)} is not a number from 0, or null`;
  if (typeof e.file !== 'string' || !insideRoot(e.file)) return `its file ${show(e.file)} is not a path inside the lakehouse`;
  if (!wholeFrom(x.bytes, 1) || x.bytes > MAX_DATA_FILE_BYTES) return `its bytes ${show(x.bytes)} is not a whole number from 1 to ${MAX_DATA_FILE_BYTES}`;
  if (!wholeFrom(x.rows, 1)) return `its rows ${show(x.rows)} is not a whole number from 1`;
  // Every row takes a date (4 bytes) and a close (8): a registry claiming more rows than its file can hold is damaged.
  if (e.rows * 12 > e.bytes) return `its rows ${e.rows} do not fit in its bytes ${e.bytes}`;
  const first = isoDay(x.first_date);
  if (first === undefined) return `its first_date ${show(x.first_date)} is not a date`;
  const last = isoDay(x.last_date);
  if (last === undefined) return `its last_date ${show(x.last_date)} is not a date`;
  if (first > last) return `its first_date ${e.first_date} is after its last_date ${e.last_date}`;
  if (typeof x.checksum !== 'string' || !CHECKSUM.test(x.checksum)) return `its checksum ${show(x.checksum)} is not "sha256:" and 64 hex digits`;
  if (x.stamp !== undefined) {
    const why = stampProblem(x.stamp, e.bytes);
    if (why) return why;
  }
  if (x.offsets !== undefined) {
    const o = x.offsets;
    if (!isObject(o)) return `its offsets ${show(o)} is not an object of byte offsets`;
    // Of the right type; whether they fit the file is the reader's to judge (offsetsFit: one that does not makes it
    // decode the file instead).
    for (const c of ['date', 'close', 'open', 'high', 'low', 'volume', 'funding'] as const) {
      if ((c === 'date' || c === 'close' || o[c] !== undefined) && !wholeFrom(o[c], 0)) return `its offsets.${c} ${show(o[c])} is not a byte offset (a whole number from 0)`;
    }
  }
  const source = sourceProblem(x.source);
  if (source) return source;
  // Misread, closes-only days would let the simulator fill at opens that are closes: refuse them as damage.
  if (e.closes_only !== undefined) {
    const why = rangesProblem(e.closes_only, e, first, last);
    if (why) return `its closes_only ${JSON.stringify(e.closes_only).slice(0, 80)} ${why}`;
  }
  if (!text(x.written_at)) return `its written_at ${show(x.written_at)} is not a time`;
  if (typeof x.status !== 'string' || !STATUSES.includes(x.status)) return `its status ${show(x.status)} is not STABLE or DEGRADED`;
  if (!strings(x.reasons)) return `its reasons ${show(x.reasons)} is not a list of texts`;
  if (!strings(x.findings)) return `its findings ${show(x.findings)} is not a list of texts`;
  if (x.declared !== undefined) {
    const d = x.declared;
    if (!isObject(d)) return `its declared ${show(d)} is not an object of declared fields`;
    const unknown = Object.keys(d).find((f) => !(DECLARABLE_FIELDS as readonly string[]).includes(f));
    if (unknown !== undefined) return `its declared field ${show(unknown)} is not one a symbols file declares (${DECLARABLE_FIELDS.join(', ')})`;
    const why = declarableProblem(d, 'declared.');
    if (why) return why;
  }
  // Rows and dates that parse but do not fit the file are found where the file is read (LAKEHOUSE_CORRUPT, naming it).
  return undefined;
}

function stampProblem(s: unknown, bytes: number): string | undefined {
  if (!isObject(s)) return `its stamp ${show(s)} is not a file stamp ({size, mtime_ns, ino, registered_ns})`;
  if (s.size !== bytes) return `its stamp.size ${show(s.size)} is not its bytes ${bytes}`;
  if (typeof s.mtime_ns !== 'string' || !/^-?\d{1,30}$/.test(s.mtime_ns)) return `its stamp.mtime_ns ${show(s.mtime_ns)} is not a whole number as a string`;
  if (typeof s.ino !== 'string' || !DIGITS.test(s.ino)) return `its stamp.ino ${show(s.ino)} is not a whole number as a string`;
  if (s.registered_ns !== undefined && (typeof s.registered_ns !== 'string' || !/^-?\d{1,30}$/.test(s.registered_ns))) return `its stamp.registered_ns ${show(s.registered_ns)} is not a whole number as a string`;
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
