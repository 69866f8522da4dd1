import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const repo = join(new URL('.', import.meta.url).pathname, '..', '..');

/** Runs the built CLI as a user would (`npm test` builds it first). */
export function cli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync(process.execPath, [join(repo, 'bin', 'pipeline-run.js'), ...args], {
    cwd: opts.cwd ?? repo,
    env: { ...process.env, CI: '1', ...opts.env },
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
