/**
 * What a user of the example pipelines must be able to rely on, on ../shared/data/crypto imported into temporary
 * lakehouses:
 * - appending data after a date never changes an earlier day's return: the data cut at 2024-12-31 against the full
 *   data, for the selection pipeline (crypto_long.yaml), the meta (crypto_meta.yaml) and the nested meta
 *   (nested_meta.yaml), at every level of the run (each sleeve's returns.arrow too);
 * - the same config and data give the same bytes: a nested meta re-run served from the result cache (its child
 *   meta as a whole included), and one run with its sleeves on one worker against two, write identical artifacts
 *   (apart from run ids and times);
 * - both, for a meta across two calendars (a crypto sleeve every day, an FTSE 100 sleeve on weekdays), joined inner
 *   and outer, the data cut on a Saturday (the crypto weekend after the last shared Friday is not in the cut record).
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { validateFile } from '../../src/config/validate.js';
import { runPipeline } from '../../src/pipeline/runner.js';
import { openLakehouse } from '../../src/lakehouse/index.js';
import { builtinRegistry } from '../../stages/index.js';
import { DATA_DIR, REPO_DIR } from '../data.js';
import { cryptoLong, FTSE_LONG, ftseFrom2019, mixMeta } from './mixed-calendar-fixtures.js';

const CUT = '2024-12-31';
let tmp: string;
const lakehouse = (which: 'cut' | 'full') => join(tmp, `lakehouse-${which}`);

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-invariant-'));
  // The same files, every row after the cut left out.
  const cutDir = join(tmp, 'crypto-cut');
  mkdirSync(cutDir);
  for (const f of readdirSync(join(DATA_DIR, 'crypto')).filter((n) => n.endsWith('.csv'))) {
    const [header, ...rows] = readFileSync(join(DATA_DIR, 'crypto', f), 'utf8').trim().split('\n');
    writeFileSync(join(cutDir, f), [header, ...rows.filter((r) => r.slice(0, 10) <= CUT)].join('\n') + '\n');
  }
  for (const [which, dir] of [['full', join(DATA_DIR, 'crypto')], ['cut', cutDir]] as const) {
    const lh = await openLakehouse(lakehouse(which), { create: true });
    await lh.importCsv(dir, { layout: 'ohlcv', venue: 'binance_spot', assetType: 'spot' });
  }
  for (const f of ['crypto_long.yaml', 'crypto_short.yaml', 'crypto_meta.yaml', 'nested_meta.yaml']) copyFileSync(join(REPO_DIR, 'pipelines', f), join(tmp, f));
}, 120_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(file: string, which: 'cut' | 'full', opts: { out?: string; noCache?: boolean; sets?: string[]; lakehouse?: string } = {}) {
  const v = await validateFile(join(tmp, file), { registry: builtinRegistry(), sets: opts.sets });
  expect(v.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const s = await runPipeline(v, { outRoot: join(tmp, opts.out ?? 'runs'), lakehousePath: opts.lakehouse ?? lakehouse(which), noCache: opts.noCache });
  expect(s.outcome).toBe('succeeded');
  return s;
}

function returnsOf(file: string): Map<number, number> {
  const t = tableFromIPC(readFileSync(file));
  const d = t.getChild('date')!.toArray() as ArrayLike<number>;
  const r = t.getChild('return')!.toArray() as Float64Array;
  return new Map(Array.from(d, (x, i) => [Number(x), r[i]]));
}

/** Every returns.arrow in a run folder, by its place in the tree of sleeves (run ids left out). */
function levels(folder: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir)) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (e === 'returns.arrow') out.set(relative(folder, dir).split('/').filter((_, i) => i % 3 !== 2).join('/') || '.', p);
    }
  };
  walk(folder);
  return out;
}

