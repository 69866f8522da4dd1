/**
 * `pipeline-run plan <file>`: the resolved config (YAML) and its hash: what would run. `--diff <file or git ref>`
 * prints what changes between two resolved configs, for a pull-request review. For a tournament: its cells, their
 * overrides and config hashes, and which are already in the result cache.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { repoRootOf } from '../config/compose.js';
import { isPlainObject } from '../config/origins.js';
import type { ValidationResult } from '../config/validate.js';
import type { ResolvedConfig } from '../core/resolved-config.js';
import { inputError } from '../core/errors.js';
import { formatText } from './format.js';
import { addConfigOptions, lakehousePath, validateWith, type ConfigOptions, writeJson } from './shared.js';

interface PlanOptions extends ConfigOptions {
  diff?: string;
  json?: boolean;
  out: string;
  lakehouse?: string;
}

/**
 * A tournament's plan: every cell with its overrides, its config hash and whether an unchanged result is in the
 * result cache (<out>/.cache, looked up with the data identity of the lakehouse it would read), so a change to one
 * axis shows which cells will be recomputed.
 */
async function tournamentPlan(v: ValidationResult, opts: PlanOptions): Promise<string> {
  const { createContainer } = await import('../pipeline/container.js');
  const { specOf } = await import('../pipeline/runner.js');
  const { readCached, resultKey } = await import('../runs/result-cache.js');
  const t = v.resolved!.tournament!;
  const runsRoot = resolve(opts.out);
  const env = { plugins: createContainer(v.registry).resolver, lakehousePath: lakehousePath(opts.lakehouse, { value: v.resolved!.lakehouse, baseDir: v.baseDir }) };
  const memo = new Map<string, Promise<string | undefined>>();
  const cells = [];
  for (const c of t.cells) {
    const spec = v.cells?.[c.id] ? specOf(v.cells[c.id]) : undefined;
    const k = spec ? await resultKey(spec, env, memo).catch(() => undefined) : undefined;
    cells.push({ ...c, champion: c.id === t.champion, cache_key: k?.key ?? null, data_hash: k?.data_hash ?? null, cached: k ? readCached(runsRoot, k.key) !== undefined : null });
  }
  if (opts.json) return `${JSON.stringify({ hash: v.hash, name: v.resolved!.name, base: t.base, champion: t.champion, cells_max: t.cells_max, cache: join(runsRoot, '.cache'), lakehouse: env.lakehousePath, cells }, null, 2)}\n`;
  const short = (x: unknown) => (typeof x === 'string' ? x : isPlainObject(x) && typeof x.name === 'string' ? x.name : JSON.stringify(x));
  const idW = Math.max(4, ...cells.map((c) => c.id.length));
  const cached = cells.filter((c) => c.cached).length;
  const known = cells.some((c) => c.cached !== null);
  const lines = [
    `# tournament ${v.resolved!.name} · config hash sha256:${v.hash}`,
    `# base: ${t.base.file} (${t.base.kind}, config ${t.base.config_hash.slice(0, 12)}) · champion: ${t.champion} · ${cells.length} cells (cells.max ${t.cells_max})`,
    known ? `# cache ${join(runsRoot, '.cache')} (data of ${env.lakehousePath}): ${cached} of ${cells.length} cells unchanged; ${cells.length - cached} to run` : `# cache: the data's identity is not known (no lakehouse at ${env.lakehousePath}, or a live scanner): every cell would run`,
    `  ${'cell'.padEnd(idW)}  config        cached  overrides`,
    ...cells.map((c) => `${c.champion ? '*' : ' '} ${c.id.padEnd(idW)}  ${c.config_hash.slice(0, 12)}  ${(c.cached === null ? '?' : c.cached ? 'yes' : 'no').padEnd(6)}  ${Object.entries(c.overrides).map(([p, x]) => `${p}=${short(x)}`).join(', ') || '(the base as written)'}`),
    '(* the champion)',
  ];
  return `${lines.join('\n')}\n`;
}

