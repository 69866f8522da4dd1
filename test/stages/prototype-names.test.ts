/**
 * Names that are Object.prototype members (issue 11, item 2). A wide CSV whose columns are `constructor`,
 * `toString`, `valueOf`, `hasOwnProperty`, `__proto__`, ... is imported (under a venue called `constructor`) and
 * every allocation engine allocates it with symbol bounds and risk budgets keyed by those names; the whole funnel
 * runs on it with a backtest and a report; a meta pipeline has sleeves named so. Every lookup by a name a user chose
 * must find that name's own entry, never the prototype's.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateFile } from '../../src/config/validate.js';
import { runPipeline } from '../../src/pipeline/runner.js';
import { openLakehouse } from '../../src/lakehouse/index.js';
import { traceSymbol } from '../../src/cli/trace.js';
import { builtinRegistry } from '../../stages/index.js';

const HOSTILE = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString', '__defineGetter__', '__lookupGetter__'];
const PLAIN = ['AAA', 'BBB', 'CCC', 'DDD'];
const NAMES = [...HOSTILE, ...PLAIN];
const VENUE = 'constructor';

let tmp: string;
let lakehouse: string;

/** A seeded market: a common factor and one idiosyncratic drift per name, 400 calendar days. */
function writeMarket(file: string): void {
  let seed = 20261130;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const price = NAMES.map(() => 100);
  const rows = [['date', ...NAMES].join(',')];
  const day0 = Date.UTC(2021, 0, 1);
  for (let t = 0; t < 400; t++) {
    const market = 0.01 * gauss();
    NAMES.forEach((_, j) => (price[j] *= Math.exp(0.0004 * (j + 1) + market + 0.015 * gauss())));
    rows.push([new Date(day0 + t * 86_400_000).toISOString().slice(0, 10), ...price.map((p) => p.toFixed(6))].join(','));
  }
  writeFileSync(file, `${rows.join('\n')}\n`);
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-proto-'));
  writeMarket(join(tmp, 'proto.csv'));
  lakehouse = join(tmp, 'lakehouse');
  const lh = await openLakehouse(lakehouse, { create: true });
  await lh.importCsv(join(tmp, 'proto.csv'), { layout: 'wide', venue: VENUE });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(name: string, yaml: string) {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(file, yaml);
  const v = await validateFile(file, { registry: builtinRegistry() });
  expect(v.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return runPipeline(v, { outRoot: join(tmp, 'runs'), lakehousePath: lakehouse });
}
const read = (folder: string, f: string) => JSON.parse(readFileSync(join(folder, f), 'utf8'));

test('the import keeps every name, and the status counts the venue called constructor', async () => {
  const lh = await openLakehouse(lakehouse, { readOnly: true });
  expect(lh.symbols().map((s) => s.symbol).sort()).toEqual([...NAMES].sort());
  const st = lh.status();
  expect(st.venues[VENUE]).toBe(NAMES.length);
  expect(Object.keys(st.venues)).toEqual([VENUE]);
});

const ENGINE_PARAMS: Record<string, string> = {
  efficient_return: '{ target_return: -10 }',
  efficient_risk: '{ target_volatility: 5 }',
  risk_parity: '{ budgets: { __proto__: 2, constructor: 3, toString: 1 } }',
};

describe.each(builtinRegistry().names('engine'))('engine %s', (engine) => {
  test('allocates prototype-named symbols under bounds keyed by those names', async () => {
    const ref = `{ name: ${engine}, params: ${ENGINE_PARAMS[engine] ?? '{}'} }`;
    const s = await run(`alloc_${engine}`, `pipeline: selection\nversion: "4.0"\nname: alloc_${engine}\nstages:\n  - type: ingestion\n    params: { scanner: { name: lakehouse, params: { venue: ${VENUE} } }, lookback_days: 250 }\n  - type: allocation\n    params: { engine: ${ref}, bounds: [0, 0.5], symbol_bounds: { __proto__: [0.02, 0.3], constructor: [0, 0.3], toString: [0, 0.3], valueOf: [0, 0.3] } }\n`);
    expect(s.error).toBeUndefined();
    expect(s.outcome).toBe('succeeded');
    const weights = read(s.folder, 'weights.json') as { symbol: string; weight: number }[];
    const w = new Map(weights.map((x) => [x.symbol, x.weight]));
    for (const x of weights) expect(Number.isFinite(x.weight)).toBe(true);
    expect(weights.reduce((a, x) => a + x.weight, 0)).toBeCloseTo(1, 8);
    // The bounds keyed by prototype names hold (a name with no weight row holds 0).
    expect(w.get('__proto__') ?? 0).toBeGreaterThanOrEqual(0.02 - 1e-9);
    for (const k of ['__proto__', 'constructor', 'toString', 'valueOf']) expect(w.get(k) ?? 0).toBeLessThanOrEqual(0.3 + 1e-9);
    for (const x of weights) expect(NAMES).toContain(x.symbol);
    const m = read(s.folder, 'metrics.json').allocation;
    expect(m.engine).toBe(engine);
    expect(m.fallback_used).toBe(false);
    expect(Object.keys(m.risk_contributions).sort()).toEqual(weights.map((x) => x.symbol).sort());
  });
});

test('the whole funnel, a walk-forward backtest and the report run on prototype-named symbols', async () => {
  const s = await run('funnel', `pipeline: selection\nversion: "4.0"\nname: funnel\nstages:\n  - type: ingestion\n    params: { scanner: { name: lakehouse, params: { venue: ${VENUE} } }, lookback_days: 250 }\n  - type: feature_engineering\n    params: { lookback: 60 }\n  - type: inference\n    params: { rankers: [mps, cars, regime] }\n  - type: clustering\n  - type: policy\n    params: { filters: [darwinian, spectral, friction, tail_risk, roc], top_n: 3, min_winners: 8 }\n  - type: synthesis\n  - type: allocation\n    params: { engine: hrp, symbol_bounds: { constructor: [0, 0.5], __proto__: [0, 0.4] } }\n  - type: backtest\n    params: { train_window: 120, test_window: 30, step_size: 30, workers: 1 }\n  - type: report\n`);
  expect(s.error).toBeUndefined();
  expect(s.outcome).toBe('succeeded');
  const weights = read(s.folder, 'weights.json') as { symbol: string; weight: number }[];
  expect(weights.reduce((a, x) => a + x.weight, 0)).toBeCloseTo(1, 8);
  const vetoes = read(s.folder, 'vetoes.json');
  // Every symbol the filters looked at has its own record (own keys only), hostile names included.
  for (const k of Object.keys(vetoes.vetoes)) expect(NAMES).toContain(k);
  const html = readFileSync(join(s.folder, 'report.html'), 'utf8');
  expect(html).toContain('constructor');
  const t = traceSymbol(s.folder, '__proto__');
  expect(t.discovery?.candidate?.symbol).toBe('__proto__');
  expect(t.filters?.length).toBe(5);
  expect(() => traceSymbol(s.folder, 'hasOwnPropertyX')).toThrow(expect.objectContaining({ code: 'SYMBOL_NOT_IN_RUN' }));
});

test('a meta pipeline with sleeves named constructor and toString allocates and flattens', async () => {
  const sleeve = (n: string) => `pipeline: selection\nversion: "4.0"\nname: ${n}\nstages:\n  - type: ingestion\n    params: { scanner: { name: lakehouse, params: { venue: ${VENUE} } }, lookback_days: 200 }\n  - type: allocation\n    params: { engine: equal_weight }\n  - type: backtest\n    params: { train_window: 100, test_window: 30, step_size: 30, workers: 1 }\n`;
  writeFileSync(join(tmp, 'sleeve_a.yaml'), sleeve('sleeve_a'));
  writeFileSync(join(tmp, 'sleeve_b.yaml'), sleeve('sleeve_b').replace('equal_weight', 'inverse_vol'));
  const s = await run('proto_meta', 'pipeline: meta\nversion: "4.0"\nname: proto_meta\nsleeves:\n  - { name: constructor, pipeline: ./sleeve_a.yaml }\n  - { name: toString, pipeline: ./sleeve_b.yaml }\nstages:\n  - type: meta_returns\n    params: { workers: 1 }\n  - type: meta_optimize\n    params: { engine: { name: risk_parity, params: { budgets: { constructor: 2, toString: 1 } } }, on_failure: fail }\n  - type: meta_flatten\n  - type: report\n');
  expect(s.error).toBeUndefined();
  expect(s.outcome).toBe('succeeded');
  const meta = read(s.folder, 'metrics.json').meta;
  expect(Object.keys(meta.meta_weights).sort()).toEqual(['constructor', 'toString']);
  expect(meta.meta_weights.constructor + meta.meta_weights.toString).toBeCloseTo(1, 8);
  const flat = read(s.folder, 'weights.json') as { symbol: string; weight: number; sleeves: Record<string, number> }[];
  expect(flat.reduce((a, x) => a + x.weight, 0)).toBeCloseTo(1, 8);
  for (const f of flat) {
    expect(Object.keys(f.sleeves).every((k) => k === 'constructor' || k === 'toString')).toBe(true);
    expect(Object.values(f.sleeves).reduce((a, x) => a + x, 0)).toBeCloseTo(f.weight, 12);
  }
});
