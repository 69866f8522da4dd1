/** What makes a run reproducible: the resolved config and its hash, the data hash, code and runtime versions. */
import { inputError } from '../core/errors.js';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { moduleGraph } from '../config/module-graph.js';

export interface Manifest {
  fractal_version: string;
  node_version: string;
  run_id: string;
  name: string;
  pipeline_file: string;
  config_hash: string;
  config: unknown;
  /** The profile applied to the config (already merged into it), and its file. */
  profile: { name: string; file: string } | null;
  /** sha256 over the data entries the run read (lakehouse registry checksums), or null when it read none. */
  data_hash: string | null;
  data_inputs: number;
  /**
   * The commit of the repository holding the pipeline, and whether its work tree differs from it: `dirty` when a
   * tracked file changed or an untracked (not ignored) file exists, such as a new plugin module; `changed` and
   * `untracked` count them. Null outside git; `commit` null in a repository without a commit yet.
   */
  git: { commit: string | null; dirty: boolean; changed: number; untracked: number } | null;
  /** The pipeline's own plugin modules (`plugins:`) as loaded: path relative to the pipeline's folder, sha256 of the code. */
  plugin_modules: { path: string; sha256: string }[];
  started_at: string;
  finished_at: string;
  duration_ms: number;
  /**
   * Each stage's time and outcome; `reused`: taken from the run `reused` names (`run --from --reuse`), not run;
   * `cash`: the run's own decision held cash there (a backtest's run: audit.jsonl's decision_held_cash says why), and
   * the stages after it up to the backtest are `skipped`.
   */
  stages: { type: string; ms: number | null; outcome: 'succeeded' | 'failed' | 'skipped' | 'reused' | 'cash' }[];
  /** Set when the stages before `from` were taken from another run's checkpoints (src/pipeline/reuse.ts). */
  reused?: { run_id: string; folder: string; from: string; stages: string[] };
  artifacts: string[];
  outcome: 'succeeded' | 'failed';
  /**
   * Why the run failed: the code (docs/errors.md), the exit code it gives (2: the input is wrong, 1: the run
   * failed), the hint, and where the param that caused it was set, when one did.
   */
  error?: { code: string; message: string; stage: string | null; exit_code: 1 | 2; hint?: string; location?: { file: string; line: number; column: number } };
}

let cachedVersion: string | undefined;
export function fractalVersion(): string {
  if (cachedVersion) return cachedVersion;
  // dist/src/runs or src/runs: the package.json is a few folders up.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'fractal' && pkg.version) return (cachedVersion = pkg.version);
    } catch {
      /* keep looking */
    }
    dir = dirname(dir);
  }
  return (cachedVersion = 'unknown');
}

/**
 * The commit of the repository holding `path`, and its work tree's changes: tracked files changed and untracked files
 * (ignored ones do not count: a runs/ or lakehouse/ folder the repository ignores is not a change); null outside git
 * (or before the first commit).
 */
export function gitState(path: string): Manifest['git'] {
  try {
    return stateOf(execFileSync('git', GIT_STATUS, { cwd: path, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).toString());
  } catch {
    return null;
  }
}

// One git process for the commit and the changes: `--branch` heads the porcelain v2 listing with `# branch.oid`, and
// each changed or untracked path is one line (`?` marks an untracked one) as in the v1 listing.
const GIT_STATUS = ['status', '--porcelain=v2', '--branch', '--untracked-files=all'];

/**
 * The manifest's git block from `git status --porcelain=v2 --branch` output; `commit` null in a repository with no
 * commit yet (every file then untracked or only staged: nothing reproduces the run), unlike null for no repository.
 */
function stateOf(status: string): Manifest['git'] {
  const lines = status.split('\n').filter(Boolean);
  const oid = lines.find((l) => l.startsWith('# branch.oid '))?.slice('# branch.oid '.length).trim();
  if (oid === undefined) return null;
  const entries = lines.filter((l) => !l.startsWith('#'));
  const untracked = entries.filter((l) => l.startsWith('? ')).length;
  return { commit: oid === '(initial)' ? null : oid, dirty: entries.length > 0, changed: entries.length - untracked, untracked };
}

/**
 * gitState without blocking: git runs as a child process while the run goes on (`git status` reads the whole work
 * tree: ~0.15 s in this repository). The same answer as gitState, taken when the run starts.
 */
export async function gitStateAsync(path: string): Promise<Manifest['git']> {
  try {
    return stateOf((await promisify(execFile)('git', GIT_STATUS, { cwd: path, timeout: 5000 })).stdout);
  } catch {
    return null;
  }
}

/** sha256 of each plugin module's code, as the run loads it (paths as the resolved config names them). */
export function pluginModuleHashes(modules: string[] | undefined, baseDir: string): Manifest['plugin_modules'] {
  return (modules ?? []).map((p) => {
    let sha256: string;
    try {
      // The module's own bytes when it imports no file (what `sha256sum` gives); else each file it runs, in order.
      const entry = realpathSync(resolve(baseDir, p));
      const files = moduleGraph(entry).files;
      const h = createHash('sha256');
      if (files.length === 1) h.update(readFileSync(entry));
      else for (const f of files) h.update(`${relative(dirname(entry), f)}\n`).update(readFileSync(f));
      sha256 = `sha256:${h.digest('hex')}`;
    } catch {
      sha256 = 'unreadable';
    }
    return { path: p, sha256 };
  });
}

/** The fields every row and page read from a manifest, of the right types. */
/**
 * A run folder's manifest as compare and trace read it, or NOT_A_RUN: there is none, or it is not a run's (damaged or
 * edited). `hint` says what to give instead.
 */
export function runManifest<T>(folder: string, manifest: T | undefined, hint: string): T {
  if (!manifest) throw inputError('NOT_A_RUN', `${folder} is not a run folder (no manifest.json)`, hint);
  if (!isManifestLike(manifest)) throw inputError('NOT_A_RUN', `${folder}/manifest.json is not a run's manifest (no name, run id, outcome or stages): damaged or edited`, hint);
  return manifest;
}

export const isManifestLike = (m: unknown): boolean => {
  const x = m as Record<string, unknown> | null;
  return !!x && typeof x === 'object' && !Array.isArray(x) && ['name', 'run_id', 'outcome', 'started_at', 'config_hash'].every((k) => typeof x[k] === 'string') && Array.isArray(x.stages);
};
