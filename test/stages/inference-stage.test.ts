/**
 * The inference stage: champion and challengers into ctx.scores, scores.json and the audit; the deprecated
 * `strategy_regime` name; and one run through the real runner (synthetic scanner → feature_engineering →
 * inference → report) whose scores.json is checked against its own features.json.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateFile } from '../../src/config/validate.js';
import { createContainer } from '../../src/pipeline/container.js';
import { newSelectionContext, type FeatureTable, type SelectionContext } from '../../src/core/context.js';
import type { PluginRef, StageEnv } from '../../src/core/plugin.js';
import { runPipeline } from '../../src/pipeline/runner.js';
import { InferenceStage } from '../../stages/inference/inference.stage.js';
import { logNormalCdf } from '../../stages/inference/stats.js';
import { builtinRegistry } from '../../stages/index.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-inference-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A stage env that keeps the audit events and JSON artifacts in memory. */
function memoryEnv() {
  const events: { stage: string | null; event: string; data: any }[] = [];
  const files: Record<string, any> = {};
  const { resolver } = createContainer(builtinRegistry());
  const env = {
    runId: 't', runDir: tmp, baseDir: tmp, lakehousePath: tmp, log: () => {}, progress: () => {}, recordData: () => {}, dataHash: () => null,
    audit: { event: (stage: string | null, event: string, data: unknown) => events.push({ stage, event, data }) },
    artifacts: { writeJson: async (name: string, v: unknown) => ((files[name] = JSON.parse(JSON.stringify(v, (_k, x) => (ArrayBuffer.isView(x) ? Array.from(x as Float64Array) : typeof x === 'number' && !Number.isFinite(x) ? null : x)))), name), writeText: async () => '' },
    plugins: resolver,
    pipeline: { name: 't', hash: '', config: {}, stages: [] },
  } as unknown as StageEnv;
  return { env, events, files };
}

/** Naive references, written apart from the code under test. */
const avgRanks = (x: number[]) => x.map((v) => x.filter((u) => u < v).length + (x.filter((u) => u === v).length + 1) / 2);
function pearson(a: number[], b: number[]) {
  const ma = a.reduce((s, v) => s + v, 0) / a.length;
  const mb = b.reduce((s, v) => s + v, 0) / b.length;
  const c = a.reduce((s, v, i) => s + (v - ma) * (b[i] - mb), 0);
  return c / Math.sqrt(a.reduce((s, v) => s + (v - ma) ** 2, 0) * b.reduce((s, v) => s + (v - mb) ** 2, 0));
}
const topN = (x: number[], n: number) => [...x.keys()].sort((i, j) => x[j] - x[i] || i - j).slice(0, n);

function features(): FeatureTable {
  const symbols = ['A', 'B', 'C', 'D', 'E', 'F'];
  const v = {
    momentum: [0.3, 0.1, -0.2, 0.05, 0.25, 0.0],
    volatility: [0.9, 0.3, 0.5, 0.4, 0.6, 0.2],
    max_drawdown: [0.5, 0.1, 0.4, 0.2, 0.3, 0.05],
    efficiency: [0.4, 0.2, 0.1, 0.3, 0.5, 0.15],
  };
  return { symbols, names: Object.keys(v), values: Object.fromEntries(Object.entries(v).map(([k, x]) => [k, Float64Array.from(x)])) };
}

