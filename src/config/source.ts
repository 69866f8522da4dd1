/**
 * Reading a config file into a located document: the parsed value plus enough of the YAML tree to map any path
 * back to a line and column. JSON is read with the same parser (JSON is YAML), so both get positions.
 * Defences: empty and binary files get a message; duplicate keys and multiple documents are errors; alias
 * expansion is capped (billion laughs) before anything is expanded.
 */
import { readFileSync, statSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { parse as parseJsonc, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import { diag, type Diagnostic, type Location } from './diagnostics.js';
import { codeOf, messageOf } from '../util/thrown.js';

export type Path = (string | number)[];

export interface SourceDoc {
  /** Path as shown to the user (relative to the working directory when inside it). */
  file: string;
  absPath: string;
  text: string;
  doc: Document.Parsed;
  lineCounter: LineCounter;
  value: unknown;
}

/** At most this many alias dereferences per document: configs need a few, attacks need thousands. */
export const MAX_ALIASES = 64;
/** Files larger than this are not configs. */
export const MAX_BYTES = 4 * 1024 * 1024;

export function displayPath(abs: string): string {
  const rel = relative(process.cwd(), abs);
  return rel && !rel.startsWith('..') ? rel : abs;
}

export function loadSource(path: string): { source?: SourceDoc; diagnostics: Diagnostic[] } {
  const absPath = resolve(path);
  const file = displayPath(absPath);
  const at: Location = { file, line: 1, column: 1 };
  let bytes: Buffer;
  try {
    const st = statSync(absPath);
    if (st.isDirectory()) return { diagnostics: [diag('FILE_UNREADABLE', at, `'${file}' is a folder, not a config file`, `Name a pipeline file; \`pipeline-run validate ${file}\` checks every pipeline file in a folder.`)] };
    if (st.size > MAX_BYTES) return { diagnostics: [diag('FILE_UNREADABLE', at, `'${file}' is ${st.size} bytes; config files are at most ${MAX_BYTES}`)] };
    bytes = readFileSync(absPath);
  } catch (err) {
    const code = codeOf(err);
    if (code === 'ENOENT') return { diagnostics: [diag('FILE_NOT_FOUND', at, `file not found: ${file}`)] };
    return { diagnostics: [diag('FILE_UNREADABLE', at, `cannot read ${file}: ${messageOf(err)}`)] };
  }
  if (bytes.length === 0 || bytes.toString('utf8').trim() === '')
    return { diagnostics: [diag('FILE_EMPTY', at, `${file} is empty`, 'A pipeline file needs at least `pipeline`, `version` and `stages`.')] };
  const nul = bytes.indexOf(0);
  let text: string;
  try {
    if (nul >= 0) throw new Error('NUL');
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { diagnostics: [diag('FILE_BINARY', at, `${file} is not a text file (binary or not UTF-8)`, 'Config files are UTF-8 YAML or JSON.')] };
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, strict: true, keepSourceTokens: false, merge: true });
  const diagnostics: Diagnostic[] = [];
  const pos = (offset: number) => {
    const p = lineCounter.linePos(Math.min(offset, text.length));
    return { file, line: p.line, column: p.col };
  };
  for (const e of doc.errors) {
    // The parser's own stack ran out: say what that means for the document, not which engine limit it hit.
    const message = /Maximum call stack size exceeded/.test(e.message) ? 'the document nests too deeply to parse (mappings or lists inside each other thousands of levels down)' : e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    // An unclosed { or [ is noticed where the next item starts; point at the bracket that was left open.
    const opener = /end with (a )?[}\]]/i.test(message) ? unclosedFlowStart(text, e.pos[0]) : undefined;
    const where = pos(opener ?? e.pos[0]);
    if (e.code === 'DUPLICATE_KEY') diagnostics.push(diag('SYNTAX_DUPLICATE_KEY', where, 'duplicate key: a key may appear only once in a mapping', 'Remove or rename one of the duplicates.'));
    else if (e.code === 'MULTIPLE_DOCS') diagnostics.push(diag('SYNTAX_MULTIPLE_DOCUMENTS', where, 'a config file holds one YAML document; found a second one (`---`)', 'Split it into two files.'));
    else if (opener !== undefined) diagnostics.push(diag('SYNTAX_ERROR', where, `${kindOf(file)} syntax error: this '${text[opener]}' is never closed with '${text[opener] === '{' ? '}' : ']'}'`, 'Close the bracket on the same item, or write the mapping as a block.'));
    else diagnostics.push(diag('SYNTAX_ERROR', where, `${kindOf(file)} syntax error: ${message}`, syntaxHint(e.code, message)));
  }
  // YAML accepts more than JSON (trailing commas, comments, single quotes): a .json file must also be JSON.
  if (!diagnostics.length && /\.json$/i.test(file)) {
    const errors: ParseError[] = [];
    parseJsonc(text, errors, { allowTrailingComma: false, disallowComments: true, allowEmptyContent: false });
    const e = errors[0];
    if (e) {
      let at = e.offset;
      let what = printParseErrorCode(e.error).replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
      let hint: string | undefined;
      // jsonc reports a trailing comma at the bracket that follows it: point at the comma.
      let back = at - 1;
      while (back >= 0 && /\s/.test(text[back])) back--;
      if (back >= 0 && text[back] === ',' && /^[}\]]/.test(text.slice(at))) {
        at = back;
        what = 'trailing comma';
        hint = 'JSON allows no comma after the last item.';
      } else if (text[at] === "'") hint = 'JSON strings use double quotes.';
      diagnostics.push(diag('SYNTAX_ERROR', pos(at), `JSON syntax error: ${what}`, hint));
    }
  }
  if (diagnostics.length) return { diagnostics: dedupe(diagnostics) };
  if (doc.contents === null) return { diagnostics: [diag('FILE_EMPTY', at, `${file} holds no document (only comments)`)] };

  // Count aliases before expanding any: a handful of anchors can otherwise expand to gigabytes.
  let aliases = 0;
  let firstExcess: Node | undefined;
  const unresolved: Diagnostic[] = [];
  visit(doc, {
    Alias(_, node) {
      aliases++;
      if (aliases > MAX_ALIASES && !firstExcess) firstExcess = node;
      if (!node.resolve(doc) && node.range) unresolved.push(diag('SYNTAX_ERROR', pos(node.range[0]), `YAML syntax error: unknown anchor '${node.source}' (no &${node.source} before this *${node.source})`, 'Define the anchor (&name) before its alias (*name).'));
    },
  });
  if (unresolved.length) return { diagnostics: unresolved };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (err) {
    const node = firstExcess ?? findFirstAlias(doc);
    const where = node?.range ? pos(node.range[0]) : at;
    return { diagnostics: [diag('SYNTAX_ALIAS_LIMIT', where, `YAML aliases expand beyond the limit (${MAX_ALIASES}); refusing to expand (${messageOf(err).split('\n')[0]})`, 'Write the values out or use `extends` and profiles instead of deep alias chains.')] };
  }
  if (firstExcess?.range)
    return { diagnostics: [diag('SYNTAX_ALIAS_LIMIT', pos(firstExcess.range[0]), `more than ${MAX_ALIASES} YAML aliases in one file`, 'Write the values out or use `extends` and profiles.')] };
  return { source: { file, absPath, text, doc, lineCounter, value }, diagnostics: [] };
}

