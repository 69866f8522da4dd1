/**
 * CSV sources, the files users already have:
 *  - wide: a date column and one column of closes per symbol, empty before a listing (pypfopt's stock_prices.csv);
 *  - ohlcv: one file per symbol, `date,open,high,low,close[,volume][,funding]`, the symbol being the file name
 *    (BTCUSDT.csv); `funding` is a perpetual's funding rate for the day (a fraction of notional, long pays when positive).
 * Everything is parsed and checked before anything is written; a bad number or date, unsorted or duplicate dates, or
 * a header clash is refused with file:line. `.csv.gz` files are read too.
 *
 * One rule for every number (docs/lakehouse.md, "CSV rules"): an empty cell is missing (a wide file's price before
 * a listing, an unknown volume); anything else must be a plain decimal (`12`, `-0.5`, `1.2e-3`) that is finite in
 * double precision, a price above zero and a volume at least zero. `NaN`, `NA`, `null`, `-`, `inf` and overflowing
 * values such as `1e400` are refused with file:line, so no non-finite value reaches the store. A file is read only
 * when it is a regular file of at most MAX_CSV_BYTES (uncompressed) with lines of at most MAX_LINE_BYTES.
 */
import { readdir, stat } from 'node:fs/promises';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { basename, join, resolve } from 'node:path';
import { inputError } from '../../core/errors.js';
import { isoFromDay, parseIsoDay, weekday } from '../../util/dates.js';
import type { Ohlcv } from '../ohlcv.js';
import { nameProblem, type SymbolWrite } from '../store.js';
import type { SymbolMeta } from '../registry.js';
import { codeOf } from '../../util/thrown.js';
import { FileTooLarge, NotRegularFile, readRegularFile } from '../../util/regular-file.js';

export type CsvLayout = 'wide' | 'ohlcv';

export interface CsvImportOptions {
  layout?: CsvLayout;
  /** Venue name the symbols are stored under (default "csv"). */
  venue?: string;
  /** spot, perp, equity or etf; inferred when absent (weekend dates mean crypto, i.e. spot). */
  assetType?: string;
  onProgress?: (done: number, total: number) => void;
}

export const DEFAULT_CSV_VENUE = 'csv';
const DATE_HEADERS = new Set(['date', 'timestamp', 'time', 'datetime', 'day', '']);
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const QUOTES = ['USDT', 'USDC', 'FDUSD', 'BUSD', 'TUSD', 'USD', 'EUR', 'BTC', 'ETH', 'BNB'];
const MAX_ERRORS = 20;
/** The largest CSV file read (uncompressed): 1 GiB, about 20 million rows of OHLCV. */
export const MAX_CSV_BYTES = 1 << 30;
/** The longest line: 1 MiB, a wide file of some 50,000 symbols. */
export const MAX_LINE_BYTES = 1 << 20;
/** How much of an offending cell a message shows. */
const CELL_SHOWN = 40;
const gunzipAsync = promisify(gunzip);

/** A cell as a message shows it: quoted, cut, control characters made visible. */
export function showCell(cell: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  const clean = cell.replace(/[\u0000-\u001f\u007f]/g, '?');
  return JSON.stringify(clean.length > CELL_SHOWN ? `${clean.slice(0, CELL_SHOWN)}…` : clean);
}

export class Problems {
  list: string[] = [];
  add(msg: string): void {
    if (this.list.length < MAX_ERRORS) this.list.push(msg);
    else if (this.list.length === MAX_ERRORS) this.list.push('… (more problems not shown)');
  }
  get full(): boolean {
    return this.list.length > MAX_ERRORS;
  }
}

/** Splits one CSV line; supports double-quoted fields with "" escapes. */
export function splitLine(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (q) {
      if (ch === '"' && line[i + 1] === '"') { cur += '"'; i++; }
      else if (ch === '"') q = false;
      else cur += ch;
    } else if (ch === '"') q = true;
    else if (ch === ',') { out.push(cur); cur = ''; }
    else cur += ch;
  }
  out.push(cur);
  return out;
}

/**
 * The file's text, or a coded error: not a regular file (a device such as /dev/zero, a pipe), larger than
 * MAX_CSV_BYTES (compressed or not), a damaged or truncated .gz. Never reads more than the limit.
 */
