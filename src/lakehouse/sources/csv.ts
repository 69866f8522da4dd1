/**
 * CSV sources, the files users already have:
 *  - wide: a date column and one column of closes per symbol, empty before a listing (pypfopt's stock_prices.csv);
 *  - ohlcv: one file per symbol, `date,open,high,low,close[,volume][,funding]`, the symbol being the file name
 *    (BTCUSDT.csv); `funding` is a perpetual's funding rate for the day (a fraction of notional, long pays when positive).
 * Everything is parsed and checked before anything is written; a bad number or date, unsorted or duplicate dates, or
 * a header clash is refused with file:line. `.csv.gz` files are read too.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { basename, join, resolve } from 'node:path';
import { inputError } from '../../core/errors.js';
import { isoFromDay, parseIsoDay, weekday } from '../dates.js';
import type { Ohlcv, SymbolWrite } from '../store.js';
import type { SymbolMeta } from '../registry.js';

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

class Problems {
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
function splitLine(line: string): string[] {
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

async function readText(path: string): Promise<string> {
  const buf = await readFile(path);
  const text = path.endsWith('.gz') ? gunzipSync(buf).toString('utf8') : buf.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function lines(text: string): string[] {
  const ls = text.split(/\r?\n/);
  while (ls.length && ls[ls.length - 1].trim() === '') ls.pop();
  return ls;
}

function parseNumber(cell: string): number | undefined {
  const s = cell.trim();
  return NUMBER.test(s) ? Number(s) : undefined;
}

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
    problems.add(`${where}: bad date "${cell}" (expected YYYY-MM-DD)`);
    return undefined;
  }
  if (prev !== undefined && d === prev) problems.add(`${where}: duplicate date ${isoFromDay(d)}`);
  else if (prev !== undefined && d < prev) problems.add(`${where}: date ${isoFromDay(d)} is before the previous row's ${isoFromDay(prev)} (dates must ascend)`);
  return d;
}

const SYMBOL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A wide file of closes: returns one series per column (rows where the cell is empty are absent). */
export function parseWide(file: string, text: string, problems: Problems): { symbol: string; data: Ohlcv }[] {
  const ls = lines(text);
  if (ls.length < 2) {
    problems.add(`${file}:1: no data rows`);
    return [];
  }
  const header = splitLine(ls[0]).map((h) => h.trim());
  if (!DATE_HEADERS.has(header[0].toLowerCase())) problems.add(`${file}:1: the first column must be the date (named date), found "${header[0]}"`);
  const symbols = header.slice(1);
  const seen = new Map<string, number>();
  symbols.forEach((s, i) => {
    if (!SYMBOL_NAME.test(s)) problems.add(`${file}:1: column ${i + 2} "${s}" is not a usable symbol name (letters, digits, . _ -)`);
    const key = s.toUpperCase();
    if (seen.has(key)) problems.add(`${file}:1: header clash: column ${i + 2} "${s}" repeats column ${seen.get(key)! + 2}`);
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
      if (cell === '' || cell === 'NaN' || cell === 'nan') continue;
      const v = parseNumber(cell);
      if (v === undefined || !(v > 0)) problems.add(`${where}: ${symbols[j]}: bad price "${cell}" (expected a positive number or an empty cell)`);
      else { cols[j].d.push(d); cols[j].c.push(v); }
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
  const ls = lines(text);
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
  if (dupes.length) problems.add(`${file}:1: header clash: ${[...new Set(dupes)].join(', ')} repeated`);
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
      const v = parseNumber(cells[col[name]]);
      if (v === undefined || !(v > 0)) { problems.add(`${where}: bad ${name} "${cells[col[name]]}" (expected a positive number)`); ok = false; }
      else o[name][k] = v;
    }
    let vol = NaN;
    if (col.volume >= 0 && cells[col.volume].trim() !== '') {
      const v = parseNumber(cells[col.volume]);
      if (v === undefined || v < 0) { problems.add(`${where}: bad volume "${cells[col.volume]}"`); ok = false; }
      else vol = v;
    }
    o.volume[k] = vol;
    if (col.funding >= 0) {
      const cell = cells[col.funding].trim();
      const f = cell === '' ? NaN : parseNumber(cell);
      if (f === undefined || Math.abs(f) >= 1) { problems.add(`${where}: bad funding "${cells[col.funding]}" (expected the day's rate as a fraction, e.g. 0.0003)`); ok = false; }
      else o.funding[k] = f;
    }
    o.date[k] = d;
    if (ok) k++;
  }
  return { date: o.date.slice(0, k), open: o.open.slice(0, k), high: o.high.slice(0, k), low: o.low.slice(0, k), close: o.close.slice(0, k), volume: o.volume.slice(0, k), ...(col.funding >= 0 ? { funding: o.funding.slice(0, k) } : {}) };
}

const isCsv = (name: string) => /\.csv(\.gz)?$/i.test(name);
const stripExt = (name: string) => name.replace(/\.csv(\.gz)?$/i, '');

async function detectLayout(file: string): Promise<CsvLayout> {
  const first = lines((await readText(file)).slice(0, 4096))[0] ?? '';
  const header = splitLine(first).map((h) => h.trim().toLowerCase());
  return ['open', 'high', 'low', 'close'].every((h) => header.includes(h)) ? 'ohlcv' : 'wide';
}

/** Reads and checks a file or a folder of files; throws one input error listing every problem (file:line). */
export async function readCsvSource(path: string, opts: CsvImportOptions = {}): Promise<SymbolWrite[]> {
  const abs = resolve(path);
  let st;
  try {
    st = await stat(abs);
  } catch {
    throw inputError('CSV_NOT_FOUND', `No such file or folder: ${path}`);
  }
  const files = st.isDirectory() ? (await readdir(abs)).filter(isCsv).sort().map((f) => join(abs, f)) : [abs];
  if (files.length === 0) throw inputError('CSV_EMPTY', `${path} holds no .csv files.`);
  const layout = opts.layout ?? (await detectLayout(files[0]));
  if (layout !== 'wide' && layout !== 'ohlcv') throw inputError('CSV_LAYOUT', `--layout must be wide or ohlcv, got "${layout}".`);
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
      if (layout === 'ohlcv' && !SYMBOL_NAME.test(s.symbol)) problems.add(`${file}: file name gives symbol "${s.symbol}", not a usable symbol name`);
      const key = s.symbol.toUpperCase();
      if (owner.has(key)) problems.add(`${file}:1: symbol ${s.symbol} clashes with the one in ${owner.get(key)}`);
      owner.set(key, file);
      series.push(s as { symbol: string; data: Ohlcv; file: string });
    }
    opts.onProgress?.(++done, files.length);
  }
  if (problems.list.length) {
    throw inputError('CSV_INVALID', `Refused ${path}; nothing was written:\n${problems.list.map((p) => `  ${p}`).join('\n')}`, undefined, { details: { problems: problems.list } });
  }
  const withRows = series.filter((s) => s.data.date.length > 0);
  if (withRows.length === 0) throw inputError('CSV_EMPTY', `${path} has no prices.`);
  if (opts.assetType && !['spot', 'perp', 'equity', 'etf'].includes(opts.assetType)) {
    throw inputError('CSV_ASSET_TYPE', `--asset-type must be spot, perp, equity or etf, got "${opts.assetType}".`);
  }
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

export type { Problems };