function mustBeValid(v: ValidationResult, what: string): { resolved: ResolvedConfig; hash: string; profile?: string } {
  if (!v.ok || !v.resolved || !v.hash) {
    process.stderr.write(formatText(v.diagnostics));
    throw inputError('CONFIG_INVALID', `${what} is not valid`);
  }
  return { resolved: v.resolved, hash: v.hash, profile: v.composed?.profile?.name };
}

/** Stages are keyed by type (with #n for repeats) so a diff reads "stages.clustering.params.threshold". */
export function keyed(config: ResolvedConfig): Record<string, unknown> {
  const counts = new Map<string, number>();
  const stages: Record<string, unknown> = {};
  for (const s of config.stages) {
    const n = (counts.get(s.type) ?? 0) + 1;
    counts.set(s.type, n);
    stages[n === 1 ? s.type : `${s.type}#${n}`] = s.params;
  }
  return { ...config, stages, stage_order: config.stages.map((s) => s.type) };
}

export interface Change {
  path: string;
  kind: 'added' | 'removed' | 'changed';
  before?: unknown;
  after?: unknown;
}

export function diffValues(a: unknown, b: unknown, path = ''): Change[] {
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

const show = (v: unknown) => JSON.stringify(v);

/** A diff as `plan --diff` prints it: `+ path: value`, `- path: value`, `~ path: before -> after`. */
export function changeLines(changes: Change[]): string[] {
  return changes.map((c) => (c.kind === 'added' ? `+ ${c.path}: ${show(c.after)}` : c.kind === 'removed' ? `- ${c.path}: ${show(c.before)}` : `~ ${c.path}: ${show(c.before)} -> ${show(c.after)}`));
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
    return { ...(await validateWith(there, opts)), cleanup };
  } catch (err) {
    cleanup();
    throw err;
  }
}

export function registerPlanCommand(program: Command): void {
  addConfigOptions(
    program
      .command('plan')
      .description('print the resolved config (YAML) and its hash; --diff shows what changes against another file or a git ref')
      .argument('<file>', 'pipeline file'),
  )
    .option('--diff <file-or-ref>', 'another pipeline file, or a git ref (the same file at that commit)')
    .option('--json', 'machine-readable output')
    .option('--out <dir>', 'runs root whose result cache a tournament\'s cells are looked up in', 'runs')
    .option('--lakehouse <dir>', 'lakehouse folder the cells would read (default: FRACTAL_LAKEHOUSE, the file\'s `lakehouse:`, or ./lakehouse)')
    .action(async (file: string, opts: PlanOptions) => {
      const v = await validateWith(file, opts);
      const mine = mustBeValid(v, file);
      if (!opts.diff && mine.resolved.pipeline === 'tournament') {
        process.stdout.write(await tournamentPlan(v, opts));
        return;
      }
      if (!opts.diff) {
        if (opts.json) writeJson({ hash: mine.hash, profile: mine.profile ?? null, config: mine.resolved });
        else process.stdout.write(`# config hash: sha256:${mine.hash}\n${mine.profile ? `# profile applied: ${mine.profile}\n` : ''}${stringify(mine.resolved, { lineWidth: 120 })}`);
        return;
      }
      let other: { resolved: ResolvedConfig; hash: string };
      let label = opts.diff;
      if (existsSync(opts.diff)) other = mustBeValid(await validateWith(opts.diff, opts), opts.diff);
      else {
        const v = await resolveAtRef(file, opts.diff, opts);
        try {
          other = mustBeValid(v, `${file} at ${opts.diff}`);
        } finally {
          v.cleanup();
        }
        label = `${file}@${opts.diff}`;
      }
      const changes = diffValues(keyed(other.resolved), keyed(mine.resolved));
      if (opts.json) {
        writeJson({ before: { source: label, hash: other.hash }, after: { source: file, hash: mine.hash }, changes });
        return;
      }
      const out = [`--- ${label}  sha256:${other.hash.slice(0, 16)}`, `+++ ${file}  sha256:${mine.hash.slice(0, 16)}`];
      if (!changes.length) out.push('no changes: the resolved configs are identical');
      out.push(...changeLines(changes));
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
