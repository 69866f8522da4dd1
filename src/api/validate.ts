/**
 * validate(paths): every layer, every problem, nothing run. In folders, pipeline files are *.yaml, *.yml and the
 * *.json that declare one (a top-level `pipeline` or `extends`), outside profiles/, schemas/ and build folders, and
 * not another tool's file (TOOL_FILES); a file that another one `extends` is checked through that one.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { diag, sortDiagnostics } from '../config/diagnostics.js';
import { repositoryOf, rootHolding } from '../config/roots.js';
import { displayPath } from '../config/source.js';
import { inputError } from '../core/errors.js';
import { byCodeUnit } from '../util/order.js';
import { validateWith } from './config.js';
import type { ConfigOptions, FileValidation, ValidateResult } from './types.js';

const SKIP_DIRS = new Set(['node_modules', '.git', 'profiles', 'schemas', 'runs', 'lakehouse', 'dist', 'coverage', 'test', 'fixtures']);
const CONFIG_EXT = /\.(ya?ml|json)$/i;
/**
 * Other tools' files that sit beside pipelines in a repository, by name: found in a folder they are not pipelines
 * (a tsconfig's `extends`, a compose file's `services`), so `validate .` at a repository's root checks its pipelines
 * alone. Named on the command line, a file is always checked.
 */
const TOOL_FILES = /^(package(-lock)?\.json|[tj]sconfig(\.[^.]+)*\.json|(docker-)?compose(\.[^.]+)*\.ya?ml|pnpm-(lock|workspace)\.yaml|mkdocs\.ya?ml|action\.ya?ml|codecov\.ya?ml)$/i;

/** Expands folders into the pipeline files they hold; files named explicitly are always kept. */
/** Whether a JSON file declares a pipeline (a top-level `pipeline` or `extends` key), read no further than needed. */
function looksLikePipelineJson(file: string): boolean {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) && ('pipeline' in v || 'extends' in v);
  } catch {
    return true; // not even JSON: validate says why
  }
}

export function collectFiles(paths: string[]): { files: string[]; explicit: Set<string>; missing: string[]; outside: string[] } {
  const files: string[] = [];
  const explicit = new Set<string>();
  const missing: string[] = [];
  // Links found in a folder that lead out of the folder's repository: named, never read (a PR could add one to
  // /etc/passwd, and a code frame would quote it).
  const outside: string[] = [];
  const walk = (dir: string, repo: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => byCodeUnit(a.name, b.name))) {
      if (e.name.startsWith('.')) continue;
      const full = join(dir, e.name);
      if (e.isSymbolicLink() && !rootHolding(full, [repo])) {
        if (CONFIG_EXT.test(e.name)) outside.push(full);
        continue;
      }
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) walk(full, repo);
      } else if (CONFIG_EXT.test(e.name) && !TOOL_FILES.test(e.name)) {
        // Reached through a folder that is itself a link out of the repository: named, not read, as a linked file is.
        if (!rootHolding(full, [repo])) outside.push(full);
        // A JSON file found in a folder is a pipeline only if it says so (a tool's config, a data file are not).
        else if (!/\.json$/i.test(e.name) || looksLikePipelineJson(full)) files.push(full);
      }
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
    if (st.isDirectory()) walk(abs, repositoryOf(join(abs, '_'))); // the repository holding the folder (the folder itself outside git)
    else {
      files.push(abs);
      explicit.add(abs);
    }
  }
  return { files: [...new Set(files)], explicit, missing, outside };
}

/**
 * Validates pipeline files and folders. Throws FractalError NO_FILES (exit 2) when the paths hold no pipeline file;
 * otherwise returns every file's diagnostics (a missing path is a FILE_NOT_FOUND diagnostic).
 */
export async function validate(paths: string | string[], options: ConfigOptions = {}): Promise<ValidateResult> {
  const list = typeof paths === 'string' ? [paths] : paths;
  const { files, explicit, missing, outside } = collectFiles(list);
  const results: (FileValidation & { extended: string[] })[] = [];
  for (const m of missing) results.push({ file: m, valid: false, diagnostics: [diag('FILE_NOT_FOUND', { file: m, line: 1, column: 1 }, `no such file or folder: ${m}`)], extended: [] });
  for (const o of outside) {
    const file = displayPath(o);
    results.push({ file, valid: false, diagnostics: [diag('FILE_OUTSIDE_REPO', { file, line: 1, column: 1 }, `${file} is a link to a file outside its repository (${displayPath(repositoryOf(o))}); it is not read`, 'Pipeline files of a repository are files of that repository: copy it in, or remove the link.')], extended: [] });
  }
  for (const f of files) {
    const r = await validateWith(f, options);
    results.push({ file: displayPath(f), valid: r.ok, diagnostics: r.diagnostics, extended: (r.composed?.files ?? []).slice(1).map((x) => resolve(x)) });
  }
  if (!files.length && !missing.length && !outside.length) throw inputError('NO_FILES', list.length ? `no pipeline files (*.yaml, *.yml, *.json) under ${list.join(', ')}` : 'no files or folders given to validate');
  // A base file found in a folder is checked through the files that extend it, not on its own.
  const extendedByOthers = new Set(results.flatMap((r) => r.extended));
  const kept = results.filter((r) => !(extendedByOthers.has(resolve(r.file)) && !explicit.has(resolve(r.file)))).map(({ file, valid, diagnostics }) => ({ file, valid, diagnostics }));
  const seen = new Set<string>();
  const all = sortDiagnostics(kept.flatMap((r) => r.diagnostics)).filter((d) => {
    const k = `${d.file}:${d.line}:${d.column}:${d.code}:${d.message}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
  const errors = all.filter((d) => d.severity === 'error').length;
  return { valid: kept.every((r) => r.valid), files: kept, diagnostics: all, errors, warnings: all.length - errors };
}
