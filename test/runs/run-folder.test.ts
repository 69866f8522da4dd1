import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateFile } from '../../src/config/validate.js';
import { runPipeline } from '../../src/pipeline/runner.js';
import { builtinRegistry } from '../../stages/index.js';

const here = new URL('.', import.meta.url).pathname;
const fixture = (name: string) => join(here, 'fixtures', name);
let out: string;
beforeEach(() => {
  out = mkdtempSync(join(tmpdir(), 'fractal-runs-'));
});
afterEach(() => rmSync(out, { recursive: true, force: true }));

async function run(name: string) {
  const v = await validateFile(fixture(name), { registry: builtinRegistry() });
  expect(v.diagnostics).toEqual([]);
  return runPipeline(v, { outRoot: out, lakehousePath: join(out, 'lakehouse') });
}

const audit = (dir: string) => readFileSync(join(dir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

test('a completed run is one folder with manifest, audit and every artifact', async () => {
  const s = await run('ok.yaml');
  expect(s.outcome).toBe('succeeded');
  expect(readdirSync(join(out, 'spine_ok'))).toEqual([s.run_id]);
  const dir = join(out, 'spine_ok', s.run_id);
  // checkpoints/ (one per stage, for `run --from --reuse`) is not an artifact: the manifest does not list it.
  expect(readdirSync(dir).sort()).toEqual(['audit.jsonl', 'checkpoints', 'manifest.json', 'report.html', 'report.md', 'tick.json']);
  expect(readdirSync(join(dir, 'checkpoints')).filter((f) => f.endsWith('.json')).sort()).toEqual(['0.json', '1.json']);
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  expect(m.artifacts).not.toContain('checkpoints');
  expect(m.outcome).toBe('succeeded');
  expect(m.config_hash).toMatch(/^[0-9a-f]{64}$/);
  expect(m.config.stages.map((x: { type: string }) => x.type)).toEqual(['tick', 'report']);
  expect(m.config.stages[1].params).toEqual({ reporters: [{ name: 'markdown', params: { top: 25 } }, { name: 'html', params: {} }] });
  expect(m.stages.map((x: { outcome: string }) => x.outcome)).toEqual(['succeeded', 'succeeded']);
  expect(m.node_version).toBe(process.version);
  expect(m.git?.commit ?? null).not.toBe(undefined);
  expect(JSON.parse(readFileSync(join(dir, 'tick.json'), 'utf8'))).toEqual({ label: 'first', run_id: s.run_id });
  const events = audit(dir);
  expect(events.map((e) => e.event)).toEqual(['run_started', 'stage_started', 'ticked', 'stage_finished', 'stage_started', 'report_written', 'stage_finished', 'run_finished']);
  expect(new Set(events.map((e) => e.run_id))).toEqual(new Set([s.run_id]));
  expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain('| tick |');
});

test('a stage that throws leaves only a folder marked failed, with the audit up to the failure', async () => {
  const s = await run('boom.yaml');
  expect(s.outcome).toBe('failed');
  // The stage is the fixture's own plugin module: its error is the plugin's (PLUGIN_FAILED), not a Fractal bug.
  expect(s.error).toMatchObject({ stage: 'boom', code: 'PLUGIN_FAILED' });
  expect(s.error?.message).toContain('kaboom');
  // Nothing that looks complete, and no temporary folder left behind.
  expect(readdirSync(join(out, 'spine_boom'))).toEqual([`${s.run_id}.failed`]);
  const dir = join(out, 'spine_boom', `${s.run_id}.failed`);
  expect(readFileSync(join(dir, 'FAILED'), 'utf8')).toContain('kaboom');
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  expect(m.outcome).toBe('failed');
  expect(m.stages.map((x: { outcome: string }) => x.outcome)).toEqual(['succeeded', 'failed', 'skipped']);
  const events = audit(dir).map((e) => `${e.stage ?? '-'}:${e.event}`);
  expect(events).toEqual(['-:run_started', 'tick:stage_started', 'tick:ticked', 'tick:stage_finished', 'boom:stage_started', 'boom:stage_failed', '-:run_failed']);
  expect(existsSync(join(dir, 'report.md'))).toBe(false);
});

test('the same config gives the same hash on every run, and a different run id', async () => {
  const a = await run('ok.yaml');
  const b = await run('ok.yaml');
  expect(a.config_hash).toBe(b.config_hash);
  expect(a.run_id).not.toBe(b.run_id);
  expect(readdirSync(join(out, 'spine_ok')).sort()).toEqual([a.run_id, b.run_id].sort());
});

test('a pipeline using a planned plugin is refused before any folder is written', async () => {
  const v = await validateFile(fixture('planned.yaml'), { registry: builtinRegistry() });
  expect(v.ok).toBe(true);
  await expect(runPipeline(v, { outRoot: out, lakehousePath: out })).rejects.toMatchObject({ code: 'PIPELINE_NOT_RUNNABLE', message: expect.stringContaining("stage 'someday': lands in a later version.") });
  expect(readdirSync(out)).toEqual([]);
});
