/**
 * plan(file): the resolved config and its hash, what would run. With `diff` (another file or a git ref): what
 * changes between the two resolved configs. For a tournament: its cells, their overrides and config hashes, and
 * which are already in the result cache.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { repoRootOf } from '../config/compose.js';
import { isPlainObject } from '../config/origins.js';
import type { ValidationResult } from '../config/validate.js';
import type { ResolvedConfig } from '../core/resolved-config.js';
import { inputError } from '../core/errors.js';
import { lakehousePath, validateWith } from './config.js';
import type { ConfigChange, ConfigOptions, PlannedCell, PlanOptions, PlanResult } from './types.js';

/** Stages are keyed by type (with #n for repeats) so a diff reads "stages.clustering.params.threshold". */
export function keyed(config: ResolvedConfig): Record<string, unknown> {
  const counts = new Map<string, number>();
  const stages: Record<string, unknown> = {};
  for (const s of config.stages) {
    const n = (counts.get(s.type) ?? 0) + 1;
    counts.set(s.type, n);
    stages[n === 1 ? s.type : `${s.type}#${n}`] = s.params;
  }
  const keyedConfig: Record<string, unknown> = { ...config, stages, stage_order: config.stages.map((s) => s.type) };
  // A tournament's cells by id, with their overrides: each cell's config hash follows from the base's (shown as
  // tournament.base.config_hash), so a change to the base is one line, not one per cell.
  if (config.tournament) keyedConfig.tournament = { ...config.tournament, cells: Object.fromEntries(config.tournament.cells.map((c) => [c.id, c.overrides])) };
  return keyedConfig;
}

/** The changes from `a` to `b`, by dotted path (objects compared key by key, anything else as a whole). */
export function diffValues(a: unknown, b: unknown, path = ''): ConfigChange[] {
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => {
      const p = path ? `${path}.${k}` : k;
      if (!(k in a)) return [{ path: p, kind: 'added' as const, after: b[k] }];
      if (!(k in b)) return [{ path: p, kind: 'removed' as const, before: a[k] }];
      return diffValues(a[k], b[k], p);
    });
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [{ path, kind: 'changed', before: a, after: b }];
}

/**
 * A tournament's cells with their config hash and whether an unchanged result is in the result cache
 * (<out>/.cache, looked up with the data identity of the lakehouse it would read).
 */
async function tournamentCells(v: ValidationResult, opts: PlanOptions): Promise<NonNullable<Extract<PlanResult, { valid: true }>['tournament']>> {
  const { createContainer } = await import('../pipeline/container.js');
  const { specOf } = await import('../pipeline/runner.js');
  const { readCached, resultKey } = await import('../runs/result-cache.js');
  const t = v.resolved!.tournament!;
  const runsRoot = resolve(opts.out ?? 'runs');
  const env = { plugins: createContainer(v.registry).resolver, lakehousePath: lakehousePath(opts.lakehouse, { value: v.resolved!.lakehouse, baseDir: v.baseDir }) };
  const memo = new Map<string, Promise<string | undefined>>();
  const cells: PlannedCell[] = [];
  for (const c of t.cells) {
    const spec = v.cells?.[c.id] ? specOf(v.cells[c.id]) : undefined;
    const k = spec ? await resultKey(spec, env, memo).catch(() => undefined) : undefined;
    cells.push({ ...c, champion: c.id === t.champion, cache_key: k?.key ?? null, data_hash: k?.data_hash ?? null, cached: k ? readCached(runsRoot, k.key) !== undefined : null });
  }
  return { base: t.base, champion: t.champion, cells_max: t.cells_max, cache: join(runsRoot, '.cache'), lakehouse: env.lakehousePath, cells };
}

/** Resolves the same file as it is at a git ref, from a temporary export of that commit's tree. */
async function resolveAtRef(file: string, ref: string, opts: ConfigOptions): Promise<ValidationResult & { cleanup: () => void }> {
  const root = repoRootOf(file);
  if (!root) throw inputError('USAGE', `--diff ${ref}: neither a file nor usable as a git ref (${file} is not in a git repository)`);
  try {
    execFileSync('git', ['rev-parse', '--verify', `${ref}^{commit}`], { cwd: root, stdio: 'ignore' });
  } catch {
    throw inputError('USAGE', `--diff ${ref}: no such file, and not a git ref in ${root}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'fractal-plan-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    execFileSync('sh', ['-c', 'git archive --format=tar "$1" | tar -x -C "$2"', 'sh', ref, dir], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    // The export is the repository at that commit: mark its root so plugin modules and profiles resolve as at home.
    mkdirSync(join(dir, '.git'), { recursive: true });
    const rel = relative(root, resolve(file));
    const there = join(dir, rel);
    if (!existsSync(there)) throw inputError('USAGE', `${rel} does not exist at ${ref}`);
    const v = await validateWith(there, opts);
    // Problems found in the export are named `file@ref`, not by the temporary folder they were read from.
    const named = (f: string) => (resolve(f).startsWith(dir + sep) ? `${relative(dir, resolve(f))}@${ref}` : f);
    return { ...v, diagnostics: v.diagnostics.map((d) => ({ ...d, file: named(d.file) })), cleanup };
  } catch (err) {
    cleanup();
    throw err;
  }
}

/**
 * The plan of a pipeline file. An invalid file, or an invalid `diff` side, gives `{ valid: false, file, diagnostics }`
 * (`file` names the side that is invalid); a `diff` that is neither a file nor a git ref throws FractalError USAGE.
 */
export async function plan(file: string, options: PlanOptions = {}): Promise<PlanResult> {
  const v = await validateWith(file, options);
  if (!v.ok || !v.resolved || !v.hash) return { valid: false, file, diagnostics: v.diagnostics };
  const base = {
    valid: true as const,
    file,
    hash: v.hash,
    profile: v.composed?.profile?.name ?? null,
    config: v.resolved,
    warnings: v.diagnostics.filter((d) => d.severity === 'warning'),
  };
  if (!options.diff) return v.resolved.pipeline === 'tournament' ? { ...base, tournament: await tournamentCells(v, options) } : base;
  let other: ValidationResult;
  let label = options.diff;
  let cleanup = () => {};
  if (existsSync(options.diff)) other = await validateWith(options.diff, options);
  else {
    const at = await resolveAtRef(file, options.diff, options);
    other = at;
    cleanup = at.cleanup;
    label = `${file}@${options.diff}`;
  }
  try {
    // The other side is not valid: its problems, under its name (a file, or `file@ref`).
    if (!other.ok || !other.resolved || !other.hash) return { valid: false, file: label, diagnostics: other.diagnostics };
    return { ...base, diff: { before: { source: label, hash: other.hash }, after: { source: file, hash: v.hash }, changes: diffValues(keyed(other.resolved), keyed(v.resolved)) } };
  } finally {
    cleanup();
  }
}

const show = (v: unknown) => JSON.stringify(v);

/** A diff as `plan --diff` prints it: `+ path: value`, `- path: value`, `~ path: before -> after`. */
export function changeLines(changes: ConfigChange[]): string[] {
  return changes.map((c) => (c.kind === 'added' ? `+ ${c.path}: ${show(c.after)}` : c.kind === 'removed' ? `- ${c.path}: ${show(c.before)}` : `~ ${c.path}: ${show(c.before)} -> ${show(c.after)}`));
}
