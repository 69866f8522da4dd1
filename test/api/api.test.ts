/**
 * The public API in process (src/api/index.ts): what each entry point returns for valid and invalid input, that
 * nothing is written when a run is refused, and that the plugin helpers apply the registry's rules when called.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineFilter, defineRanker, FractalError, listPlugins, openLakehouse, plan, run, validate } from '../../src/api/index.js';

const REPO = new URL('../..', import.meta.url).pathname;
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fractal-api-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('validate: a folder of valid pipelines, and a file with an error located at file:line:col', async () => {
  const ok = await validate(join(REPO, 'pipelines'));
  expect(ok.valid).toBe(true);
  expect(ok.errors).toBe(0);
  expect(ok.files.length).toBeGreaterThan(3);
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'pipeline: selection\nversion: "4.0"\nname: bad\nstages:\n  - type: ingestion\n    params: { scanner: synthetic, lookback_days: 1 }\n');
  const r = await validate([bad]);
  expect(r.valid).toBe(false);
  expect(r.files).toEqual([expect.objectContaining({ valid: false })]);
  const d = r.diagnostics.find((x) => x.severity === 'error')!;
  expect(d.line).toBe(6);
  await expect(validate(join(dir, 'empty-folder-that-is-missing'))).resolves.toMatchObject({ valid: false, diagnostics: [expect.objectContaining({ code: 'FILE_NOT_FOUND' })] });
});

test('plan: the resolved config and its hash; a diff against another file names each change', async () => {
  const p = await plan(join(REPO, 'pipelines', 'demo.yaml'));
  if (!p.valid) throw new Error('demo is valid');
  expect(p.hash).toMatch(/^[0-9a-f]{64}$/);
  expect(p.config.stages.map((s) => s.type)[0]).toBe('ingestion');
  const changed = join(dir, 'demo-changed.yaml');
  writeFileSync(changed, readFileSync(join(REPO, 'pipelines', 'demo.yaml'), 'utf8').replace('threshold: 0.7', 'threshold: 0.5'));
  const d = await plan(changed, { diff: join(REPO, 'pipelines', 'demo.yaml') });
  if (!d.valid) throw new Error('valid');
  expect(d.diff!.changes).toEqual([{ path: 'stages.clustering.threshold', kind: 'changed', before: 0.7, after: 0.5 }]);
  expect(d.diff!.before.hash).toBe(p.hash);
  expect(d.hash).not.toBe(p.hash);
});

test('run: invalid input is refused with every problem and nothing is written', async () => {
  const out = join(dir, 'runs');
  const bad = await run(join(REPO, 'pipelines', 'demo.yaml'), { out, set: ['stages.clustering.threshold=-1'] });
  expect(bad).toMatchObject({ outcome: 'invalid', exitCode: 2 });
  if (bad.outcome !== 'invalid') throw new Error('invalid');
  expect(bad.diagnostics.some((x) => x.severity === 'error' && x.file === '<command line: --set stages.clustering.threshold=-1>' && x.code === 'PARAM_OUT_OF_RANGE')).toBe(true);
  const noLakehouse = await run(join(REPO, 'pipelines', 'crypto_long.yaml'), { out, lakehouse: join(dir, 'no-lakehouse') });
  expect(noLakehouse).toMatchObject({ outcome: 'invalid', errors: [expect.objectContaining({ code: 'LAKEHOUSE_MISSING', exit_code: 2 })] });
  expect(existsSync(out)).toBe(false);
});

test('openLakehouse: a folder without a registry is refused, coded', async () => {
  await expect(openLakehouse(join(dir, 'nothing-here'))).rejects.toMatchObject({ code: 'LAKEHOUSE_MISSING', exitCode: 2 });
});

test('the define* helpers make plugin classes, and refuse a meta the registry would refuse, at once', () => {
  const R = defineRanker({ name: 'flat', description: 'everyone equal', params: { type: 'object', additionalProperties: false, properties: {} } }, { score: (f) => ({ conviction: new Float64Array(f.symbols.length) }) });
  expect(R.meta).toMatchObject({ kind: 'ranker', name: 'flat' });
  expect(R.name).toBe('Flat');
  const r = new R();
  expect(Array.from(r.score({ symbols: ['A', 'B'], names: [], values: {} }, {}, undefined as never, undefined as never).conviction)).toEqual([0, 0]);
  // A fresh implementation per instance when given a function (a plugin with state).
  const F = defineFilter({ name: 'none', description: 'vetoes nothing', params: { type: 'object', additionalProperties: false, properties: {} } }, () => ({ hard: false, evaluate: () => ({}), relax: (p) => p }));
  expect(new F()).not.toBe(new F());
  expect(() => defineRanker({ name: 'Bad-Name', description: 'x', params: { type: 'object', additionalProperties: false, properties: {} } }, { score: () => ({ conviction: new Float64Array() }) })).toThrow(FractalError);
  expect(() => defineRanker({ name: 'loose', description: 'x', params: { type: 'object', properties: {} } }, { score: () => ({ conviction: new Float64Array() }) })).toThrow(/additionalProperties/);
  expect(listPlugins('ranker').map((m) => m.name)).toEqual(expect.arrayContaining(['mps', 'cars', 'regime']));
  expect(readdirSync(dir).includes('runs')).toBe(false);
});

test("run() leaves the host's signals alone unless asked (handleSignals): a daemon's SIGTERM handler runs, the process is not ended", () => {
  const out = join(dir, 'signals');
  const script = join(dir, 'host.mjs');
  writeFileSync(
    script,
    `import { run } from ${JSON.stringify(join(REPO, 'dist', 'bundle', 'index.js'))};
let heard = 0;
process.on('SIGTERM', () => { heard++; });
const pending = run(${JSON.stringify(join(REPO, 'test', 'runs', 'fixtures', 'nap.yaml'))}, { out: ${JSON.stringify(out)}, workers: false });
setTimeout(() => process.kill(process.pid, 'SIGTERM'), 800);
setTimeout(() => { console.log(JSON.stringify({ heard, listeners: process.listenerCount('SIGTERM') + process.listenerCount('SIGINT') + process.listenerCount('SIGHUP') })); process.exit(0); }, 1600);
void pending;
`,
  );
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
  expect(r.status).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual({ heard: 1, listeners: 1 });
  expect(r.stderr).not.toContain('interrupted by');
});