function findFirstAlias(doc: Document): Node | undefined {
  let found: Node | undefined;
  visit(doc, { Alias(_, n) { found = n; return visit.BREAK; } });
  return found;
}

function dedupe(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const k = `${d.line}:${d.column}:${d.code}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

const kindOf = (file: string) => (/\.json$/i.test(file) ? 'JSON' : 'YAML');

/** A hint chosen from what the parser says, not only its error code (one code covers several mistakes). */
function syntaxHint(code: string, message: string): string | undefined {
  if (code === 'TAB_AS_INDENT' || /tab/i.test(message)) return 'YAML indents with spaces, never tabs.';
  if (/without - indicator|indent/i.test(message)) return 'Check the indentation of this line against its siblings: items of one list or mapping start in the same column.';
  if (/Missing , between/i.test(message)) return 'Separate the items with a comma.';
  if (/quote|quoted/i.test(message)) return 'A quoted string is not closed.';
  if (code === 'BLOCK_AS_IMPLICIT_KEY' || code === 'MULTILINE_IMPLICIT_KEY') return 'A key must fit on one line and be followed by `: `.';
  if (code === 'UNEXPECTED_TOKEN') return 'Look for a stray character or a missing `: ` after a key.';
  return undefined;
}

/** Offset of the last { or [ still open at `end` (quoted strings and comments skipped), if any. */
function unclosedFlowStart(text: string, end: number): number | undefined {
  const stack: number[] = [];
  for (let i = 0; i < end; i++) {
    const c = text[i];
    if (c === '"' || c === "'") {
      for (i++; i < end && text[i] !== c; i++) if (c === '"' && text[i] === '\\') i++;
    } else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]))) {
      while (i < end && text[i] !== '\n') i++;
    } else if (c === '{' || c === '[') stack.push(i);
    else if ((c === '}' || c === ']') && stack.length) stack.pop();
  }
  return stack.length ? stack[stack.length - 1] : undefined;
}

/** Line/column of the node at `path` (or of its key with which='key'); falls back to the nearest existing ancestor. */
export function locate(src: SourceDoc, path: Path, which: 'value' | 'key' = 'value'): Location {
  const offsetToLoc = (start: number, end?: number): Location => {
    const s = src.lineCounter.linePos(start);
    const loc: Location = { file: src.file, line: s.line, column: s.col };
    if (end !== undefined && end > start) {
      const e = src.lineCounter.linePos(end);
      if (e.line === s.line) loc.endColumn = e.col;
    }
    return loc;
  };
  for (let n = path.length; n >= 0; n--) {
    const p = path.slice(0, n);
    if (which === 'key' && n === path.length && n > 0) {
      const parent = p.length > 1 ? src.doc.getIn(p.slice(0, -1), true) : src.doc.contents;
      const key = p[p.length - 1];
      if (isMap(parent)) {
        const pair = parent.items.find((it) => String(isScalar(it.key) ? it.key.value : it.key) === String(key));
        const kn = pair?.key as Node | undefined;
        if (kn?.range) return offsetToLoc(kn.range[0], kn.range[1]);
      }
      continue;
    }
    const node = (p.length === 0 ? src.doc.contents : src.doc.getIn(p, true)) as Node | null | undefined;
    if (node && typeof node === 'object' && 'range' in node && node.range) {
      // A collection points at its first item's start; a scalar spans its text.
      if (isMap(node) || isSeq(node)) return offsetToLoc(node.range[0]);
      if (isAlias(node)) return offsetToLoc(node.range[0], node.range[1]);
      return offsetToLoc(node.range[0], node.range[1]);
    }
  }
  return { file: src.file, line: 1, column: 1 };
}
