/**
 * `pipeline-run runs --prune --keep N` (found operating a nightly job: nothing ever removed finished runs): each
 * pipeline's N newest finished runs stay, and so does every run a kept run points into (a meta's cached sleeves); the
 * rest goes, with the cache entries that pointed into it and the compare pages that named it.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cli } from './helpers.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-retention-'));
  for (const [name, seed] of [['s', 1], ['t', 2]] as const)
    writeFileSync(join(tmp, `${name}.yaml`), `pipeline: selection\nversion: "4.0"\nname: sel_${name}\nstages:\n  - type: ingestion\n    params: { scanner: { name: synthetic, params: { symbols: 12, days: 200, seed: ${seed} } }, lookback_days: 60 }\n  - type: allocation\n    params: { engine: equal_weight }\n  - type: backtest\n    params: { train_window: 60, test_window: 20, step_size: 20 }\n`);
  writeFileSync(join(tmp, 'm.yaml'), 'pipeline: meta\nversion: "4.0"\nname: meta_r\nsleeves:\n  - { name: s, pipeline: ./s.yaml }\n  - { name: t, pipeline: ./t.yaml }\nstages:\n  - type: meta_returns\n  - type: meta_optimize\n    params: { train_window: 40, test_window: 20, step_size: 20 }\n  - type: meta_flatten\n');
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const out = () => join(tmp, 'runs');
const run = (file: string, extra: string[] = []) => {
  const r = cli([join(tmp, file), '--out', out(), '--json', ...extra]);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout).folder as string;
};
const cacheRuns = () => readdirSync(join(out(), '.cache', 'sleeves')).map((f) => resolve(out(), JSON.parse(readFileSync(join(out(), '.cache', 'sleeves', f), 'utf8')).run as string));

test('keeps the newest per pipeline and what they point into; removes the rest, its cache entries and compare pages', () => {
  const m1 = run('m.yaml'); // its sleeves run inside it, and are cached pointing there
  const s = [run('s.yaml'), run('s.yaml'), run('s.yaml')];
  const m2 = run('m.yaml'); // both sleeves from the cache: its sleeves.json points into m1
  expect(JSON.parse(readFileSync(join(m2, 'sleeves.json'), 'utf8')).sleeves.every((x: { cached: boolean }) => x.cached)).toBe(true);
  expect(cli(['runs', '--out', out()]).code).toBe(0); // compare pages for each run and its predecessor
  const pages = () => readdirSync(join(out(), '.compare', 'sel_s'));
  expect(pages().some((p) => p.includes(s[0].split('/').pop()!))).toBe(true);

  const p = cli(['runs', '--out', out(), '--prune', '--keep', '1']);
  expect(p.code).toBe(0);
  // sel_s: the newest stays, the two before it go; meta_r: m2 stays, and m1 because m2's sleeves point into it.
  expect([existsSync(s[0]), existsSync(s[1]), existsSync(s[2])]).toEqual([false, false, true]);
  expect([existsSync(m1), existsSync(m2)]).toEqual([true, true]);
  expect(p.stderr).toContain('2 run(s) removed');
  expect(p.stderr).toMatch(/removed older \(succeeded\) run .*sel_s/);
  // The meta still traces through its cached sleeves; no compare page names a removed run.
  expect(cli(['trace', m2, 'AAAUSDT']).stderr).not.toContain('run folder not found');
  expect(pages().filter((pg) => [s[0], s[1]].some((f) => pg.includes(f.split('/').pop()!)))).toEqual([]);

  // Once nothing kept points into m1, it goes too, and the cache entries that pointed into it with it.
  const m3 = run('m.yaml', ['--no-cache']);
  const q = cli(['runs', '--out', out(), '--prune', '--keep', '1']);
  expect(q.code).toBe(0);
  expect([existsSync(m1), existsSync(m2), existsSync(m3)]).toEqual([false, false, true]);
  expect(cacheRuns().filter((r) => r.startsWith(m1) || r.startsWith(m2))).toEqual([]);
  // A later meta still runs, from the cache where an entry remains or afresh.
  run('m.yaml');
});

test('--keep without --prune, or below 1, is refused', () => {
  expect(cli(['runs', '--out', out(), '--keep', '2']).stderr).toContain('--keep goes with --prune');
  const z = cli(['runs', '--out', out(), '--prune', '--keep', '0']);
  expect(z.code).toBe(2);
  expect(z.stderr).toContain('CLI_BAD_OPTION');
});
