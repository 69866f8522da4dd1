/**
 * The ingestion stage end to end through the runner: scanners (csv, lakehouse, synthetic), point-in-time loading,
 * and the data it records. Expected returns are recomputed here straight from the CSV text, not by our readers.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateFile } from '../../src/config/validate.js';
import { newSelectionContext, type SelectionContext } from '../../src/core/context.js';
import { runPipeline } from '../../src/pipeline/runner.js';
import { openLakehouse } from '../../src/lakehouse/index.js';
import { isoFromDay } from '../../src/util/dates.js';
import { builtinRegistry } from '../../stages/index.js';
import { DATA_DIR } from '../data.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-ingest-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function runYaml(name: string, yaml: string, lakehouse = join(tmp, 'lakehouse')) {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(file, yaml);
  const v = await validateFile(file, { registry: builtinRegistry(), dataRoots: [DATA_DIR] });
  expect(v.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return runPipeline(v, { outRoot: join(tmp, 'runs'), lakehousePath: lakehouse });
}

const head = (name: string) => `pipeline: selection\nversion: "4.0"\nname: ${name}\nstages:\n`;

/** Wide CSV parsed the plain way: date -> symbol -> close. */
function wideCsv(file: string): { dates: string[]; cols: Record<string, (number | null)[]> } {
  const [header, ...rows] = readFileSync(file, 'utf8').trim().split(/\r?\n/);
  const names = header.split(',').slice(1);
  const cols: Record<string, (number | null)[]> = Object.fromEntries(names.map((n) => [n, []]));
  const dates: string[] = [];
  for (const row of rows) {
    const cells = row.split(',');
    dates.push(cells[0]);
    names.forEach((n, i) => cols[n].push(cells[i + 1] === '' ? null : Number(cells[i + 1])));
  }
  return { dates, cols };
}

test('csv scanner on a wide file of real closes: every symbol, returns equal close/previous close - 1', async () => {
  const csv = join(DATA_DIR, 'pypfopt', 'stock_prices.csv');
  const s = await runYaml('stocks', `${head('stocks')}  - type: ingestion\n    params: { scanner: { name: csv, params: { path: ${JSON.stringify(csv)}, layout: wide } }, lookback_days: 250 }\n  - type: feature_engineering\n`);
  expect(s.outcome).toBe('succeeded');
  const cand = JSON.parse(readFileSync(join(s.folder, 'candidates.json'), 'utf8'));
  const ref = wideCsv(csv);
  expect(cand.candidates.map((c: { symbol: string }) => c.symbol).sort()).toEqual(Object.keys(ref.cols).sort());
  expect(cand.as_of).toBe(ref.dates[ref.dates.length - 1]);
  const features = JSON.parse(readFileSync(join(s.folder, 'features.json'), 'utf8'));
  // Momentum over the feature window (60 returns by default) = close[T] / close[T-60] - 1 for a symbol with no gaps.
  const T = ref.dates.length - 1;
  for (const sym of ['AAPL', 'GOOG', 'JPM']) {
    const c = ref.cols[sym];
    const j = features.symbols.indexOf(sym);
    expect(features.features.momentum[j]).toBeCloseTo(c[T]! / c[T - 60]! - 1, 10);
  }
  const m = JSON.parse(readFileSync(join(s.folder, 'manifest.json'), 'utf8'));
  expect(m.data_hash).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(m.data_inputs).toBe(Object.keys(ref.cols).length);
  // One data identity: the audit's returns_loaded shows the manifest's value.
  const loaded = readFileSync(join(s.folder, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.event === 'returns_loaded');
  expect(loaded.data.data_hash).toBe(m.data_hash);
});

test('a csv pipeline gives the same artifacts from any folder: the funnel names the file as the config does', async () => {
  // The same pipeline file beside the same CSV, in two folders: what the run writes must not depend on where the
  // project sits (reproducible bytes across machines and checkouts), and no absolute path may leak into it.
  const csv = readFileSync(join(DATA_DIR, 'pypfopt', 'stock_prices.csv'));
  const yaml = `${head('anywhere')}  - type: ingestion\n    params: { scanner: { name: csv, params: { path: prices.csv, layout: wide } }, lookback_days: 120 }\n  - type: feature_engineering\n`;
  const folders = ['first', 'second'].map((d) => join(tmp, 'anywhere', d));
  const runs: Awaited<ReturnType<typeof runPipeline>>[] = [];
  for (const dir of folders) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'prices.csv'), csv);
    writeFileSync(join(dir, 'pipeline.yaml'), yaml);
    const v = await validateFile(join(dir, 'pipeline.yaml'), { registry: builtinRegistry() });
    expect(v.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    runs.push(await runPipeline(v, { outRoot: join(dir, 'runs'), lakehousePath: join(dir, 'lakehouse') }));
  }
  const [a, b] = runs.map((r) => readFileSync(join(r.folder, 'candidates.json'), 'utf8'));
  expect(a).toBe(b);
  expect(JSON.parse(a!).funnel[0]).toMatchObject({ step: 'universe', detail: 'prices.csv' });
  // The artifacts the stages write (the manifest and the audit's run_started name the pipeline file as invoked).
  for (const [i, r] of runs.entries()) for (const f of ['candidates.json', 'features.json']) expect(readFileSync(join(r.folder, f), 'utf8')).not.toContain(folders[i]);
  const discovery = (r: (typeof runs)[number]) => readFileSync(join(r.folder, 'audit.jsonl'), 'utf8').split('\n').find((l) => l.includes('"event":"discovery"'))!.replace(/"time":"[^"]+","run_id":"[^"]+"/, '');
  expect(discovery(runs[0])).toBe(discovery(runs[1]));
});

