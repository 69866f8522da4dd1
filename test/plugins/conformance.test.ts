/**
 * Every registered plugin, walked from the registry (a new one is checked without editing this file):
 * - its params schema compiles, every default it states validates where it stands, and its defaults (with the
 *   schema's `examples` for params that have none and are required) make valid params;
 * - it has a reference page in docs/reference and a test file that names it;
 * - it runs on a tiny synthetic context, and what it declares in its meta is true there:
 *   engines on a small allocation problem (budget, bounds, the constraints they say they honour, long-only refusal);
 *   scanners on a lakehouse of the crypto closes or the files their path params name (cacheable ⇔ it names its data, reads the
 *   lakehouse ⇔ it fails without one; live ones are driven offline in scanners.test.ts, here their declarations are
 *   checked); stages, rankers, filters and simulators in tiny selection and meta pipelines built from the registry
 *   (every stage of a kind, every plugin a list param can take, each simulator in turn) and a tiny tournament over
 *   them; reporters on a finished run's context.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { stringify } from 'yaml';
import { compile } from '../../src/config/ajv.js';
import { refParams, validateFile } from '../../src/config/validate.js';
import { FractalError } from '../../src/core/errors.js';
import { PATH_KEYWORD } from '../../src/core/params.js';
import { ENGINE_CONSTRAINTS, PLUGIN_KINDS, type EngineMeta, type JsonSchema, type PluginKind, type Reporter, type ScannerMeta, type StageEnv, type StageMeta } from '../../src/core/plugin.js';
import { correlationMatrix } from '../../src/math/correlation.js';
import { estimateCovariance, expectedReturns, regulariseCovariance } from '../../src/math/covariance-estimators.js';
import { executePipeline } from '../../src/pipeline/runner.js';
import { FEASIBILITY_TOLERANCE, violation, type AllocationEngine, type AllocationProblem } from '../../src/portfolio/engine.js';
import { builtinRegistry } from '../../stages/index.js';
import type { Scanner } from '../../stages/ingestion/scanner.js';
import { cryptoLakehouse } from '../stages/pipeline-helpers.js';

const REPO = new URL('../..', import.meta.url).pathname;
const THIS = new URL(import.meta.url).pathname;
const registry = builtinRegistry();
const all = PLUGIN_KINDS.flatMap((kind) => registry.names(kind).map((name) => ({ kind, name, meta: registry.lookup(kind, name)!.cls.meta })));
const of = (kind: PluginKind) => all.filter((p) => p.kind === kind);
const instance = <T>(kind: PluginKind, name: string) => new (registry.lookup(kind, name)!.cls)() as T;

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-conformance-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The params a plugin gets from its schema alone: each default, else (for a required param) its first example. */
function sampleParams(schema: JsonSchema): Record<string, unknown> {
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = (schema.required ?? []) as string[];
  const out: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(props)) {
    if (s.default !== undefined) out[k] = s.default;
    else if (required.includes(k) && Array.isArray(s.examples)) out[k] = s.examples[0];
  }
  return out;
}

/** Every [path, schema] of a params schema, at any depth. */
function walk(s: JsonSchema, at: string[] = []): [string[], JsonSchema][] {
  const out: [string[], JsonSchema][] = [[at, s]];
  for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, JsonSchema>)) out.push(...walk(v, [...at, k]));
  if (s.items && typeof s.items === 'object') out.push(...walk(s.items as JsonSchema, [...at, '[]']));
  if (s.additionalProperties && typeof s.additionalProperties === 'object') out.push(...walk(s.additionalProperties as JsonSchema, [...at, '*']));
  return out;
}

const testFiles = (() => {
  const out: string[] = [];
  const rec = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) rec(p);
      else if (/\.(ts|js|yaml)$/.test(e.name) && p !== THIS) out.push(readFileSync(p, 'utf8'));
    }
  };
  rec(join(REPO, 'test'));
  return out;
})();

