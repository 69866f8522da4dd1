/**
 * The packed package works from another project as docs/api.md says: `npm pack` (dist/ as built by `npm test`'s
 * pretest), installed into an empty temporary project, imported there by name, runs the demo pipeline and a
 * pipeline with a plugin module written with `defineRanker`; its declarations type-check a TypeScript consumer.
 * The demo's decision from the packed API is the same bytes as the CLI's run of it in this repository.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, repo } from '../cli/helpers.js';

let dir: string;
let tarball: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fractal-pack-'));
  // --ignore-scripts: dist/ is already built (pretest); rebuilding it here would race other suites reading it.
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: repo, encoding: 'utf8' });
  tarball = join(dir, JSON.parse(out)[0].filename);
  const project = join(dir, 'consumer');
  mkdirSync(join(project, 'plugins'), { recursive: true });
  // arquero's flechette 2.7 does not install (TOOLCHAIN.md): a consumer pins it as Fractal does.
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', overrides: { '@uwdata/flechette': '2.6.0' } }, null, 2));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--fetch-retries=5', tarball], { cwd: project, stdio: 'pipe', encoding: 'utf8' });
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const project = () => join(dir, 'consumer');
const node = (script: string) => spawnSync(process.execPath, [script], { cwd: project(), encoding: 'utf8', env: { ...process.env, CI: '1' } });

test('the tarball holds the built API, its declarations, the CLI and the schemas, and no sources, tests or runs', () => {
  const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const f of ['package/dist/bundle/index.js', 'package/dist/bundle/main.js', 'package/dist/bundle/replay-worker.js', 'package/dist/src/api/index.d.ts', 'package/dist/src/api/types.d.ts', 'package/bin/pipeline-run.js', 'package/schemas/pipeline.schema.json']) expect(files).toContain(f);
  expect(files.filter((f) => /^package\/(src|test|stages|runs|lakehouse)\//.test(f))).toEqual([]);
  // Every page the shipped code points a reader at (a hint, a message) is in the package beside it.
  const pages = new Set<string>();
  for (const f of readdirSync(join(repo, 'dist', 'bundle')).filter((x) => x.endsWith('.js'))) for (const m of readFileSync(join(repo, 'dist', 'bundle', f), 'utf8').matchAll(/docs\/[a-z-]+(\/[a-z-]+)?\.md/g)) pages.add(m[0]);
  expect(pages.size).toBeGreaterThan(5);
  expect([...pages].filter((d) => !files.includes(`package/${d}`))).toEqual([]);
  const pkg = JSON.parse(readFileSync(join(project(), 'node_modules', 'fractal', 'package.json'), 'utf8'));
  expect(pkg.exports['.']).toEqual({ types: './dist/src/api/index.d.ts', import: './dist/bundle/index.js', default: './dist/bundle/index.js' });
});

test('the demo runs through the installed API, and decides what the CLI decides in this repository', () => {
  copyFileSync(join(repo, 'pipelines', 'demo.yaml'), join(project(), 'demo.yaml'));
  writeFileSync(
    join(project(), 'demo.mjs'),
    `import { validate, plan, run, version } from 'fractal';
const v = await validate('demo.yaml');
const p = await plan('demo.yaml');
const r = await run('demo.yaml', { out: 'runs' });
console.log(JSON.stringify({ version: version(), valid: v.valid, errors: v.errors, hash: p.hash, outcome: r.outcome, paths: r.paths, metrics: r.metrics, config_hash: r.summary?.config_hash }));
`,
  );
  const r = node('demo.mjs');
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const out = JSON.parse(r.stdout);
  expect(out).toMatchObject({ valid: true, errors: 0, outcome: 'succeeded' });
  expect(out.version).toBe(JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version);
  expect(out.config_hash).toBe(out.hash);
  expect(out.paths.folder.startsWith(join(project(), 'runs', 'demo'))).toBe(true);
  expect(out.paths.report).toBe(join(out.paths.folder, 'report.html'));
  expect(Number.isFinite(out.metrics.sharpe)).toBe(true);
  // The CLI of this repository, on the same file: same resolved config, same decision and record, byte for byte.
  const here = mkdtempSync(join(tmpdir(), 'fractal-pack-cli-'));
  try {
    const c = cli(['run', 'pipelines/demo.yaml', '--out', here, '--json']);
    expect(c.code).toBe(0);
    const mine = JSON.parse(c.stdout);
    expect(mine.config_hash).toBe(out.hash);
    for (const f of ['weights.json', 'metrics.json', 'scores.json', 'equity.arrow']) expect(readFileSync(join(out.paths.folder, f))).toEqual(readFileSync(join(mine.folder, f)));
  } finally {
    rmSync(here, { recursive: true, force: true });
  }
}, 180_000);

test('docs/api.md as written: the example program runs the demo and a defineRanker plugin module from the installed package', () => {
  // The page shows the example files as they are.
  const doc = readFileSync(join(repo, 'docs', 'api.md'), 'utf8');
  for (const f of ['run.mjs', 'plugins/calm.ranker.js', 'calm.yaml']) expect(doc).toContain(readFileSync(join(repo, 'examples', 'api', f), 'utf8').trim());
  copyFileSync(join(repo, 'examples', 'api', 'run.mjs'), join(project(), 'run.mjs'));
  copyFileSync(join(repo, 'examples', 'api', 'calm.yaml'), join(project(), 'calm.yaml'));
  copyFileSync(join(repo, 'examples', 'api', 'plugins', 'calm.ranker.js'), join(project(), 'plugins', 'calm.ranker.js'));
  copyFileSync(join(repo, 'pipelines', 'demo.yaml'), join(project(), 'demo.yaml'));
  const r = node('run.mjs');
  expect(r.status).toBe(0);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  expect(lines.map((l) => l.file)).toEqual(['demo.yaml', 'calm.yaml']);
  for (const l of lines) expect(l.holdings).toBeGreaterThan(0);
  expect(r.stderr).toMatch(/calm: config sha256:[0-9a-f]{12}, stages ingestion > feature_engineering/);
  const folder = lines[1].folder;
  // The plugin's scores are what it computes: -2 x the volatility feature of each symbol (both read back from the run).
  const scores = JSON.parse(readFileSync(join(folder, 'scores.json'), 'utf8'));
  const features = JSON.parse(readFileSync(join(folder, 'features.json'), 'utf8'));
  expect(scores.champion).toBe('calm');
  const expected = scores.symbols.map((s: string) => -2 * features.features.volatility[features.symbols.indexOf(s)]);
  expect(scores.conviction.calm.length).toBe(expected.length);
  scores.conviction.calm.forEach((c: number, i: number) => expect(c).toBeCloseTo(expected[i], 12));
  const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8'));
  expect(manifest.plugin_modules.map((m: { path: string }) => m.path)).toEqual(['./plugins/calm.ranker.js']);
}, 180_000);

test("a plugin's params are validated like a built-in's, and it is the pipeline's own, not a built-in", () => {
  writeFileSync(
    join(project(), 'params.mjs'),
    `import { validate, listPlugins } from 'fractal';
const bad = await validate('calm.yaml', { set: ['stages.inference.rankers=[{"name":"calm","params":{"scale":-1}}]'] });
console.log(JSON.stringify({ bad: bad.diagnostics.map((d) => d.code), builtin: listPlugins('ranker').some((m) => m.name === 'calm') }));
`,
  );
  const r = node('params.mjs');
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout)).toEqual({ bad: ['PARAM_OUT_OF_RANGE'], builtin: false });
});

test('the declarations type-check a TypeScript consumer, and catch a wrong use', () => {
  const good = `import { run, defineRanker, defineFilter, type RunResult, type Ranker } from 'fractal';
const calm: Ranker<{ scale: number }> = { score: (features, p) => ({ conviction: features.values.volatility.map((v) => -v * p.scale) }) };
export const Calm = defineRanker({ name: 'calm', description: 'calm', params: { type: 'object', additionalProperties: false, properties: {} } }, calm);
// A filter's verdicts as a Map keyed by symbol, as docs/plugin-modules.md says to return them.
export const Quiet = defineFilter({ name: 'quiet', description: 'quiet', params: { type: 'object', additionalProperties: false, properties: {} } }, {
  hard: false,
  relax: (p) => p,
  evaluate: (features) => new Map(features.symbols.map((s) => [s, [{ metric: 'volatility', value: null, threshold: 1, rule: 'max' as const, vetoed: false }]])),
});
export async function go(): Promise<string | null> {
  const r: RunResult = await run('demo.yaml', { out: 'runs', cache: false });
  return r.outcome === 'invalid' ? r.errors[0]?.code ?? null : r.paths.folder;
}
`;
  writeFileSync(join(project(), 'good.ts'), good);
  writeFileSync(join(project(), 'bad.ts'), "import { run } from 'fractal';\nexport const x = run('demo.yaml', { out: 3 });\n");
  writeFileSync(join(project(), 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: [] } }));
  const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  const ok = spawnSync(process.execPath, [tsc, '-p', '.', '--types', 'node', '--typeRoots', join(repo, 'node_modules', '@types')], { cwd: project(), encoding: 'utf8' });
  const errors = ok.stdout.split('\n').filter((l) => /error TS/.test(l));
  expect(errors.filter((l) => l.startsWith('good.ts'))).toEqual([]);
  expect(errors.some((l) => l.startsWith('bad.ts') && /TS2322/.test(l))).toBe(true);
  expect(readdirSync(project())).toContain('good.ts');
}, 120_000);
