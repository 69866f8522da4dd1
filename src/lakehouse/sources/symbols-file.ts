/**
 * A symbols file: what CSV and exchange imports cannot know about a symbol, declared by the user
 * (`pipeline-run lakehouse symbols FILE.csv`). Columns: `symbol` (required), and any of `venue`, `sector`,
 * `market_cap_rank`, `lot_size`, `min_notional`, `asset_type`. An empty cell says nothing (the stored value stays);
 * a row without a venue applies to every venue that holds the symbol. Numbers follow the one CSV number rule
 * (docs/lakehouse.md, "CSV rules"); every problem is reported with file:line before anything is written.
 */
import { resolve } from 'node:path';
import { inputError } from '../../core/errors.js';
import { nameProblem } from '../store.js';
import type { DeclaredFields } from '../registry.js';
import { lines, parseNumber, Problems, readText, showCell, splitLine } from './csv.js';
import { codeOf } from '../../util/thrown.js';

export const SYMBOLS_FILE_COLUMNS = ['symbol', 'venue', 'sector', 'market_cap_rank', 'lot_size', 'min_notional', 'asset_type'] as const;
const ASSET_TYPES = ['spot', 'perp', 'equity', 'etf'];
/** Longest sector name kept (a label, not a document). */
const MAX_SECTOR = 120;

/** One row of a symbols file: where it is, what it names and the fields it declares. */
export interface SymbolsFileRow {
  line: number;
  symbol: string;
  venue?: string;
  fields: DeclaredFields;
}

/** Reads and checks a symbols file; throws CSV_INVALID listing every problem (file:line) when there is one. */
export async function readSymbolsFile(path: string): Promise<SymbolsFileRow[]> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readText(file);
  } catch (err) {
    if (codeOf(err) === 'ENOENT') throw inputError('CSV_NOT_FOUND', `No such file: ${path}`);
    throw err;
  }
  const ls = lines(path, text);
  const problems = new Problems();
  if (ls.length < 2) problems.add(`${path}:1: no data rows (expected a header such as symbol,sector,market_cap_rank and one row per symbol)`);
  const header = splitLine(ls[0] ?? '').map((h) => h.trim().toLowerCase());
  const col = new Map<string, number>();
  header.forEach((h, i) => {
    if (!(SYMBOLS_FILE_COLUMNS as readonly string[]).includes(h)) problems.add(`${path}:1: column ${i + 1} ${showCell(h)} is not a symbols-table column (columns: ${SYMBOLS_FILE_COLUMNS.join(', ')})`);
    else if (col.has(h)) problems.add(`${path}:1: header clash: column ${i + 1} ${showCell(h)} repeats column ${col.get(h)! + 1}`);
    else col.set(h, i);
  });
  if (ls.length >= 1 && !col.has('symbol')) problems.add(`${path}:1: the header has no \`symbol\` column`);
  if (problems.list.length) refuse(path, problems);

  const rows: SymbolsFileRow[] = [];
  for (let li = 1; li < ls.length && !problems.full; li++) {
    const where = `${path}:${li + 1}`;
    if (ls[li]!.trim() === '') continue;
    const cells = splitLine(ls[li]!).map((c) => c.trim());
    if (cells.length !== header.length) {
      problems.add(`${where}: ${cells.length} fields, the header has ${header.length}`);
      continue;
    }
    const cell = (name: string) => (col.has(name) ? cells[col.get(name)!]! : '');
    const symbol = cell('symbol');
    const badSymbol = symbol === '' ? 'is empty' : nameProblem(symbol);
    if (badSymbol) problems.add(`${where}: symbol ${showCell(symbol)} ${badSymbol}`);
    const venue = cell('venue');
    const badVenue = venue === '' ? undefined : nameProblem(venue);
    if (badVenue) problems.add(`${where}: venue ${showCell(venue)} ${badVenue}`);
    const fields: DeclaredFields = {};
    const sector = cell('sector');
    if (sector !== '') {
      if ([...sector].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)) problems.add(`${where}: sector ${showCell(sector)} holds a control character`);
      else if (sector.length > MAX_SECTOR) problems.add(`${where}: sector ${showCell(sector)} is longer than ${MAX_SECTOR} characters`);
      else fields.sector = sector;
    }
    const rank = cell('market_cap_rank');
    if (rank !== '') {
      const v = parseNumber(rank);
      const why = 'why' in v ? v.why : !Number.isInteger(v.value) || v.value < 1 ? 'not a whole number from 1' : undefined;
      if (why) problems.add(`${where}: bad market_cap_rank ${showCell(rank)}: ${why} (1 is the largest; leave the cell empty when unknown)`);
      else fields.market_cap_rank = (v as { value: number }).value;
    }
    const lot = cell('lot_size');
    if (lot !== '') {
      const v = parseNumber(lot);
      const why = 'why' in v ? v.why : !(v.value > 0) ? 'not positive' : undefined;
      if (why) problems.add(`${where}: bad lot_size ${showCell(lot)}: ${why} (units an order quantity is a multiple of, e.g. 0.00001; leave the cell empty when unknown)`);
      else fields.lot_size = (v as { value: number }).value;
    }
    const minNotional = cell('min_notional');
    if (minNotional !== '') {
      const v = parseNumber(minNotional);
      const why = 'why' in v ? v.why : v.value < 0 ? 'negative' : undefined;
      if (why) problems.add(`${where}: bad min_notional ${showCell(minNotional)}: ${why} (the smallest order in the quote currency, e.g. 5; leave the cell empty when unknown)`);
      else fields.min_notional = (v as { value: number }).value;
    }
    const assetType = cell('asset_type');
    if (assetType !== '') {
      if (!ASSET_TYPES.includes(assetType)) problems.add(`${where}: bad asset_type ${showCell(assetType)} (expected ${ASSET_TYPES.join(', ')})`);
      else fields.asset_type = assetType;
    }
    rows.push({ line: li + 1, symbol, ...(venue ? { venue } : {}), fields });
  }
  if (problems.list.length) refuse(path, problems);
  if (!rows.length) throw inputError('CSV_EMPTY', `${path} lists no symbols.`);
  return rows;
}

