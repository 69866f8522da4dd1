/**
 * The lakehouse: Fractal's embedded market-data store (DESIGN.md, "Lakehouse"; layout in store.ts and
 * docs/lakehouse.md).
 *
 * Public API
 *
 *   openLakehouse(path, { readOnly?: boolean, create?: boolean, durable?: boolean }): Promise<Lakehouse>
 *     Opens the folder. Read-only handles never write or lock, and fail (inputError LAKEHOUSE_MISSING) when the
 *     folder has no registry. Writers create the folder when missing, at their first commit (a write refused before
 *     it creates nothing). durable: false (a lakehouse staged for one
 *     run) writes every file whole but flushes nothing to the disk.
 *
 *   Reading (any handle)
 *     lh.symbols(): SymbolRow[]                           the symbols table, one plain row per symbol and venue
 *     lh.registry(): Registry                             registry.json as loaded (entries keyed "venue/symbol")
 *     lh.readOhlcv(symbol, venue?): Promise<Ohlcv>        typed arrays: date (Int32Array, EpochDay), open .. volume
 *     lh.readReturns({ symbols, venue?, start?, end, lookbackDays?, requireFullCoverage? }): Promise<ReturnsMatrix>
 *         aligned on the union of the symbols' dates, never a day after `end` (inclusive as-of), the last
 *         `lookbackDays` dates; simple close-to-close returns from each symbol's previous close, NaN where it has no
 *         bar. Fails fast (inputError LAKEHOUSE_MISSING_DATA) naming EVERY missing symbol or date range at once.
 *     lh.readDates(sameRequest): Promise<Int32Array>      that axis alone
 *     lh.readPrices(sameRequest): Promise<PriceMatrix>    close/open/high/low/volume on the same axis, NaN where missing
 *         (with `toxicThreshold`, both apply the toxic-bar rule of toxic.ts)
 *     lh.readToxicBars({ ...request, toxicThreshold })    the toxic bars inside the window, with what is booked instead
 *     lh.readFunding({ symbols, venue?, start, end })     perpetuals' daily funding rates, when their files have them
 *     lh.entriesRead(): RegistryEntry[]                   what this handle has read so far
 *     lh.dataIdentity(): string                           "sha256:...": the data identity of everything it holds (the
 *                                                         run's data hash; registry.ts dataIdentity says what it covers)
 *     lh.status(): StatusReport                           counts and per-symbol health
 *     lh.verify(): Promise<VerifyReport>                  re-reads every file against its checksum (takes the lock
 *                                                         only to finish an interrupted commit first; read-only
 *                                                         handles never do)
 *
 *   Writing (writable handles; each call is one atomic commit under the lock)
 *     lh.seedSynthetic(opts?: SyntheticOptions & WriteOptions): Promise<WriteReport>
 *     lh.importCsv(path, opts?: CsvImportOptions & WriteOptions): Promise<WriteReport>
 *     lh.ingestCcxt(opts: CcxtOptions & WriteOptions): Promise<IngestReport>
 *     lh.repair(opts?): Promise<RepairReport>             re-fetches DEGRADED or corrupt symbols from their source
 *     lh.declareSymbols(file, { skipUnknown? }): Promise<DeclareReport>   a symbols file: sector, market-cap rank,
 *                                                         lot size, minimum notional, asset type (sources/symbols-file.ts)
 *
 *   Also exported: dataIdentity(entries), combinedDataIdentity(ids), resolveLakehousePath(flag?), the types, and generateSynthetic (pure).
 */