describe(`appending data after ${CUT} changes no earlier day, at every level`, () => {
  test.each([
    ['crypto_long.yaml', 1],
    ['crypto_meta.yaml', 3],
    ['nested_meta.yaml', 5],
  ])('%s', async (file, expectedLevels) => {
    // Recomputed (no sleeve cache): every level has its own run folder to compare.
    const cut = await run(file, 'cut', { noCache: true });
    const full = await run(file, 'full', { noCache: true });
    expect(cut.data_hash).not.toBe(full.data_hash); // so no sleeve of one can be served from the other's cache
    const a = levels(cut.folder);
    const b = levels(full.folder);
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    expect(a.size).toBe(expectedLevels);
    for (const [level, fileA] of a) {
      const ra = returnsOf(fileA);
      const rb = returnsOf(b.get(level)!);
      let common = 0;
      const changed: string[] = [];
      for (const [d, x] of ra) {
        if (!rb.has(d)) continue;
        common++;
        if (!Object.is(x, rb.get(d))) changed.push(new Date(d).toISOString().slice(0, 10));
      }
      // Every day of the cut run is a day of the full run, and the full run goes on after the cut.
      expect({ level, common, changed: changed.slice(0, 5) }).toEqual({ level, common: ra.size, changed: [] });
      expect(common).toBeGreaterThan(500);
      expect(rb.size).toBeGreaterThan(ra.size);
    }
    const asOf = JSON.parse(readFileSync(join(cut.folder, 'metrics.json'), 'utf8'));
    expect((asOf.meta ?? asOf.backtest).weights_as_of).toBe(CUT);
  }, 180_000);
});

test('a bound on a coin delisted before the last date fails nothing: the same earlier days on cut and full data', async () => {
  // MATICUSDT's last bar is 2024-09-10: the decisions after it do not see it. Its bound used to be judged against
  // each date's candidates, so the run failed, and a meta then left the sleeve out of every day of its record.
  const sets = ['stages.allocation.symbol_bounds={"MATICUSDT":[0,1]}'];
  const cut = await run('crypto_long.yaml', 'cut', { out: 'runs-bound', noCache: true, sets });
  const full = await run('crypto_long.yaml', 'full', { out: 'runs-bound', noCache: true, sets });
  const ra = returnsOf(join(cut.folder, 'returns.arrow'));
  const rb = returnsOf(join(full.folder, 'returns.arrow'));
  expect(ra.size).toBeGreaterThan(500);
  expect([...ra].filter(([d, x]) => !Object.is(x, rb.get(d)))).toEqual([]);
}, 180_000);

