/**
 * Located diagnostics: every problem found in a pipeline file carries file, line and column (1-based, of the
 * offending node), a stable code, a message and a hint. All codes live in this one table (Rollup's model), so they
 * stay stable and documented; `docs/diagnostics.md` lists them.
 */
import { byCodeUnit } from '../util/order.js';

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  file: string;
  line: number;
  column: number;
  /** End of the offending node when known (same line), for the caret line. */
  endColumn?: number;
  severity: Severity;
  code: DiagnosticCode;
  message: string;
  hint?: string;
  /** The validation layer that found it. */
  layer: Layer;
}

export type Layer = 'file' | 'syntax' | 'schema' | 'plugins' | 'graph' | 'references';

export const CODES = {
  // file: the bytes cannot be read as a document at all
  FILE_NOT_FOUND: 'file',
  FILE_OUTSIDE_REPO: 'file',
  FILE_UNREADABLE: 'file',
  FILE_EMPTY: 'file',
  FILE_BINARY: 'file',
  // syntax: YAML/JSON
  SYNTAX_ERROR: 'syntax',
  SYNTAX_DUPLICATE_KEY: 'syntax',
  SYNTAX_ALIAS_LIMIT: 'syntax',
  SYNTAX_MULTIPLE_DOCUMENTS: 'syntax',
  // schema: the document's own structure
  SCHEMA_NOT_A_MAPPING: 'schema',
  SCHEMA_UNKNOWN_DOCUMENT_KIND: 'schema',
  SCHEMA_DOCUMENT_KIND_NOT_AVAILABLE: 'schema',
  SCHEMA_VERSION_UNSUPPORTED: 'schema',
  SCHEMA_MISSING_KEY: 'schema',
  SCHEMA_UNKNOWN_KEY: 'schema',
  SCHEMA_WRONG_TYPE: 'schema',
  SCHEMA_BAD_VALUE: 'schema',
  SCHEMA_INVALID: 'schema',
  SCHEMA_MATRIX_TOO_LARGE: 'schema',
  SCHEMA_MATRIX_EMPTY: 'schema',
  // plugins: names and each plugin's params
  PLUGIN_UNKNOWN: 'plugins',
  PLUGIN_DEPRECATED_NAME: 'plugins',
  PLUGIN_WRONG_DOCUMENT: 'plugins',
  PARAM_UNKNOWN_KEY: 'plugins',
  PARAM_MISSING: 'plugins',
  PARAM_WRONG_TYPE: 'plugins',
  PARAM_OUT_OF_RANGE: 'plugins',
  PARAM_BAD_VALUE: 'plugins',
  PARAM_INVALID: 'plugins',
  // graph: what stages require and provide
  GRAPH_MISSING_INPUT: 'graph',
  GRAPH_WINNERS_UNUSED: 'graph',
  GRAPH_WINDOW_SHORTER_THAN_LOOKBACK: 'graph',
  GRAPH_DUPLICATE_STAGE: 'graph',
  // references: other files
  REF_EXTENDS_NOT_FOUND: 'references',
  REF_EXTENDS_CYCLE: 'references',
  REF_EXTENDS_OUTSIDE_REPO: 'references',
  REF_PROFILE_NOT_FOUND: 'references',
  REF_PROFILE_UNKNOWN_STAGE: 'references',
  REF_PROFILE_OUTSIDE_REPO: 'references',
  REF_SET_INVALID: 'references',
  REF_SET_UNKNOWN_PATH: 'references',
  REF_PLUGIN_MODULE_NOT_FOUND: 'references',
  REF_PLUGIN_MODULE_OUTSIDE_REPO: 'references',
  REF_PLUGIN_MODULE_INVALID: 'references',
  REF_PATH_NOT_FOUND: 'references',
  REF_PATH_OUTSIDE_ROOTS: 'references',
  REF_SLEEVE_INVALID: 'references',
  REF_SLEEVE_NOT_FOUND: 'references',
  REF_SLEEVE_OUTSIDE_REPO: 'references',
  REF_SLEEVE_DUPLICATE: 'references',
  REF_SLEEVE_NO_BACKTEST: 'references',
  REF_META_CYCLE: 'references',
  REF_TOURNAMENT_BASE_INVALID: 'references',
  REF_TOURNAMENT_BASE_OUTSIDE_REPO: 'references',
  REF_MATRIX_UNKNOWN_PATH: 'references',
  REF_MATRIX_EXCLUDE_UNMATCHED: 'references',
  REF_MATRIX_DUPLICATE_CELL: 'references',
  REF_CELL_ID_INVALID: 'references',
  REF_CHAMPION_UNKNOWN: 'references',
} as const satisfies Record<string, Layer>;