describe.each(all)('$kind $name', ({ kind, name, meta }) => {
  test('its params schema compiles, each default validates where it stands, and its defaults make valid params', () => {
    // A default the schema itself refuses would be applied silently and refused nowhere.
    for (const [at, s] of walk(meta.params)) {
      if (s.default === undefined) continue;
      const { default: d, ...rest } = s;
      const check = compile(rest);
      expect({ param: at.join('.'), valid: check(structuredClone(d)), errors: check.errors ?? null }).toEqual({ param: at.join('.'), valid: true, errors: null });
    }
    const check = compile(meta.params);
    const params = sampleParams(meta.params);
    expect({ params, valid: check(params), errors: check.errors ?? null }).toEqual({ params, valid: true, errors: null });
  });

  test('it has a reference page', () => {
    const page = join(REPO, 'docs', 'reference', kind, `${name}.md`);
    expect({ page: relative(REPO, page), exists: existsSync(page) }).toEqual({ page: relative(REPO, page), exists: true });
    expect(readFileSync(page, 'utf8')).toContain(`# ${kind} \`${name}\``);
  });

  test('a test file names it', () => {
    const named = new RegExp(`(^|[^A-Za-z0-9_])${name}([^A-Za-z0-9_]|$)`);
    expect({ plugin: `${kind} ${name}`, named: testFiles.some((t) => named.test(t)) }).toEqual({ plugin: `${kind} ${name}`, named: true });
  });
});

describe('engines, on a small allocation problem', () => {
  // Six assets, 120 days of seeded returns with different volatilities and drifts; annualised like the stage does.
  const n = 6;
  const T = 120;
  const values = new Float64Array(n * T);
  let state = 12345;
  const uniform = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
  const normal = () => Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());
  for (let j = 0; j < n; j++) for (let t = 0; t < T; t++) values[j * T + t] = 0.0004 * (j - 1) + 0.01 * (1 + j / 2) * normal();
  const matrix = { values, nSymbols: n, nDays: T };
  const periods = 252;
  const cov = regulariseCovariance(estimateCovariance(matrix, { periods }).cov, n).cov;
  const problem = (over: Partial<AllocationProblem> = {}): AllocationProblem => ({
    symbols: Array.from({ length: n }, (_, j) => `A${j}`), n, cov, mu: expectedReturns(matrix, 'mean', periods), corr: correlationMatrix(matrix), riskFreeRate: 0,
    budget: 1, lb: new Float64Array(n).fill(0), ub: new Float64Array(n).fill(1), groups: [], linear: [], returns: { values, days: T }, ...over,
  });
  const run = (name: string, p: AllocationProblem) => instance<AllocationEngine>('engine', name).run(p, sampleParams(registry.lookup('engine', name)!.cls.meta.params)).weights;

  test.each(of('engine'))('$name: weights within the budget and bounds', ({ name }) => {
    const p = problem({ ub: new Float64Array(n).fill(0.4) });
    const w = run(name, p);
    expect(w).toHaveLength(n);
    expect(violation({ ...p, groups: [], linear: [] }, w)).toBeLessThanOrEqual(FEASIBILITY_TOLERANCE * 10);
  });

  test.each(of('engine'))('$name: every constraint it declares it honours holds', ({ name, meta }) => {
    const m = meta as EngineMeta;
    expect(m.honours.every((c) => ENGINE_CONSTRAINTS.includes(c))).toBe(true);
    // Binding for every engine's natural weights here: the first three assets together at most 30%.
    if (m.honours.includes('groups')) {
      const p = problem({ groups: [{ name: 'g', members: [0, 1, 2], cap: 0.3 }] });
      expect(violation(p, run(name, p))).toBeLessThanOrEqual(FEASIBILITY_TOLERANCE * 10);
    }
    // A linear row binding for every engine's natural weights: at least half the budget in the first asset.
    if (m.honours.includes('linear')) {
      const a = new Float64Array(n);
      a[0] = -1;
      const p = problem({ linear: [{ name: 'tilt', a, b: -0.5 }] });
      expect(violation(p, run(name, p))).toBeLessThanOrEqual(FEASIBILITY_TOLERANCE * 10);
    }
  });

  test.each(of('engine'))('$name: long-only as declared (a short bound is refused, or held)', ({ name, meta }) => {
    const p = problem({ lb: new Float64Array(n).fill(-0.2), ub: new Float64Array(n).fill(0.6) });
    if ((meta as EngineMeta).longOnly) {
      expect(() => run(name, p)).toThrow(expect.objectContaining({ code: 'ENGINE_NEEDS_LONG_ONLY' }));
    } else {
      expect(violation(p, run(name, p))).toBeLessThanOrEqual(FEASIBILITY_TOLERANCE * 10);
    }
  });
});