function refuse(path: string, problems: Problems): never {
  throw inputError('CSV_INVALID', `Refused ${path}; nothing was written:\n${problems.list.map((p) => `  ${p}`).join('\n')}`, undefined, { details: { problems: problems.list } });
}

/**
 * The registry keys ("venue/symbol") each row sets, against the keys the lakehouse holds: a row without a venue
 * sets every venue holding the symbol. Returns the updates, the rows naming nothing stored, and the fields two rows
 * set on one key (refused: which one wins would be a guess).
 */
export function resolveSymbolsFile(path: string, rows: SymbolsFileRow[], keys: Iterable<string>): { updates: Map<string, DeclaredFields>; unknown: SymbolsFileRow[]; clashes: string[] } {
  const bySymbol = new Map<string, string[]>();
  for (const k of keys) {
    const slash = k.indexOf('/');
    const symbol = k.slice(slash + 1);
    bySymbol.set(symbol, [...(bySymbol.get(symbol) ?? []), k]);
  }
  const updates = new Map<string, DeclaredFields>();
  const setBy = new Map<string, number>(); // "key field" -> line
  const unknown: SymbolsFileRow[] = [];
  const clashes: string[] = [];
  for (const row of rows) {
    const targets = (bySymbol.get(row.symbol) ?? []).filter((k) => row.venue === undefined || k === `${row.venue}/${row.symbol}`);
    if (!targets.length) {
      unknown.push(row);
      continue;
    }
    for (const key of targets) {
      const u = updates.get(key) ?? {};
      for (const [field, value] of Object.entries(row.fields)) {
        const first = setBy.get(`${key} ${field}`);
        if (first !== undefined) clashes.push(`${path}:${row.line}: ${field} of ${key} is also set on line ${first}`);
        else {
          setBy.set(`${key} ${field}`, row.line);
          (u as Record<string, unknown>)[field] = value;
        }
      }
      updates.set(key, u);
    }
  }
  return { updates, unknown, clashes };
}
