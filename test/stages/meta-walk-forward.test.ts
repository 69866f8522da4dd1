/**
 * The meta walk-forward against an independent implementation written here, on the example sleeves
 * (pipelines/crypto_long.yaml and crypto_short.yaml) over ../shared/data/crypto: given the sleeves' out-of-sample
 * returns and decisions as their runs wrote them, the rebalance grid, an engine whose weights are computed by hand
 * (inverse_vol: 1 / sample standard deviation of the window; equal_weight), drift, costs on the physical trades and
 * the sale at the end of a short holding period, the meta's daily returns and final weights must agree to 1e-12.
 * Also one data identity: the manifests, the audits and the cache keys show one data hash.
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { validateFile } from '../../src/config/validate.js';
import { runPipeline } from '../../src/pipeline/runner.js';
import { openLakehouse } from '../../src/lakehouse/index.js';
import { builtinRegistry } from '../../stages/index.js';
import { DATA_DIR, REPO_DIR } from '../data.js';

let tmp: string;
let lakehouse: string;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-metawf-'));
  lakehouse = join(tmp, 'lakehouse');
  const lh = await openLakehouse(lakehouse, { create: true });
  await lh.importCsv(join(DATA_DIR, 'crypto'), { layout: 'ohlcv', venue: 'binance_spot', assetType: 'spot' });
  for (const f of ['crypto_long.yaml', 'crypto_short.yaml']) copyFileSync(join(REPO_DIR, 'pipelines', f), join(tmp, f));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(file: string, text: string) {
  writeFileSync(join(tmp, file), text);
  const v = await validateFile(join(tmp, file), { registry: builtinRegistry(), dataRoots: [DATA_DIR] });
  expect(v.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const s = await runPipeline(v, { outRoot: join(tmp, 'runs'), lakehousePath: lakehouse });
  expect(s.outcome).toBe('succeeded');
  return s;
}
const meta = (name: string, optimize: string) =>
  `pipeline: meta\nversion: "4.0"\nname: ${name}\nsleeves:\n  - { name: long, pipeline: ./crypto_long.yaml }\n  - { name: short, pipeline: ./crypto_short.yaml }\nstages:\n  - type: meta_returns\n  - type: meta_optimize\n    params: ${optimize}\n  - type: meta_flatten\n  - type: report\n`;
const json = (folder: string, f: string) => JSON.parse(readFileSync(join(folder, f), 'utf8'));
const events = (folder: string) => readFileSync(join(folder, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`) / 86_400_000;
function arrowReturns(file: string): Map<number, number> {
  const t = tableFromIPC(readFileSync(file));
  const d = t.getChild('date')!.toArray() as Int32Array;
  const r = t.getChild('return')!.toArray() as Float64Array;
  // Date32 columns read back as milliseconds: the calendar here is in days, as the decisions' dates.
  return new Map(Array.from(d, (x, i) => [Math.round(Number(x) / 86_400_000), r[i]]));
}

/** A sleeve as its own run folder shows it: out-of-sample returns, and its physical weights through time. */
interface Sleeve {
  returns: Map<number, number>;
  decisions: [number, { symbol: string; weight: number }[]][];
}
function sleeveFrom(folder: string): Sleeve {
  const windows = events(folder).filter((e) => e.event === 'window').map((e) => e.data as { as_of: string; end: string; weights: { symbol: string; weight: number }[] });
  const asOf = day(json(folder, 'metrics.json').backtest.weights_as_of);
  const decisions: Sleeve['decisions'] = [];
  windows.forEach((w, k) => {
    decisions.push([day(w.as_of), w.weights]);
    // A holding period that ends before the next decision is sold there: nothing is held until then.
    const next = k + 1 < windows.length ? day(windows[k + 1].as_of) : asOf;
    if (day(w.end) > day(w.as_of) && day(w.end) < next) decisions.push([day(w.end), []]);
  });
  decisions.push([asOf, json(folder, 'weights.json')]);
  return { returns: arrowReturns(join(folder, 'returns.arrow')), decisions };
}
function heldAt(s: Sleeve, d: number): { symbol: string; weight: number }[] {
  let out: { symbol: string; weight: number }[] = [];
  for (const [date, w] of s.decisions) if (date <= d) out = w;
  return out;
}