describe('scanners, on a lakehouse of real closes and the files their params name', () => {
  const env = (lakehousePath: string, baseDir: string) => ({ lakehousePath, baseDir, progress: () => {}, log: () => {}, cache: { get: () => undefined, set: <T>(_k: string, v: T) => v } }) as unknown as StageEnv;
  let lakehouse: string;
  let files: string;
  beforeAll(async () => {
    // The real Binance closes (../shared/data/crypto): the symbols a person would name in an example.
    lakehouse = await cryptoLakehouse(join(tmp, 'lakehouse'));
    // A file for every path param's example: a wide CSV of eight daily closes.
    files = join(tmp, 'files');
    mkdirSync(files);
    const rows = Array.from({ length: 120 }, (_, t) => [new Date(Date.UTC(2024, 0, 1 + t)).toISOString().slice(0, 10), ...Array.from({ length: 8 }, (_, j) => (100 + j + 10 * Math.sin((t + 7 * j) / 9)).toFixed(4))].join(','));
    for (const { meta } of of('scanner'))
      for (const [, s] of walk(meta.params)) if (s[PATH_KEYWORD] && Array.isArray(s.examples)) writeFileSync(join(files, String(s.examples[0])), [['date', ...Array.from({ length: 8 }, (_, j) => `S${j}USDT`)].join(','), ...rows].join('\n'));
  });

  test.each(of('scanner'))('$name: its declarations agree with each other', ({ name, meta }) => {
    const m = meta as ScannerMeta;
    const scanner = instance<Scanner & { useTransport?: unknown }>('scanner', name);
    // It can name its data before running exactly when it says it is cacheable.
    expect({ cacheable: m.cacheable, namesItsData: typeof scanner.dataIdentity === 'function' }).toEqual({ cacheable: m.cacheable, namesItsData: m.cacheable });
    // A live source only knows today: never point in time, never cacheable, and it can be driven offline.
    if (m.live) expect({ pointInTime: m.pointInTime, cacheable: m.cacheable, offline: typeof scanner.useTransport }).toEqual({ pointInTime: false, cacheable: false, offline: 'function' });
  });

  test.each(of('scanner').filter((s) => !(s.meta as ScannerMeta).live))('$name: finds candidates, names its data, and needs a lakehouse exactly when it says', async ({ name, meta }) => {
    const m = meta as ScannerMeta;
    const scanner = instance<Scanner>('scanner', name);
    const params = sampleParams(meta.params);
    const found = await scanner.scan(params, env(lakehouse, files));
    try {
      expect(found.candidates.length).toBeGreaterThan(0);
      expect(found.funnel.length).toBeGreaterThan(0);
    } finally {
      await found.close();
    }
    if (m.cacheable) expect(await scanner.dataIdentity!(params, env(lakehouse, files))).toMatch(/^sha256:[0-9a-f]{64}$/);
    const without = scanner.scan(params, env(join(tmp, 'no-lakehouse'), files)).then(async (r) => (await r.close(), 'scanned'));
    if (m.readsLakehouse) await expect(without).rejects.toBeInstanceOf(FractalError);
    else await expect(without).resolves.toBe('scanned');
  });
});