describe('a sleeve whose policy lets nothing through on the appended days', () => {
  // From VETO on, a hard filter (test/stages/fixtures/cash/plugins.js) vetoes every candidate of the short sleeve:
  // its decisions from then on, its run's own decision on the last day included, have no winners. The cut data end
  // before VETO, where it decides as ever.
  const VETO = '2025-01-20';
  beforeAll(() => {
    copyFileSync(join(REPO_DIR, 'test', 'stages', 'fixtures', 'cash', 'plugins.js'), join(tmp, 'cash-plugins.js'));
    const short = readFileSync(join(REPO_DIR, 'pipelines', 'crypto_short.yaml'), 'utf8');
    const filters = 'filters: [darwinian, tail_risk]';
    expect(short).toContain(filters);
    const vetoed = short
      .replace('name: crypto_short\n', 'name: short_vetoed\nplugins: [./cash-plugins.js]\n')
      .replace(filters, `filters: [darwinian, tail_risk, { name: veto_from, params: { from: "${VETO}" } }]`);
    writeFileSync(join(tmp, 'short_vetoed.yaml'), vetoed);
    writeFileSync(
      join(tmp, 'meta_vetoed.yaml'),
      'pipeline: meta\nversion: "4.0"\nname: meta_vetoed\nsleeves:\n  - { name: long, pipeline: ./crypto_long.yaml }\n  - { name: short, pipeline: ./short_vetoed.yaml }\nstages:\n  - type: meta_returns\n    params: { join: inner }\n  - type: meta_optimize\n    params: { engine: risk_parity }\n  - type: meta_flatten\n',
    );
  });

  test("holds cash from then on, its run's own decision too, and the meta's earlier days do not change", async () => {
    const cut = await run('meta_vetoed.yaml', 'cut', { out: 'runs-cash', noCache: true });
    const full = await run('meta_vetoed.yaml', 'full', { out: 'runs-cash', noCache: true });
    // Both sleeves are in both metas (a failed sleeve would be left out of every day of the full one).
    for (const s of [cut, full]) {
      const sleeves = JSON.parse(readFileSync(join(s.folder, 'sleeves.json'), 'utf8')).sleeves as { name: string; vetoed: string | null }[];
      expect(sleeves.map((x) => `${x.name}: ${x.vetoed ?? 'in'}`)).toEqual(['long: in', 'short: in']);
    }
    const a = levels(cut.folder);
    const b = levels(full.folder);
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    for (const [level, fileA] of a) {
      const ra = returnsOf(fileA);
      const rb = returnsOf(b.get(level)!);
      expect(ra.size).toBeGreaterThan(300);
      expect({ level, changed: [...ra].filter(([d, x]) => !Object.is(x, rb.get(d))).map(([d]) => new Date(d).toISOString().slice(0, 10)).slice(0, 5) }).toEqual({ level, changed: [] });
    }

    // The short sleeve's run on the full data: its own decision (2025-03-06) held cash where the allocation stage
    // found no winners; the backtest ran; its decisions from VETO on held cash, those before did not.
    const [shortRun] = readdirSync(join(full.folder, 'sleeves', 'short_vetoed'));
    const folder = join(full.folder, 'sleeves', 'short_vetoed', shortRun!);
    const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8'));
    expect(manifest.outcome).toBe('succeeded');
    expect(manifest.stages.map((x: { type: string; outcome: string }) => `${x.type}:${x.outcome}`)).toEqual([
      'ingestion:succeeded', 'feature_engineering:succeeded', 'inference:succeeded', 'clustering:succeeded', 'policy:succeeded', 'synthesis:succeeded', 'allocation:cash', 'backtest:succeeded',
    ]);
    expect(JSON.parse(readFileSync(join(folder, 'weights.json'), 'utf8'))).toEqual([]);
    const allocation = JSON.parse(readFileSync(join(folder, 'metrics.json'), 'utf8')).allocation;
    expect(allocation).toMatchObject({ weights: {}, cash_reason: 'no winners', decision: { by: 'backtest', as_of: '2025-03-06' } });
    const audit = readFileSync(join(folder, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(audit.filter((e) => e.event === 'decision_held_cash').map((e) => e.data)).toEqual([expect.objectContaining({ as_of: '2025-03-06', reason: 'no winners', code: 'NO_WINNERS', skipped: [] })]);
    const windows = audit.filter((e) => e.event === 'window').map((e) => e.data as { as_of: string; cash_reason?: string });
    const after = windows.filter((w) => w.as_of >= VETO);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((w) => w.cash_reason === 'no winners')).toBe(true);
    expect(windows.filter((w) => w.as_of < VETO).some((w) => w.cash_reason === undefined)).toBe(true);
  }, 240_000);
});

describe('a sleeve whose run fails on the appended days', () => {
  // From FAIL on, a hard filter (test/stages/fixtures/cash/plugins.js fail_from) throws in the short sleeve: its run
  // fails on the full data. Leaving it out would drop it from every day of the meta, the days before the cut too.
  const FAIL = '2025-01-20';
  beforeAll(() => {
    copyFileSync(join(REPO_DIR, 'test', 'stages', 'fixtures', 'cash', 'plugins.js'), join(tmp, 'cash-plugins.js'));
    const short = readFileSync(join(REPO_DIR, 'pipelines', 'crypto_short.yaml'), 'utf8');
    const filters = 'filters: [darwinian, tail_risk]';
    expect(short).toContain(filters);
    writeFileSync(join(tmp, 'short_failing.yaml'), short.replace('name: crypto_short\n', 'name: short_failing\nplugins: [./cash-plugins.js]\n').replace(filters, `filters: [darwinian, tail_risk, { name: fail_from, params: { from: "${FAIL}" } }]`));
    writeFileSync(
      join(tmp, 'meta_failing.yaml'),
      'pipeline: meta\nversion: "4.0"\nname: meta_failing\nsleeves:\n  - { name: long, pipeline: ./crypto_long.yaml }\n  - { name: short, pipeline: ./short_failing.yaml }\nstages:\n  - type: meta_returns\n    params: { join: inner }\n  - type: meta_optimize\n    params: { engine: risk_parity }\n  - type: meta_flatten\n',
    );
  });

  test('fails the meta (SLEEVE_FAILED) on the full data, where the cut data succeed: no earlier day changes silently', async () => {
    const cut = await run('meta_failing.yaml', 'cut', { out: 'runs-failing', noCache: true });
    expect(cut.outcome).toBe('succeeded');
    const v = await validateFile(join(tmp, 'meta_failing.yaml'), { registry: builtinRegistry() });
    const full = await runPipeline(v, { outRoot: join(tmp, 'runs-failing'), lakehousePath: lakehouse('full'), noCache: true });
    expect(full.outcome).toBe('failed');
    expect(full.error).toMatchObject({ code: 'SLEEVE_FAILED', stage: 'meta_returns' });
    expect(full.error!.message).toMatch(/^a sleeve of the meta failed: short: its run failed in stage 'policy' \[PLUGIN_FAILED\] /);
    expect(existsSync(join(full.folder, 'returns.arrow'))).toBe(false);
  });
});

describe('nested_meta.yaml: the same bytes cached or not, on one worker or two', () => {
  const JSON_ARTIFACTS = ['weights.json', 'meta_weights.json', 'cluster_tree.json', 'meta_rebalances.json', 'metrics.json', 'sleeves.json'];
  const BINARY = ['returns.arrow', 'equity.arrow', 'weights.arrow'];
  const events = (folder: string) => readFileSync(join(folder, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  /** sleeves.json says where each sleeve's run is and whether it was cached: that, and only that, may differ. */
  const normalised = (folder: string, f: string) => {
    const text = readFileSync(join(folder, f), 'utf8');
    if (f !== 'sleeves.json') return text;
    const j = JSON.parse(text);
    for (const s of j.sleeves) {
      delete s.run;
      delete s.cached;
    }
    return JSON.stringify(j);
  };

  test('a re-run served from the sleeve cache, and a run with workers: 1, write the bytes of a workers: 2 run', async () => {
    const two = ['stages.meta_returns.workers=2'];
    const first = await run('nested_meta.yaml', 'full', { out: 'runs-bytes', sets: two });
    const cached = await run('nested_meta.yaml', 'full', { out: 'runs-bytes', sets: two });
    // Both sleeves come from the cache, the child meta (long_short) as a whole: nothing below it runs again.
    expect(events(cached.folder).filter((e) => e.event === 'sleeve_cache_hit').map((e) => e.data.sleeve)).toEqual(['long_short', 'slow_long']);
    expect(existsSync(join(cached.folder, 'sleeves'))).toBe(false);
    // The child meta's own sleeves were cached by the first run too: crypto_meta on its own takes them from there.
    const inner = await run('crypto_meta.yaml', 'full', { out: 'runs-bytes' });
    expect(events(inner.folder).filter((e) => e.event === 'sleeve_cache_hit').map((e) => e.data.sleeve).sort()).toEqual(['long', 'short']);
    const one = await run('nested_meta.yaml', 'full', { out: 'runs-bytes', sets: ['stages.meta_returns.workers=1'], noCache: true });
    expect(events(one.folder).some((e) => e.event === 'sleeve_cache_hit')).toBe(false);
    for (const other of [cached, one]) {
      for (const f of JSON_ARTIFACTS) expect([f, normalised(other.folder, f)]).toEqual([f, normalised(first.folder, f)]);
      for (const f of BINARY) expect(readFileSync(join(other.folder, f)).equals(readFileSync(join(first.folder, f)))).toBe(true);
    }
    // The JSON is canonical: keys sorted at every depth (the weights' sleeve attributions included).
    const weights = JSON.parse(readFileSync(join(first.folder, 'weights.json'), 'utf8')) as { sleeves: Record<string, number> }[];
    expect(weights.some((w) => Object.keys(w.sleeves).length === 2)).toBe(true);
    for (const w of weights) expect(Object.keys(w.sleeves)).toEqual(Object.keys(w.sleeves).sort());
    expect(existsSync(join(first.folder, 'meta_rebalances.json'))).toBe(true);
  }, 240_000);
});

describe('a meta across two calendars (crypto every day, FTSE 100 weekdays)', () => {
  // A Saturday: the cut crypto record ends on it, the FTSE's on the Friday before.
  const MIX_CUT = '2023-03-18';
  const mixLakehouse = (which: 'cut' | 'full') => join(tmp, `lakehouse-mix-${which}`);
  beforeAll(async () => {
    for (const which of ['cut', 'full'] as const) {
      const lh = await openLakehouse(mixLakehouse(which), { create: true });
      const dir = join(tmp, `crypto-mix-${which}`);
      mkdirSync(dir);
      for (const f of readdirSync(join(DATA_DIR, 'crypto')).filter((n) => n.endsWith('.csv'))) {
        const [header, ...rows] = readFileSync(join(DATA_DIR, 'crypto', f), 'utf8').trim().split('\n');
        writeFileSync(join(dir, f), [header, ...rows.filter((r) => which === 'full' || r.slice(0, 10) <= MIX_CUT)].join('\n') + '\n');
      }
      await lh.importCsv(dir, { layout: 'ohlcv', venue: 'binance_spot', assetType: 'spot' });
      writeFileSync(join(tmp, `ftse-${which}.csv`), ftseFrom2019(which === 'cut' ? MIX_CUT : undefined));
      await lh.importCsv(join(tmp, `ftse-${which}.csv`), { layout: 'wide', venue: 'ftse', assetType: 'equity' });
    }
    writeFileSync(join(tmp, 'crypto_long_pinned.yaml'), cryptoLong());
    writeFileSync(join(tmp, 'ftse_long.yaml'), FTSE_LONG);
    for (const j of ['inner', 'outer'] as const) writeFileSync(join(tmp, `mix_${j}.yaml`), mixMeta(j).replace('./crypto_long.yaml', './crypto_long_pinned.yaml'));
  }, 120_000);

  test.each(['inner', 'outer'] as const)('join: %s: appending data after the cut changes no earlier day, at every level', async (j) => {
    const cut = await run(`mix_${j}.yaml`, 'cut', { out: 'runs-mix', noCache: true, lakehouse: mixLakehouse('cut') });
    const full = await run(`mix_${j}.yaml`, 'full', { out: 'runs-mix', noCache: true, lakehouse: mixLakehouse('full') });
    const a = levels(cut.folder);
    const b = levels(full.folder);
    expect([...a.keys()].sort()).toEqual(['.', 'sleeves/crypto_long', 'sleeves/ftse_long']);
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [level, fileA] of a) {
      const ra = returnsOf(fileA);
      const rb = returnsOf(b.get(level)!);
      expect(ra.size).toBeGreaterThan(100);
      expect(rb.size).toBeGreaterThan(ra.size);
      expect({ level, changed: [...ra].filter(([d, x]) => !Object.is(x, rb.get(d))).map(([d]) => new Date(d).toISOString().slice(0, 10)).slice(0, 5) }).toEqual({ level, changed: [] });
    }
    // The meta's last cut day: the Friday (inner: the last shared day) or the Saturday itself (outer: every day).
    const last = [...returnsOf(join(cut.folder, 'returns.arrow')).keys()].pop()!;
    expect(new Date(last).toISOString().slice(0, 10)).toBe(j === 'inner' ? '2023-03-17' : MIX_CUT);
  }, 240_000);

  test('join: outer: the same bytes with the sleeves on one worker or two', async () => {
    const runs = [];
    for (const w of [1, 2]) runs.push(await run('mix_outer.yaml', 'full', { out: 'runs-mix-workers', noCache: true, lakehouse: mixLakehouse('full'), sets: [`stages.meta_returns.workers=${w}`] }));
    const [one, two] = runs.map((r) => r.folder);
    const sleevesJson = (folder: string) => {
      const s = JSON.parse(readFileSync(join(folder, 'sleeves.json'), 'utf8'));
      for (const x of s.sleeves) delete x.run; // the run ids differ
      return s;
    };
    expect(sleevesJson(one)).toEqual(sleevesJson(two));
    for (const f of ['weights.json', 'meta_weights.json', 'cluster_tree.json', 'meta_rebalances.json', 'metrics.json', 'returns.arrow', 'equity.arrow', 'weights.arrow']) expect([f, readFileSync(join(one, f)).equals(readFileSync(join(two, f)))]).toEqual([f, true]);
  }, 240_000);
});
