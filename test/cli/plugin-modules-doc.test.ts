/**
 * docs/plugin-modules.md is tested: every file it shows is in examples/plugins/ exactly as shown, the examples' own unit
 * tests pass under `node --test`, the example pipeline runs with the custom ranker and filter doing what their code
 * says (recomputed here from features.json), bad params are refused at file:line:col, the manifest records each
 * module's sha256, and `git.dirty` counts untracked files.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, repo } from './helpers.js';

const EXAMPLES = join(repo, 'examples', 'plugins');
let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-plugins-doc-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

test('every file the page shows is in examples/plugins exactly as shown', () => {
  const doc = readFileSync(join(repo, 'docs', 'plugin-modules.md'), 'utf8');
  const shown = [...doc.matchAll(/<!-- file: (\S+) -->\n```\w+\n([\s\S]*?)```\n/g)].map((m) => [m[1]!, m[2]!] as const);
  expect(shown.map(([f]) => f).sort()).toEqual(['examples/plugins/drawdown.filter.js', 'examples/plugins/low_volatility.ranker.js', 'examples/plugins/pipeline.yaml', 'examples/plugins/plugins.test.mjs']);
  for (const [file, text] of shown) expect({ file, text }).toEqual({ file, text: readFileSync(join(repo, file), 'utf8') });
});

test("the examples' unit tests pass with node's own test runner", () => {
  const r = spawnSync(process.execPath, ['--test', EXAMPLES], { encoding: 'utf8' });
  expect(r.stdout).toMatch(/# pass 5\b/);
  expect(r.stdout).toMatch(/# fail 0\b/);
  expect(r.status).toBe(0);
});

test('the example pipeline runs: the custom ranker is champion, the custom filter vetoes above its ceiling', () => {
  const r = cli([join(EXAMPLES, 'pipeline.yaml'), '--out', join(tmp, 'runs'), '--json']);
  expect(r.code).toBe(0);
  const folder = JSON.parse(r.stdout).folder as string;
  const read = (f: string) => JSON.parse(readFileSync(join(folder, f), 'utf8'));
  const features = read('features.json');
  const col = (name: string) => features.features[name] as (number | null)[];
  const scores = read('scores.json');
  expect(scores.champion).toBe('low_volatility');
  // conviction = −volatility + 0.1 × momentum (the pipeline's momentum_tilt), symbol by symbol.
  const vol = col('volatility');
  const mom = col('momentum');
  (scores.conviction.low_volatility as (number | null)[]).forEach((c, i) => {
    if (vol[i] === null || mom[i] === null) expect(c).toBeNull();
    else expect(c).toBeCloseTo(-vol[i]! + 0.1 * mom[i]!, 12);
  });
  // Vetoed at the strict thresholds: exactly the symbols whose max_drawdown is above 0.5.
  const vetoes = read('vetoes.json');
  const strict = (vetoes.strict_vetoes ?? vetoes.vetoes) as Record<string, { filter: string; value: number; threshold: number }[]>;
  const vetoed = Object.entries(strict).filter(([, vs]) => vs.some((v) => v.filter === 'drawdown')).map(([s]) => s).sort();
  const dd = col('max_drawdown');
  const expected = (features.symbols as string[]).filter((_, i) => dd[i] !== null && dd[i]! > 0.5).sort();
  expect(vetoed.length).toBeGreaterThan(0);
  expect(vetoed).toEqual(expected);
  const manifest = read('manifest.json');
  const sha = (f: string) => `sha256:${createHash('sha256').update(readFileSync(join(EXAMPLES, f))).digest('hex')}`;
  expect(manifest.plugin_modules).toEqual([
    { path: './low_volatility.ranker.js', sha256: sha('low_volatility.ranker.js') },
    { path: './drawdown.filter.js', sha256: sha('drawdown.filter.js') },
  ]);
});

test('params are validated against the module’s schema, at file:line:col', () => {
  const dir = join(tmp, 'bad');
  mkdirSync(dir);
  for (const f of ['low_volatility.ranker.js', 'drawdown.filter.js']) copyFileSync(join(EXAMPLES, f), join(dir, f));
  writeFileSync(join(dir, 'pipeline.yaml'), readFileSync(join(EXAMPLES, 'pipeline.yaml'), 'utf8').replace('momentum_tilt: 0.1', 'momentum_tilt: 2').replace('max_drawdown: 0.5', 'max_dd: 0.5'));
  const r = cli(['validate', 'pipeline.yaml'], { cwd: dir });
  expect(r.code).toBe(2);
  expect(r.stdout).toContain("pipeline.yaml:16:74: error PARAM_OUT_OF_RANGE 'momentum_tilt' in params of ranker 'low_volatility' must be <= 1, got 2");
  expect(r.stdout).toContain("pipeline.yaml:19:64: error PARAM_UNKNOWN_KEY unknown key 'max_dd' in params of filter 'drawdown'");
});

test('git.dirty counts untracked files (a plugin module never committed)', () => {
  const dir = join(tmp, 'repo');
  mkdirSync(dir);
  const git = (...args: string[]) => spawnSync('git', ['-c', 'user.email=t@example.org', '-c', 'user.name=t', ...args], { cwd: dir, encoding: 'utf8' });
  git('init', '-q');
  writeFileSync(join(dir, '.gitignore'), 'runs/\n');
  for (const f of ['low_volatility.ranker.js', 'drawdown.filter.js', 'pipeline.yaml']) copyFileSync(join(EXAMPLES, f), join(dir, f));
  writeFileSync(join(dir, 'pipeline.yaml'), readFileSync(join(dir, 'pipeline.yaml'), 'utf8').replace(/ {2}- type: backtest\n.*\n/, ''));
  git('add', '-A');
  git('commit', '-qm', 'pipeline');
  const run = () => JSON.parse(readFileSync(join(JSON.parse(cli(['pipeline.yaml', '--json'], { cwd: dir }).stdout).folder, 'manifest.json'), 'utf8')).git;
  const clean = run();
  expect(clean).toMatchObject({ dirty: false, changed: 0, untracked: 0 });
  expect(clean.commit).toBe(git('rev-parse', 'HEAD').stdout.trim());
  writeFileSync(join(dir, 'new_ranker.js'), '// not committed\n');
  expect(run()).toMatchObject({ dirty: true, changed: 0, untracked: 1 });
});
