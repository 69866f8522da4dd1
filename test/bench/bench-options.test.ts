/**
 * `npm run bench` (scripts/bench.mjs) says how to use it and refuses what it does not know before anything runs: a
 * typo such as `--onyl` once started every benchmark, minutes of load on a shared machine.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repo } from '../cli/helpers.js';

const bench = (...args: string[]) => spawnSync(process.execPath, [join(repo, 'scripts', 'bench.mjs'), ...args], { cwd: repo, encoding: 'utf8', timeout: 20_000 });

test('--help prints every option and each benchmark by name, runs nothing, exit 0', () => {
  const r = bench('--help');
  expect(r.status).toBe(0);
  for (const flag of ['--only', '--n', '--repeat', '--no-floor', '--cells']) expect(r.stdout).toContain(flag);
  for (const name of ['walk-forward', 'ward', 'queue-scale']) expect(r.stdout).toContain(name);
  expect(r.stdout).not.toContain('## ');
});

test('an unknown option or benchmark is refused with the usage, exit 2, before any benchmark starts', () => {
  for (const args of [['--onyl', 'ward'], ['--only', 'ward', '--fast'], ['walk-forward'], ['--only', 'nosuch']]) {
    const r = bench(...args);
    expect({ args, status: r.status }).toEqual({ args, status: 2 });
    expect(r.stdout).not.toContain('## ');
  }
  expect(bench('--onyl', 'ward').stderr).toContain('unknown option --onyl');
});
