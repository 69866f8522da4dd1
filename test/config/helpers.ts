/**
 * Shared helpers for the config tests: the fixture folder layout, running the validator on a case, and turning
 * diagnostics into the `expected.txt` text form (`<file>:<line>:<col>: <severity> <CODE>` plus `  ~ phrase`).
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Diagnostic } from '../../src/config/diagnostics.js';
import { validateFile, type ValidationResult } from '../../src/config/validate.js';
import { builtinRegistry } from '../../stages/index.js';

export const HERE = fileURLToPath(new URL('.', import.meta.url));
export const FIXTURES = join(HERE, 'fixtures');

export interface CaseArgs {
  /** The file to validate, relative to the case folder; pipeline.yaml or pipeline.json when omitted. */
  file?: string;
  profile?: string;
  sets?: string[];
}

export function caseNames(): string[] {
  return readdirSync(FIXTURES)
    .filter((n) => statSync(join(FIXTURES, n)).isDirectory())
    .sort();
}

export function caseArgs(dir: string): CaseArgs {
  const p = join(dir, 'args.json');
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as CaseArgs) : {};
}

export function caseFile(dir: string, args: CaseArgs): string {
  if (args.file) return join(dir, args.file);
  for (const f of ['pipeline.yaml', 'pipeline.yml', 'pipeline.json']) if (existsSync(join(dir, f))) return join(dir, f);
  throw new Error(`fixture ${dir} has no pipeline.yaml or pipeline.json (and no "file" in args.json)`);
}

export async function validateCase(dir: string, args: CaseArgs = caseArgs(dir)): Promise<ValidationResult> {
  return validateFile(caseFile(dir, args), { registry: builtinRegistry(), profile: args.profile, sets: args.sets });
}

/** A diagnostic's file relative to `dir` (POSIX separators); pseudo-files such as `<command line: …>` stay as they are. */
export function relFile(file: string, dir: string): string {
  if (file.startsWith('<')) return file;
  const abs = isAbsolute(file) ? file : resolve(process.cwd(), file);
  return relative(dir, abs).split(sep).join('/');
}

export const header = (d: Diagnostic, dir: string) => `${relFile(d.file, dir)}:${d.line}:${d.column}: ${d.severity} ${d.code}`;

export interface ExpectedDiag {
  header: string;
  phrases: string[];
}

export interface Expected {
  diagnostics: ExpectedDiag[];
  valid: boolean;
  hashStable: boolean;
  text: string;
}

export function parseExpected(text: string): Expected {
  const diagnostics: ExpectedDiag[] = [];
  let valid = false;
  let hashStable = false;
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  for (const line of lines) {
    if (line.trim() === '') continue;
    if (line.startsWith('  ~ ')) {
      const last = diagnostics[diagnostics.length - 1];
      if (!last) throw new Error(`expected.txt: a '  ~' line before any diagnostic: ${line}`);
      last.phrases.push(line.slice(4));
    } else if (line === 'valid') valid = true;
    else if (line === 'hash stable') hashStable = true;
    else if (/^\S.*:\d+:\d+: (error|warning) [A-Z_]+$/.test(line)) diagnostics.push({ header: line, phrases: [] });
    else throw new Error(`expected.txt: cannot read line '${line}'`);
  }
  return { diagnostics, valid, hashStable, text: render(diagnostics, valid, hashStable) };
}

export function render(ds: ExpectedDiag[], valid: boolean, hashStable: boolean): string {
  const out: string[] = [];
  for (const d of ds) {
    out.push(d.header);
    for (const p of d.phrases) out.push(`  ~ ${p}`);
  }
  if (valid) out.push('valid');
  if (hashStable) out.push('hash stable');
  return out.join('\n');
}

/**
 * The actual result in the expected form. A phrase the expected diagnostic at the same position asks for is kept
 * when the message (or hint) contains it (case-insensitive), and replaced by the real message when it does not,
 * so one string comparison shows every difference.
 */
export function actualText(result: ValidationResult, dir: string, expected: Expected, hashStable: boolean): string {
  const ds: ExpectedDiag[] = result.diagnostics.map((d, i) => {
    const want = expected.diagnostics[i]?.phrases ?? [];
    const body = `${d.message}\n${d.hint ?? ''}`.toLowerCase();
    const phrases = want.map((p) => (body.includes(p.toLowerCase()) ? p : `<not found: '${p}'> message: ${d.message} | hint: ${d.hint ?? ''}`));
    return { header: header(d, dir), phrases };
  });
  return render(ds, result.ok, hashStable);
}