/** The meta walk-forward, written from its definition: plain loops over arrays. */
function reference(sleeves: Record<string, Sleeve>, engine: 'inverse_vol' | 'equal_weight', train: number, test: number, step: number, rate: number) {
  const names = Object.keys(sleeves);
  const axis = [...sleeves[names[0]].returns.keys()].filter((d) => names.every((n) => sleeves[n].returns.has(d))).sort((a, b) => a - b);
  const R = names.map((n) => axis.map((d) => sleeves[n].returns.get(d)!));
  const T = axis.length;
  const decide = (t: number) => {
    if (engine === 'equal_weight') return names.map(() => 1 / names.length);
    const inv = R.map((col) => {
      const x = col.slice(t - train + 1, t + 1);
      const mean = x.reduce((a, b) => a + b, 0) / x.length;
      return 1 / Math.sqrt(x.reduce((a, b) => a + (b - mean) ** 2, 0) / (x.length - 1));
    });
    const total = inv.reduce((a, b) => a + b, 0);
    return inv.map((v) => v / total);
  };
  const physical = (delta: number[], d: number) => {
    const bySymbol = new Map<string, number>();
    names.forEach((n, j) => heldAt(sleeves[n], d).forEach((h) => bySymbol.set(h.symbol, (bySymbol.get(h.symbol) ?? 0) + delta[j] * h.weight)));
    return [...bySymbol.values()].reduce((a, x) => a + Math.abs(x), 0);
  };
  const grid: number[] = [];
  for (let t = train - 1; t < T - 1; t += step) grid.push(t);
  const dates: number[] = [];
  const out: number[] = [];
  const decided: number[][] = [];
  let held = names.map(() => 0);
  grid.forEach((t, k) => {
    const next = k + 1 < grid.length ? grid[k + 1] : T - 1;
    const last = Math.min(t + test, next);
    const target = decide(t);
    decided.push(target);
    const cost = rate * physical(target.map((w, j) => w - held[j]), axis[t]);
    const w = [...target];
    for (let i = t + 1; i <= last; i++) {
      const rp = w.reduce((a, x, j) => a + x * R[j][i], 0);
      dates.push(axis[i]);
      out.push(i === t + 1 ? (1 - cost) * (1 + rp) - 1 : rp);
      for (let j = 0; j < w.length; j++) w[j] = (w[j] * (1 + R[j][i])) / (1 + rp);
    }
    if (last < next) {
      const exit = physical(w.map((x) => -x), axis[last]);
      out[out.length - 1] = (1 + out[out.length - 1]) * (1 - rate * exit) - 1;
      for (let i = last + 1; i <= next; i++) {
        dates.push(axis[i]);
        out.push(0);
      }
      held = names.map(() => 0);
    } else held = w;
  });
  const final = decide(T - 1);
  const flat = new Map<string, number>();
  names.forEach((n, j) => heldAt(sleeves[n], axis[T - 1]).forEach((h) => flat.set(h.symbol, (flat.get(h.symbol) ?? 0) + final[j] * h.weight)));
  return { names, dates, returns: out, decided, final, flat, asOf: axis[T - 1] };
}

function check(folder: string, engine: 'inverse_vol' | 'equal_weight', train: number, test: number, step: number, rate: number) {
  const runs = json(folder, 'sleeves.json').sleeves as { name: string; run: string }[];
  const sleeves = Object.fromEntries(runs.map((s) => [s.name, sleeveFrom(s.run.startsWith('/') ? s.run : join(folder, s.run))]));
  for (const s of Object.values(sleeves)) expect([...s.returns.values()].every((r) => r > -1)).toBe(true); // nobody liquidated here
  const want = reference(sleeves, engine, train, test, step, rate);
  const got = arrowReturns(join(folder, 'returns.arrow'));
  expect([...got.keys()]).toEqual(want.dates);
  want.dates.forEach((d, i) => expect(Math.abs(got.get(d)! - want.returns[i])).toBeLessThan(1e-12));
  const rebalances = json(folder, 'meta_rebalances.json') as { as_of: string; weights: Record<string, number>; start?: string }[];
  expect(rebalances.filter((r) => r.start).length).toBe(want.decided.length);
  want.decided.forEach((w, k) => want.names.forEach((n, j) => expect(Math.abs(rebalances[k].weights[n] - w[j])).toBeLessThan(1e-12)));
  // weights.json is the decision as of the last common day, flattened with each sleeve's weights then.
  expect(json(folder, 'metrics.json').meta.weights_as_of).toBe(new Date(want.asOf * 86_400_000).toISOString().slice(0, 10));
  const flat = json(folder, 'weights.json') as { symbol: string; weight: number }[];
  expect(flat.map((f) => f.symbol).sort()).toEqual([...want.flat.keys()].filter((s) => want.flat.get(s) !== 0).sort());
  for (const f of flat) expect(Math.abs(f.weight - want.flat.get(f.symbol)!)).toBeLessThan(1e-12);
  const mw = json(folder, 'meta_weights.json') as { symbol: string; weight: number }[];
  want.names.forEach((n, j) => expect(Math.abs(mw.find((x) => x.symbol === n)!.weight - want.final[j])).toBeLessThan(1e-12));
  return want;
}

