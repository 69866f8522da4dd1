/**
 * `pipeline-run run <file> --from <stage> --reuse <run>`: the stages before --from come from the reused run's
 * checkpoints when nothing that decides them changed, and the run's artifacts are those of a full run of the same
 * config (byte for byte; the reports differ only in the run id and the reused stages' timing rows); when a stage
 * before --from, the data, or the run named changes or is missing, it is refused, coded, with the reason, and nothing
 * is written.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { cli } from './helpers.js';
import { PIPELINE } from './reuse-fixture.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-reuse-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));


const json = (args: string[]) => {
  const r = cli([...args, '--json']);
  return { code: r.code, out: JSON.parse(r.stdout), stderr: r.stderr };
};
const runs = (out: string) => (existsSync(join(out, 'reuse_demo')) ? readdirSync(join(out, 'reuse_demo')).filter((n) => !n.startsWith('.')).length : 0);
/** A report with what must differ between two runs of one config taken out: the run id, and the timing of each stage. */
const report = (folder: string, name: string) =>
  readFileSync(join(folder, name), 'utf8')
    .replace(/\d{8}T\d{6}Z-[0-9a-f]{6}/g, '<run>')
    .replace(/(\| [a-z_]+ \| )(\d+ ms|—)( \|)/g, '$1<ms>$3')
    .replace(/(<tr><td>[a-z_]+<\/td><td class="num">)(\d+ ms|—)(<\/td><\/tr>)/g, '$1<ms>$3');

function expectSameArtifacts(a: string, b: string): void {
  const ma = JSON.parse(readFileSync(join(a, 'manifest.json'), 'utf8'));
  const mb = JSON.parse(readFileSync(join(b, 'manifest.json'), 'utf8'));
  expect(mb.artifacts).toEqual(ma.artifacts);
  expect(mb.config_hash).toBe(ma.config_hash);
  expect(mb.data_hash).toBe(ma.data_hash);
  for (const f of ma.artifacts as string[]) {
    if (f === 'manifest.json' || f === 'audit.jsonl') continue;
    if (f === 'report.md' || f === 'report.html') expect({ f, text: report(b, f) }).toEqual({ f, text: report(a, f) });
    else expect({ f, same: readFileSync(join(b, f)).equals(readFileSync(join(a, f))) }).toEqual({ f, same: true });
  }
}

