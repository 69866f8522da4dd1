/**
 * The three output formats of `validate`: text (file:line:col: error CODE message, the hint, and a caret line
 * under the source), json, and GitHub workflow annotations (escaped as GitHub requires).
 */
import { readFileSync } from 'node:fs';
import type { Diagnostic } from '../config/diagnostics.js';

export type Format = 'text' | 'json' | 'github';
export const FORMATS: Format[] = ['text', 'json', 'github'];

function sourceLine(lineCache: Map<string, string[] | null>, file: string, line: number): string | undefined {
  if (!lineCache.has(file)) {
    try {
      lineCache.set(file, file.startsWith('<') ? null : readFileSync(file, 'utf8').split(/\r?\n/));
    } catch {
      lineCache.set(file, null);
    }
  }
  return lineCache.get(file)?.[line - 1];
}

/** Characters of a source line a code frame shows at most. */
const FRAME_WIDTH = 160;

/** At most FRAME_WIDTH characters of `line` around `column` (1-based), with … where cut, and the column within them. */
export function windowAround(line: string, column: number): { text: string; column: number } {
  if (line.length <= FRAME_WIDTH) return { text: line, column };
  const start = Math.max(0, Math.min(column - 1 - FRAME_WIDTH / 2, line.length - FRAME_WIDTH));
  const head = start > 0 ? '…' : '';
  const tail = start + FRAME_WIDTH < line.length ? '…' : '';
  return { text: `${head}${line.slice(start, start + FRAME_WIDTH)}${tail}`, column: column - start + head.length };
}

export function formatText(ds: Diagnostic[]): string {
  const out: string[] = [];
  const lineCache = new Map<string, string[] | null>();
  for (const d of ds) {
    out.push(`${d.file}:${d.line}:${d.column}: ${d.severity} ${d.code} ${d.message}`);
    // Control characters of a binary-looking line are shown as '?' (the terminal would act on them).
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    const src = d.layer === 'file' ? undefined : sourceLine(lineCache, d.file, d.line)?.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '?');
    if (src !== undefined) {
      const gutter = String(d.line).padStart(5);
      // A long line (minified JSON, a deeply nested flow mapping) is cut to a window around the column.
      const { text: shown, column } = windowAround(src.replace(/\t/g, ' '), d.column);
      const width = Math.max(1, Math.min((d.endColumn ?? d.column + 1) - d.column, shown.length - column + 1));
      out.push(`${gutter} | ${shown}`);
      out.push(`${' '.repeat(gutter.length)} | ${' '.repeat(Math.max(0, column - 1))}${'^'.repeat(width)}`);
    }
    if (d.hint) out.push(`  hint: ${d.hint}`);
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

/** The files' verdicts and the diagnostics once each (a sleeve's, reached from two files, is one problem). */
export function formatJson(results: { file: string; valid: boolean }[], ds: Diagnostic[]): string {
  return `${JSON.stringify(
    {
      valid: results.every((r) => r.valid),
      files: results.map((r) => ({ file: r.file, valid: r.valid })),
      errors: ds.filter((d) => d.severity === 'error').length,
      warnings: ds.filter((d) => d.severity === 'warning').length,
      diagnostics: ds,
    },
    null,
    2,
  )}\n`;
}

/** GitHub escapes: data gets %, CR, LF; properties also ':' and ','. */
export const escapeData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
export const escapeProperty = (s: string) => escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

export function formatGithub(ds: Diagnostic[]): string {
  return ds
    .map((d) => {
      const props = [`file=${escapeProperty(d.file)}`, `line=${d.line}`, `col=${d.column}`];
      if (d.endColumn) props.push(`endColumn=${d.endColumn}`);
      props.push(`title=${escapeProperty(d.code)}`);
      const msg = d.hint ? `${d.message}\n${d.hint}` : d.message;
      return `::${d.severity === 'warning' ? 'warning' : 'error'} ${props.join(',')}::${escapeData(msg)}\n`;
    })
    .join('');
}
