/**
 * Meta pipelines end to end on a lakehouse filled from ../shared/data/crypto: the example crypto_meta.yaml (a
 * long and a short sleeve), the flattening identity on its outputs, the sleeve cache, degradation when a sleeve
 * or the meta optimisation fails, and the validation of sleeves (missing files, cycles, kinds).
 */
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { validateFile } from '../../src/config/validate.js';
import { runPipeline } from '../../src/pipeline/runner.js';
import { openLakehouse } from '../../src/lakehouse/index.js';
import { builtinRegistry } from '../../stages/index.js';
import { DATA_DIR, REPO_DIR } from '../data.js';

let tmp: string;
let lakehouse: string;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-meta-'));
  lakehouse = join(tmp, 'lakehouse');
  const lh = await openLakehouse(lakehouse, { create: true });
  await lh.importCsv(join(DATA_DIR, 'crypto'), { layout: 'ohlcv', venue: 'binance_spot', assetType: 'spot' });
  for (const f of ['crypto_long.yaml', 'crypto_short.yaml', 'crypto_meta.yaml']) copyFileSync(join(REPO_DIR, 'pipelines', f), join(tmp, f));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(file: string, opts: { noCache?: boolean; outRoot?: string } = {}) {
  const v = await validateFile(join(tmp, file), { registry: builtinRegistry() });
  expect(v.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return runPipeline(v, { outRoot: join(tmp, 'runs'), lakehousePath: lakehouse, ...opts });
}
const read = (folder: string, f: string) => JSON.parse(readFileSync(join(folder, f), 'utf8'));
const events = (folder: string) => readFileSync(join(folder, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

describe('crypto_meta.yaml on real crypto data', () => {
  let first: Awaited<ReturnType<typeof run>>;
  beforeAll(async () => {
    first = await run('crypto_meta.yaml');
  });

  test('flattening: each physical weight is the sum of its sleeve contributions, and the sum is the target exposure', () => {
    expect(first.outcome).toBe('succeeded');
    const weights = read(first.folder, 'weights.json') as { symbol: string; weight: number; direction: string; sleeves: Record<string, number> }[];
    const meta = read(first.folder, 'metrics.json').meta;
    const mw = meta.meta_weights as Record<string, number>;
    expect(Object.values(mw).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    // Recompute from the sleeves' own runs: Σ_s meta weight × the sleeve's weights.json.
    const sleeves = read(first.folder, 'sleeves.json').sleeves as { name: string; run: string }[];
    const expected = new Map<string, number>();
    for (const s of sleeves) for (const w of read(join(first.folder, s.run), 'weights.json') as { symbol: string; weight: number }[]) expected.set(w.symbol, (expected.get(w.symbol) ?? 0) + mw[s.name] * w.weight);
    for (const w of weights) {
      expect(Math.abs(w.weight - expected.get(w.symbol)!)).toBeLessThan(1e-12);
      expect(Math.abs(Object.values(w.sleeves).reduce((a, b) => a + b, 0) - w.weight)).toBeLessThan(1e-12);
      expect(w.direction).toBe(w.weight < 0 ? 'SHORT' : 'LONG');
    }
    expect(weights.some((w) => w.weight < 0)).toBe(true); // the short sleeve really is short
    expect(meta.stable_sum_gate.passed).toBe(true);
    const target = [...expected.values()].reduce((a, b) => a + b, 0);
    expect(Math.abs(weights.reduce((a, w) => a + w.weight, 0) - target)).toBeLessThan(1e-9);
    const tree = read(first.folder, 'cluster_tree.json');
    expect(tree.children.map((c: { name: string }) => c.name).sort()).toEqual(['long', 'short']);
  });

  test('an unchanged rerun is served from the cache, with identical outputs; --no-cache recomputes', async () => {
    const again = await run('crypto_meta.yaml');
    expect(again.outcome).toBe('succeeded');
    const hits = events(again.folder).filter((e) => e.event === 'sleeve_cache_hit');
    expect(hits.map((e) => e.data.sleeve).sort()).toEqual(['long', 'short']);
    expect(hits[0].data.from).toContain(first.run_id);
    // The cached sleeves' runs are named from this run's folder, as a sleeve run here is: the runs root can move whole.
    for (const sl of read(again.folder, 'sleeves.json').sleeves as { run: string; cached: boolean }[]) {
      expect(sl.cached).toBe(true);
      expect(isAbsolute(sl.run)).toBe(false);
      expect(resolve(again.folder, sl.run).startsWith(join(first.folder, 'sleeves'))).toBe(true);
      expect(existsSync(join(again.folder, sl.run, 'manifest.json'))).toBe(true);
    }
    for (const f of ['weights.json', 'cluster_tree.json', 'returns.arrow']) expect(readFileSync(join(again.folder, f))).toEqual(readFileSync(join(first.folder, f)));
    const forced = await run('crypto_meta.yaml', { noCache: true });
    expect(events(forced.folder).filter((e) => e.event === 'sleeve_cache_hit')).toEqual([]);
    expect(readFileSync(join(forced.folder, 'weights.json'))).toEqual(readFileSync(join(first.folder, 'weights.json')));
  });

  test('a runs root copied whole serves its cache from inside the copy; an entry whose run is gone is a miss, and the sleeve runs again', async () => {
    const copy = join(tmp, 'runs-copy');
    cpSync(join(tmp, 'runs'), copy, { recursive: true });
    const sleeveRuns = (folder: string) => (read(folder, 'sleeves.json').sleeves as { run: string; cached: boolean }[]).map((sl) => ({ ...sl, at: resolve(folder, sl.run) }));
    const served = await run('crypto_meta.yaml', { outRoot: copy });
    expect(events(served.folder).filter((e) => e.event === 'sleeve_cache_hit').length).toBe(2);
    for (const sl of sleeveRuns(served.folder)) {
      expect(sl.cached).toBe(true);
      expect(sl.at.startsWith(`${copy}/`)).toBe(true);
      expect(existsSync(join(sl.at, 'manifest.json'))).toBe(true);
    }
    // The runs the entries name removed by hand (not through `runs --prune`, which forgets the entries too): a miss.
    for (const sl of sleeveRuns(served.folder)) rmSync(sl.at, { recursive: true, force: true });
    const rerun = await run('crypto_meta.yaml', { outRoot: copy });
    expect(rerun.outcome).toBe('succeeded');
    expect(events(rerun.folder).filter((e) => e.event === 'sleeve_cache_hit')).toEqual([]);
    for (const sl of sleeveRuns(rerun.folder)) {
      expect(sl.cached).toBe(false);
      expect(existsSync(join(sl.at, 'manifest.json'))).toBe(true);
    }
    expect(readFileSync(join(rerun.folder, 'weights.json'))).toEqual(readFileSync(join(first.folder, 'weights.json')));
  });
});

test('a sleeve whose caps no universe could fill refuses the meta before anything is written, located in the sleeve', async () => {
  writeFileSync(join(tmp, 'hopeless.yaml'), readFileSync(join(tmp, 'crypto_long.yaml'), 'utf8').replace('name: crypto_long', 'name: hopeless').replace('{ engine: hrp, fallback: [equal_weight] }', '{ engine: hrp, bounds: [0, 0.01] }'));
  writeFileSync(join(tmp, 'refused.yaml'), 'pipeline: meta\nversion: "4.0"\nname: refused\nsleeves:\n  - { name: good, pipeline: ./crypto_long.yaml }\n  - { name: bad, pipeline: ./hopeless.yaml }\nstages:\n  - type: meta_returns\n  - type: meta_optimize\n  - type: meta_flatten\n');
  const err = await run('refused.yaml').then(() => undefined, (e) => e);
  expect(err).toMatchObject({ code: 'CAPS_BELOW_BUDGET', exitCode: 2 });
  expect(err.location).toMatchObject({ file: expect.stringContaining('hopeless.yaml'), line: 20 });
  expect(existsSync(join(tmp, 'runs', 'refused'))).toBe(false);
});

/** A sleeve that fails at run time: caps of 5% on a venue of 49 symbols pass the preflight; the dozen winners the
 *  policy leaves cannot hold 100%. */
const writeBroken = () => writeFileSync(join(tmp, 'broken.yaml'), readFileSync(join(tmp, 'crypto_long.yaml'), 'utf8').replace('name: crypto_long', 'name: broken').replace('{ engine: hrp, fallback: [equal_weight] }', '{ engine: hrp, bounds: [0, 0.05] }'));

test('a failing sleeve fails the meta (SLEEVE_FAILED, exit 1), naming it, its error and its failed run', async () => {
  writeBroken();
  writeFileSync(join(tmp, 'strict.yaml'), 'pipeline: meta\nversion: "4.0"\nname: strict\nsleeves:\n  - { name: good, pipeline: ./crypto_long.yaml }\n  - { name: bad, pipeline: ./broken.yaml }\nstages:\n  - type: meta_returns\n  - type: meta_optimize\n  - type: meta_flatten\n');
  const s = await run('strict.yaml');
  expect(s.outcome).toBe('failed');
  expect(s.error).toMatchObject({ code: 'SLEEVE_FAILED', stage: 'meta_returns', exit_code: 1 });
  expect(s.error!.message).toMatch(/^a sleeve of the meta failed: bad: its run failed in stage 'allocation' \[CAPS_BELOW_BUDGET\] .+ \(sleeves\/broken\/[^)]+\)$/);
  expect(s.error!.hint).toContain('on_sleeve_failure: leave_out');
  // The failed sleeve's run is kept, where the message says.
  const rel = /\((sleeves\/broken\/[^)]+)\)$/.exec(s.error!.message)![1];
  expect(existsSync(join(s.folder, rel, 'manifest.json'))).toBe(true);
});

test('on_sleeve_failure: leave_out leaves a failing sleeve out and records it; the rest completes', async () => {
  writeBroken();
  writeFileSync(join(tmp, 'degrade.yaml'), 'pipeline: meta\nversion: "4.0"\nname: degrade\nsleeves:\n  - { name: good, pipeline: ./crypto_long.yaml }\n  - { name: bad, pipeline: ./broken.yaml }\nstages:\n  - type: meta_returns\n    params: { on_sleeve_failure: leave_out }\n  - type: meta_optimize\n  - type: meta_flatten\n  - type: report\n');
  const s = await run('degrade.yaml');
  expect(s.outcome).toBe('succeeded');
  const failed = events(s.folder).find((e) => e.event === 'sleeve_failed');
  expect(failed.data.sleeve).toBe('bad');
  expect(failed.data.error.code).toBe('CAPS_BELOW_BUDGET');
  expect(Object.keys(read(s.folder, 'metrics.json').meta.meta_weights)).toEqual(['good']);
  expect(read(s.folder, 'cluster_tree.json').children.find((c: { name: string }) => c.name === 'bad').note).toContain('run failed');
  // Leaving it out is a judgement on the whole history: the report says what that does to the record.
  for (const f of ['report.md', 'report.html']) expect(readFileSync(join(s.folder, f), 'utf8')).toContain("A sleeve left out is missing from every day of the meta's record, including the days before");
});

test('when the meta optimisation fails, the equal-weight proxy stands in (recorded)', async () => {
  writeFileSync(join(tmp, 'proxy.yaml'), 'pipeline: meta\nversion: "4.0"\nname: proxy\nsleeves:\n  - { name: long, pipeline: ./crypto_long.yaml }\n  - { name: short, pipeline: ./crypto_short.yaml }\nstages:\n  - type: meta_returns\n  - type: meta_optimize\n    params: { engine: { name: efficient_return, params: { target_return: 50 } } }\n  - type: meta_flatten\n');
  const s = await run('proxy.yaml');
  expect(s.outcome).toBe('succeeded');
  // Recorded at every meta rebalance it stood in for, with the reason.
  const rebalances = read(s.folder, 'meta_rebalances.json') as { as_of: string; engine: string; proxy_reason?: string; weights: Record<string, number> }[];
  expect(rebalances.length).toBeGreaterThan(10);
  for (const r of rebalances) {
    expect(r.engine).toBe('equal_weight_proxy');
    expect(r.proxy_reason).toMatch(/every engine failed/);
    expect(r.weights).toEqual({ long: 0.5, short: 0.5 });
  }
  expect(events(s.folder).filter((e) => e.event === 'equal_weight_proxy').map((e) => e.data.as_of)).toEqual(rebalances.map((r) => r.as_of));
  expect(read(s.folder, 'metrics.json').meta.meta_weights).toEqual({ long: 0.5, short: 0.5 });
  expect(read(s.folder, 'metrics.json').meta.proxies).toBe(rebalances.length - 1); // the final decision is not held
});

test("a train window longer than the sleeves' common out-of-sample record is refused, naming both", async () => {
  writeFileSync(join(tmp, 'too_long.yaml'), 'pipeline: meta\nversion: "4.0"\nname: too_long\nsleeves:\n  - { name: long, pipeline: ./crypto_long.yaml }\n  - { name: short, pipeline: ./crypto_short.yaml }\nstages:\n  - type: meta_returns\n  - type: meta_optimize\n    params: { train_window: 5000 }\n  - type: meta_flatten\n');
  const s = await run('too_long.yaml');
  expect(s.outcome).toBe('failed');
  expect(s.error?.code).toBe('META_TOO_SHORT');
  expect(s.error?.message).toMatch(/the sleeves share \d+ days of out-of-sample returns \(\d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d\); meta_optimize.train_window 5000/);
});

describe('validation of sleeves', () => {
  const write = (name: string, text: string) => writeFileSync(join(tmp, name), text);
  const head = (name: string) => `pipeline: meta\nversion: "4.0"\nname: ${name}\n`;
  const stages = 'stages:\n  - type: meta_returns\n  - type: meta_optimize\n  - type: meta_flatten\n';
  const codes = async (file: string) => (await validateFile(join(tmp, file), { registry: builtinRegistry() })).diagnostics.map((d) => `${d.file.split('/').pop()}:${d.line}:${d.column}:${d.code}`);

  test('meta pipelines that contain each other: the chain is printed', async () => {
    write('a_meta.yaml', `${head('a')}sleeves:\n  - { name: b, meta: ./b_meta.yaml }\n${stages}`);
    write('b_meta.yaml', `${head('b')}sleeves:\n  - { name: a, meta: ./a_meta.yaml }\n${stages}`);
    const v = await validateFile(join(tmp, 'a_meta.yaml'), { registry: builtinRegistry() });
    const cycle = v.diagnostics.find((d) => d.code === 'REF_META_CYCLE')!;
    expect(cycle).toMatchObject({ line: 5, column: 22 });
    expect(cycle.file).toMatch(/b_meta\.yaml$/);
    expect(cycle.message).toMatch(/a_meta\.yaml -> .*b_meta\.yaml -> .*a_meta\.yaml/);
  });

  test('missing files, duplicate names, wrong kinds and sleeves without a backtest', async () => {
    write('sel_nobt.yaml', 'pipeline: selection\nversion: "4.0"\nstages:\n  - type: ingestion\n');
    write('bad_meta.yaml', `${head('bad')}sleeves:\n  - { name: x, pipeline: ./nope.yaml }\n  - { name: y, pipeline: ./sel_nobt.yaml }\n  - { name: y, pipeline: ./crypto_long.yaml }\n  - { name: z, meta: ./crypto_long.yaml }\n  - { name: w }\n${stages}`);
    expect(await codes('bad_meta.yaml')).toEqual([
      'bad_meta.yaml:5:26:REF_SLEEVE_NOT_FOUND',
      'bad_meta.yaml:6:26:REF_SLEEVE_NO_BACKTEST',
      'bad_meta.yaml:7:13:REF_SLEEVE_DUPLICATE',
      'bad_meta.yaml:8:22:REF_SLEEVE_INVALID',
      'bad_meta.yaml:9:5:REF_SLEEVE_INVALID',
    ]);
  });

  test("a sleeve's own errors point into the sleeve's file; a selection stage in a meta document is refused", async () => {
    write('sleeve_err.yaml', readFileSync(join(tmp, 'crypto_long.yaml'), 'utf8').replace('lookback: 60', 'lookbak: 60'));
    write('m2.yaml', `${head('m2')}sleeves:\n  - { name: s, pipeline: ./sleeve_err.yaml }\nstages:\n  - type: meta_returns\n  - type: clustering\n`);
    const c = await codes('m2.yaml');
    expect(c).toContain('m2.yaml:8:11:PLUGIN_WRONG_DOCUMENT');
    expect(c.some((x) => /^sleeve_err\.yaml:\d+:\d+:PARAM_UNKNOWN_KEY$/.test(x))).toBe(true);
  });

  test('the meta config hash changes when a sleeve changes', async () => {
    write('h_sleeve.yaml', readFileSync(join(tmp, 'crypto_long.yaml'), 'utf8'));
    write('h_meta.yaml', `${head('h')}sleeves:\n  - { name: s, pipeline: ./h_sleeve.yaml }\n${stages}`);
    const a = await validateFile(join(tmp, 'h_meta.yaml'), { registry: builtinRegistry() });
    write('h_sleeve.yaml', readFileSync(join(tmp, 'crypto_long.yaml'), 'utf8').replace('lookback: 60', 'lookback: 61'));
    const b = await validateFile(join(tmp, 'h_meta.yaml'), { registry: builtinRegistry() });
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(b.hash).not.toBe(a.hash);
  });
});