describe('stages, rankers, filters, simulators and reporters, in tiny pipelines built from the registry', () => {
  const stages = (doc: 'selection' | 'meta' | 'tournament') => of('stage').filter((s) => (s.meta as StageMeta).documents.includes(doc));
  /** A stage's params: every plugin list gets every plugin of its kind; a single reference its default unless given. */
  function stageParams(meta: StageMeta, single: Partial<Record<PluginKind, string>> = {}): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const ref of refParams(meta)) {
      if (ref.list && ref.param !== 'fallback') out[ref.param] = registry.names(ref.kind);
      else if (!ref.list && single[ref.kind]) out[ref.param] = single[ref.kind];
    }
    // The tiny market: a seeded synthetic one, small windows.
    if (meta.name === 'ingestion') Object.assign(out, { scanner: { name: 'synthetic', params: { symbols: 12, days: 260, seed: 7 } }, lookback_days: 200 });
    if ('train_window' in ((meta.params.properties ?? {}) as object)) Object.assign(out, { train_window: 60, test_window: 20, step_size: 20 });
    if ('lookback' in ((meta.params.properties ?? {}) as object)) out.lookback = 30;
    if ('min_winners' in ((meta.params.properties ?? {}) as object)) out.min_winners = 3;
    return out;
  }
  const selection = (name: string, single: Partial<Record<PluginKind, string>> = {}, withReport = true) => ({
    pipeline: 'selection', version: '4.0', name,
    stages: stages('selection').filter((s) => withReport || !(s.meta as StageMeta).provides.includes('report')).map((s) => ({ type: s.name, params: stageParams(s.meta as StageMeta, single) })),
  });
  async function run(file: string, doc: object) {
    writeFileSync(join(tmp, file), stringify(doc));
    const v = await validateFile(join(tmp, file), { registry });
    expect(v.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const r = await executePipeline(v, { outRoot: join(tmp, 'runs'), lakehousePath: join(tmp, 'none') });
    expect({ outcome: r.summary.outcome, error: r.summary.error ?? null }).toEqual({ outcome: 'succeeded', error: null });
    return r;
  }
  const events = (folder: string) => readFileSync(join(folder, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { stage: string | null; event: string; data: Record<string, unknown> });

  test.each(of('simulator'))('a selection pipeline of every selection stage, every ranker and filter, held by $name', async ({ name }) => {
    const { summary } = await run(`sel_${name}.yaml`, selection(`sel_${name}`, { simulator: name }));
    expect(summary.stages.map((s) => [s.type, s.outcome])).toEqual(stages('selection').map((s) => [s.name, 'succeeded']));
    const scores = JSON.parse(readFileSync(join(summary.folder, 'scores.json'), 'utf8')) as { rankers: Record<string, unknown> };
    expect(Object.keys(scores.rankers).sort()).toEqual(registry.names('ranker').sort());
    const filtered = new Set(events(summary.folder).filter((e) => e.event === 'filter_applied').map((e) => e.data.filter));
    expect([...filtered].sort()).toEqual(registry.names('filter').sort());
    const backtest = events(summary.folder).find((e) => e.stage === 'backtest' && e.event === 'stage_started')!;
    expect((backtest.data.params as { simulator: { name: string } }).simulator.name).toBe(name);
  }, 120_000);

  test('a meta pipeline of every meta stage over two selection sleeves', async () => {
    for (const s of ['one', 'two']) writeFileSync(join(tmp, `sleeve_${s}.yaml`), stringify(selection(`sleeve_${s}`, {}, false)).replace('seed: 7', `seed: ${s === 'one' ? 7 : 8}`));
    const meta = {
      pipeline: 'meta', version: '4.0', name: 'meta_all',
      sleeves: [{ name: 'one', pipeline: './sleeve_one.yaml' }, { name: 'two', pipeline: './sleeve_two.yaml' }],
      stages: stages('meta').map((s) => ({ type: s.name, params: { ...stageParams(s.meta as StageMeta), ...('train_window' in (((s.meta as StageMeta).params.properties ?? {}) as object) ? { train_window: 40, test_window: 10, step_size: 10 } : {}) } })),
    };
    const { summary } = await run('meta_all.yaml', meta);
    expect(summary.stages.map((s) => [s.type, s.outcome])).toEqual(stages('meta').map((s) => [s.name, 'succeeded']));
  }, 180_000);

  test('a tournament of every tournament stage over two cells of a selection base', async () => {
    writeFileSync(join(tmp, 'base.yaml'), stringify(selection('base', {}, false)));
    const doc = {
      pipeline: 'tournament', version: '4.0', name: 'tournament_all', base: './base.yaml', champion: 'equal_weight',
      matrix: { 'stages.allocation.engine': ['equal_weight', 'inverse_vol'] }, cells: { id: '{engine}' },
      statistics: { bootstrap: { resamples: 200, seed: 1 } },
    };
    // A tournament document's stages are its kind's own (they are not written in the file): every one runs.
    const { summary } = await run('tournament_all.yaml', doc);
    expect(summary.stages.every((s) => s.outcome === 'succeeded')).toBe(true);
    expect(summary.stages.map((s) => s.type)).toEqual(expect.arrayContaining(stages('tournament').filter((s) => (s.meta as StageMeta).documents.length === 1).map((s) => s.name)));
  }, 180_000);

  test.each(of('reporter'))('reporter $name renders a finished run into files', async ({ name, meta }) => {
    const { context } = await run(`rep_${name}.yaml`, selection(`rep_${name}`, {}, false));
    const written: string[] = [];
    const write = async (file: string) => (written.push(file), file);
    const env = {
      runId: 'r', runDir: join(tmp, `rendered_${name}`), baseDir: tmp, lakehousePath: join(tmp, 'none'), log: () => {}, progress: () => {},
      audit: { event: () => {} }, artifacts: { writeText: write, writeJson: write, writeJsonSection: write, writeBytes: write },
      pipeline: { name: `rep_${name}`, hash: '', config: {}, stages: [] }, dataHash: () => null,
    } as unknown as StageEnv;
    const files = await instance<Reporter>('reporter', name).render(context, sampleParams(meta.params), env);
    expect(files.length).toBeGreaterThan(0);
    expect(written).toEqual(expect.arrayContaining(files));
  }, 120_000);
});
