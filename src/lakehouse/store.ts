/**
 * The store: a folder of Arrow IPC files plus registry.json, written only through `commit`.
 *
 *   <root>/ohlcv/<venue>/<symbol>.arrow   daily bars: date (Date32), open, high, low, close, volume (Float64), and for
 *                                         perpetuals an optional funding column (Float64, the day's funding rate)
 *   <root>/symbols.arrow                  the symbols table (one row per symbol and venue)
 *   <root>/registry.json                  per symbol: file, rows, dates, checksum, source, health
 *   <root>/LOCK                           held by the one writer (see lock.ts)
 *   <root>/journal.json                   only during a commit (see below)
 *
 * A commit writes every new file to a fsynced temporary name, then writes journal.json (atomically) listing the
 * renames; that is the commit point. It then renames the files (data first, symbols, registry last) and deletes the
 * journal. A writer killed before the journal leaves only temporary files (swept later); killed after it, the next
 * writer or `verify` replays the journal. So the store is always the old one or the new one, whole symbols at a time.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, readSync, statSync, type BigIntStats } from 'node:fs';
import { rename, mkdir, unlink, readdir, stat, lstat, access, link, rm, rmdir } from 'node:fs/promises';
import { join, dirname, resolve, sep } from 'node:path';
import { shellArg } from '../util/shell-arg.js';
import { Table, makeData, makeVector, DateDay, Float64, Int32, Utf8, vectorFromArray, tableToIPC, tableFromIPC } from 'apache-arrow';
import { FractalError, inputError, runError, systemError } from '../core/errors.js';
import { parseJsonText } from '../util/json-text.js';
import { TMP_MARK, writeTemp, writeFileAtomic, fsyncDir } from './atomic.js';
import { FileTooLarge, NotRegularFile, openRegularSync, readRegularFile } from '../util/regular-file.js';
import { acquireLock, LOCK_FILE, type LockOptions } from './lock.js';
import {
  REGISTRY_FILE, closesOnlySpans, emptyRegistry, entryKey, insideRoot, loadRegistry, nameProblem, refreshStatuses,
  type ColumnOffsets, type DayRange, type DeclaredFields, type FileStamp, type Registry, type RegistryEntry, type SourceRef, type SymbolMeta,
} from './registry.js';
import { seriesFindings, tradesDaily, type HealthOptions } from './health.js';
import { dayFromIso, isoFromDay } from '../util/dates.js';
import type { Ohlcv } from './ohlcv.js';
import { DEFERRED_COLUMNS, inSharedMemory, noteDecoded, seriesAt, sharedBytes, sharedSeriesFor, withDeferredColumns } from './shared-series.js';
import { codeOf, messageOf } from '../util/thrown.js';
import { pinnedRegistry, pinRegistry } from './pins.js';
import { noLakehouse, notAFolder } from './where.js';

export const SYMBOLS_FILE = 'symbols.arrow';
export const JOURNAL_FILE = 'journal.json';
export const OHLCV_DIR = 'ohlcv';
export const OHLCV_COLUMNS = ['date', 'open', 'high', 'low', 'close', 'volume'] as const;

export { MAX_NAME_LENGTH, nameProblem } from './registry.js';

export function checkName(kind: 'symbol' | 'venue', name: string): void {
  const bad = nameProblem(name);
  if (bad) throw inputError('LAKEHOUSE_NAME', `Invalid ${kind} name ${JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}…` : name)}: it ${bad}.`);
}

export const ohlcvPath = (venue: string, symbol: string) => `${OHLCV_DIR}/${venue}/${symbol}.arrow`;

/**
 * Data files a commit replaced (or a removal took out), kept for the readers that started before it: a run holds the
 * registry it opened and reads the files it names, and finds a replaced one here, under
 * `versions/<venue>/<SYMBOL>.<first 16 hex digits of its checksum>.<inode>.arrow`. A hard link made before the commit
 * point, so the kept file is the very inode the reader's registry stamps (no copy, no hash to trust it); the inode in
 * the name tells apart the same bytes written again by a later commit (another file, another stamp). Each writer removes
 * the versions older than FRACTAL_LAKEHOUSE_KEEP_VERSIONS hours (24): a run still reading one after that fails
 * with LAKEHOUSE_CHANGED, as every run did before versions were kept.
 */
export const VERSIONS_DIR = 'versions';

/**
 * Where entry `e`'s file is kept once a commit replaces it; undefined for a file outside ohlcv/, an odd checksum, or
 * an entry without a stamp (a store written before stamps: its readers hash every file anyway).
 */
export function versionPath(e: Pick<RegistryEntry, 'file' | 'checksum' | 'stamp'>): string | undefined {
  const hex = /^sha256:([0-9a-f]{16})/.exec(e.checksum)?.[1];
  const ino = e.stamp?.ino;
  if (!hex || typeof ino !== 'string' || !/^\d+$/.test(ino) || !e.file.startsWith(`${OHLCV_DIR}/`) || !e.file.endsWith('.arrow')) return undefined;
  return `${VERSIONS_DIR}/${e.file.slice(OHLCV_DIR.length + 1, -'.arrow'.length)}.${hex}.${ino}.arrow`;
}

/** How long superseded versions are kept, in milliseconds (FRACTAL_LAKEHOUSE_KEEP_VERSIONS hours, default 24). */
function keepVersionsMs(): number {
  const raw = process.env.FRACTAL_LAKEHOUSE_KEEP_VERSIONS;
  const hours = raw === undefined || raw.trim() === '' ? 24 : Number(raw);
  return (Number.isFinite(hours) && hours >= 0 ? hours : 24) * 3_600_000;
}

export function sha256(buf: Uint8Array): string {
  return `sha256:${createHash('sha256').update(buf).digest('hex')}`;
}

/**
 * Every file a run reads is checked against its registry entry, in two ways:
 * - Always, without hashing (shapeProblem, offsetsFit): the rows the file holds against the registry's `rows`, its
 *   first and last dates against `first_date`/`last_date`, dates strictly increasing, and, on the offset paths, every
 *   column offset aligned and inside the file with no two columns overlapping. A truncated, shifted or swapped file,
 *   or a registry whose rows or offsets were edited, fails here.
 * - Its sha256 against the registry checksum, unless the file's stamp (size, modification time in ns, inode) is the
 *   one the commit recorded and is not "racy": its modification time is strictly older than the moment the commit
 *   registered it (`registered_ns`, read from the file-system clock, as git does for its index). A rewrite in the
 *   same clock tick as the commit leaves the mtime unchanged, so such a stamp proves nothing and the file is hashed on
 *   every read. Hashing was most of reading a market of thousands of files.
 *
 * What a trusted stamp does NOT catch: bytes rewritten in place with the size kept and the mtime put back (`touch -r`,
 * `rsync --inplace -t`, a restore), and bit rot, which changes no metadata. A flipped price that keeps the shape
 * above is then read as stored. `pipeline-run lakehouse verify` hashes every file regardless; FRACTAL_VERIFY_READS=1
 * makes every read hash too (docs/lakehouse.md).
 */
function checkBytes(buf: Uint8Array, e: RegistryEntry, path: string, key: string): void {
  readCounters.hashed++;
  if (sha256(buf) !== e.checksum)
    throw runError('LAKEHOUSE_CORRUPT', `${path} (${key}) does not match its registry checksum: the file changed or is damaged`, repairHint(path));
}

/** registry.json's size, mtime and inode as one string ('' when it cannot be read). */
export function registryStamp(root: string): string {
  try {
    const st = statSync(join(root, REGISTRY_FILE), { bigint: true });
    return `${st.size}:${st.mtimeNs}:${st.ino}`;
  } catch {
    return '';
  }
}

/** How reads went in this thread: tests prove with these that a fast path ran (or that a file was hashed). */
export const readCounters = { hashed: 0, viaOffsets: 0, decoded: 0 };

/** FRACTAL_VERIFY_READS=1: hash every file on every read, whatever its stamp (read per file: tests set it). */
const verifyEveryRead = () => process.env.FRACTAL_VERIFY_READS === '1';

