/**
 * A command asks git about its work tree once: a tournament's cells and a meta's sleeves record the state their parent
 * run saw in their manifests, instead of each forking the process to run `git status` (at 400 tiny cells those forks
 * were half the tournament's time). Checked through a `git` on PATH that logs every call and runs the real one.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './helpers.js';
import { tinySelection, tinySweep } from '../tiny-pipelines.js';

let tmp: string;
let dir: string;
let calls: string;
let env: Record<string, string>;
let outside: string;

const realGit = spawnSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).stdout.trim();
// Every test here needs git itself.
const gitTest = realGit ? test : test.skip;
const git = (...args: string[]) => spawnSync(realGit, ['-c', 'user.email=t@example.org', '-c', 'user.name=t', ...args], { cwd: dir, encoding: 'utf8' });


beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-child-git-'));
  dir = join(tmp, 'repo');
  mkdirSync(dir);
  // The wrapper: one line per call with its arguments, then the real git.
  const bin = join(tmp, 'bin');
  mkdirSync(bin);
  calls = join(tmp, 'git-calls.log');
  writeFileSync(join(bin, 'git'), `#!/bin/sh\necho "$*" >> '${calls}'\nexec '${realGit}' "$@"\n`);
  chmodSync(join(bin, 'git'), 0o755);
  env = { PATH: `${bin}:${process.env.PATH}` };
  writeFileSync(join(dir, '.gitignore'), 'runs/\n');
  writeFileSync(join(dir, 'tiny.yaml'), tinySelection());
  writeFileSync(join(dir, 'short.yaml'), tinySelection('short_lookback', 5));
  writeFileSync(join(dir, 'sweep.yaml'), tinySweep);
  const meta = (sleeves: string) => `pipeline: meta
version: "4.0"
name: two_sleeves
sleeves:
${sleeves}
stages:
  - type: meta_returns
  - type: meta_optimize
    params: { engine: equal_weight, train_window: 20 }
  - type: meta_flatten
`;
  writeFileSync(join(dir, 'meta.yaml'), meta('  - { name: a, pipeline: ./tiny.yaml }\n  - { name: b, pipeline: ./short.yaml }'));
  // A meta in a folder of its own whose sleeves sit outside it: they may be in another work tree, so each asks git.
  mkdirSync(join(dir, 'metas'));
  writeFileSync(join(dir, 'metas', 'meta.yaml'), meta('  - { name: a, pipeline: ../tiny.yaml }\n  - { name: b, pipeline: ../short.yaml }'));
  // Outside any repository: one call that finds none, and null in every manifest.
  outside = join(tmp, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'tiny.yaml'), tinySelection());
  writeFileSync(join(outside, 'sweep.yaml'), tinySweep);
  git('init', '-q');
  git('add', '-A');
  git('commit', '-qm', 'pipelines');
  // One file the repository does not hold: the state the manifests must carry says so.
  writeFileSync(join(dir, 'notes.txt'), 'not committed\n');
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The manifests under a run folder, the run's own first. */
function manifests(folder: string): { file: string; git: unknown }[] {
  const out: { file: string; git: unknown }[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name === 'manifest.json') out.push({ file: join(d, e.name), git: JSON.parse(readFileSync(join(d, e.name), 'utf8')).git });
    }
  };
  walk(folder);
  return out.sort((a, b) => a.file.length - b.file.length);
}

/** The `git status` calls a command made, and the git block of every manifest it wrote (the run's own first). */
function run(file: string, cwd: string): { statusCalls: number; all: { file: string; git: unknown }[] } {
  writeFileSync(calls, '');
  const r = cli([file, '--out', 'runs', '--json', '--no-cache'], { cwd, env });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const statusCalls = readFileSync(calls, 'utf8').split('\n').filter((l) => l.startsWith('status')).length;
  return { statusCalls, all: manifests(JSON.parse(r.stdout).folder as string) };
}

const committed = () => ({ commit: git('rev-parse', 'HEAD').stdout.trim(), dirty: true, changed: 0, untracked: 1 });

gitTest.each([
  ['a tournament', 'sweep.yaml', 4],
  ['a meta pipeline', 'meta.yaml', 2],
])('%s asks git once; its child runs record the state its own manifest records', (_what, file, children) => {
  const { statusCalls, all } = run(file, dir);
  expect(statusCalls).toBe(1);
  expect(all).toHaveLength(1 + children);
  expect(all[0]!.git).toEqual(committed());
  for (const m of all) expect({ file: m.file, git: m.git }).toEqual({ file: m.file, git: all[0]!.git });
});

gitTest('sleeves outside the meta’s folder ask git themselves (the same work tree here, so the same state)', () => {
  const { statusCalls, all } = run(join('metas', 'meta.yaml'), dir);
  expect(statusCalls).toBe(3);
  expect(all).toHaveLength(3);
  for (const m of all) expect({ file: m.file, git: m.git }).toEqual({ file: m.file, git: committed() });
});

gitTest('outside any repository: one call, and null in every manifest', () => {
  const { statusCalls, all } = run('sweep.yaml', outside);
  expect(statusCalls).toBe(1);
  expect(all).toHaveLength(5);
  for (const m of all) expect({ file: m.file, git: m.git }).toEqual({ file: m.file, git: null });
});

gitTest('a repository without a commit yet: commit null, the files untracked (not null, which says no repository)', () => {
  const fresh = join(tmp, 'fresh');
  mkdirSync(fresh);
  writeFileSync(join(fresh, '.gitignore'), 'runs/\n');
  writeFileSync(join(fresh, 'tiny.yaml'), tinySelection());
  expect(spawnSync(realGit, ['init', '-q'], { cwd: fresh }).status).toBe(0);
  const { all } = run('tiny.yaml', fresh);
  expect(all).toHaveLength(1);
  expect(all[0]!.git).toEqual({ commit: null, dirty: true, changed: 0, untracked: 2 });
});
