/**
 * A run whose own decision finds nothing tradable holds cash, as its backtest's decisions do, instead of failing:
 * else a day on which the liquidity floor leaves nothing, appended, takes the whole out-of-sample record with it
 * (and a meta leaves the sleeve out of every earlier day: test/stages/meta-invariant.test.ts has that case for a
 * policy that lets nothing through). A seeded spot market whose volume collapses for its last 60 days: the 30-day
 * mean quote volume falls below the lakehouse scanner's $20M floor, so no symbol is tradable at the end.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { validateFile } from '../../src/config/validate.js';
import { runPipeline } from '../../src/pipeline/runner.js';
import { openLakehouse } from '../../src/lakehouse/index.js';
import { builtinRegistry } from '../../stages/index.js';
import { REPO_DIR } from '../data.js';
import { floorPipeline, spotDay, spotMarket } from './pipeline-helpers.js';

const DAYS = 420;
/** The first day of thin volume, and the last day of the cut data (well before the floor bites). */
const THIN_FROM = 360;
const CUT_AT = 340;
const iso = spotDay;

let tmp: string;

/** OHLCV files of the market's first `days` days: quote volume ~$50M a day, ~$1M from THIN_FROM on. */
const writeMarket = (dir: string, days: number) => spotMarket(dir, { seed: 42, total: DAYS, days, quote: (t) => (t < THIN_FROM ? 50e6 : 1e6) });

const PIPELINE = floorPipeline('thin_end');

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-cash-'));
  for (const [which, days] of [['full', DAYS], ['cut', CUT_AT + 1]] as const) {
    writeMarket(join(tmp, `csv-${which}`), days);
    const lh = await openLakehouse(join(tmp, `lakehouse-${which}`), { create: true });
    await lh.importCsv(join(tmp, `csv-${which}`), { layout: 'ohlcv', venue: 'binance_spot', assetType: 'spot' });
  }
  writeFileSync(join(tmp, 'thin_end.yaml'), PIPELINE);
}, 60_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function returnsOf(folder: string): Map<number, number> {
  const t = tableFromIPC(readFileSync(join(folder, 'returns.arrow')));
  const d = t.getChild('date')!.toArray() as ArrayLike<number>;
  const r = t.getChild('return')!.toArray() as Float64Array;
  return new Map(Array.from(d, (x, i) => [Number(x), r[i]!]));
}