describe('champion and challengers', () => {
  test('every ranker lands in ctx.scores (a repeated name as name#2), the champion is first, and the audit compares them', async () => {
    const { env, events, files } = memoryEnv();
    const ctx: SelectionContext = { ...newSelectionContext('t', {}), features: features() };
    const rankers: PluginRef[] = [
      { name: 'mps', params: {} },
      { name: 'cars', params: {} },
      { name: 'mps', params: { weights: { momentum: 4 } } },
    ];
    await new InferenceStage().execute(ctx, { rankers, ranker: { name: 'mps', params: {} }, audit_top: 3 }, env);
    expect(Object.keys(ctx.scores!)).toEqual(['mps', 'cars', 'mps#2']);
    expect(ctx.champion).toBe('mps');
    expect(ctx.regime).toBeUndefined();
    for (const s of Object.values(ctx.scores!)) expect(s.symbols).toEqual(features().symbols);

    const scored = events.filter((e) => e.event === 'ranker_scored');
    expect(scored.map((e) => [e.data.ranker, e.data.role])).toEqual([['mps', 'champion'], ['cars', 'challenger'], ['mps#2', 'challenger']]);
    for (const e of scored) {
      const conv = Array.from(ctx.scores![e.data.ranker].conviction);
      expect(e.data.top.map((t: { symbol: string }) => t.symbol)).toEqual(topN(conv, 3).map((i) => features().symbols[i]));
      expect(e.data.stats.count).toBe(6);
      expect(e.data.stats.max).toBe(Math.max(...conv));
    }

    const cmp = events.find((e) => e.event === 'champion_challenger')!.data;
    expect(cmp.champion).toBe('mps');
    const champ = Array.from(ctx.scores!.mps.conviction);
    for (const c of cmp.comparisons) {
      const other = Array.from(ctx.scores![c.challenger].conviction);
      expect(c.spearman).toBeCloseTo(pearson(avgRanks(champ), avgRanks(other)), 12);
      const a = topN(champ, 3);
      const b = topN(other, 3);
      expect(c.overlap).toBe(a.filter((i) => b.includes(i)).length);
      expect(c.top_n).toBe(3);
      expect(c.champion_only.length).toBe(3 - c.overlap);
    }
    expect(cmp.comparisons.map((c: { challenger: string }) => c.challenger)).toEqual(['cars', 'mps#2']);

    const scores = files['scores.json'];
    expect(scores.champion).toBe('mps');
    expect(scores.symbols).toEqual(features().symbols);
    expect(Object.keys(scores.conviction)).toEqual(['mps', 'cars', 'mps#2']);
    // The champion's rank: 1 for the highest conviction.
    const order = topN(champ, 6);
    order.forEach((i, k) => expect(scores.champion_rank[i]).toBe(k + 1));
    expect(scores.rankers['mps#2'].params).toEqual({ weights: { momentum: 4 } });
    expect(scores.rankers['mps#2'].details.factors.momentum.weight).toBe(4);
  });

  test('`ranker` alone is the champion; no comparison is recorded', async () => {
    const { env, events, files } = memoryEnv();
    const ctx: SelectionContext = { ...newSelectionContext('t', {}), features: features() };
    await new InferenceStage().execute(ctx, { ranker: { name: 'cars', params: { normalize: false } }, audit_top: 10 }, env);
    expect(ctx.champion).toBe('cars');
    expect(events.some((e) => e.event === 'champion_challenger')).toBe(false);
    expect(files['scores.json'].comparison).toEqual([]);
    // Raw rank sums over 6 symbols with the CARS defaults present here (momentum, volatility, max_drawdown, efficiency).
    const total = Array.from(ctx.scores!.cars.conviction).reduce((s, v) => s + v, 0);
    expect(total).toBeCloseTo(3.5 * 6 * (1 + 1 + 1 + 0.5), 12);
  });

  test('a ranker naming a factor the features lack fails the stage with the factor named', async () => {
    const { env } = memoryEnv();
    const ctx: SelectionContext = { ...newSelectionContext('t', {}), features: features() };
    await expect(new InferenceStage().execute(ctx, { ranker: { name: 'mps', params: { weights: { hurst: 1 } } }, audit_top: 10 }, env)).rejects.toMatchObject({ code: 'RANKER_UNKNOWN_FACTOR' });
  });
});

const head = (name: string) => `pipeline: selection\nversion: "4.0"\nname: ${name}\nstages:\n`;
const ingest = `  - type: ingestion\n    params: { scanner: { name: synthetic, params: { symbols: 24, days: 260, seed: 5 } }, lookback_days: 200 }\n  - type: feature_engineering\n    params: { lookback: 60 }\n`;

