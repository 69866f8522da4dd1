/** What makes a run reproducible: the resolved config and its hash, the data hash, code and runtime versions. */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

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
   * `untracked` count them. Null outside git.
   */
  git: { commit: string; dirty: boolean; changed: number; untracked: number } | null;
  /** The pipeline's own plugin modules (`plugins:`) as loaded: path relative to the pipeline's folder, sha256 of the code. */
  plugin_modules: { path: string; sha256: string }[];
  started_at: string;
  finished_at: string;
  duration_ms: number;
  /** Each stage's time and outcome; `reused`: taken from the run `reused` names (`run --from --reuse`), not run. */
  stages: { type: string; ms: number | null; outcome: 'succeeded' | 'failed' | 'skipped' | 'reused' }[];
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
 * (ignored ones do not count: a runs/ or lakehouse/ folder the repository ignores is not a change); null outside git.
 */
export function gitState(path: string): Manifest['git'] {
  try {
    const opts = { cwd: path, stdio: ['ignore', 'pipe', 'ignore'] as ['ignore', 'pipe', 'ignore'], timeout: 5000 };
    return stateOf(execFileSync('git', ['rev-parse', 'HEAD'], opts).toString(), execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], opts).toString());
  } catch {
    return null;
  }
}

/** The manifest's git block from `git rev-parse HEAD` and `git status --porcelain` output. */
function stateOf(head: string, status: string): NonNullable<Manifest['git']> {
  const lines = status.split('\n').filter(Boolean);
  const untracked = lines.filter((l) => l.startsWith('??')).length;
  return { commit: head.trim(), dirty: lines.length > 0, changed: lines.length - untracked, untracked };
}

/**
 * gitState without blocking: the two git commands run as child processes while the run goes on (`git status` reads
 * the whole work tree: ~0.15 s in this repository). The same answer as gitState, taken when the run starts.
 */
export async function gitStateAsync(path: string): Promise<Manifest['git']> {
  const run = promisify(execFile);
  const opts = { cwd: path, timeout: 5000 };
  try {
    const [head, status] = await Promise.all([run('git', ['rev-parse', 'HEAD'], opts), run('git', ['status', '--porcelain', '--untracked-files=all'], opts)]);
    return stateOf(head.stdout, status.stdout);
  } catch {
    return null;
  }
}

/** sha256 of each plugin module's code, as the run loads it (paths as the resolved config names them). */
export function pluginModuleHashes(modules: string[] | undefined, baseDir: string): Manifest['plugin_modules'] {
  return (modules ?? []).map((p) => {
    let sha256: string;
    try {
      sha256 = `sha256:${createHash('sha256').update(readFileSync(resolve(baseDir, p))).digest('hex')}`;
    } catch {
      sha256 = 'unreadable';
    }
    return { path: p, sha256 };
  });
}