export async function readText(path: string): Promise<string> {
  let buf: Buffer;
  try {
    buf = await readRegularFile(path, MAX_CSV_BYTES);
  } catch (err) {
    if (err instanceof NotRegularFile) throw inputError('CSV_TOO_LARGE', `${path} is not a regular file (a device, a pipe or a socket); it is not read`);
    if (err instanceof FileTooLarge) throw inputError('CSV_TOO_LARGE', `${path} is ${err.size} bytes, above the ${MAX_CSV_BYTES}-byte limit`);
    throw err;
  }
  if (path.endsWith('.gz')) {
    try {
      buf = await gunzipAsync(buf, { maxOutputLength: MAX_CSV_BYTES });
    } catch (err) {
      const code = codeOf(err);
      if (code === 'ERR_BUFFER_TOO_LARGE') throw inputError('CSV_TOO_LARGE', `${path} decompresses to more than the ${MAX_CSV_BYTES}-byte limit`);
      const why = code === 'Z_BUF_ERROR' ? 'it is truncated (unexpected end of the compressed data)' : code === 'Z_DATA_ERROR' ? 'the compressed data is damaged (or it is not gzip)' : 'it cannot be decompressed';
      throw inputError('CSV_INVALID', `Refused ${path}; nothing was written:\n  ${path}: not a readable .gz file: ${why}`, 'Fetch or compress the file again.');
    }
  }
  const text = buf.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

export function lines(file: string, text: string): string[] {
  const ls = text.split(/\r?\n/);
  while (ls.length && ls[ls.length - 1].trim() === '') ls.pop();
  const long = ls.findIndex((l) => l.length > MAX_LINE_BYTES);
  if (long >= 0) throw inputError('CSV_INVALID', `Refused ${file}; nothing was written:\n  ${file}:${long + 1}: the line is longer than ${MAX_LINE_BYTES} characters`, 'Is this a CSV file? A wide file holds one column per symbol: split very wide files.');
  return ls;
}

/** The number rule (see the file comment): a number, or why the cell is not one. */
export function parseNumber(cell: string): { value: number } | { why: string } {
  const s = cell.trim();
  if (!NUMBER.test(s)) return { why: 'not a number' };
  const v = Number(s);
  if (!Number.isFinite(v)) return { why: 'out of range (overflows double precision)' };
  return { value: v };
}

const MISSING_HINT = 'leave the cell empty for a missing value';

export function splitBaseQuote(symbol: string): { base: string | null; quote: string | null } {
  for (const q of QUOTES) if (symbol.length > q.length && symbol.endsWith(q)) return { base: symbol.slice(0, -q.length), quote: q };
  return { base: symbol, quote: null };
}

/** Crypto trades on weekends; equity files have (almost) none. */
export function inferAssetType(dates: ArrayLike<number>): 'spot' | 'equity' {
  let weekend = 0;
  for (let i = 0; i < dates.length; i++) { const w = weekday(dates[i]); if (w === 0 || w === 6) weekend++; }
  return dates.length > 0 && weekend / dates.length > 0.1 ? 'spot' : 'equity';
}

/** Checks a date cell and the ordering against the previous row. */
function checkDate(where: string, cell: string, prev: number | undefined, problems: Problems): number | undefined {
  const d = parseIsoDay(cell);
  if (d === undefined) {
    problems.add(`${where}: bad date ${showCell(cell)} (expected YYYY-MM-DD)`);
    return undefined;
  }
  if (prev !== undefined && d === prev) problems.add(`${where}: duplicate date ${isoFromDay(d)}`);
  else if (prev !== undefined && d < prev) problems.add(`${where}: date ${isoFromDay(d)} is before the previous row's ${isoFromDay(prev)} (dates must ascend)`);
  return d;
}

/** A symbol becomes a file name in the lakehouse: SYMBOL_NAME_RULE (store.ts) says what is allowed. */
function symbolNameProblem(s: string): string | undefined {
  return nameProblem(s);
}

/** The columns that make a file OHLCV (detectLayout), and that a wide file cannot hold as symbols all at once. */
const OHLC_HEADERS = ['open', 'high', 'low', 'close'];

/** A wide file of closes: returns one series per column (rows where the cell is empty are absent). */
export function parseWide(file: string, text: string, problems: Problems): { symbol: string; data: Ohlcv }[] {
  const ls = lines(file, text);
  if (ls.length < 2) {
    problems.add(`${file}:1: no data rows`);
    return [];
  }
  const header = splitLine(ls[0]).map((h) => h.trim());
  if (!DATE_HEADERS.has(header[0].toLowerCase())) problems.add(`${file}:1: the first column must be the date (named date), found ${showCell(header[0])}`);
  const symbols = header.slice(1);
  // An OHLCV file read as wide would store symbols named open, high, low, close: say which layout it is instead.
  if (OHLC_HEADERS.every((h) => symbols.some((x) => x.toLowerCase() === h))) problems.add(`${file}:1: the header has open, high, low and close columns: this is an OHLCV file of one symbol (--layout ohlcv), not a wide file of closes`);
  const seen = new Map<string, number>();
  symbols.forEach((s, i) => {
    const bad = symbolNameProblem(s);
    if (bad) problems.add(`${file}:1: column ${i + 2} ${showCell(s)} ${bad}`);
    const key = s.toUpperCase();
    if (seen.has(key)) problems.add(`${file}:1: header clash: column ${i + 2} ${showCell(s)} repeats column ${seen.get(key)! + 2}`);
    else seen.set(key, i);
  });
  const m = symbols.length;
  const cols: { d: number[]; c: number[] }[] = symbols.map(() => ({ d: [], c: [] }));
  let prev: number | undefined;
  for (let li = 1; li < ls.length && !problems.full; li++) {
    const where = `${file}:${li + 1}`;
    const cells = splitLine(ls[li]);
    if (cells.length !== m + 1) {
      problems.add(`${where}: ${cells.length} fields, the header has ${m + 1}`);
      continue;
    }
    const d = checkDate(where, cells[0], prev, problems);
    if (d === undefined) continue;
    prev = d;
    for (let j = 0; j < m; j++) {
      const cell = cells[j + 1].trim();
      if (cell === '') continue; // missing: the one way to say it
      const v = parseNumber(cell);
      if ('why' in v) problems.add(`${where}: ${symbols[j]}: bad price ${showCell(cell)}: ${v.why} (expected a positive number; ${MISSING_HINT})`);
      else if (!(v.value > 0)) problems.add(`${where}: ${symbols[j]}: bad price ${showCell(cell)}: not positive (expected a positive number; ${MISSING_HINT})`);
      else { cols[j].d.push(d); cols[j].c.push(v.value); }
    }
  }
  return symbols.map((symbol, j) => {
    const c = Float64Array.from(cols[j].c);
    // Separate buffers per column: the Arrow writer must not see one buffer shared by four columns.
    return { symbol, data: { date: Int32Array.from(cols[j].d), open: c.slice(), high: c.slice(), low: c.slice(), close: c, volume: new Float64Array(c.length).fill(NaN) } };
  });
}

/** One symbol's OHLCV file. */
export function parseOhlcv(file: string, text: string, problems: Problems): Ohlcv | undefined {
  const ls = lines(file, text);
  if (ls.length < 2) {
    problems.add(`${file}:1: no data rows`);
    return undefined;
  }
  const header = splitLine(ls[0]).map((h) => h.trim().toLowerCase());
  const idx = (names: string[]) => header.findIndex((h) => names.includes(h));
  const col = { date: idx(['date', 'timestamp', 'time', 'datetime']), open: idx(['open']), high: idx(['high']), low: idx(['low']), close: idx(['close']), volume: idx(['volume']), funding: idx(['funding', 'funding_rate']) };
  const missing = (['date', 'open', 'high', 'low', 'close'] as const).filter((k) => col[k] < 0);
  if (missing.length) {
    problems.add(`${file}:1: header lacks ${missing.join(', ')} (expected date,open,high,low,close,volume)`);
    return undefined;
  }
  const dupes = header.filter((h, i) => h !== '' && header.indexOf(h) !== i);
  if (dupes.length) problems.add(`${file}:1: header clash: ${[...new Set(dupes)].map(showCell).join(', ')} repeated`);
  const n = ls.length - 1;
  const o: Required<Ohlcv> = { date: new Int32Array(n), open: new Float64Array(n), high: new Float64Array(n), low: new Float64Array(n), close: new Float64Array(n), volume: new Float64Array(n), funding: new Float64Array(col.funding >= 0 ? n : 0) };
  let prev: number | undefined;
  let k = 0;
  for (let li = 1; li < ls.length && !problems.full; li++) {
    const where = `${file}:${li + 1}`;
    const cells = splitLine(ls[li]);
    if (cells.length !== header.length) {
      problems.add(`${where}: ${cells.length} fields, the header has ${header.length}`);
      continue;
    }
    const d = checkDate(where, cells[col.date], prev, problems);
    if (d === undefined) continue;
    prev = d;
    let ok = true;
    for (const name of ['open', 'high', 'low', 'close'] as const) {
      const cell = cells[col[name]];
      const v = parseNumber(cell);
      const why = 'why' in v ? v.why : !(v.value > 0) ? 'not positive' : undefined;
      if (why !== undefined) { problems.add(`${where}: bad ${name} ${showCell(cell)}: ${why} (expected a positive number)`); ok = false; }
      else o[name][k] = (v as { value: number }).value;
    }
    let vol = NaN;
    if (col.volume >= 0 && cells[col.volume].trim() !== '') {
      const cell = cells[col.volume];
      const v = parseNumber(cell);
      const why = 'why' in v ? v.why : v.value < 0 ? 'negative' : undefined;
      if (why !== undefined) { problems.add(`${where}: bad volume ${showCell(cell)}: ${why} (expected a number >= 0; ${MISSING_HINT})`); ok = false; }
      else vol = (v as { value: number }).value;
    }
    o.volume[k] = vol;
    if (col.funding >= 0) {
      const cell = cells[col.funding].trim();
      // The same number rule: empty is unknown; otherwise a finite decimal, here a daily rate below 100%.
      const v = cell === '' ? { value: NaN } : parseNumber(cell);
      const why = 'why' in v ? v.why : Math.abs(v.value) >= 1 ? 'not a daily rate' : undefined;
      if (why !== undefined) { problems.add(`${where}: bad funding ${showCell(cell)}: ${why} (expected the day's rate as a fraction, e.g. 0.0003; ${MISSING_HINT})`); ok = false; }
      else o.funding[k] = (v as { value: number }).value;
    }
    o.date[k] = d;
    if (ok) k++;
  }
  return { date: o.date.slice(0, k), open: o.open.slice(0, k), high: o.high.slice(0, k), low: o.low.slice(0, k), close: o.close.slice(0, k), volume: o.volume.slice(0, k), ...(col.funding >= 0 ? { funding: o.funding.slice(0, k) } : {}) };
}

const isCsv = (name: string) => /\.csv(\.gz)?$/i.test(name);
const stripExt = (name: string) => name.replace(/\.csv(\.gz)?$/i, '');

/** The names a per-symbol file's columns after the date may have (parseOhlcv). */
const OHLCV_FIELDS = new Set([...OHLC_HEADERS, 'volume', 'funding', 'funding_rate']);

/**
 * The layout a header says (docs/lakehouse.md, "Sources"): one symbol's OHLCV file when it names two or more of open,
 * high, low and close, or when every column after the first (the date) is an OHLCV field name; else a wide file of
 * closes. So a per-symbol file that lacks a column (`date,open,high,low`) is refused for what it lacks (parseOhlcv)
 * rather than stored as symbols named open, high and low; a wide file whose symbols are named like those fields
 * (a lone LOW, or both OPEN and LOW) is imported with --layout wide.
 */
export function layoutOfHeader(header: string[]): { layout: CsvLayout; complete: boolean } {
  const names = header.map((h) => h.trim().toLowerCase());
  const ohlc = OHLC_HEADERS.filter((h) => names.includes(h)).length;
  const fieldsOnly = names.length > 1 && names.slice(1).every((h) => OHLCV_FIELDS.has(h));
  return { layout: ohlc >= 2 || fieldsOnly ? 'ohlcv' : 'wide', complete: ohlc === OHLC_HEADERS.length };
}

async function detectLayout(file: string): Promise<{ layout: CsvLayout; complete: boolean }> {
  const first = (await readText(file)).slice(0, 4096).split(/\r?\n/)[0] ?? '';
  return layoutOfHeader(splitLine(first));
}

/** Reads and checks a file or a folder of files; throws one input error listing every problem (file:line). */
export async function readCsvSource(path: string, opts: CsvImportOptions = {}): Promise<SymbolWrite[]> {
  // The options first: a bad one is refused before any file is read.
  if (opts.layout !== undefined && opts.layout !== 'wide' && opts.layout !== 'ohlcv') throw inputError('CSV_LAYOUT', `--layout must be wide or ohlcv, got "${String(opts.layout)}".`);
  if (opts.assetType && !['spot', 'perp', 'equity', 'etf'].includes(opts.assetType)) {
    throw inputError('CSV_ASSET_TYPE', `--asset-type must be spot, perp, equity or etf, got "${opts.assetType}".`);
  }
  const abs = resolve(path);
  let st;
  try {
    st = await stat(abs);
  } catch {
    throw inputError('CSV_NOT_FOUND', `No such file or folder: ${path}`);
  }
  if (!st.isDirectory() && !st.isFile()) throw inputError('CSV_TOO_LARGE', `${path} is not a regular file (a device, a pipe or a socket); it is not read`);
  const files = st.isDirectory() ? (await readdir(abs)).filter(isCsv).sort().map((f) => join(abs, f)) : [abs];
  if (files.length === 0) throw inputError('CSV_EMPTY', `${path} holds no .csv files.`);
  const detected = opts.layout === undefined ? await detectLayout(files[0]) : undefined;
  const layout = opts.layout ?? detected!.layout;
  const venue = opts.venue ?? DEFAULT_CSV_VENUE;

  const problems = new Problems();
  const series: { symbol: string; data: Ohlcv; file: string }[] = [];
  const owner = new Map<string, string>();
  let done = 0;
  for (const file of files) {
    const text = await readText(file);
    const got = layout === 'wide'
      ? parseWide(file, text, problems).map((s) => ({ ...s, file }))
      : [{ symbol: stripExt(basename(file)), data: parseOhlcv(file, text, problems), file }];
    for (const s of got) {
      if (!s.data) continue;
      const badName = layout === 'ohlcv' ? symbolNameProblem(s.symbol) : undefined;
      if (badName) problems.add(`${file}: the file name gives symbol ${showCell(s.symbol)}, which ${badName.replace(/^is /, 'is ')}`);
      const key = s.symbol.toUpperCase();
      if (owner.has(key)) problems.add(`${file}:1: symbol ${s.symbol} clashes with the one in ${owner.get(key)}`);
      owner.set(key, file);
      series.push(s as { symbol: string; data: Ohlcv; file: string });
    }
    opts.onProgress?.(++done, files.length);
  }
  if (problems.list.length) {
    // Taken for an OHLCV file by its header's field names alone: its columns might be a wide file's symbols.
    const hint = detected?.layout === 'ohlcv' && !detected.complete ? `${files[0]}'s header names OHLCV fields, so it was read as one symbol's OHLCV file (date,open,high,low,close[,volume]); if its columns are the symbols of a wide file of closes, import it with --layout wide.` : undefined;
    throw inputError('CSV_INVALID', `Refused ${path}; nothing was written:\n${problems.list.map((p) => `  ${p}`).join('\n')}`, hint, { details: { problems: problems.list } });
  }
  const withRows = series.filter((s) => s.data.date.length > 0);
  if (withRows.length === 0) throw inputError('CSV_EMPTY', `${path} has no prices.`);
  // One asset type for the whole import: infer it from all dates together.
  const allDates = withRows.flatMap((s) => Array.from(s.data.date.subarray(0, 400)));
  const assetType = opts.assetType ?? inferAssetType(allDates);
  const crypto = assetType === 'spot' || assetType === 'perp';
  return withRows.map((s) => {
    const n = s.data.date.length;
    const { base, quote } = crypto ? splitBaseQuote(s.symbol) : { base: s.symbol, quote: null };
    const lastVol = s.data.volume[n - 1] * s.data.close[n - 1];
    const meta: SymbolMeta = {
      symbol: s.symbol, venue, exchange: venue, asset_type: assetType, base, quote,
      sector: null, market_cap_rank: null, volume_24h: Number.isFinite(lastVol) ? lastVol : null,
    };
    return { meta, data: s.data, source: { kind: 'csv' as const, path: s.file, layout } };
  });
}