import { join, resolve } from 'node:path';
import type { PriceMatrix, ReturnsMatrix } from '../core/context.js';
import { inputError } from '../core/errors.js';
import { dict } from '../util/keyed.js';
import type { Ohlcv } from './ohlcv.js';
import { Store, decodeOhlcv, encodeOhlcv, needsRecovery, recover, registryStamp, sha256, describeSource, SYMBOLS_FILE, type OpenOptions, type SymbolWrite, type CommitOptions, type RecoveryReport } from './store.js';
import { closesOnlyRanges, closesOnlyWhole, combinedDataIdentity, dataIdentity, entryKey, type DayRange, type Registry, type RegistryEntry, type SourceRef } from './registry.js';
import { readFunding, readReturns, readPrices, readToxicBars, type ReturnsRequest } from './returns.js';
import { returnsPanel, type MarketReader } from './panel.js';
import { isoFromDay } from '../util/dates.js';
import { shellArg } from '../util/shell-arg.js';
import { generateSynthetic, type SyntheticOptions } from './sources/synthetic.js';
import { readCsvSource, type CsvImportOptions } from './sources/csv.js';
import type { CcxtOptions } from './sources/ccxt.js';
import { acquireLock, type LockOptions } from './lock.js';
import { existsSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { FileTooLarge, NotRegularFile, readRegularFile } from '../util/regular-file.js';
import { tableFromIPC } from 'apache-arrow';
import type { HealthOptions } from './health.js';
import { codeOf, messageOf } from '../util/thrown.js';

export type { DayRange, MarketReader, Ohlcv, Registry, RegistryEntry, SourceRef, ReturnsRequest, SyntheticOptions, CsvImportOptions, CcxtOptions, HealthOptions };
export { combinedDataIdentity, dataIdentity, generateSynthetic };

export const DEFAULT_LAKEHOUSE = './lakehouse';

/** --lakehouse flag, else FRACTAL_LAKEHOUSE, else ./lakehouse. */
/** The import that takes a CSV source again into the same venue of the same lakehouse, as a command to run. */
function importCommand(path: string, layout: string | undefined, venue: string, assetType: string, root: string): string {
  return ['pipeline-run lakehouse import', shellArg(path), ...(layout ? ['--layout', layout] : []), '--venue', shellArg(venue), '--asset-type', assetType, '--lakehouse', shellArg(root)].join(' ');
}

export function resolveLakehousePath(flag?: string): string {
  return resolve(flag ?? process.env.FRACTAL_LAKEHOUSE ?? DEFAULT_LAKEHOUSE);
}

export interface SymbolRow {
  symbol: string;
  venue: string;
  exchange: string;
  asset_type: string;
  base: string | null;
  quote: string | null;
  sector: string | null;
  market_cap_rank: number | null;
  volume_24h: number | null;
  /** Trading rules (an exchange's step size and minimum order in the quote currency); null when unknown. */
  lot_size: number | null;
  min_notional: number | null;
  first_date: string;
  last_date: string;
  rows: number;
  source: SourceRef['kind'];
  /** The days whose bars hold a close alone (no open printed: a wide CSV, single prints), inclusive; empty when none. */
  closes_only: DayRange[];
  status: 'STABLE' | 'DEGRADED';
  reasons: string[];
}

export interface WriteOptions {
  /** Overwrite symbols that exist from another source. */
  replace?: boolean;
  lock?: LockOptions;
  health?: Partial<HealthOptions>;
  /** Progress callback (the CLI passes its bar). */
  progress?: (label: string, done: number, total: number) => void;
}

export interface WriteReport {
  /**
   * Each symbol written, and what the write did to it: `new`, `changed` (its bars differ: `rows_before` the rows it
   * had) or `unchanged` (the same bars again).
   */
  written: { key: string; rows: number; first_date: string; last_date: string; status: string; reasons: string[]; change: 'new' | 'changed' | 'unchanged'; rows_before: number | null; closes_only: ClosesOnlyNote | null }[];
}

/**
 * The days a symbol written holds closes alone, and why: `wide_csv` (a wide file holds closes alone), `single_prints`
 * (every bar is open = high = low = close: its opens are copies of its closes, whatever its layout says) or
 * `earlier_bars` (bars stored from closes alone before this write added bars with printed opens).
 */
export interface ClosesOnlyNote {
  days: DayRange[];
  why: 'wide_csv' | 'single_prints' | 'earlier_bars';
}

function closesOnlyNote(e: RegistryEntry): ClosesOnlyNote | null {
  const days = closesOnlyRanges(e);
  if (!days.length) return null;
  if (e.source.kind === 'csv' && e.source.layout === 'wide') return { days, why: 'wide_csv' };
  // A whole series of closes alone from another source is only ever found so (store.ts closesOnlyDays).
  return { days, why: closesOnlyWhole(days, e) ? 'single_prints' : 'earlier_bars' };
}

export interface IngestReport extends WriteReport {
  upToDate: string[];
  requests: number;
}

export interface StatusReport {
  root: string;
  symbols: number;
  stable: number;
  degraded: number;
  venues: Record<string, number>;
  updated_at: string;
  entries: SymbolRow[];
}

export interface DeclareReport {
  file: string;
  /** Symbols-table entries ("venue/symbol") whose fields changed, and those the file left as they were. */
  changed: string[];
  unchanged: string[];
  /** Rows naming a symbol the lakehouse does not hold (skipped with `skipUnknown`, refused otherwise). */
  skipped: { line: number; symbol: string; venue?: string }[];
  /** How many entries each column set. */
  fields: Record<string, number>;
}

export interface VerifyReport {
  ok: boolean;
  checked: number;
  /** `reason` no_permission: the file could not be read for lack of permission (not known to be damaged; repair skips it). */
  problems: { key: string; file: string; problem: string; reason?: 'no_permission' }[];
  /** Files under ohlcv/ that no entry points at (harmless; `repair` removes them). */
  orphans: string[];
  recovered?: RecoveryReport;
}

export interface RepairReport {
  verify: VerifyReport;
  repaired: { key: string; before: string[]; after: string[]; status: string; changed: boolean }[];
  /** Symbols left as they were, and why; `no_permission`: its file cannot be read for lack of permission (fix them, not the file); `source_changed`: the source no longer gives the rows that were imported; `mixed_sources`: an exchange's series over days of closes alone (a wide CSV's), which a re-fetch would drop. */
  skipped: { key: string; why: string; reason?: 'source_changed' | 'source_unreadable' | 'symbol_gone' | 'fetch_failed' | 'mixed_sources' | 'no_permission' }[];
  orphansRemoved: string[];
}

/**
 * Whether a re-read source still gives the rows that were imported: compared row by row with the stored file, or,
 * when that file is damaged, by the checksum the registry kept. Returns what differs, or undefined when nothing does.
 */
async function sourceChange(store: { readEntry(e: RegistryEntry): Promise<Ohlcv> }, e: RegistryEntry, fresh: Ohlcv): Promise<string | undefined> {
  let old: Ohlcv;
  try {
    old = await store.readEntry(e);
  } catch {
    return sha256(encodeOhlcv(fresh)) === e.checksum ? undefined : 'it no longer reproduces the stored file (the checksum differs)';
  }
  const at = new Map<number, number>();
  for (let i = 0; i < old.date.length; i++) at.set(old.date[i], i);
  let changed = 0;
  let added = 0;
  let first: number | undefined;
  const same = (a: number, b: number) => a === b || (Number.isNaN(a) && Number.isNaN(b));
  for (let i = 0; i < fresh.date.length; i++) {
    const j = at.get(fresh.date[i]);
    if (j === undefined) {
      added++;
      first ??= fresh.date[i];
      continue;
    }
    at.delete(fresh.date[i]);
    if (!(['open', 'high', 'low', 'close', 'volume'] as const).every((k) => same(old[k][j], fresh[k][i]))) {
      changed++;
      first = first === undefined ? fresh.date[i] : Math.min(first, fresh.date[i]);
    }
  }
  const removed = at.size;
  for (const d of at.keys()) first = first === undefined ? d : Math.min(first, d);
  if (!changed && !added && !removed) return undefined;
  const parts = [changed ? `${changed} row(s) differ` : '', added ? `${added} row(s) added` : '', removed ? `${removed} row(s) gone` : ''].filter(Boolean);
  return `${parts.join(', ')} (first on ${isoFromDay(first!)})`;
}

function report(entries: RegistryEntry[], before: Map<string, RegistryEntry | undefined>): WriteReport {
  return {
    written: entries.map((e) => {
      const key = entryKey(e.venue, e.symbol);
      const old = before.get(key);
      // The same bytes with other days of closes alone (a store written before they were recorded) is a change too.
      const change = !old ? 'new' : old.checksum === e.checksum && JSON.stringify(closesOnlyRanges(old)) === JSON.stringify(closesOnlyRanges(e)) ? 'unchanged' : 'changed';
      return { key, rows: e.rows, first_date: e.first_date, last_date: e.last_date, status: e.status, reasons: e.reasons, change, rows_before: old ? old.rows : null, closes_only: closesOnlyNote(e) };
    }),
  };
}

const permissionRefused = (err: unknown) => codeOf(err) === 'EACCES' || codeOf(err) === 'EPERM';

/** What verify says about a file it could not read (`bytes`: the size the registry records for it). */
function unreadableProblem(err: unknown, bytes?: number): string {
  if (codeOf(err) === 'ENOENT') return 'file missing';
  if (permissionRefused(err)) return `cannot be read: permission denied (${codeOf(err)}); not known to be damaged: check its permissions`;
  if (err instanceof NotRegularFile) return `${err.kind}, not a file`;
  if (err instanceof FileTooLarge) return bytes === undefined ? `${err.size} bytes, more than it can plausibly hold` : `size mismatch (${err.size} bytes, registry says ${bytes})`;
  // Other failures (a folder in its place on some systems, an I/O error) by their cause.
  return `cannot read: ${codeOf(err) ?? messageOf(err)}`;
}

/** The largest symbols.arrow verify reads for `entries` entries: a few KB a row at most (its texts are bounded). */
const maxSymbolsBytes = (entries: number) => 2 ** 20 + entries * 64 * 1024;

export class Lakehouse {
  private identity: { registry: Registry; id: string } | undefined;

  private constructor(private readonly store: Store) {}

  static async open(path: string, opts: OpenOptions = {}): Promise<Lakehouse> {
    return new Lakehouse(await Store.open(path, opts));
  }

  get root(): string {
    return this.store.root;
  }
  get readOnly(): boolean {
    return this.store.readOnly;
  }

  /** Re-reads the registry (to see commits made by other processes). */
  reload(): Promise<void> {
    return this.store.reload();
  }

  registry(): Registry {
    return this.store.registry();
  }

  symbols(): SymbolRow[] {
    return this.store.entries().map((e) => ({
      symbol: e.symbol, venue: e.venue, exchange: e.exchange, asset_type: e.asset_type, base: e.base, quote: e.quote,
      sector: e.sector, market_cap_rank: e.market_cap_rank, volume_24h: e.volume_24h, lot_size: e.lot_size ?? null,
      min_notional: e.min_notional ?? null, first_date: e.first_date,
      last_date: e.last_date, rows: e.rows, source: e.source.kind, closes_only: closesOnlyRanges(e), status: e.status, reasons: e.reasons,
    }));
  }

  readOhlcv(symbol: string, venue?: string): Promise<Ohlcv> {
    return this.store.readOhlcv(symbol, venue);
  }

  readReturns(req: ReturnsRequest): Promise<ReturnsMatrix> {
    return readReturns(this.store, req);
  }

  /** The dates readReturns gives for the same request. */
  async readDates(req: ReturnsRequest): Promise<Int32Array> {
    return (await readReturns(this.store, req)).dates;
  }

  /** Close, open, high, low and volume on the same axis as readReturns for the same request. */
  readPrices(req: ReturnsRequest): Promise<PriceMatrix> {
    return readPrices(this.store, req);
  }

  /** Perpetuals' daily funding rates (the optional funding column) in [start, end]; undefined when none has one. */
  readFunding(req: { symbols: string[]; venue?: string; start: number; end: number }): Promise<ReturnsMatrix | undefined> {
    return readFunding(this.store, req);
  }

  /** The toxic bars (toxic.ts) of the requested symbols inside the request's window: what readReturns replaces. */
  readToxicBars(req: ReturnsRequest & { toxicThreshold: number }) {
    return readToxicBars(this.store, req);
  }

  /**
   * The same three readers over a returns panel of `symbols` on `venue` (panel.ts): built once, then every request
   * inside it is a slice; undefined when a symbol is not stored there.
   */
  returnsPanel(venue: string, symbols: string[], toxicThreshold: number): Promise<MarketReader | undefined> {
    return returnsPanel(this.store, venue, symbols, toxicThreshold);
  }

  entriesRead(): RegistryEntry[] {
    return this.store.entriesRead();
  }

  /** The data identity of every entry this lakehouse holds (see registry.ts `dataIdentity`). */
  dataIdentity(): string {
    // Asked by every decision of a backtest: computed once per registry version.
    const reg = this.registry();
    if (this.identity?.registry !== reg) this.identity = { registry: reg, id: dataIdentity(Object.values(reg.entries)) };
    return this.identity.id;
  }

  status(): StatusReport {
    const rows = this.symbols();
    // Venue names are the user's (--venue): an object without a prototype counts them.
    const venues = dict<number>();
    for (const r of rows) venues[r.venue] = (venues[r.venue] ?? 0) + 1;
    return {
      root: this.root, symbols: rows.length, stable: rows.filter((r) => r.status === 'STABLE').length,
      degraded: rows.filter((r) => r.status === 'DEGRADED').length, venues, updated_at: this.registry().updated_at, entries: rows,
    };
  }

  /** Files replaced by commits and kept for the runs that started before them (store.ts VERSIONS_DIR). */
  keptVersions(): Promise<{ files: number; bytes: number }> {
    return this.store.keptVersions();
  }

  // ------------------------------------------------------------------------------------------------------ writers

  private async commit(writes: SymbolWrite[], opts: WriteOptions, label: string): Promise<WriteReport> {
    const before = new Map<string, RegistryEntry | undefined>();
    const commitOpts: CommitOptions = {
      replace: opts.replace, lock: opts.lock, health: opts.health,
      onProgress: opts.progress ? (d, t) => opts.progress!(label, d, t) : undefined,
      onWritten: (e, previous) => before.set(entryKey(e.venue, e.symbol), previous),
    };
    return report(await this.store.commit(writes, commitOpts), before);
  }

  async seedSynthetic(opts: SyntheticOptions & WriteOptions = {}): Promise<WriteReport> {
    const { writes } = generateSynthetic(opts);
    return this.commit(writes, opts, 'writing synthetic');
  }

  async importCsv(path: string, opts: CsvImportOptions & WriteOptions = {}): Promise<WriteReport> {
    const writes = await readCsvSource(path, { ...opts, onProgress: opts.progress ? (d, t) => opts.progress!('reading CSV', d, t) : undefined });
    return this.commit(writes, opts, 'writing');
  }

  async ingestCcxt(opts: CcxtOptions & WriteOptions): Promise<IngestReport> {
    if (!opts.exchange) throw inputError('CCXT_EXCHANGE', 'An exchange id is required (--exchange binance, kraken, ...).');
    const { fetchCcxt } = await import('./sources/ccxt.js');
    await this.store.reload();
    const fetched = await fetchCcxt({ ...opts, onProgress: opts.progress }, this.registry());
    // Merged with what is stored under the lock, so a concurrent writer's rows are kept.
    const written = fetched.writes.length ? await this.commit(fetched.writes, opts, 'writing') : { written: [] };
    return { ...written, upToDate: fetched.upToDate, requests: fetched.requests };
  }

  /**
   * Declares symbols-table fields from a symbols file (sources/symbols-file.ts), in one atomic commit under the lock.
   * Rows naming symbols the lakehouse does not hold are refused with file:line (nothing written) unless `skipUnknown`.
   */
  async declareSymbols(path: string, opts: { skipUnknown?: boolean; lock?: LockOptions } = {}): Promise<DeclareReport> {
    const { readSymbolsFile, resolveSymbolsFile } = await import('./sources/symbols-file.js');
    const rows = await readSymbolsFile(path);
    await this.store.reload();
    const { updates, unknown, clashes } = resolveSymbolsFile(path, rows, Object.keys(this.registry().entries));
    if (clashes.length) throw inputError('CSV_INVALID', `Refused ${path}; nothing was written:\n${clashes.slice(0, 20).map((c) => `  ${c}`).join('\n')}`, 'Set each field of a symbol once (a row without a venue sets every venue holding the symbol).');
    if (unknown.length && !opts.skipUnknown) {
      const list = unknown.slice(0, 20).map((r) => `  ${path}:${r.line}: ${r.venue ? `${r.venue}/` : ''}${r.symbol}`);
      throw inputError('SYMBOLS_UNKNOWN', `${unknown.length} row(s) of ${path} name symbols the lakehouse ${this.root} does not hold; nothing was written:\n${list.join('\n')}${unknown.length > 20 ? '\n  …' : ''}`);
    }
    const fields = dict<number>();
    for (const u of updates.values()) for (const f of Object.keys(u)) fields[f] = (fields[f] ?? 0) + 1;
    const done = updates.size ? await this.store.declare(updates, { lock: opts.lock }) : { changed: [], unchanged: [] };
    return { file: path, ...done, skipped: unknown.map((r) => ({ line: r.line, symbol: r.symbol, ...(r.venue ? { venue: r.venue } : {}) })), fields };
  }

  // ---------------------------------------------------------------------------------------------- verify, repair

  async verify(opts: { lock?: LockOptions } = {}): Promise<VerifyReport> {
    let recovered: RecoveryReport | undefined;
    const check = async (): Promise<VerifyReport> => {
      const problems: VerifyReport['problems'] = [];
      const entries = this.store.entries();
      for (const e of entries) {
        const key = entryKey(e.venue, e.symbol);
        const path = join(this.root, e.file);
        let buf: Uint8Array;
        try {
          // Without blocking on a FIFO, and never more than the registry says the file holds (src/util/regular-file.ts).
          buf = await readRegularFile(path, e.bytes);
        } catch (err) {
          problems.push({ key, file: e.file, problem: unreadableProblem(err, e.bytes), ...(permissionRefused(err) ? { reason: 'no_permission' as const } : {}) });
          continue;
        }
        if (buf.byteLength !== e.bytes) {
          problems.push({ key, file: e.file, problem: `size mismatch (${buf.byteLength} bytes, registry says ${e.bytes})` });
          continue;
        }
        const sum = sha256(buf);
        if (sum !== e.checksum) {
          problems.push({ key, file: e.file, problem: `checksum mismatch (${buf.byteLength} bytes, registry says ${e.bytes})` });
          continue;
        }
        try {
          const o = decodeOhlcv(buf, path);
          if (o.date.length !== e.rows) problems.push({ key, file: e.file, problem: `${o.date.length} rows, registry says ${e.rows}` });
        } catch (err) {
          problems.push({ key, file: e.file, problem: messageOf(err) });
        }
      }
      try {
        const t = tableFromIPC(await readRegularFile(join(this.root, SYMBOLS_FILE), maxSymbolsBytes(entries.length)));
        if (t.numRows !== entries.length) problems.push({ key: '-', file: SYMBOLS_FILE, problem: `${t.numRows} rows, registry has ${entries.length} entries` });
      } catch (err) {
        if (entries.length) problems.push({ key: '-', file: SYMBOLS_FILE, problem: `unreadable: ${unreadableProblem(err)}` });
      }
      return { ok: problems.length === 0, checked: entries.length, problems, orphans: await this.store.orphanFiles(), recovered };
    };
    // A writer's folder that no commit has created yet holds nothing to recover: checked without creating it. Nor
    // does a lakehouse without a journal or a writer's temporary files: checked without the lock, so a read-only
    // lakehouse (a read-only mount, a folder another user owns) can be verified.
    if (this.readOnly || !existsSync(this.root) || !(await needsRecovery(this.root))) {
      await this.store.reload();
      const stamp = registryStamp(this.root);
      const rep = await check();
      // A commit during the check (registry.json replaced, or one under way) can make a sound file look changed:
      // such a check is done again under the lock, which waits for the writer.
      if (rep.ok || this.readOnly || (registryStamp(this.root) === stamp && !(await needsRecovery(this.root)))) return rep;
    }
    // Writers: hold the lock so no commit runs mid-check, and finish an interrupted commit first.
    const handle = await acquireLock(this.root, opts.lock);
    try {
      recovered = await recover(this.root);
      await this.store.reload();
      return await check();
    } finally {
      await handle.release();
    }
  }

  /** Re-fetches DEGRADED or corrupt symbols from their source, removes orphan files. */
  async repair(opts: WriteOptions & { fetchImplementation?: CcxtOptions['fetchImplementation']; nowMs?: number; exchangeOptions?: Record<string, unknown> } = {}): Promise<RepairReport> {
    const verify = await this.verify({ lock: opts.lock });
    // A file that cannot be read for lack of permission is not known to be damaged: rewriting it would replace a
    // file that may be sound (and hide the permissions that are wrong).
    const refused = verify.problems.filter((p) => p.reason === 'no_permission');
    const corrupt = new Set(verify.problems.filter((p) => p.reason !== 'no_permission').map((p) => p.key));
    const targets = this.store.entries().filter((e) => !refused.some((p) => p.key === entryKey(e.venue, e.symbol)) && (e.status === 'DEGRADED' || corrupt.has(entryKey(e.venue, e.symbol))));
    const before = new Map(targets.map((e) => [entryKey(e.venue, e.symbol), { reasons: e.reasons, checksum: e.checksum }]));
    const skipped: RepairReport['skipped'] = refused.map((p) => ({ key: p.key, why: `${p.file} ${p.problem}`, reason: 'no_permission' as const }));
    const writes: SymbolWrite[] = [];

    // Synthetic: regenerate each seed once.
    const synth = targets.filter((e) => e.source.kind === 'synthetic');
    const bySeed = new Map<string, RegistryEntry[]>();
    for (const e of synth) {
      const k = JSON.stringify(e.source);
      bySeed.set(k, [...(bySeed.get(k) ?? []), e]);
    }
    for (const [k, list] of bySeed) {
      const src = JSON.parse(k) as Extract<SourceRef, { kind: 'synthetic' }>;
      const keys = new Set(list.map((e) => entryKey(e.venue, e.symbol)));
      writes.push(...generateSynthetic({ seed: src.seed, symbols: src.symbols, days: src.days, end: src.end }).writes.filter((w) => keys.has(entryKey(w.meta.venue, w.meta.symbol))));
    }
    // CSV: re-read the file each symbol came from. A source that changed since the import is not mixed into the
    // store by a repair: the symbol is left as it is and the report says what changed (re-import to take it).
    for (const e of targets.filter((t) => t.source.kind === 'csv')) {
      const src = e.source as Extract<SourceRef, { kind: 'csv' }>;
      const key = entryKey(e.venue, e.symbol);
      try {
        const got = await readCsvSource(src.path, { layout: src.layout, venue: e.venue, assetType: e.asset_type });
        const w = got.find((g) => g.meta.symbol === e.symbol);
        const change = w ? await sourceChange(this.store, e, w.data) : undefined;
        if (!w) skipped.push({ key, why: `${src.path} no longer has ${e.symbol}`, reason: 'symbol_gone' });
        else if (change) skipped.push({ key, why: `the source changed since it was imported: ${change}; nothing was written for it (run \`${importCommand(src.path, src.layout, e.venue, e.asset_type, this.root)}\` to take the new rows)`, reason: 'source_changed' });
        else writes.push({ ...w, meta: { ...w.meta, exchange: e.exchange, sector: e.sector, market_cap_rank: e.market_cap_rank } });
      } catch (err) {
        skipped.push({ key, why: `${describeSource(src)}: ${messageOf(err).split('\n')[0]}`, reason: 'source_unreadable' });
      }
    }
    if (writes.length) await this.commit(writes, { ...opts, replace: false }, 'repairing');
    // ccxt: a full re-fetch of each symbol from its first stored day. Not a series that holds days of closes alone
    // from before the exchange's bars (a wide CSV's): the re-fetch would replace the file with what the exchange
    // has, and those days would go (found by review).
    const mixed = targets.filter((t) => t.source.kind === 'ccxt' && closesOnlyRanges(t).length > 0);
    for (const e of mixed) skipped.push({ key: entryKey(e.venue, e.symbol), why: `it holds days of closes alone (${closesOnlyRanges(e).map((r) => r.join(' to ')).join(', ')}) from before the exchange's bars, which a re-fetch would drop: re-import their CSV with --replace, then ingest again with --replace (which merges the exchange's bars over it)`, reason: 'mixed_sources' });
    const live = targets.filter((t) => t.source.kind === 'ccxt' && closesOnlyRanges(t).length === 0);
    const groups = new Map<string, RegistryEntry[]>();
    for (const e of live) {
      const s = e.source as Extract<SourceRef, { kind: 'ccxt' }>;
      const k = `${s.exchange}|${s.type}|${e.venue}`;
      groups.set(k, [...(groups.get(k) ?? []), e]);
    }
    for (const [k, list] of groups) {
      const [exchange, type, venue] = k.split('|');
      const since = list.map((e) => e.first_date).sort()[0];
      try {
        await this.ingestCcxt({
          ...opts, exchange, type: type as 'spot' | 'swap', venue, since, full: true, quote: list[0].quote ?? undefined,
          symbols: list.map((e) => (e.source as Extract<SourceRef, { kind: 'ccxt' }>).market),
        });
      } catch (err) {
        for (const e of list) skipped.push({ key: entryKey(e.venue, e.symbol), why: messageOf(err).split('\n')[0], reason: 'fetch_failed' });
      }
    }
    // Orphans: files no entry points at (a crash before a commit point, or removed entries).
    const orphansRemoved: string[] = [];
    if (verify.orphans.length) {
      const handle = await acquireLock(this.root, opts.lock);
      try {
        await this.store.reload();
        for (const rel of await this.store.orphanFiles()) {
          await unlink(join(this.root, rel)).catch(() => {});
          orphansRemoved.push(rel);
        }
      } finally {
        await handle.release();
      }
    }
    await this.store.reload();
    const repaired: RepairReport['repaired'] = [];
    for (const [key, b] of before) {
      if (skipped.some((s) => s.key === key)) continue;
      const e = this.registry().entries[key];
      if (!e) continue;
      repaired.push({ key, before: b.reasons, after: e.reasons, status: e.status, changed: e.checksum !== b.checksum });
    }
    return { verify, repaired, skipped, orphansRemoved };
  }
}

export function openLakehouse(path: string = resolveLakehousePath(), opts: OpenOptions = {}): Promise<Lakehouse> {
  return Lakehouse.open(path, opts);
}