describe('lakehouse scanner over ../shared/data/crypto', () => {
  const lakehouse = () => join(tmp, 'crypto-lh');
  beforeAll(async () => {
    const lh = await openLakehouse(lakehouse(), { create: true });
    await lh.importCsv(join(DATA_DIR, 'crypto'), { layout: 'ohlcv', venue: 'binance_spot', assetType: 'spot' });
  });

  test('as_of is respected: no day after it is loaded, the last row is the as-of date', async () => {
    const s = await runYaml('crypto_asof', `${head('crypto_asof')}  - type: ingestion\n    params: { scanner: { name: lakehouse, params: { min_volume_spot: 0 } }, as_of: "2023-06-30", lookback_days: 90 }\n  - type: feature_engineering\n    params: { lookback: 30 }\n`, lakehouse());
    expect(s.outcome).toBe('succeeded');
    const audit = readFileSync(join(s.folder, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const loaded = audit.find((e) => e.event === 'returns_loaded').data;
    expect(loaded).toMatchObject({ last: '2023-06-30', days: 90, first: '2023-04-02' });
    // Every listed pair was alive on 2023-06-30: LUNA (2022-06) is in, delisted ones are in too (they end 2024+).
    expect(loaded.symbols).toBe(49);
  });

  test('liquidity floors and the funnel: the $20M spot floor drops thin pairs and says how many', async () => {
    const s = await runYaml('crypto_floor', `${head('crypto_floor')}  - type: ingestion\n    params: { scanner: lakehouse, lookback_days: 60 }\n`, lakehouse());
    expect(s.outcome).toBe('succeeded');
    const cand = JSON.parse(readFileSync(join(s.folder, 'candidates.json'), 'utf8'));
    const liquidity = cand.funnel.find((f: { step: string }) => f.step === 'liquidity');
    expect(liquidity.left).toBeLessThan(49);
    for (const c of cand.candidates) expect(c.volume_24h).toBeGreaterThanOrEqual(20_000_000);
    // The kept ones are sorted by 24h quote volume, most liquid first.
    const vols = cand.candidates.map((c: { volume_24h: number }) => c.volume_24h);
    expect([...vols].sort((a, b) => b - a)).toEqual(vols);
  });

  test('an empty universe fails the run with a message that shows the funnel', async () => {
    const s = await runYaml('crypto_empty', `${head('crypto_empty')}  - type: ingestion\n    params: { scanner: { name: lakehouse, params: { min_volume_spot: 1e15 } } }\n`, lakehouse());
    expect(s.outcome).toBe('failed');
    expect(s.error?.code).toBe('EMPTY_UNIVERSE');
    expect(s.error?.message).toMatch(/universe: 49 → venue: 49 → fresh_at_as_of: 46 → liquidity: 0/);
  });

  test('a missing lakehouse is named before anything is written (exit 2, no run folder)', async () => {
    await expect(runYaml('crypto_missing', `${head('crypto_missing')}  - type: ingestion\n`, join(tmp, 'nowhere'))).rejects.toMatchObject({
      code: 'LAKEHOUSE_MISSING',
      exitCode: 2,
      message: expect.stringContaining(join(tmp, 'nowhere')),
    });
    expect(existsSync(join(tmp, 'runs', 'crypto_missing'))).toBe(false);
  });
});

test('synthetic scanner: the same seed gives the same candidates, features and data hash', async () => {
  const yaml = (n: string) => `${head(n)}  - type: ingestion\n    params: { scanner: { name: synthetic, params: { symbols: 20, days: 200, seed: 7 } }, lookback_days: 120 }\n  - type: feature_engineering\n`;
  const a = await runYaml('syn_a', yaml('syn'));
  const b = await runYaml('syn_b', yaml('syn'));
  for (const f of ['candidates.json', 'features.json']) expect(readFileSync(join(a.folder, f), 'utf8')).toBe(readFileSync(join(b.folder, f), 'utf8'));
  expect(a.data_hash).toBe(b.data_hash);
  const cand = JSON.parse(readFileSync(join(a.folder, 'candidates.json'), 'utf8'));
  // Venue isolation: only the spot venue, and the stablecoin and the gold token are excluded.
  expect(new Set(cand.candidates.map((c: { venue: string }) => c.venue))).toEqual(new Set(['synthetic-spot']));
  expect(cand.candidates.map((c: { symbol: string }) => c.symbol)).not.toEqual(expect.arrayContaining(['USDXUSDT']));
  expect(cand.candidates.map((c: { symbol: string }) => c.symbol)).not.toEqual(expect.arrayContaining(['XAUTUSDT']));
});

test('the stage sees no day after the as-of date even when the data goes on', async () => {
  const lh = join(tmp, 'pit-lh');
  const w = await openLakehouse(lh, { create: true });
  await w.seedSynthetic({ symbols: 12, days: 300, seed: 3 });
  const registry = builtinRegistry();
  const file = join(tmp, 'pit.yaml');
  writeFileSync(file, `${head('pit')}  - type: ingestion\n    params: { scanner: { name: lakehouse, params: { min_volume_spot: 0 } }, as_of: "2025-06-01", lookback_days: 50 }\n`);
  const v = await validateFile(file, { registry, dataRoots: [DATA_DIR] });
  const { PipelineFactory } = await import('../../src/pipeline/factory.js');
  const { replayServices } = await import('../../src/pipeline/replay.js');
  const built = new PipelineFactory(v.registry).build(v.resolved!);
  const ctx: SelectionContext = newSelectionContext('t', {});
  const env = {
    runId: 't', runDir: tmp, baseDir: tmp, lakehousePath: lh, log: () => {}, progress: () => {}, recordData: () => {}, dataHash: () => null,
    audit: { event: () => {} }, artifacts: { writeJson: async () => '', writeText: async () => '' }, plugins: built.resolver,
    pipeline: { name: 'pit', hash: '', config: v.resolved, stages: [] },
  } as never;
  // The run services its plugins were given: only the run cache is used here (nothing kept).
  built.scope.attach({ ...replayServices({ get: () => undefined, set: (_k, value) => value }) });
  await built.stages[0].stage.execute(ctx, built.stages[0].params, env);
  expect(isoFromDay(ctx.as_of!)).toBe('2025-06-01');
  expect(Math.max(...ctx.returns!.dates)).toBe(ctx.as_of);
  expect(Math.max(...ctx.prices!.dates)).toBe(ctx.as_of);
  expect(ctx.returns!.dates.length).toBe(50);
});

test('discovery is point in time: liquidity floors judge the bars up to the as-of date, not today', async () => {
  // AAAUSDT trades $50M a day for 200 days then dries up to $1M; BBBUSDT does the opposite.
  const dir = join(tmp, 'pit-ohlcv');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  const days = 300;
  const row = (t: number, price: number, volumeUsd: number) => `${new Date(Date.UTC(2024, 0, 1 + t)).toISOString().slice(0, 10)},${price},${price},${price},${price},${volumeUsd / price}`;
  for (const [sym, early, late] of [['AAAUSDT', 50e6, 1e6], ['BBBUSDT', 1e6, 50e6]] as const)
    writeFileSync(join(dir, `${sym}.csv`), ['date,open,high,low,close,volume', ...Array.from({ length: days }, (_, t) => row(t, 10 + Math.sin(t / 7), t < 200 ? early : late))].join('\n'));
  const lh = await openLakehouse(join(tmp, 'pit-lh2'), { create: true });
  await lh.importCsv(dir, { layout: 'ohlcv', venue: 'v', assetType: 'spot' });
  const at = async (asOf: string) => {
    const s = await runYaml(`pit_${asOf}`, `${head(`pit_${asOf.replace(/-/g, '')}`)}  - type: ingestion\n    params: { scanner: { name: lakehouse, params: { exclude_stablecoins: false } }, as_of: "${asOf}", lookback_days: 30 }\n`, join(tmp, 'pit-lh2'));
    expect(s.outcome).toBe('succeeded');
    return JSON.parse(readFileSync(join(s.folder, 'candidates.json'), 'utf8'));
  };
  const early = await at('2024-05-01');
  expect(early.point_in_time).toBe(true);
  expect(early.candidates.map((c: { symbol: string }) => c.symbol)).toEqual(['AAAUSDT']);
  expect(early.candidates[0].volume_24h).toBeCloseTo(50e6, 0);
  const late = await at('2024-10-20');
  expect(late.candidates.map((c: { symbol: string }) => c.symbol)).toEqual(['BBBUSDT']);
});
