/**
 * A synthetic market is staged once per process (stages/ingestion/scanners/staged.ts stageOnce): later runs, other
 * threads and a race between them read the one complete staging, and the folder goes with the process (a killed
 * process's folder goes with the next one that stages).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stageOnce } from '../../stages/ingestion/scanners/staged.js';
import type { Lakehouse } from '../../src/lakehouse/index.js';
import { cli, repo } from '../cli/helpers.js';
import { tinySelection, tinySweep } from '../tiny-pipelines.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-staged-once-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  // This process's own stagings (the first two tests stage in it): jest does not run the module's exit listener.
  rmSync(join(tmpdir(), `fractal-staged-${process.pid}`), { recursive: true, force: true });
});

test('the same key is staged once and read by every later caller; another key is staged apart', async () => {
  let fills = 0;
  const fill = (seed: number) => async (lh: Lakehouse) => {
    fills++;
    await lh.seedSynthetic({ symbols: 8, days: 40, seed });
  };
  const a = await stageOnce('test', 'key-a', fill(1));
  const again = await stageOnce('test', 'key-a', fill(1));
  expect(fills).toBe(1);
  expect(again.lakehouse.root).toBe(a.lakehouse.root);
  expect(again.lakehouse.dataIdentity()).toBe(a.lakehouse.dataIdentity());
  // Closing a run's handle leaves the staging for the others.
  await a.close();
  expect(existsSync(a.lakehouse.root)).toBe(true);
  const b = await stageOnce('test', 'key-b', fill(2));
  expect(fills).toBe(2);
  expect(b.lakehouse.root).not.toBe(a.lakehouse.root);
  expect(b.lakehouse.dataIdentity()).not.toBe(a.lakehouse.dataIdentity());
});

test('callers racing on a new key all read one complete staging', async () => {
  const fill = async (lh: Lakehouse) => {
    await lh.seedSynthetic({ symbols: 8, days: 40, seed: 3 });
  };
  const all = await Promise.all([1, 2, 3].map(() => stageOnce('test', 'key-race', fill)));
  expect(new Set(all.map((s) => s.lakehouse.root)).size).toBe(1);
  expect(new Set(all.map((s) => s.lakehouse.dataIdentity())).size).toBe(1);
  expect(all[0]!.lakehouse.symbols().length).toBeGreaterThan(0);
  // No half-staged folder is left beside it.
  expect(readdirSync(join(all[0]!.lakehouse.root, '..')).filter((f) => f.startsWith('.test-'))).toEqual([]);
});

test('a tournament on a synthetic market leaves no staging behind, and clears a killed process’s', () => {
  const temp = join(tmp, 'tmpdir');
  mkdirSync(temp);
  // A process that is gone (it exited) and left its folder, as a killed one would.
  const gone = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).stdout.trim();
  mkdirSync(join(temp, `fractal-staged-${gone}`, 'synthetic-left'), { recursive: true });
  writeFileSync(join(tmp, 'tiny.yaml'), tinySelection());
  writeFileSync(join(tmp, 'sweep.yaml'), tinySweep);
  const r = cli([join(tmp, 'sweep.yaml'), '--out', join(tmp, 'runs'), '--json', '--no-cache'], { env: { TMPDIR: temp } });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const cells = JSON.parse(r.stdout).folder as string;
  expect(readdirSync(join(cells, 'cells')).sort()).toEqual(['c5_10', 'c5_20', 'c8_10', 'c8_20']);
  expect(readdirSync(temp).filter((f) => f.startsWith('fractal-'))).toEqual([]);
});

test('a staging whose scan never closes goes with its process (a replay worker ended mid-scan), not into the temporary folder for ever', () => {
  // The csv scanner stages its file for each scan (stageTemporary). A process that stages and never closes, as a
  // replay worker ended mid-scan does, then exits: nothing of it is left in its temporary folder.
  const temp = join(tmp, 'tmpdir-unclosed');
  mkdirSync(temp);
  const staged = join(repo, 'dist', 'stages', 'ingestion', 'scanners', 'staged.js');
  const script = `const { stageTemporary } = await import(${JSON.stringify(staged)});
const s = await stageTemporary('csv', (lh) => lh.seedSynthetic({ symbols: 8, days: 40, seed: 1 }));
console.log(s.lakehouse.root);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, TMPDIR: temp } });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  // It was staged under the process's own folder, which its exit removed.
  expect(r.stdout.trim().startsWith(join(temp, `fractal-staged-${r.pid}`))).toBe(true);
  expect(readdirSync(temp).filter((f) => f.startsWith('fractal-'))).toEqual([]);
});