test('from allocation with a changed allocation: the same artifacts as a full run of that config; the earlier stages reused', () => {
  const file = join(tmp, 'reuse_demo.yaml');
  writeFileSync(file, PIPELINE);
  const out = join(tmp, 'runs');
  const first = json(['run', file, '--out', out]);
  expect(first.out.outcome).toBe('succeeded');
  expect(readdirSync(join(first.out.folder, 'checkpoints')).filter((n) => n.endsWith('.json'))).toHaveLength(9);
  // The quant changes the allocation and starts there.
  const set = ['--set', 'stages.allocation.engine=inverse_vol'];
  const reused = json(['run', file, '--out', out, ...set, '--from', 'allocation', '--reuse', first.out.folder]);
  expect(reused.code).toBe(0);
  expect(reused.out.stages.map((s: { outcome: string }) => s.outcome)).toEqual([...Array(6).fill('reused'), 'succeeded', 'succeeded', 'succeeded']);
  const full = json(['run', file, '--out', out, ...set]);
  expect(full.out.outcome).toBe('succeeded');
  expectSameArtifacts(full.out.folder, reused.out.folder);
  // The allocation did change: the weights differ from the first run's.
  expect(readFileSync(join(reused.out.folder, 'weights.json'), 'utf8')).not.toBe(readFileSync(join(first.out.folder, 'weights.json'), 'utf8'));
  const m = JSON.parse(readFileSync(join(reused.out.folder, 'manifest.json'), 'utf8'));
  expect(m.reused).toEqual({ run_id: first.out.run_id, folder: first.out.folder, from: 'allocation', stages: ['ingestion', 'feature_engineering', 'inference', 'clustering', 'policy', 'synthesis'] });
  // The audit names where each reused stage came from, and keeps its decisions (discovery, vetoes) for `trace`.
  const events = readFileSync(join(reused.out.folder, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(events.filter((e) => e.event === 'stage_reused').map((e) => [e.stage, e.data.run_id])).toEqual(m.reused.stages.map((s: string) => [s, first.out.run_id]));
  expect(events.some((e) => e.event === 'discovery')).toBe(true);
  const held = JSON.parse(readFileSync(join(reused.out.folder, 'weights.json'), 'utf8'))[0].symbol;
  const trace = cli(['trace', reused.out.folder, held]);
  expect(trace.code).toBe(0);
  expect(trace.stdout).toMatch(/^discovery\s+found by scanner 'synthetic'/m);
  expect(trace.stdout).toMatch(/^filters/m);
  // A reused run can be reused in turn, here from the policy stage, and is still the full run's bytes (its restored
  // checkpoints name blobs copied byte for byte from the run it reused).
  const again = json(['run', file, '--out', out, ...set, '--from', 'policy', '--reuse', reused.out.folder]);
  expect(again.code).toBe(0);
  expectSameArtifacts(full.out.folder, again.out.folder);
}, 240_000);

test('refused, coded and with the reason, before anything is written', () => {
  const file = join(tmp, 'reuse_demo.yaml');
  writeFileSync(file, PIPELINE);
  const out = join(tmp, 'refused');
  const first = json(['run', file, '--out', out]);
  expect(first.out.outcome).toBe('succeeded');
  const refused = (args: string[], code: string, message: RegExp, hint?: RegExp, where = out) => {
    const before = runs(where);
    const r = json(['run', file, '--out', where, ...args]);
    expect(r.code).toBe(2);
    expect(r.out.outcome).toBe('invalid');
    expect(r.out.errors[0].code).toBe(code);
    expect(r.out.errors[0].message).toMatch(message);
    if (hint) expect(r.out.errors[0].hint).toMatch(hint);
    expect(runs(where)).toBe(before);
  };
  // A stage before --from configured differently: which stage, which param, before and after.
  refused(['--set', 'stages.clustering.threshold=0.5', '--from', 'policy', '--reuse', first.out.folder], 'REUSE_CONFIG_CHANGED', /stage 4 'clustering' changed: threshold: 0\.7 → 0\.5/);
  // ... but the same change at or after --from is what --from is for.
  expect(json(['run', file, '--out', out, '--set', 'stages.clustering.threshold=0.5', '--from', 'clustering', '--reuse', first.out.folder]).code).toBe(0);
  refused(['--from', 'policy', '--reuse', join(tmp, 'nowhere')], 'REUSE_RUN_NOT_FOUND', /nowhere/);
  refused(['--from', 'allocatoin', '--reuse', first.out.folder], 'REUSE_FROM_UNKNOWN', /7 allocation/, /Did you mean 'allocation'\?/);
  // `latest` where the pipeline never ran: said as such, not as an unknown run id.
  refused(['--from', 'policy', '--reuse', 'latest'], 'REUSE_RUN_NOT_FOUND', /--reuse latest: no finished run of 'reuse_demo'/, /Run the pipeline in full once/, join(tmp, 'never-ran'));
  refused(['--from', 'ingestion', '--reuse', first.out.folder], 'REUSE_FROM_UNKNOWN', /nothing comes before/);
  refused(['--from', 'policy'], 'REUSE_FROM_UNKNOWN', /needs --reuse/);
  const bare = json(['run', file, '--out', join(tmp, 'bare'), '--no-checkpoints']);
  expect(existsSync(join(bare.out.folder, 'checkpoints'))).toBe(false);
  refused(['--from', 'policy', '--reuse', bare.out.folder], 'REUSE_NO_CHECKPOINT', /no checkpoint of stage 1 'ingestion'/);
  // A damaged run to reuse: refused as input before anything is written (it failed the new run's first stage as
  // STAGE_FAILED, "please report it", or crashed on its manifest).
  // A copy of the first run (whole and good) in a runs root of its own, then damaged.
  const damaged = (name: string, damage: (folder: string) => void) => {
    const folder = join(tmp, name, 'reuse_demo', basename(first.out.folder));
    cpSync(first.out.folder, folder, { recursive: true });
    damage(folder);
    return folder;
  };
  const blobs = (folder: string) => readdirSync(join(folder, 'checkpoints', 'blobs')).map((b) => join(folder, 'checkpoints', 'blobs', b)).sort((a, b) => statSync(b).size - statSync(a).size);
  const torn = damaged('torn', (f) => truncateSync(blobs(f)[0], 10));
  refused(['--from', 'allocation', '--reuse', torn], 'REUSE_RUN_DAMAGED', /cannot be reused: stage \d+ '\w+': checkpoint blob \w+… is 10 bytes, its checkpoint recorded \d+ \(changed or torn\)/, /Reuse another run/, join(tmp, 'torn'));
  const gone = damaged('gone', (f) => blobs(f).forEach((b) => rmSync(b)));
  refused(['--from', 'allocation', '--reuse', gone], 'REUSE_RUN_DAMAGED', /checkpoint blob \w+… is missing/, undefined, join(tmp, 'gone'));
  const garbage = damaged('garbage', (f) => writeFileSync(join(f, 'manifest.json'), '{ not json'));
  refused(['--from', 'allocation', '--reuse', garbage], 'REUSE_RUN_DAMAGED', /its manifest\.json is not valid JSON/, undefined, join(tmp, 'garbage'));
  const tornAudit = damaged('torn-audit', (f) => writeFileSync(join(f, 'audit.jsonl'), readFileSync(join(f, 'audit.jsonl'), 'utf8').slice(0, -40)));
  refused(['--from', 'allocation', '--reuse', tornAudit], 'REUSE_RUN_DAMAGED', /its audit\.jsonl is not valid JSON/, undefined, join(tmp, 'torn-audit'));
  const empty = damaged('empty', (f) => writeFileSync(join(f, 'manifest.json'), '{}'));
  refused(['--from', 'allocation', '--reuse', empty], 'REUSE_RUN_DAMAGED', /not a run's manifest/, undefined, join(tmp, 'empty'));
}, 240_000);

test('refused when the data changed since the reused run (its data hash against the lakehouse now)', () => {
  const lh = join(tmp, 'lh');
  expect(cli(['lakehouse', 'seed', '--synthetic', '--symbols', '30', '--days', '500', '--seed', '1', '--lakehouse', lh]).code).toBe(0);
  const file = join(tmp, 'reuse_demo.yaml');
  writeFileSync(file, PIPELINE.replace('{ scanner: { name: synthetic, params: { symbols: 30, days: 400, seed: 11 } }, lookback_days: 200 }', '{ scanner: lakehouse, lookback_days: 200 }'));
  const out = join(tmp, 'data');
  const first = json(['run', file, '--out', out, '--lakehouse', lh]);
  expect(first.out.outcome).toBe('succeeded');
  expect(json(['run', file, '--out', out, '--lakehouse', lh, '--from', 'allocation', '--reuse', first.out.run_id]).code).toBe(0);
  expect(cli(['lakehouse', 'seed', '--synthetic', '--symbols', '30', '--days', '500', '--seed', '2', '--replace', '--lakehouse', lh]).code).toBe(0);
  const r = json(['run', file, '--out', out, '--lakehouse', lh, '--from', 'allocation', '--reuse', first.out.run_id]);
  expect(r.code).toBe(2);
  expect(r.out.errors[0].code).toBe('REUSE_DATA_CHANGED');
  expect(r.out.errors[0].message).toContain(first.out.data_hash.slice(0, 19));
}, 240_000);

test('--reuse latest takes the newest run whose stages before --from are configured as now, not merely the newest', () => {
  const file = join(tmp, 'reuse_demo.yaml');
  writeFileSync(file, PIPELINE);
  const out = join(tmp, 'latest');
  const production = json(['run', file, '--out', out]);
  expect(production.out.outcome).toBe('succeeded');
  // A newer run with another clustering (a development profile, say).
  const dev = json(['run', file, '--out', out, '--set', 'stages.clustering.threshold=0.5']);
  expect(dev.out.outcome).toBe('succeeded');
  const r = json(['run', file, '--out', out, '--from', 'allocation', '--reuse', 'latest']);
  expect(r.code).toBe(0);
  const m = JSON.parse(readFileSync(join(r.out.folder, 'manifest.json'), 'utf8'));
  expect(m.reused.run_id).toBe(production.out.run_id);
  // With no run configured as now, the newest is named in the refusal, as before.
  const none = json(['run', file, '--out', out, '--from', 'allocation', '--reuse', 'latest', '--set', 'stages.clustering.threshold=0.6']);
  expect(none.code).toBe(2);
  expect(none.out.errors[0].code).toBe('REUSE_CONFIG_CHANGED');
}, 240_000);