export type DiagnosticCode = keyof typeof CODES;

export const layerOf = (code: DiagnosticCode): Layer => CODES[code];

/** Where a diagnostic points. */
export interface Location {
  file: string;
  line: number;
  column: number;
  endColumn?: number;
}

export function diag(
  code: DiagnosticCode,
  at: Location,
  message: string,
  hint?: string,
  severity: Severity = 'error',
): Diagnostic {
  return { ...at, severity, code, message, hint, layer: layerOf(code) };
}

/**
 * Where a file names another that has errors of its own (a meta's sleeve, a tournament's base): those errors are
 * located in that other file, so the naming file gets one error where it names it, and its own report says why it
 * is invalid. Undefined when the named file has no errors outside the naming file.
 */
export function namedFileInvalid(code: DiagnosticCode, at: Location, what: string, named: readonly Diagnostic[], hint: string): Diagnostic | undefined {
  const errors = named.filter((d) => d.severity === 'error' && d.file !== at.file).length;
  return errors ? diag(code, at, `${what} is not a valid pipeline (${errors} error${errors === 1 ? '' : 's'} in that file)`, hint) : undefined;
}

const LAYER_ORDER: Layer[] = ['file', 'syntax', 'schema', 'plugins', 'graph', 'references'];

/** Stable order: by file, then position, then layer, then code. */
export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return [...ds].sort(
    (a, b) =>
      byCodeUnit(a.file, b.file) ||
      a.line - b.line ||
      a.column - b.column ||
      LAYER_ORDER.indexOf(a.layer) - LAYER_ORDER.indexOf(b.layer) ||
      byCodeUnit(a.code, b.code) ||
      byCodeUnit(a.message, b.message),
  );
}

export const hasErrors = (ds: Diagnostic[]) => ds.some((d) => d.severity === 'error');

/** Levenshtein distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev = new Array<number>(n + 1);
  let cur = new Array<number>(n + 1);
  for (let j = 0; j <= n; j++) prev[j] = j;
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    [prev, cur] = [cur, prev];
  }
  return prev[n];
}

/** The closest candidate within a distance proportional to the word's length, or undefined. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const cl = c.toLowerCase();
    const d = cl.startsWith(w) || w.startsWith(cl) ? Math.min(editDistance(w, cl), 2) : editDistance(w, cl);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  const limit = Math.max(2, Math.floor(word.length / 3));
  return best !== undefined && bestD <= limit ? best : undefined;
}

/**
 * "Did you mean", with the known names when they are few. `elsewhere` says where to find a long list; without it,
 * the list is plugins' (`pipeline-run plugins`).
 */
export function suggestionHint(word: string, candidates: string[], what: string, elsewhere?: string): string {
  const guess = didYouMean(word, candidates);
  const list = candidates.length <= 12 ? ` Known ${what}: ${candidates.join(', ')}.` : '';
  const more = elsewhere ?? `Run \`pipeline-run plugins\` to list ${what}.`;
  return guess ? `Did you mean '${guess}'?${list}` : `${list.trim() || more}`;
}