async function validate(name: string, yaml: string) {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(file, yaml);
  return validateFile(file, { registry: builtinRegistry() });
}
const readJson = (folder: string, f: string) => JSON.parse(readFileSync(join(folder, f), 'utf8'));
const audit = (folder: string) => readFileSync(join(folder, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

test('the old name strategy_regime validates with a deprecation warning and runs as regime', async () => {
  const v = await validate('alias', `${head('alias')}${ingest}  - type: inference\n    params: { ranker: strategy_regime, weights: { momentum: 2 } }\n`);
  expect(v.diagnostics.map((d) => [d.code, d.severity])).toEqual([['PLUGIN_DEPRECATED_NAME', 'warning']]);
  const s = await runPipeline(v, { outRoot: join(tmp, 'runs'), lakehousePath: join(tmp, 'lh') });
  expect(s.outcome).toBe('succeeded');
  const scores = readJson(s.folder, 'scores.json');
  expect(scores.champion).toBe('regime');
  expect(['NORMAL', 'TURBULENT', 'CRISIS']).toContain(scores.regime);
  expect(scores.rankers.regime.details.factors.momentum.weight).toBe(2);
  const detected = audit(s.folder).find((e) => e.event === 'regime_detected').data;
  expect(detected.regime).toBe(scores.regime);
  expect(detected.volatility_days).toBe(20);
  expect(detected.last_day).toBe(readJson(s.folder, 'candidates.json').as_of);
});

test('through the runner: ingestion → feature_engineering → inference (mps champion, cars and regime challengers) → report', async () => {
  const v = await validate('funnel', `${head('funnel')}${ingest}  - type: inference\n    params: { rankers: [mps, cars, { name: regime, params: { turbulent_volatility: 0.01 } }], weights: { momentum: 1.5 }, audit_top: 5 }\n  - type: report\n`);
  expect(v.diagnostics).toEqual([]);
  const s = await runPipeline(v, { outRoot: join(tmp, 'runs'), lakehousePath: join(tmp, 'lh') });
  expect(s.error).toBeUndefined();
  expect(s.outcome).toBe('succeeded');
  expect(s.artifacts).toEqual(expect.arrayContaining(['scores.json', 'features.json', 'report.md']));
  const feats = readJson(s.folder, 'features.json');
  const scores = readJson(s.folder, 'scores.json');
  expect(scores.symbols).toEqual(feats.symbols);
  expect(scores.champion).toBe('mps');
  // Canonical JSON: keys sorted (the champion is named by `champion`).
  expect(Object.keys(scores.conviction)).toEqual(['cars', 'mps', 'regime']);
  // A 1% volatility threshold makes any real market at least TURBULENT; a challenger's reading is recorded
  // beside it, but only a champion's drives decisions.
  expect(['TURBULENT', 'CRISIS']).toContain(scores.rankers.regime.regime);
  expect(scores.regime).toBeUndefined();
  const n = feats.symbols.length;

  // The shorthand went to the champion, merged over the defaults.
  const mps = scores.rankers.mps;
  expect(mps.params.weights).toEqual({ momentum: 1.5 });
  expect(mps.details.factors.momentum.weight).toBe(1.5);
  expect(mps.details.factors.volatility).toMatchObject({ weight: 0.5, direction: -1 });

  // Recompute the champion's conviction from features.json: z-scores (ddof 1) here, the used factors' weights and directions from scores.json.
  const expected = new Array(n).fill(0);
  for (const [f, use] of Object.entries(mps.details.factors) as [string, { weight: number; direction: number }][]) {
    const x: (number | null)[] = feats.features[f];
    const ok = x.filter((v): v is number => v !== null);
    const mean = ok.reduce((a, b) => a + b, 0) / ok.length;
    const sd = Math.sqrt(ok.reduce((a, b) => a + (b - mean) ** 2, 0) / (ok.length - 1));
    x.forEach((v, i) => (expected[i] += use.weight * (v === null ? Math.log(0.5) : logNormalCdf((use.direction * (v - mean)) / sd))));
  }
  expected.forEach((e, i) => expect(scores.conviction.mps[i]).toBeCloseTo(e, 10));

  // champion_rank is the order of the champion's conviction, a permutation of 1..n.
  expect([...scores.champion_rank].sort((a: number, b: number) => a - b)).toEqual(Array.from({ length: n }, (_, k) => k + 1));
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) if (scores.conviction.mps[i] > scores.conviction.mps[j]) expect(scores.champion_rank[i]).toBeLessThan(scores.champion_rank[j]);

  // CARS normalised stays in [0, 1]; the comparison agrees with a naive Spearman.
  for (const c of scores.conviction.cars) {
    expect(c).toBeGreaterThanOrEqual(0);
    expect(c).toBeLessThanOrEqual(1);
  }
  const cmp = scores.comparison.find((c: { challenger: string }) => c.challenger === 'cars');
  expect(cmp.spearman).toBeCloseTo(pearson(avgRanks(scores.conviction.mps), avgRanks(scores.conviction.cars)), 12);
  expect(cmp.top_n).toBe(5);

  const events = audit(s.folder);
  expect(events.filter((e) => e.event === 'ranker_scored').map((e) => e.data.ranker)).toEqual(['mps', 'cars', 'regime']);
  expect(events.find((e) => e.event === 'champion_challenger').data.comparisons).toHaveLength(2);
  expect(events.find((e) => e.event === 'regime_detected').data.regime).toBe(scores.rankers.regime.regime);
  expect(readFileSync(join(s.folder, 'report.md'), 'utf8')).toContain('inference');

  // Same config and data, same scores.json bytes.
  const again = await runPipeline(v, { outRoot: join(tmp, 'runs'), lakehousePath: join(tmp, 'lh') });
  expect(readFileSync(join(again.folder, 'scores.json'), 'utf8')).toBe(readFileSync(join(s.folder, 'scores.json'), 'utf8'));
});