test("nothing tradable on the as-of date: the run's own decision holds cash, the backtest runs, the earlier days are those of the cut data", async () => {
  const v = await validateFile(join(tmp, 'thin_end.yaml'), { registry: builtinRegistry() });
  expect(v.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const cut = await runPipeline(v, { outRoot: join(tmp, 'runs'), lakehousePath: join(tmp, 'lakehouse-cut') });
  expect(cut.error).toBeUndefined();
  // The whole process, as a user runs it: it succeeds and says the decision holds cash.
  const cli = spawnSync(process.execPath, [join(REPO_DIR, 'bin', 'pipeline-run.js'), 'run', join(tmp, 'thin_end.yaml'), '--lakehouse', join(tmp, 'lakehouse-full'), '--out', join(tmp, 'runs')], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
  expect({ status: cli.status, stderr: cli.stderr }).toMatchObject({ status: 0 });
  expect(cli.stderr).toContain(`CASH: the decision as of ${iso(DAYS - 1)} holds cash (nothing tradable): weights.json is empty`);
  const folder = cli.stdout.trim();

  const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8'));
  expect(manifest.outcome).toBe('succeeded');
  expect(manifest.stages.map((s: { type: string; outcome: string }) => `${s.type}:${s.outcome}`)).toEqual([
    'ingestion:cash', 'feature_engineering:skipped', 'inference:skipped', 'policy:skipped', 'synthesis:skipped', 'allocation:skipped', 'backtest:succeeded', 'report:succeeded',
  ]);
  // Discovery's record is there, with the step that left nothing.
  const candidates = JSON.parse(readFileSync(join(folder, 'candidates.json'), 'utf8'));
  expect(candidates.candidates).toEqual([]);
  expect(candidates.funnel.find((f: { step: string }) => f.step === 'liquidity').left).toBe(0);
  const audit = readFileSync(join(folder, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(audit.filter((e) => e.event === 'decision_held_cash').map((e) => e.data)).toEqual([
    expect.objectContaining({ as_of: iso(DAYS - 1), reason: 'nothing tradable', code: 'EMPTY_UNIVERSE', skipped: ['feature_engineering', 'inference', 'policy', 'synthesis', 'allocation'] }),
  ]);
  expect(JSON.parse(readFileSync(join(folder, 'weights.json'), 'utf8'))).toEqual([]);
  const metrics = JSON.parse(readFileSync(join(folder, 'metrics.json'), 'utf8'));
  expect(metrics.allocation).toMatchObject({ weights: {}, cash_reason: 'nothing tradable', decision: { as_of: iso(DAYS - 1) } });
  // Spot is annualised over 365 days, as the cut run's (whose as-of candidates say so) is.
  expect(metrics.backtest.periods_per_year).toBe(365);
  expect(JSON.parse(readFileSync(join(cut.folder, 'metrics.json'), 'utf8')).backtest.periods_per_year).toBe(365);

  // The decisions once the 30-day mean is below the floor held cash; every one before the thin days held symbols.
  const windows = audit.filter((e) => e.event === 'window').map((e) => e.data as { as_of: string; cash_reason?: string; holdings: number });
  const dry = windows.filter((w) => w.as_of >= iso(THIN_FROM + 30));
  expect(dry.length).toBeGreaterThan(0);
  expect(dry.every((w) => w.cash_reason === 'nothing tradable')).toBe(true);
  expect(windows.filter((w) => w.as_of < iso(THIN_FROM)).every((w) => w.cash_reason === undefined && w.holdings > 0)).toBe(true);

  // Appending the thin days changed no earlier day.
  const a = returnsOf(cut.folder);
  const b = returnsOf(folder);
  expect(a.size).toBeGreaterThan(200);
  expect([...a].filter(([d, x]) => !Object.is(x, b.get(d)))).toEqual([]);
  expect(b.size).toBe(a.size + DAYS - 1 - CUT_AT);

  // The reports say the as-of decision holds cash.
  for (const f of ['report.html', 'report.md']) expect([f, readFileSync(join(folder, f), 'utf8')]).toEqual([f, expect.stringContaining(`The decision as of ${iso(DAYS - 1)} holds cash: nothing tradable.`)]);
}, 120_000);

test('nothing tradable on any date: the run fails on the error its own decision met, as a run without a backtest does', async () => {
  writeFileSync(join(tmp, 'never.yaml'), PIPELINE.replace('name: thin_end', 'name: never').replace('{ scanner: lakehouse, lookback_days: 60 }', '{ scanner: { name: lakehouse, params: { min_volume_spot: 1.0e+15 } }, lookback_days: 60 }'));
  const cli = spawnSync(process.execPath, [join(REPO_DIR, 'bin', 'pipeline-run.js'), 'run', join(tmp, 'never.yaml'), '--lakehouse', join(tmp, 'lakehouse-full'), '--out', join(tmp, 'runs'), '--json'], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
  expect(cli.status).toBe(1);
  const summary = JSON.parse(cli.stdout);
  expect(summary).toMatchObject({ outcome: 'failed', error: { code: 'EMPTY_UNIVERSE', stage: 'ingestion' } });
  expect(summary.error.message).toMatch(/found no candidates tradable at .*; every one of the backtest's \d+ decisions held cash too: the run has no record/);
  const manifest = JSON.parse(readFileSync(join(summary.folder, 'manifest.json'), 'utf8'));
  expect(manifest.stages.map((s: { type: string; outcome: string }) => `${s.type}:${s.outcome}`).slice(0, 2)).toEqual(['ingestion:failed', 'feature_engineering:skipped']);
}, 120_000);

/** pipeline-run on a pipeline file of the tmp folder over the full data, as a user runs it. */
function cliRun(file: string) {
  const r = spawnSync(process.execPath, [join(REPO_DIR, 'bin', 'pipeline-run.js'), 'run', join(tmp, file), '--lakehouse', join(tmp, 'lakehouse-full'), '--out', join(tmp, 'runs'), '--json'], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
  return { status: r.status, summary: r.stdout ? JSON.parse(r.stdout) : undefined, stderr: r.stderr };
}

describe('where holding cash cannot stand for the decision, the run fails on its error as before (found by review)', () => {
  test('a stage after the backtest requires what the skipped stages provide (clustering: the returns)', async () => {
    writeFileSync(join(tmp, 'later.yaml'), PIPELINE.replace('name: thin_end', 'name: later') + '  - type: clustering\n');
    const r = cliRun('later.yaml');
    expect({ status: r.status, code: r.summary?.error?.code, stage: r.summary?.error?.stage }).toEqual({ status: 1, code: 'EMPTY_UNIVERSE', stage: 'ingestion' });
    expect(readFileSync(join(r.summary.folder, 'audit.jsonl'), 'utf8')).not.toContain('decision_held_cash');
  }, 120_000);

  test('a stage after the backtest requires and rewrites what a skipped stage alone provides (the features)', async () => {
    copyFileSync(join(REPO_DIR, 'test', 'stages', 'fixtures', 'cash', 'refine.stage.mjs'), join(tmp, 'refine.stage.mjs'));
    writeFileSync(join(tmp, 'refine.yaml'), PIPELINE.replace('name: thin_end\n', 'name: refine\nplugins: [./refine.stage.mjs]\n') + '  - type: refine_features\n');
    const r = cliRun('refine.yaml');
    expect({ status: r.status, code: r.summary?.error?.code, stage: r.summary?.error?.stage }).toEqual({ status: 1, code: 'EMPTY_UNIVERSE', stage: 'ingestion' });
  }, 120_000);

  test('a stage declaring NO_WINNERS a decision to hold cash, placed before ingestion: no market is open to replay from', async () => {
    // The plugin imports the API as a user's module does.
    mkdirSync(join(tmp, 'node_modules'), { recursive: true });
    symlinkSync(REPO_DIR, join(tmp, 'node_modules', 'fractal'));
    copyFileSync(join(REPO_DIR, 'test', 'stages', 'fixtures', 'cash', 'gate.stage.mjs'), join(tmp, 'gate.stage.mjs'));
    writeFileSync(join(tmp, 'gate.yaml'), PIPELINE.replace('name: thin_end\n', 'name: gate\nplugins: [./gate.stage.mjs]\n').replace('stages:\n', 'stages:\n  - type: no_winners_gate\n'));
    const r = cliRun('gate.yaml');
    expect({ status: r.status, code: r.summary?.error?.code, stage: r.summary?.error?.stage, message: r.summary?.error?.message }).toEqual({ status: 1, code: 'NO_WINNERS', stage: 'no_winners_gate', message: 'the gate lets nothing through' });
  }, 120_000);
});