describe('the meta walk-forward equals an independent implementation (1e-12)', () => {
  let first: Awaited<ReturnType<typeof run>>;
  beforeAll(async () => {
    first = await run('wf_ivol.yaml', meta('wf_ivol', '{ engine: inverse_vol, train_window: 60, test_window: 20, step_size: 30, slippage_bps: 10, commission_bps: 5 }'));
  }, 120_000);

  test('inverse_vol, held 20 of every 30 days (sold in between), 15 bps on the physical trades', () => {
    const want = check(first.folder, 'inverse_vol', 60, 20, 30, 15e-4);
    expect(want.decided.length).toBeGreaterThan(20);
    // The grid really sells in between: some days are cash.
    expect(want.returns.filter((r) => r === 0).length).toBeGreaterThan(100);
  });

  test('equal_weight, held until the next rebalance, default costs (6 bps); the sleeves come from the cache', async () => {
    const s = await run('wf_ew.yaml', meta('wf_ew', '{ engine: equal_weight, train_window: 45, test_window: 25, step_size: 25 }'));
    expect(events(s.folder).filter((e) => e.event === 'sleeve_cache_hit').map((e) => e.data.sleeve).sort()).toEqual(['long', 'short']);
    check(s.folder, 'equal_weight', 45, 25, 25, 6e-4);
  });

  test('one data identity: manifests, audits, cache keys and the report show the same data hash', async () => {
    const metaManifest = json(first.folder, 'manifest.json');
    const hash = metaManifest.data_hash as string;
    expect(hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(first.data_hash).toBe(hash);
    expect(metaManifest.data_inputs).toBe(49);
    const ran = events(first.folder).filter((e) => e.event === 'sleeve_ran');
    expect(ran.length).toBe(2);
    for (const e of ran) {
      // The key the sleeve was cached under was computed before it ran, from the same definition.
      expect(e.data.cache_key_data_hash).toBe(hash);
      expect(e.data.data_hash).toBe(hash);
      const sleeve = join(first.folder, e.data.run);
      expect(json(sleeve, 'manifest.json').data_hash).toBe(hash);
      expect(events(sleeve).find((x) => x.event === 'returns_loaded').data.data_hash).toBe(hash);
    }
    expect(readFileSync(join(first.folder, 'report.md'), 'utf8')).toContain(hash);
    expect(readFileSync(join(first.folder, 'report.html'), 'utf8')).toContain(hash);
    const cacheDir = join(tmp, 'runs', '.cache', 'sleeves');
    for (const f of readdirSync(cacheDir)) expect(JSON.parse(readFileSync(join(cacheDir, f), 'utf8')).data_hash).toBe(hash);
    // A cache hit names the same identity.
    const again = await run('wf_ivol.yaml', meta('wf_ivol', '{ engine: inverse_vol, train_window: 60, test_window: 20, step_size: 30, slippage_bps: 10, commission_bps: 5 }'));
    const hits = events(again.folder).filter((e) => e.event === 'sleeve_cache_hit');
    expect(hits.length).toBe(2);
    for (const e of hits) expect(e.data.data_hash).toBe(hash);
    expect(json(again.folder, 'manifest.json').data_hash).toBe(hash);
  });
});

test("a staged source's identity before the run (the cache key) equals what its run records (synthetic, CSV)", async () => {
  const registry = builtinRegistry();
  const csv = join(DATA_DIR, 'pypfopt', 'stock_prices.csv');
  const refs = [
    { name: 'synthetic', params: { symbols: 12, days: 120, seed: 5 } },
    { name: 'csv', params: { path: csv, layout: 'wide' } },
  ];
  for (const ref of refs) {
    const s = await run(`id_${ref.name}.yaml`, `pipeline: selection\nversion: "4.0"\nname: id_${ref.name}\nstages:\n  - type: ingestion\n    params: { scanner: { name: ${ref.name}, params: ${JSON.stringify(ref.params)} }, lookback_days: 60 }\n`);
    const v = await validateFile(join(tmp, `id_${ref.name}.yaml`), { registry, dataRoots: [DATA_DIR] });
    const scanner = v.resolved!.stages[0].params.scanner as { name: string; params: Record<string, unknown> };
    const { createContainer } = await import('../../src/pipeline/container.js');
    const plugin = createContainer(registry).resolver.get<{ dataIdentity(p: Record<string, unknown>, env: unknown): Promise<string> }>('scanner', ref.name);
    const before = await plugin.dataIdentity(scanner.params, { baseDir: tmp, lakehousePath: lakehouse, progress: () => {} });
    expect(before).toBe(s.data_hash);
    expect(events(s.folder).find((e) => e.event === 'returns_loaded').data.data_hash).toBe(s.data_hash);
  }
});

describe('eligibility at each meta rebalance, from the days up to it only', () => {
  // Three sleeves on 40 days: A and B trade from day 0; B is liquidated (−100%) on day 17; C starts on day 20.
  const T = 40;
  const dates = Int32Array.from({ length: T }, (_, t) => 19_000 + t);
  const names = ['A', 'B', 'C'];
  const values = new Float64Array(3 * T);
  for (let t = 0; t < T; t++) {
    values[t] = 0.01 * Math.sin(t + 1);
    values[T + t] = t < 17 ? 0.02 * Math.cos(t) : t === 17 ? -1 : 0;
    values[2 * T + t] = t < 20 ? NaN : 0.005 * ((t % 3) - 1);
  }
  const holdings = { A: [{ date: 0, weights: [{ symbol: 'X', weight: 1 }] }], B: [{ date: 0, weights: [{ symbol: 'Y', weight: 1 }] }], C: [{ date: 0, weights: [{ symbol: 'X', weight: -1 }] }] } as const;
  const seen: { from: number; to: number; eligible: boolean[] }[] = [];

  test('a liquidated sleeve is held until its −100% day and left out after it; a late one joins once its window is covered', async () => {
    const { metaWalkForward, holdingsAt } = await import('../../stages/meta/walk-forward.js');
    const { VectorizedSimulator } = await import('../../stages/backtest/simulators/vectorized.simulator.js');
    const wf = metaWalkForward({
      dates, names, values, train: 10, test: 5, step: 5, costRate: 0, healthThreshold: 0.75,
      physicalAt: (s, d) => holdingsAt(holdings[s as 'A'] as never, d),
      decide: (from, to, eligible) => {
        seen.push({ from, to, eligible });
        const k = eligible.filter(Boolean).length;
        return { weights: Float64Array.from(eligible, (e) => (e ? 1 / k : 0)), engine: 'equal_weight' };
      },
      simulator: new VectorizedSimulator(),
    });
    // Rebalances on rows 9, 14, 19, 24, 29, 34 and the final decision on 39; each sees rows [t − 9, t] only.
    expect(seen.map((s) => [s.from, s.to])).toEqual([[0, 9], [5, 14], [10, 19], [15, 24], [20, 29], [25, 34], [30, 39]]);
    expect(seen.map((s) => s.eligible)).toEqual([
      [true, true, false],
      [true, true, false],
      [true, false, false], // B died on row 17
      [true, false, false], // C has 5 of 10 days
      [true, false, true], // C covers its window: it joins
      [true, false, true],
      [true, false, true],
    ]);
    const excluded = wf.rebalances.map((r) => r.excluded);
    expect(excluded[2].B).toMatch(/^liquidated on /);
    expect(excluded[3].C).toMatch(/returns on 5 of the 10 days/);
    // The −100% day was held: the meta bought half A, half B on row 14; with drift to row 17 it lost B's share.
    let [a, b] = [0.5, 0.5];
    for (let t = 15; t < 17; t++) {
      const rp = a * values[t] + b * values[T + t];
      [a, b] = [(a * (1 + values[t])) / (1 + rp), (b * (1 + values[T + t])) / (1 + rp)];
    }
    const day17 = Array.from(wf.dates).indexOf(dates[17]);
    expect(Math.abs(wf.returns[day17] - (a * values[17] - b))).toBeLessThan(1e-15);
    expect(b).toBeGreaterThan(0.4);
    expect(wf.liquidated).toBe(false);
  });
});