/** The stamp recorded for a file (bigint fields as decimal strings, JSON has no 64-bit integers). */
export function stampOf(st: BigIntStats): FileStamp {
  return { size: Number(st.size), mtime_ns: String(st.mtimeNs), ino: String(st.ino) };
}

/** The file is the one its commit wrote, as far as its stamp can tell (see checkBytes): same stamp, not racy. */
function trustedStamp(a: FileStamp | undefined, st: BigIntStats): boolean {
  if (a?.registered_ns === undefined || a.size !== Number(st.size) || a.mtime_ns !== String(st.mtimeNs) || a.ino !== String(st.ino)) return false;
  try {
    return st.mtimeNs < BigInt(a.registered_ns);
  } catch {
    return false; // not an integer: hash
  }
}

/**
 * The one buffer the synchronous reads of files to decode use, grown as needed: what is kept is copied out before
 * the next read, so reading 2000 such files allocates (and collects) one buffer instead of 2000.
 */
let scratch = Buffer.alloc(0);

function scratchOf(size: number): Buffer {
  if (scratch.length < size) scratch = Buffer.allocUnsafe(Math.max(size, 2 * scratch.length));
  return scratch;
}

/**
 * Opens the file holding entry `e`'s version, with its stamp: the registered path while its stamp is `e`'s, else the
 * version a later commit kept aside for readers like this one (VERSIONS_DIR) when its stamp is `e`'s, else the
 * registered path as it is (whose bytes the caller then hashes: damage, or a version no longer kept).
 */
function openEntry(e: RegistryEntry, path: string): { fd: number; st: BigIntStats } {
  let opened: { fd: number; st: BigIntStats } | undefined;
  let failure: unknown;
  try {
    // Without blocking on a FIFO (a synchronous open of one hung the run past Ctrl-C), a regular file or nothing.
    opened = openRegularSync(path);
    if (!e.stamp || trustedStamp(e.stamp, opened.st)) return opened;
  } catch (err) {
    failure = err;
  }
  // `path` is the entry's file under the lakehouse root: the kept version is under the same root.
  const rel = versionPath(e);
  const root = path.slice(0, -(e.file.length + 1));
  if (rel && join(root, e.file) === path) {
    let kept: { fd: number; st: BigIntStats } | undefined;
    try {
      kept = openRegularSync(join(root, rel));
      if (trustedStamp(e.stamp, kept.st)) {
        if (opened) closeSync(opened.fd);
        return kept;
      }
    } catch {
      /* not kept (or no longer): the registered path decides */
    }
    if (kept !== undefined) closeSync(kept.fd);
  }
  if (!opened) throw failure;
  return opened;
}

/**
 * Why a registered file could not be opened or read, as a coded error naming it: permission refused is
 * NO_PERMISSION (the file may well be sound: `lakehouse repair` would rewrite it for nothing), anything but a regular
 * file in its place, or any other failure, LAKEHOUSE_CORRUPT with the repair hint.
 */
function unreadable(err: unknown, path: string, key: string): FractalError {
  if (err instanceof FractalError) return err;
  const code = codeOf(err);
  if (code === 'EACCES' || code === 'EPERM')
    return runError('NO_PERMISSION', `${path} (${key}) cannot be read: ${code === 'EACCES' ? 'permission denied' : 'operation not permitted'} (${code}); nothing says the file is damaged`, `Check the permissions of ${path} and of the folders above it for the user running Fractal; \`lakehouse repair\` would not help.`, { cause: err });
  if (err instanceof NotRegularFile) return runError('LAKEHOUSE_CORRUPT', `${path} (${key}) is listed in the registry but is ${err.kind}, not a file; nothing was read from it`, repairHint(path), { cause: err });
  return runError('LAKEHOUSE_CORRUPT', `${path} (${key}) is listed in the registry but cannot be read: ${messageOf(err)}`, repairHint(path), { cause: err });
}

/** Opens, stats and reads entry `e`'s file once (openEntry), into `into(size)` (at least `size` bytes): its first
 *  `size` bytes (fewer when it ends sooner) and its stamp as read; a file not of the registered size is refused unread. */
function readFileInto(e: RegistryEntry, path: string, key: string, into: (size: number) => Uint8Array): { bytes: Uint8Array; st: BigIntStats } {
  const { fd, st } = openEntry(e, path);
  try {
    const size = Number(st.size);
    // Not one of the registered size cannot be the file its commit wrote: said before a byte is read (a file grown
    // huge is not read whole to find that out).
    if (size !== e.bytes) throw corrupt(path, key, `it is ${size} bytes long, the registry says ${e.bytes}`);
    const target = into(size);
    let n = 0;
    for (let got = -1; got !== 0 && n < size; n += got) got = readSync(fd, target, n, size - n, n);
    return { bytes: target.subarray(0, n), st };
  } finally {
    closeSync(fd);
  }
}

/**
 * A registered file's bytes, opened, stat'ed and read once (into `into(size)`); `hashed` says whether its checksum
 * was checked (always with `hashAlways`: a caller that found the file unlike its stamp a moment ago).
 */
function readChecked(e: RegistryEntry, path: string, key: string, into: (size: number) => Uint8Array = (size) => Buffer.allocUnsafe(size), hashAlways = false): { buf: Uint8Array; hashed: boolean } {
  try {
    const { bytes, st } = readFileInto(e, path, key, into);
    const hashed = hashAlways || verifyEveryRead() || !trustedStamp(e.stamp, st);
    if (hashed) checkBytes(bytes, e, path, key);
    return { buf: bytes, hashed };
  } catch (err) {
    throw unreadable(err, path, key);
  }
}

/**
 * What to run about a damaged file, naming its lakehouse (the folder above its ohlcv/ tree), so the commands check
 * the lakehouse the run read and not ./lakehouse.
 */
function repairHint(file: string): string {
  const at = file.lastIndexOf(`${sep}ohlcv${sep}`);
  const flag = at > 0 ? ` --lakehouse ${shellArg(file.slice(0, at))}` : '';
  return `Run \`pipeline-run lakehouse verify${flag}\` to see every damaged file and \`pipeline-run lakehouse repair${flag}\` to restore them from their sources.`;
}

/** Why the rows read from a file do not fit its registry entry (count, first and last date, order), or undefined. */
function shapeProblem(date: Int32Array, e: RegistryEntry): string | undefined {
  const n = date.length;
  if (n !== e.rows) return `it holds ${n} rows, the registry says ${e.rows}`;
  if (n === 0) return undefined;
  if (date[0] !== dayFromIso(e.first_date) || date[n - 1] !== dayFromIso(e.last_date))
    return `its dates run ${dayText(date[0])}..${dayText(date[n - 1])}, the registry says ${e.first_date}..${e.last_date}`;
  for (let i = 1; i < n; i++) if (!(date[i] > date[i - 1])) return `its dates do not increase at row ${i}`;
  return undefined;
}

const dayText = (day: number) => (Math.abs(day) < 1e6 ? isoFromDay(day) : `day ${day}`);

function corrupt(path: string, key: string, why: string): FractalError {
  return runError('LAKEHOUSE_CORRUPT', `${path} (${key}) does not fit its registry entry: ${why}`, repairHint(path));
}

/**
 * Whether the recorded offsets can be used for the columns `needed` in a file of `byteLength` bytes holding `rows`
 * rows: each of them recorded, and every recorded one a safe integer aligned to its element size, inside the file,
 * no two overlapping (Arrow lays the buffers one after another, each padded to 8 bytes: the gaps between them are
 * the row count the file implies, so a registry claiming more rows than the file holds fails here).
 */
