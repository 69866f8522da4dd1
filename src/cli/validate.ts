/**
 * `pipeline-run validate <files or folders…>`: every layer, every problem, nothing run. Exit 0 when all are valid
 * (warnings allowed), 2 otherwise. In folders, pipeline files are *.yaml, *.yml and *.json outside profiles/,
 * schemas/ and build folders; a file that another one `extends` is checked through that one.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { diag, sortDiagnostics, type Diagnostic } from '../config/diagnostics.js';
import { displayPath } from '../config/source.js';
import { inputError } from '../core/errors.js';
import { FORMATS, formatGithub, formatJson, formatText, type Format } from './format.js';
import { addConfigOptions, validateWith, type ConfigOptions } from './shared.js';
import { byCodeUnit } from '../util/order.js';

const SKIP_DIRS = new Set(['node_modules', '.git', 'profiles', 'schemas', 'runs', 'lakehouse', 'dist', 'coverage', 'test', 'fixtures']);
const CONFIG_EXT = /\.(ya?ml|json)$/i;

/** Expands folders into the pipeline files they hold; files named explicitly are always kept. */
export function collectFiles(paths: string[]): { files: string[]; explicit: Set<string>; missing: string[] } {
  const files: string[] = [];
  const explicit = new Set<string>();
  const missing: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => byCodeUnit(a.name, b.name))) {
      if (e.name.startsWith('.')) continue;
      const full = join(dir, e.name);
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) walk(full);
      } else if (CONFIG_EXT.test(e.name) && !/^(package(-lock)?|tsconfig)\.json$/.test(e.name)) files.push(full);
    }
  };
  for (const p of paths) {
    const abs = resolve(p);
    let st;
    try {
      st = statSync(abs);
    } catch {
      missing.push(p);
      continue;
    }
    if (st.isDirectory()) walk(abs);
    else {
      files.push(abs);
      explicit.add(abs);
    }
  }
  return { files: [...new Set(files)], explicit, missing };
}

export interface ValidateOptions extends ConfigOptions {
  format: Format;
}

export async function validatePaths(paths: string[], opts: ValidateOptions): Promise<{ output: string; summary: string; exitCode: number }> {
  const { files, explicit, missing } = collectFiles(paths);
  const results: { file: string; valid: boolean; diagnostics: Diagnostic[]; extended: string[] }[] = [];
  for (const m of missing) results.push({ file: m, valid: false, diagnostics: [diag('FILE_NOT_FOUND', { file: m, line: 1, column: 1 }, `no such file or folder: ${m}`)], extended: [] });
  for (const f of files) {
    const r = await validateWith(f, opts);
    results.push({ file: displayPath(f), valid: r.ok, diagnostics: r.diagnostics, extended: (r.composed?.files ?? []).slice(1).map((x) => resolve(x)) });
  }
  // A base file found in a folder is checked through the files that extend it, not on its own.
  const extendedByOthers = new Set(results.flatMap((r) => r.extended));
  const kept = results.filter((r) => !(extendedByOthers.has(resolve(r.file)) && !explicit.has(resolve(r.file))));
  if (!files.length && !missing.length) throw inputError('NO_FILES', `no pipeline files (*.yaml, *.yml, *.json) under ${paths.join(', ')}`);
  const seen = new Set<string>();
  const all = sortDiagnostics(kept.flatMap((r) => r.diagnostics)).filter((d) => {
    const k = `${d.file}:${d.line}:${d.column}:${d.code}:${d.message}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
  const errors = all.filter((d) => d.severity === 'error').length;
  const warnings = all.length - errors;
  const output = opts.format === 'json' ? formatJson(kept) : opts.format === 'github' ? formatGithub(all) : formatText(all);
  const invalid = kept.filter((r) => !r.valid).length;
  const summary = `${kept.length} file${kept.length === 1 ? '' : 's'} checked: ${invalid ? `${invalid} invalid, ` : 'all valid, '}${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`;
  return { output, summary, exitCode: invalid ? 2 : 0 };
}

export function registerValidateCommand(program: Command): void {
  addConfigOptions(
    program
      .command('validate')
      .description('validate pipeline files (every layer, every problem, with file:line:col); runs nothing')
      .argument('<paths...>', 'pipeline files or folders')
      .option('--format <format>', `output format: ${FORMATS.join(' | ')}`, 'text'),
  ).action(async (paths: string[], opts: ValidateOptions) => {
    if (!FORMATS.includes(opts.format)) throw inputError('USAGE', `unknown --format '${opts.format}'`, `Use one of: ${FORMATS.join(', ')}.`);
    const r = await validatePaths(paths, opts);
    process.stdout.write(r.output);
    if (opts.format === 'text') process.stderr.write(`${r.summary}\n`);
    process.exitCode = r.exitCode;
  });
}