function offsetsFit(at: ColumnOffsets, needed: readonly (keyof ColumnOffsets)[], rows: number, byteLength: number): boolean {
  if (!Number.isSafeInteger(rows) || rows < 0 || needed.some((name) => at[name] === undefined)) return false;
  const spans: [number, number][] = [];
  for (const name of OFFSET_COLUMNS) {
    const off = at[name];
    if (off === undefined) continue;
    const width = name === 'date' ? 4 : 8;
    if (!Number.isSafeInteger(off) || off < 0 || off % width !== 0 || off + rows * width > byteLength) return false;
    spans.push([off, off + rows * width]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) if (spans[i][0] < spans[i - 1][1]) return false;
  return true;
}
const OFFSET_COLUMNS = [...OHLCV_COLUMNS, 'funding'] as const;
const DATES_AND_CLOSES = ['date', 'close'] as const;

// ---------------------------------------------------------------------------------------------------------- Arrow I/O

/** The columns whose offsets the registry records for a file: OHLCV, and funding where the file has it. */
const recordedColumns = (at: ColumnOffsets) => (at.funding !== undefined ? OFFSET_COLUMNS : OHLCV_COLUMNS);

/** A series over bytes laid out as its file is (`buf` holds the file from its first byte; `at` its column offsets). */
function seriesInFileLayout(buf: Uint8Array, rows: number, at: ColumnOffsets): Ohlcv {
  const base = buf.byteOffset;
  return seriesAt(buf.buffer, rows, { date: base + at.date, open: base + at.open!, high: base + at.high!, low: base + at.low!, close: base + at.close, volume: base + at.volume!, ...(at.funding !== undefined ? { funding: base + at.funding } : {}) });
}

/** Reads exactly `length` bytes at `position` of the file into `into` at `offset`; false when the file ends first. */
function preadFully(fd: number, into: Uint8Array, offset: number, length: number, position: number): boolean {
  for (let n = 0; n < length; ) {
    const got = readSync(fd, into, offset + n, length - n, position + n);
    if (got === 0) return false;
    n += got;
  }
  return true;
}

/**
 * A registered file's bars as its first read takes them: the columns every reader needs (dates, closes, volumes and
 * any funding) read at their recorded offsets into shared memory laid out as the file is, when its stamp is trusted
 * (see checkBytes), its size the registered one and its offsets fit; open, high and low keep their places there,
 * unread (`deferred`: see shared-series.ts withDeferredColumns; a market of 2000 files read whole was most of the
 * run's fresh memory at N = 2000). Undefined when this path does not apply: readBars reads the file whole.
 */
function readFirstColumns(e: RegistryEntry, path: string): Ohlcv | undefined {
  const at = e.offsets;
  if (!at || verifyEveryRead() || !offsetsFit(at, recordedColumns(at), e.rows, e.bytes)) return undefined;
  let opened: { fd: number; st: BigIntStats };
  try {
    opened = openEntry(e, path);
  } catch {
    return undefined; // readWholeBars says what is wrong with it
  }
  const { fd, st } = opened;
  try {
    if (!trustedStamp(e.stamp, st) || Number(st.size) !== e.bytes) return undefined;
    const buf = sharedBytes(e.bytes);
    const first = [['date', 4], ['close', 8], ['volume', 8], ...(at.funding !== undefined ? [['funding', 8] as const] : [])] as const;
    for (const [c, width] of first) if (!preadFully(fd, buf, at[c]!, width * e.rows, at[c]!)) return undefined;
    const series = seriesInFileLayout(buf, e.rows, at);
    return shapeProblem(series.date, e) === undefined ? series : undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Fills a series' deferred columns (readFirstColumns) from its file: at their offsets while the file keeps the stamp
 * its first read trusted, else from the whole file, which must still hash to the registry's checksum (a file changed
 * since is LAKEHOUSE_CORRUPT, which the store turns into LAKEHOUSE_CHANGED when a commit explains it).
 */
function fillDeferred(e: RegistryEntry, path: string, key: string, views: Pick<Ohlcv, (typeof DEFERRED_COLUMNS)[number]>): void {
  const at = e.offsets!;
  try {
    const { fd, st } = openEntry(e, path);
    try {
      if (!verifyEveryRead() && trustedStamp(e.stamp, st) && Number(st.size) === e.bytes) {
        const bytes = (v: Float64Array) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
        if (DEFERRED_COLUMNS.every((c) => preadFully(fd, bytes(views[c]), 0, 8 * e.rows, at[c]!))) return;
      }
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    throw unreadable(err, path, key);
  }
  const { buf } = readChecked(e, path, key, scratchOf, true);
  const data = decodeChecked(buf, e, path, key, true);
  for (const c of DEFERRED_COLUMNS) views[c].set(data[c]);
}

/**
 * A registered file's bars, in shared memory (backtest workers read them from there), as readFirstColumns reads
 * them when it can (`deferred`: open, high and low still to fill). Otherwise a file of the registered size whose
 * recorded offsets fit it (offsetsFit) is read whole straight into shared memory, and its columns are views of the
 * bytes read once their dates have the registry's shape: no copy. Any other file is read into the scratch buffer,
 * decoded and copied there. Checked as checkBytes says; when the fast path's offsets do not fit or its rows do not
 * match the registry, the file is hashed (if it was not) and decoded, and a decoded file that still does not match
 * is LAKEHOUSE_CORRUPT.
 */
function readBars(e: RegistryEntry, path: string, key: string): { data: Ohlcv; deferred: boolean } {
  const first = readFirstColumns(e, path);
  if (first) {
    readCounters.viaOffsets++;
    return { data: first, deferred: true };
  }
  return { data: readWholeBars(e, path, key), deferred: false };
}

function readWholeBars(e: RegistryEntry, path: string, key: string): Ohlcv {
  const at = e.offsets;
  const inPlace = (size: number) => at !== undefined && size === e.bytes && offsetsFit(at, recordedColumns(at), e.rows, size);
  const { buf, hashed } = readChecked(e, path, key, (size) => (inPlace(size) ? sharedBytes(size) : scratchOf(size)));
  const shared = buf.buffer instanceof SharedArrayBuffer;
  if (shared && at && buf.byteLength === e.bytes) {
    const fast = seriesInFileLayout(buf, e.rows, at);
    if (shapeProblem(fast.date, e) === undefined) {
      readCounters.viaOffsets++;
      return fast;
    }
  }
  // Bytes in shared memory are decoded from a copy: the decoded columns are then copied into shared memory whole.
  return inSharedMemory(decodeChecked(shared ? buf.slice() : buf, e, path, key, hashed));
}

/** Dates and closes only (the returns matrix): views of the file's bytes at the recorded offsets when they fit. */
function readDatesAndCloses(e: RegistryEntry, path: string, key: string): { date: Int32Array; close: Float64Array } {
  const { buf, hashed } = readChecked(e, path, key);
  if (e.offsets && buf.byteLength === e.bytes && offsetsFit(e.offsets, DATES_AND_CLOSES, e.rows, buf.byteLength)) {
    const n = e.rows;
    const view = <T>(off: number, bytesPer: number, C: { new (b: ArrayBufferLike, o: number, n: number): T; new (n: number): T }): T => {
      const abs = buf.byteOffset + off;
      if (abs % bytesPer === 0) return new C(buf.buffer, abs, n);
      return new C(buf.buffer.slice(abs, abs + n * bytesPer), 0, n); // unaligned (pooled small buffer): copy
    };
    const date = view(e.offsets.date, 4, Int32Array);
    if (shapeProblem(date, e) === undefined) {
      readCounters.viaOffsets++;
      return { date, close: view(e.offsets.close, 8, Float64Array) };
    }
  }
  return decodeChecked(buf, e, path, key, hashed);
}

/** The Arrow file decoded, after its checksum when the fast path refused a file whose stamp was trusted. */
function decodeChecked(buf: Uint8Array, e: RegistryEntry, path: string, key: string, hashed: boolean): Ohlcv {
  if (!hashed && e.offsets && buf.byteLength === e.bytes) checkBytes(buf, e, path, key); // the fast path saw a misfit
  readCounters.decoded++;
  const data = decodeOhlcv(buf, path);
  const why = shapeProblem(data.date, e);
  if (why !== undefined) throw corrupt(path, key, why);
  return data;
}

export function encodeOhlcv(o: Ohlcv): Uint8Array {
  const n = o.date.length;
  const table = new Table({
    date: makeVector(makeData({ type: new DateDay(), data: o.date, length: n })),
    open: makeVector(o.open),
    high: makeVector(o.high),
    low: makeVector(o.low),
    close: makeVector(o.close),
    volume: makeVector(o.volume),
    ...(o.funding ? { funding: makeVector(o.funding) } : {}),
  });
  return tableToIPC(table, 'file');
}

/** Contiguous copy-free view of a column when it is one chunk; concatenated otherwise (files from other writers). */
function column<T extends Int32Array | Float64Array>(table: Table, name: string, ctor: { new (n: number): T }): T {
  const vec = table.getChild(name);
  if (!vec) throw new Error(`column "${name}" is missing`);
  const chunks = vec.data;
  if (chunks.length === 1 && chunks[0].nullCount === 0) {
    const d = chunks[0];
    return (d.values as T).subarray(d.offset, d.offset + d.length) as T;
  }
  const out = new ctor(vec.length);
  let k = 0;
  for (const d of chunks) {
    const vals = d.values as T;
    for (let i = 0; i < d.length; i++) out[k++] = d.getValid(i) ? vals[d.offset + i] : NaN;
  }
  return out;
}

export function decodeOhlcv(buf: Uint8Array, what = 'file'): Ohlcv {
  let table: Table;
  try {
    table = tableFromIPC(buf);
  } catch (err) {
    throw runError('LAKEHOUSE_CORRUPT', `${what} is not a readable Arrow IPC file: ${messageOf(err)}`, repairHint(what), { cause: err });
  }
  try {
    return {
      date: column(table, 'date', Int32Array),
      open: column(table, 'open', Float64Array),
      high: column(table, 'high', Float64Array),
      low: column(table, 'low', Float64Array),
      close: column(table, 'close', Float64Array),
      volume: column(table, 'volume', Float64Array),
      ...(table.getChild('funding') ? { funding: column(table, 'funding', Float64Array) } : {}),
    };
  } catch (err) {
    throw runError('LAKEHOUSE_CORRUPT', `${what}: ${messageOf(err)}`, repairHint(what), { cause: err });
  }
}

/**
 * Where the column buffers sit in an encoded file (single batch, no nulls), for the fast read paths: date and close
 * (the returns reader), and every other column when all of them qualify (the bars).
 */
export function bufferOffsets(bytes: Uint8Array): ColumnOffsets | undefined {
  const table = tableFromIPC(bytes);
  const at = (name: string) => {
    const chunks = table.getChild(name)?.data;
    if (!chunks || chunks.length !== 1 || chunks[0].nullCount !== 0) return undefined;
    const v = chunks[0].values as Int32Array | Float64Array;
    return v.byteOffset - bytes.byteOffset + chunks[0].offset * v.BYTES_PER_ELEMENT;
  };
  const date = at('date');
  const close = at('close');
  if (date === undefined || close === undefined) return undefined;
  const rest = { open: at('open'), high: at('high'), low: at('low'), volume: at('volume'), ...(table.getChild('funding') ? { funding: at('funding') } : {}) };
  return Object.values(rest).every((x) => x !== undefined) ? { date, close, ...rest } : { date, close };
}

export function encodeSymbols(entries: RegistryEntry[]): Uint8Array {
  const str = (f: (e: RegistryEntry) => string | null) => vectorFromArray(entries.map(f), new Utf8());
  const num = (f: (e: RegistryEntry) => number | null) => vectorFromArray(entries.map(f), new Float64());
  const days = (f: (e: RegistryEntry) => string) =>
    makeVector(makeData({ type: new DateDay(), data: Int32Array.from(entries, (e) => Date.parse(f(e)) / 86_400_000), length: entries.length }));
  const table = new Table({
    symbol: str((e) => e.symbol),
    venue: str((e) => e.venue),
    exchange: str((e) => e.exchange),
    asset_type: str((e) => e.asset_type),
    base: str((e) => e.base),
    quote: str((e) => e.quote),
    sector: str((e) => e.sector),
    market_cap_rank: num((e) => e.market_cap_rank),
    volume_24h: num((e) => e.volume_24h),
    lot_size: num((e) => e.lot_size ?? null),
    min_notional: num((e) => e.min_notional ?? null),
    first_date: days((e) => e.first_date),
    last_date: days((e) => e.last_date),
    rows: vectorFromArray(entries.map((e) => e.rows), new Int32()),
    source: str((e) => e.source.kind),
    status: str((e) => e.status),
    file: str((e) => e.file),
  });
  return tableToIPC(table, 'file');
}

// --------------------------------------------------------------------------------------------------------- journal

interface Journal {
  started_at: string;
  pid: number;
  /** [temporary, final] paths relative to the root, applied in order. */
  renames: [string, string][];
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

/** The largest journal.json read: two renames a symbol, for far more symbols than a registry holds. */
const MAX_JOURNAL_BYTES = 256 * 2 ** 20;

/**
 * Replays a journal left by a commit; returns true when there was one. Idempotent. Caller holds the lock. The
 * renames are flushed to the disk unless the lakehouse is not `durable`.
 */
async function applyJournal(root: string, durable = true): Promise<boolean> {
  const jpath = join(root, JOURNAL_FILE);
  let raw: string;
  try {
    raw = (await readRegularFile(jpath, MAX_JOURNAL_BYTES)).toString('utf8');
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return false;
    if (err instanceof NotRegularFile || err instanceof FileTooLarge) throw runError('LAKEHOUSE_JOURNAL', `${jpath} is unreadable: ${err instanceof NotRegularFile ? `${err.kind}, not a file` : `${err.size} bytes, more than a commit journal can plausibly hold`}; nothing was renamed`, 'Restore the folder from a backup.');
    throw err;
  }
  const parsed = parseJsonText(raw);
  if (!parsed.ok || !Array.isArray((parsed.value as Journal | null)?.renames))
    throw runError('LAKEHOUSE_JOURNAL', `${jpath} is unreadable: ${parsed.ok ? 'not a commit journal' : `not valid JSON at ${parsed.error}`}`);
  const journal = parsed.value as Journal;
  // Each entry is checked before any is applied: a damaged or planted journal must not rename files outside the
  // lakehouse (every writer replays it), and a commit's temporary files carry TMP_MARK.
  for (const entry of journal.renames as unknown[]) {
    const ok = Array.isArray(entry) && entry.length === 2 && entry.every((x) => typeof x === 'string' && insideRoot(x)) && (entry[0] as string).includes(TMP_MARK);
    if (!ok) throw runError('LAKEHOUSE_JOURNAL', `${jpath} is damaged: it names ${JSON.stringify(entry)}, not a rename of a commit's temporary file inside the lakehouse`, 'Nothing was renamed. Restore the folder from a backup.');
  }
  const dirs = new Set<string>();
  for (const [tmpRel, finalRel] of journal.renames) {
    const tmp = join(root, tmpRel);
    const fin = join(root, finalRel);
    if (await exists(tmp)) {
      await mkdir(dirname(fin), { recursive: true });
      await rename(tmp, fin);
    } else if (!(await exists(fin))) {
      throw runError('LAKEHOUSE_JOURNAL', `Commit journal names ${tmpRel} -> ${finalRel} but neither exists.`, 'Restore the folder from a backup.');
    }
    dirs.add(dirname(fin));
  }
  if (durable) for (const d of dirs) await fsyncDir(d);
  await unlink(jpath);
  if (durable) await fsyncDir(root);
  return true;
}

async function* walkFiles(dir: string): AsyncGenerator<string> {
  let items;
  try {
    items = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const it of items) {
    const full = join(dir, it.name);
    if (it.isDirectory()) yield* walkFiles(full);
    else yield full;
  }
}

/**
 * Keeps entry `e`'s file as it is under VERSIONS_DIR (a hard link: the same inode, so the same stamp), for readers
 * that hold a registry naming it. Best effort: where links cannot be made, such a reader meets the newer file and
 * fails with LAKEHOUSE_CHANGED, as before versions were kept.
 */
async function keepVersion(root: string, e: RegistryEntry): Promise<void> {
  const rel = versionPath(e);
  if (!rel) return;
  try {
    // Only the file the entry stamps (a file replaced by hand since is not that version).
    if (String((await stat(join(root, e.file), { bigint: true })).ino) !== e.stamp?.ino) return;
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await link(join(root, e.file), join(root, rel));
  } catch (err) {
    const code = codeOf(err);
    if (code === 'EEXIST' || code === 'ENOENT') return; // kept already (this very inode), or the file is gone
    if (!warnedKeep) process.emitWarning(`the lakehouse ${root} could not keep ${e.file} for the runs that started before this commit (${code ?? messageOf(err)}): such a run fails with LAKEHOUSE_CHANGED`, { code: 'FRACTAL_LAKEHOUSE_VERSIONS' });
    warnedKeep = true;
  }
}
/** A failure to keep versions is said once per process (a file system without hard links fails every one). */
let warnedKeep = false;

/**
 * Removes kept versions superseded longer than `keepMs` ago (a file's ctime: the replacing rename or the removal
 * changed its link count, and nothing else touches it). Caller holds the lock.
 */
async function pruneVersions(root: string, keepMs: number): Promise<string[]> {
  const removed: string[] = [];
  const now = Date.now();
  for await (const f of walkFiles(join(root, VERSIONS_DIR))) {
    try {
      if (now - (await stat(f)).ctimeMs >= keepMs) {
        await unlink(f);
        removed.push(f.slice(root.length + 1));
      }
    } catch {
      /* gone already */
    }
  }
  return removed;
}

export interface RecoveryReport {
  journalReplayed: boolean;
  tempFilesRemoved: string[];
}

/** A temporary file a writer leaves when interrupted: recover() removes it. */
const isLeftover = (name: string) => name.includes(TMP_MARK) || name.startsWith(`${LOCK_FILE}.stale-`);

/**
 * Whether recover() has anything to do: a commit journal, or temporary files of a writer (interrupted, or at work
 * now). Without either, a check of the store needs no lock (verify on a read-only lakehouse).
 */
export async function needsRecovery(root: string): Promise<boolean> {
  if (await lexists(join(root, JOURNAL_FILE))) return true;
  for await (const f of walkFiles(root)) if (isLeftover(f.slice(f.lastIndexOf('/') + 1))) return true;
  return false;
}

/** Whether anything is at `path` (a dangling link or a FIFO too): not followed, not opened. */
async function lexists(path: string): Promise<boolean> {
  return lstat(path).then(() => true, (err: unknown) => codeOf(err) !== 'ENOENT');
}

/** Finishes or sweeps an interrupted commit. Caller holds the lock, so every temporary file is an orphan. */
export async function recover(root: string): Promise<RecoveryReport> {
  const journalReplayed = await applyJournal(root);
  const tempFilesRemoved: string[] = [];
  for await (const f of walkFiles(root)) {
    if (isLeftover(f.slice(f.lastIndexOf('/') + 1))) {
      await unlink(f).catch(() => {});
      tempFilesRemoved.push(f.slice(root.length + 1));
    }
  }
  return { journalReplayed, tempFilesRemoved };
}

// ---------------------------------------------------------------------------------------------------------- commit

export interface SymbolWrite {
  meta: SymbolMeta;
  data: Ohlcv;
  source: SourceRef;
  /** Merge with the rows already stored (new rows win on the same date) instead of replacing them. */
  merge?: boolean;
}

export interface CommitOptions {
  /** Allow overwriting a symbol that came from another source. */
  replace?: boolean;
  lock?: LockOptions;
  health?: Partial<HealthOptions>;
  /** Progress while writing files. */
  onProgress?: (done: number, total: number) => void;
  nowMs?: number;
  /** Each entry written with the one it replaces (undefined for a new symbol), as the commit found it under the lock. */
  onWritten?: (entry: RegistryEntry, previous: RegistryEntry | undefined) => void;
}

function sameSource(a: SourceRef, b: SourceRef): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'csv' && b.kind === 'csv') return resolve(a.path) === resolve(b.path);
  if (a.kind === 'ccxt' && b.kind === 'ccxt') return a.exchange === b.exchange;
  // Another seed, size or end is another market: seeding it over one would mix the two, symbol by symbol.
  if (a.kind === 'synthetic' && b.kind === 'synthetic') return a.seed === b.seed && a.symbols === b.symbols && a.days === b.days && a.end === b.end;
  return true;
}

export function describeSource(s: SourceRef): string {
  switch (s.kind) {
    case 'csv':
      return `csv ${s.path}`;
    case 'ccxt':
      return `ccxt ${s.exchange} ${s.type}`;
    case 'synthetic':
      return `synthetic seed ${s.seed} (${s.symbols} symbols × ${s.days} days to ${s.end})`;
  }
}

function checkSeries(w: SymbolWrite): void {
  const { date } = w.data;
  const n = date.length;
  for (const k of [...OHLCV_COLUMNS, ...(w.data.funding ? ['funding' as const] : [])]) {
    if (w.data[k]!.length !== n) throw runError('LAKEHOUSE_WRITE', `${w.meta.venue}/${w.meta.symbol}: column ${k} has ${w.data[k]!.length} rows, date has ${n}.`);
  }
  if (n === 0) throw runError('LAKEHOUSE_WRITE', `${w.meta.venue}/${w.meta.symbol}: no rows to write.`);
  for (let i = 1; i < n; i++) {
    if (date[i] <= date[i - 1]) throw runError('LAKEHOUSE_WRITE', `${w.meta.venue}/${w.meta.symbol}: dates not strictly ascending at ${isoFromDay(date[i])}.`);
  }
  // Whatever the source, no non-finite or non-positive price reaches the store (an unknown volume is NaN).
  for (const k of ['open', 'high', 'low', 'close'] as const) {
    const col = w.data[k];
    for (let i = 0; i < n; i++) {
      if (!(col[i] > 0 && col[i] < Infinity)) throw runError('LAKEHOUSE_WRITE', `${w.meta.venue}/${w.meta.symbol}: ${k} on ${isoFromDay(date[i])} is ${col[i]}, not a finite positive price; nothing was written.`);
    }
  }
  for (let i = 0; i < n; i++) {
    const v = w.data.volume[i];
    if (v < 0 || v === Infinity) throw runError('LAKEHOUSE_WRITE', `${w.meta.venue}/${w.meta.symbol}: volume on ${isoFromDay(date[i])} is ${v}; nothing was written.`);
  }
}

/** Merge two ascending series; rows of `b` win on equal dates (a funding column in either is kept, NaN elsewhere). */
export function mergeOhlcv(a: Ohlcv, b: Ohlcv): Ohlcv {
  const n = a.date.length + b.date.length;
  const withFunding = !!(a.funding || b.funding);
  const out: Required<Ohlcv> = { date: new Int32Array(n), open: new Float64Array(n), high: new Float64Array(n), low: new Float64Array(n), close: new Float64Array(n), volume: new Float64Array(n), funding: new Float64Array(withFunding ? n : 0) };
  let i = 0, j = 0, k = 0;
  const copy = (src: Ohlcv, s: number) => {
    for (const c of OHLCV_COLUMNS) out[c][k] = src[c][s];
    if (withFunding) out.funding[k] = src.funding ? src.funding[s] : NaN;
    k++;
  };
  while (i < a.date.length || j < b.date.length) {
    if (j >= b.date.length || (i < a.date.length && a.date[i] < b.date[j])) copy(a, i++);
    else {
      if (i < a.date.length && a.date[i] === b.date[j]) i++;
      copy(b, j++);
    }
  }
  return {
    date: out.date.slice(0, k), open: out.open.slice(0, k), high: out.high.slice(0, k),
    low: out.low.slice(0, k), close: out.close.slice(0, k), volume: out.volume.slice(0, k),
    ...(withFunding ? { funding: out.funding.slice(0, k) } : {}),
  };
}

/** Whether every bar is a single print (open = high = low = close): closes written out as OHLCV bars. */
export function singlePrints(o: Ohlcv): boolean {
  for (let i = 0; i < o.date.length; i++) if (!(o.open[i] === o.close[i] && o.high[i] === o.close[i] && o.low[i] === o.close[i])) return false;
  return o.date.length > 0;
}

/**
 * The days of `data` (the series an entry will hold) that hold closes alone (RegistryEntry.closes_only): every day
 * when a CSV's bars are every one a single print, whatever its layout says (its opens are copies of its closes; an
 * exchange's bars are what it printed, a flat day included); else the write's
 * own days when it is a wide CSV's, and the days of closes alone of the entry it merges over (`merged`) that its rows
 * did not replace, so an exchange's bars appended to a wide CSV's leave the older ones known as closes alone.
 */
export function closesOnlyDays(data: Ohlcv, w: SymbolWrite, merged: RegistryEntry | undefined): DayRange[] {
  const n = data.date.length;
  if (w.source.kind === 'csv' && singlePrints(data)) return [[isoFromDay(data.date[0]), isoFromDay(data.date[n - 1])]];
  const wide = w.source.kind === 'csv' && w.source.layout === 'wide';
  const written = new Set(w.data.date);
  const before = merged ? closesOnlySpans(merged) : [];
  const out: DayRange[] = [];
  let start = -1;
  for (let i = 0; i <= n; i++) {
    const d = data.date[i];
    const alone = i < n && (written.has(d) ? wide : before.some(([a, b]) => d >= a && d <= b));
    if (alone && start < 0) start = i;
    else if (!alone && start >= 0) {
      out.push([isoFromDay(data.date[start]), isoFromDay(data.date[i - 1])]);
      start = -1;
    }
  }
  return out;
}

/** Union of the dates of the equity series written to one venue in this batch: the venue's session calendar. */
/**
 * The sessions of each venue (equities and ETFs): the union of its symbols' dates, those written now and those
 * already stored, so health judges one symbol written alone (a repair, a top-up) on the same calendar as the import
 * that wrote them all (a market-wide closure such as 2001-09-11 is not a gap).
 */
function sessionCalendars(writes: SymbolWrite[], stored: { venue: string; date: Int32Array }[] = []): Map<string, Int32Array> {
  const byVenue = new Map<string, Int32Array[]>();
  for (const w of writes) {
    if (tradesDaily(w.meta.asset_type)) continue;
    const l = byVenue.get(w.meta.venue) ?? [];
    l.push(w.data.date);
    byVenue.set(w.meta.venue, l);
  }
  for (const s of stored) byVenue.get(s.venue)?.push(s.date);
  const out = new Map<string, Int32Array>();
  for (const [venue, list] of byVenue) {
    if (list.length < 3) continue; // too few symbols to tell a market closure from a data gap
    const set = new Set<number>();
    for (const d of list) for (const x of d) set.add(x);
    out.set(venue, Int32Array.from([...set].sort((x, y) => x - y)));
  }
  return out;
}

// ------------------------------------------------------------------------------------------------------- the store

export interface OpenOptions {
  readOnly?: boolean;
  /**
   * A writer on a folder without a lakehouse: true (the default) opens it empty, and its first commit creates the
   * folder; false fails with LAKEHOUSE_MISSING, as a reader does.
   */
  create?: boolean;
  /**
   * false: a lakehouse that does not outlive the process (a CSV or synthetic market staged for one run): its commits
   * still write every file whole under a temporary name and rename it into place, but flush nothing to the disk (no
   * fsync: nothing reads it after a crash). Default true.
   */
  durable?: boolean;
}

export class Store {
  private cache = new Map<string, { checksum: string; data: Ohlcv }>();
  private closeCache = new Map<string, { checksum: string; data: { date: Int32Array; close: Float64Array } }>();
  private readLog = new Map<string, RegistryEntry>();

  /** registry.json's identity when this handle read it (size, mtime, inode): a commit since replaces the file. */
  private regStamp: string;

  private constructor(readonly root: string, readonly readOnly: boolean, private reg: Registry, private readonly durable: boolean, stamp = registryStamp(root)) {
    this.regStamp = stamp;
  }

  /**
   * A read that found a file unlike its registry entry, while a writer committed since this handle read the registry
   * (registry.json replaced, or a commit under way): the data changed under the run, which is not damage. Said so,
   * instead of LAKEHOUSE_CORRUPT and a repair the files do not need.
   */
  private changedUnder(err: unknown): unknown {
    if (!(err instanceof FractalError) || err.code !== 'LAKEHOUSE_CORRUPT') return err;
    const now = registryStamp(this.root);
    if (now === this.regStamp && !existsSync(join(this.root, JOURNAL_FILE))) return err;
    return runError('LAKEHOUSE_CHANGED', `the lakehouse ${this.root} was written (a commit) while this run read it: ${err.message.split(':')[0]} is a newer version than the registry the run started from, and the version the run needs is no longer kept (versions/ keeps replaced files FRACTAL_LAKEHOUSE_KEEP_VERSIONS hours, 24 unless set)`, 'A run reads one version of the data: run it again, or keep versions longer than a run takes. Nothing is damaged (`lakehouse verify` agrees).');
  }

  static async open(path: string, opts: OpenOptions = {}): Promise<Store> {
    const root = resolve(path);
    const readOnly = opts.readOnly ?? false;
    // A path that is a file (or sits under one) is a usage error, not an internal one (where.ts: `run` says the same).
    const notFolder = notAFolder(root);
    if (notFolder) throw notFolder;
    // A run reads one version of a lakehouse however often it opens it (pins.ts).
    const pinned = readOnly ? pinnedRegistry(root) : undefined;
    if (pinned) return new Store(root, readOnly, pinned.registry, opts.durable ?? true, pinned.stamp);
    // Taken before the registry is read: a commit between the two is then seen as a change, not missed.
    const stamp = registryStamp(root);
    let reg = await loadRegistry(root);
    if (reg && readOnly) {
      const pin = pinRegistry({ root, registry: reg, stamp });
      return new Store(root, readOnly, pin.registry, opts.durable ?? true, pin.stamp);
    }
    if (!reg) {
      if (readOnly || opts.create === false) throw noLakehouse(root) ?? inputError('LAKEHOUSE_MISSING', `No lakehouse at ${root}: the folder has no registry.json.`);
      // Nothing is created yet: a writer's folder is made by its first commit (withLock), so a write refused before
      // it (a bad CSV, an unknown exchange) leaves the file system as it was.
      reg = emptyRegistry();
    }
    return new Store(root, readOnly, reg, opts.durable ?? true, stamp);
  }

  /** Re-reads registry.json (another process may have committed). */
  async reload(): Promise<void> {
    this.regStamp = registryStamp(this.root);
    this.reg = (await loadRegistry(this.root)) ?? emptyRegistry();
  }

  registry(): Registry {
    return this.reg;
  }

  entries(): RegistryEntry[] {
    return Object.values(this.reg.entries).sort((a, b) => (a.venue === b.venue ? (a.symbol < b.symbol ? -1 : 1) : a.venue < b.venue ? -1 : 1));
  }

  /** Finds a symbol; without a venue it must be on exactly one. Returns a reason string when it cannot. */
  lookup(symbol: string, venue?: string): RegistryEntry | string {
    if (venue !== undefined) return this.reg.entries[entryKey(venue, symbol)] ?? `not in the store on venue ${venue}`;
    const hits = Object.values(this.reg.entries).filter((e) => e.symbol === symbol);
    if (hits.length === 1) return hits[0];
    if (hits.length === 0) return 'not in the store';
    return `on several venues (${hits.map((h) => h.venue).sort().join(', ')}): name one`;
  }

  entry(symbol: string, venue?: string): RegistryEntry {
    const e = this.lookup(symbol, venue);
    if (typeof e === 'string') throw inputError('LAKEHOUSE_MISSING_DATA', `Symbol ${symbol} is ${e} (lakehouse ${this.root}).`);
    return e;
  }

  /** Bars of one symbol; decoded files are cached by checksum. Records the entry for the run's data hash. */
  async readOhlcv(symbol: string, venue?: string): Promise<Ohlcv> {
    return this.readEntry(this.entry(symbol, venue));
  }

  async readEntry(e: RegistryEntry): Promise<Ohlcv> {
    const key = entryKey(e.venue, e.symbol);
    this.readLog.set(key, e);
    const hit = this.cache.get(key);
    if (hit && hit.checksum === e.checksum) return hit.data;
    // This file version as the parent thread read and checked it (src/lakehouse/shared-series.ts).
    const shared = sharedSeriesFor(key, e.checksum, this.deferredFill(e));
    if (shared) {
      this.cache.set(key, { checksum: e.checksum, data: shared });
      return shared;
    }
    const path = join(this.root, e.file);
    let data: Ohlcv;
    try {
      const read = readBars(e, path, key);
      data = read.deferred ? withDeferredColumns(read.data, this.deferredFill(e)) : read.data;
    } catch (err) {
      throw this.changedUnder(err);
    }
    this.cache.set(key, { checksum: e.checksum, data });
    noteDecoded(key, e.checksum, data);
    return data;
  }

  /** How this store fills a series' deferred columns (shared-series.ts withDeferredColumns) from entry `e`'s file. */
  private deferredFill(e: RegistryEntry): (views: Pick<Ohlcv, (typeof DEFERRED_COLUMNS)[number]>) => void {
    return (views) => {
      try {
        fillDeferred(e, join(this.root, e.file), entryKey(e.venue, e.symbol), views);
      } catch (err) {
        throw this.changedUnder(err);
      }
    };
  }

  /**
   * Dates and closes only, for the returns matrix: maps the two buffers straight out of the file when the registry
   * knows their offsets and the file has the registered size; decodes the Arrow file otherwise.
   */
  readCloses(e: RegistryEntry): { date: Int32Array; close: Float64Array } {
    const key = entryKey(e.venue, e.symbol);
    const hit = this.cache.get(key);
    if (hit && hit.checksum === e.checksum) {
      this.readLog.set(key, e);
      return hit.data;
    }
    const hitC = this.closeCache.get(key);
    if (hitC && hitC.checksum === e.checksum) {
      this.readLog.set(key, e);
      return hitC.data;
    }
    const shared = sharedSeriesFor(key, e.checksum, this.deferredFill(e));
    if (shared) {
      this.cache.set(key, { checksum: e.checksum, data: shared });
      this.readLog.set(key, e);
      return shared;
    }
    let data: { date: Int32Array; close: Float64Array };
    try {
      data = readDatesAndCloses(e, join(this.root, e.file), key);
    } catch (err) {
      throw this.changedUnder(err);
    }
    this.closeCache.set(key, { checksum: e.checksum, data });
    this.readLog.set(key, e);
    return data;
  }

  /** Registry entries read through this handle so far (for the run manifest's data hash). */
  entriesRead(): RegistryEntry[] {
    return [...this.readLog.values()];
  }

  /** Runs `fn` holding the writer lock, after finishing any interrupted commit. Creates the folder when missing. */
  async withLock<T>(fn: () => Promise<T>, lock?: LockOptions): Promise<T> {
    if (this.readOnly) throw runError('LAKEHOUSE_READ_ONLY', `The lakehouse at ${this.root} was opened read-only.`);
    // mkdir says whether it made the folder (its first created path): a brand-new lakehouse whose first commit fails
    // (a full disk, a killed source) is removed again rather than left as an empty folder that looks like a store.
    const made = await mkdir(this.root, { recursive: true });
    const handle = await acquireLock(this.root, lock);
    let failed = true;
    try {
      await recover(this.root);
      await this.reload();
      await pruneVersions(this.root, keepVersionsMs());
      const out = await fn();
      failed = false;
      return out;
    } finally {
      const uncommitted = failed && made !== undefined && !(await exists(join(this.root, REGISTRY_FILE)));
      // Under the lock, what the failed commit left (its staging, a journal it never finished) but the lock itself.
      if (uncommitted) for (const name of await readdir(this.root).catch(() => [])) if (name !== LOCK_FILE) await rm(join(this.root, name), { recursive: true, force: true }).catch(() => {});
      await handle.release();
      // Then the folder and the parents mkdir made for it, unless another writer has taken the lock in it since
      // (rmdir refuses a folder that is not empty).
      if (uncommitted) for (let dir = resolve(this.root); dir.length >= resolve(made).length; dir = dirname(dir)) if (await rmdir(dir).then(() => false, () => true)) break;
    }
  }

  /**
   * Writes whole symbols atomically (see the file comment). Refuses, before writing anything, symbols that exist
   * from another source unless `replace`.
   */
  async commit(writes: SymbolWrite[], opts: CommitOptions = {}): Promise<RegistryEntry[]> {
    for (const w of writes) {
      checkName('venue', w.meta.venue);
      checkName('symbol', w.meta.symbol);
      checkSeries(w);
    }
    const seen = new Set<string>();
    for (const w of writes) {
      const k = entryKey(w.meta.venue, w.meta.symbol);
      if (seen.has(k)) throw inputError('LAKEHOUSE_DUPLICATE', `${k} appears twice in one write.`);
      seen.add(k);
    }
    return this.withLock(async () => {
      const reg = this.reg;
      const clashes = writes
        .map((w) => ({ w, old: reg.entries[entryKey(w.meta.venue, w.meta.symbol)] }))
        .filter(({ w, old }) => old && !sameSource(old.source, w.source));
      if (clashes.length && !opts.replace) {
        const list = clashes.map(({ w, old }) => `  ${w.meta.venue}/${w.meta.symbol}: stored from ${describeSource(old!.source)}, now from ${describeSource(w.source)}`);
        throw inputError(
          'LAKEHOUSE_SOURCE_CLASH',
          `${clashes.length} symbol(s) already exist from another source; nothing was written:\n${list.join('\n')}`,
          'Pass --replace to overwrite them, or import under another --venue.',
        );
      }
      // Stored symbols of the venues written (not those being replaced) complete each venue's calendar.
      const writtenKeys = new Set(writes.map((w) => entryKey(w.meta.venue, w.meta.symbol)));
      const sessionVenues = new Set(writes.filter((w) => !tradesDaily(w.meta.asset_type)).map((w) => w.meta.venue));
      const stored: { venue: string; date: Int32Array }[] = [];
      for (const e of Object.values(reg.entries)) {
        if (!sessionVenues.has(e.venue) || writtenKeys.has(entryKey(e.venue, e.symbol))) continue;
        try {
          stored.push({ venue: e.venue, date: this.readCloses(e).date });
        } catch {
          /* a damaged file does not take part in the calendar; verify reports it */
        }
      }
      const calendars = sessionCalendars(writes, stored);
      const renames: [string, string][] = [];
      const next: Registry = { ...reg, entries: { ...reg.entries } };
      const written: RegistryEntry[] = [];
      const tmpCreated: string[] = [];
      try {
        let done = 0;
        for (const w of writes) {
          const key = entryKey(w.meta.venue, w.meta.symbol);
          const old = reg.entries[key];
          let data = w.data;
          const merged = w.merge ? old : undefined;
          if (merged) data = mergeOhlcv(await this.readEntry(merged), w.data);
          const closesOnly = closesOnlyDays(data, w, merged);
          const bytes = encodeOhlcv(data);
          const rel = ohlcvPath(w.meta.venue, w.meta.symbol);
          const tmp = await writeTemp(join(this.root, rel), bytes, this.durable);
          tmpCreated.push(tmp);
          // The renames keep the file's inode and modification time: its stamp as readers will find it.
          const stamp = stampOf(await stat(tmp, { bigint: true }));
          renames.push([tmp.slice(this.root.length + 1), rel]);
          const n = data.date.length;
          const entry: RegistryEntry = {
            ...w.meta,
            // What a symbols file declared wins over what the source knows (a re-import keeps a declared sector).
            ...old?.declared,
            ...(old?.declared ? { declared: old.declared } : {}),
            file: rel,
            rows: n,
            first_date: isoFromDay(data.date[0]),
            last_date: isoFromDay(data.date[n - 1]),
            checksum: sha256(bytes),
            stamp,
            bytes: bytes.byteLength,
            offsets: bufferOffsets(bytes),
            source: w.source,
            ...(closesOnly.length ? { closes_only: closesOnly } : {}),
            written_at: new Date(opts.nowMs ?? Date.now()).toISOString(),
            status: 'STABLE',
            reasons: [],
            findings: seriesFindings(data, w.meta.asset_type, calendars.get(w.meta.venue), opts.health),
          };
          next.entries[key] = entry;
          written.push(entry);
          this.cache.set(key, { checksum: entry.checksum, data });
          opts.onProgress?.(++done, writes.length);
        }
        next.updated_at = new Date(opts.nowMs ?? Date.now()).toISOString();
        refreshStatuses(next, opts.nowMs, opts.health);
        const all = Object.values(next.entries).sort((a, b) => (entryKey(a.venue, a.symbol) < entryKey(b.venue, b.symbol) ? -1 : 1));
        const symTmp = await writeTemp(join(this.root, SYMBOLS_FILE), encodeSymbols(all), this.durable);
        tmpCreated.push(symTmp);
        renames.push([symTmp.slice(this.root.length + 1), SYMBOLS_FILE]);
        // The moment the entries are registered, on the file-system clock (this file was written after every data
        // file): a data file whose mtime is not strictly older is "racy" and always hashed (checkBytes).
        const registered_ns = String((await stat(symTmp, { bigint: true })).mtimeNs);
        for (const e of written) e.stamp = { ...e.stamp!, registered_ns };
        const regTmp = await writeTemp(join(this.root, REGISTRY_FILE), `${JSON.stringify(next, null, 1)}\n`, this.durable);
        tmpCreated.push(regTmp);
        renames.push([regTmp.slice(this.root.length + 1), REGISTRY_FILE]);
      } catch (err) {
        for (const t of tmpCreated) await unlink(t).catch(() => {});
        throw systemError(err, `writing the lakehouse ${this.root} (nothing was committed)`);
      }
      // The files this commit replaces stay readable, as they are, for the readers that started before it.
      for (const e of written) {
        const old = reg.entries[entryKey(e.venue, e.symbol)];
        if (old && old.checksum !== e.checksum) await keepVersion(this.root, old);
      }
      // The commit point: once journal.json exists, the commit will complete (here or on recovery).
      const journal: Journal = { started_at: new Date().toISOString(), pid: process.pid, renames };
      try {
        await writeFileAtomic(join(this.root, JOURNAL_FILE), JSON.stringify(journal), this.durable);
      } catch (err) {
        // Before the commit point: the store is as it was; the new files go.
        for (const t of tmpCreated) await unlink(t).catch(() => {});
        throw systemError(err, `writing the lakehouse ${this.root} (nothing was committed)`);
      }
      if (process.env.FRACTAL_LAKEHOUSE_CRASH_AFTER_JOURNAL) process.kill(process.pid, 'SIGKILL'); // test hook: die at the worst moment
      await applyJournal(this.root, this.durable);
      this.reg = next;
      for (const e of written) this.readLog.delete(entryKey(e.venue, e.symbol));
      if (opts.onWritten) for (const e of written) opts.onWritten(e, reg.entries[entryKey(e.venue, e.symbol)]);
      return written;
    }, opts.lock);
  }

  /**
   * Declares symbols-table fields (a symbols file), atomically under the lock: `updates` maps "venue/symbol" keys to
   * the fields to set. Keys the registry does not hold (now, under the lock) are refused before anything is written
   * and returned by `unknown`; nothing is written then. Declared fields win over later writes from sources.
   */
  async declare(updates: Map<string, DeclaredFields>, opts: { lock?: LockOptions; nowMs?: number } = {}): Promise<{ changed: string[]; unchanged: string[] }> {
    return this.withLock(async () => {
      const missing = [...updates.keys()].filter((k) => !Object.hasOwn(this.reg.entries, k));
      if (missing.length) throw inputError('SYMBOLS_UNKNOWN', `${missing.length} symbol(s) are not in the lakehouse ${this.root}: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''}; nothing was written`);
      const next: Registry = { ...this.reg, entries: { ...this.reg.entries } };
      const changed: string[] = [];
      const unchanged: string[] = [];
      for (const [key, fields] of updates) {
        const old = next.entries[key]!;
        const entry: RegistryEntry = { ...old, ...fields, declared: { ...old.declared, ...fields } };
        const same = (Object.keys(fields) as (keyof DeclaredFields)[]).every((f) => old[f] === fields[f] && Object.hasOwn(old.declared ?? {}, f));
        (same ? unchanged : changed).push(key);
        next.entries[key] = entry;
      }
      if (!changed.length) return { changed, unchanged };
      next.updated_at = new Date(opts.nowMs ?? Date.now()).toISOString();
      await this.writeRegistry(next);
      return { changed, unchanged };
    }, opts.lock);
  }

  /** Writes the symbols table and the registry for `next` through the journal (caller holds the lock). */
  private async writeRegistry(next: Registry): Promise<void> {
    const all = Object.values(next.entries).sort((a, b) => (entryKey(a.venue, a.symbol) < entryKey(b.venue, b.symbol) ? -1 : 1));
    const tmps: string[] = [];
    try {
      tmps.push(await writeTemp(join(this.root, SYMBOLS_FILE), encodeSymbols(all), this.durable));
      tmps.push(await writeTemp(join(this.root, REGISTRY_FILE), `${JSON.stringify(next, null, 1)}\n`, this.durable));
      const rel = (p: string) => p.slice(this.root.length + 1);
      await writeFileAtomic(join(this.root, JOURNAL_FILE), JSON.stringify({ started_at: new Date().toISOString(), pid: process.pid, renames: [[rel(tmps[0]!), SYMBOLS_FILE], [rel(tmps[1]!), REGISTRY_FILE]] }), this.durable);
    } catch (err) {
      for (const t of tmps) await unlink(t).catch(() => {});
      throw systemError(err, `writing the lakehouse ${this.root} (nothing was committed)`);
    }
    await applyJournal(this.root, this.durable);
    this.reg = next;
  }

  /** Removes entries (and their files) from the registry, atomically. */
  async remove(keys: string[], lock?: LockOptions): Promise<void> {
    await this.withLock(async () => {
      const next: Registry = { ...this.reg, entries: { ...this.reg.entries } };
      for (const k of keys) delete next.entries[k];
      refreshStatuses(next);
      const all = Object.values(next.entries);
      const symTmp = await writeTemp(join(this.root, SYMBOLS_FILE), encodeSymbols(all), this.durable);
      const regTmp = await writeTemp(join(this.root, REGISTRY_FILE), `${JSON.stringify(next, null, 1)}\n`, this.durable);
      const rel = (p: string) => p.slice(this.root.length + 1);
      // Kept before the commit point, as a commit keeps what it replaces: a run that started before still reads them.
      for (const k of keys) if (this.reg.entries[k]) await keepVersion(this.root, this.reg.entries[k]);
      await writeFileAtomic(join(this.root, JOURNAL_FILE), JSON.stringify({ started_at: new Date().toISOString(), pid: process.pid, renames: [[rel(symTmp), SYMBOLS_FILE], [rel(regTmp), REGISTRY_FILE]] }), this.durable);
      await applyJournal(this.root, this.durable);
      for (const k of keys) {
        const e = this.reg.entries[k];
        if (e) await unlink(join(this.root, e.file)).catch(() => {});
      }
      this.reg = next;
    }, lock);
  }

  /** Files under ohlcv/ that no registry entry points at (left by a crash before a commit point, or removed entries). */
  async orphanFiles(): Promise<string[]> {
    const known = new Set(Object.values(this.reg.entries).map((e) => e.file));
    const out: string[] = [];
    for await (const f of walkFiles(join(this.root, OHLCV_DIR))) {
      const rel = f.slice(this.root.length + 1);
      if (!known.has(rel) && !rel.includes(TMP_MARK)) out.push(rel);
    }
    return out.sort();
  }

  /** The superseded files kept for earlier readers (VERSIONS_DIR): how many, and their bytes. */
  async keptVersions(): Promise<{ files: number; bytes: number }> {
    let files = 0;
    let bytes = 0;
    for await (const f of walkFiles(join(this.root, VERSIONS_DIR))) {
      files++;
      bytes += await stat(f).then((st) => st.size, () => 0);
    }
    return { files, bytes };
  }

  async fileSize(rel: string): Promise<number> {
    return (await stat(join(this.root, rel))).size;
  }
}
