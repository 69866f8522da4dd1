/**
 * Composition and the resolved config: extends (deep merge, lists replaced), profile precedence (`--profile`
 * beats `profile:`), `--set` value parsing, the explicit resolved config (defaults filled, plugin refs as
 * {name, params}) and the stability of its hash.
 */
import { join } from 'node:path';
import { FIXTURES } from './helpers.js';
import { composeExtends, parseSetValue } from '../../src/config/compose.js';
import { canonicalJson, configHash } from '../../src/util/hash.js';
import { deepMerge, type OriginMap } from '../../src/config/origins.js';
import { validateFile, type ValidationResult } from '../../src/config/validate.js';
import type { ResolvedStage } from '../../src/core/resolved-config.js';
import { builtinRegistry } from '../../stages/index.js';
import { removeTmpTrees, tmpTree } from './tmp.js';

afterAll(removeTmpTrees);

const validate = (file: string, opts: { profile?: string; sets?: string[] } = {}) => validateFile(file, { registry: builtinRegistry(), ...opts });

function stage(r: ValidationResult, type: string): ResolvedStage {
  expect(r.diagnostics).toEqual([]);
  expect(r.ok).toBe(true);
  const s = r.resolved!.stages.find((x) => x.type === type);
  if (!s) throw new Error(`no stage ${type} in ${JSON.stringify(r.resolved)}`);
  return s;
}

const HEAD = 'pipeline: selection\nversion: "4.0"\n';

describe('extends', () => {
  it('deep-merges mappings key by key and replaces lists whole', () => {
    const dir = tmpTree({
      'base.yaml': 'a: { x: 1, y: { p: 1, q: 2 } }\nlist: [1, 2, 3]\nkeep: base\n',
      'child.yaml': 'extends: ./base.yaml\na: { y: { q: 20, r: 30 }, z: 3 }\nlist: [9]\n',
    });
    const { composed, diagnostics } = composeExtends(join(dir, 'child.yaml'));
    expect(diagnostics).toEqual([]);
    expect(composed!.value).toEqual({ a: { x: 1, y: { p: 1, q: 20, r: 30 }, z: 3 }, list: [9], keep: 'base' });
    expect(composed!.files.map((f) => f.split('/').pop())).toEqual(['child.yaml', 'base.yaml']);
  });

  it('deepMerge leaves its inputs untouched', () => {
    const base = { a: { b: [1, 2] } };
    const overlay = { a: { c: 1 } };
    const out = deepMerge(base, overlay, '', new Map() as OriginMap, new Map() as OriginMap);
    expect(out).toEqual({ a: { b: [1, 2], c: 1 } });
    expect(base).toEqual({ a: { b: [1, 2] } });
  });

  it('a chain of three files: the nearest file wins, stages come from the last file that gives them', async () => {
    const dir = tmpTree({
      'base/root.yaml': `${HEAD}name: root\ndescription: from root\nstages:\n  - type: ingestion\n    params: { lookback_days: 100 }\n  - type: clustering\n`,
      'base/mid.yaml': 'extends: ./root.yaml\nname: mid\n',
      'leaf.yaml': 'extends: ./base/mid.yaml\nname: leaf\nstages:\n  - type: ingestion\n    params: { lookback_days: 300 }\n',
    });
    const r = await validate(join(dir, 'leaf.yaml'));
    expect(r.diagnostics).toEqual([]);
    expect(r.resolved!.name).toBe('leaf');
    expect(r.resolved!.description).toBe('from root');
    // The list of stages is replaced, not merged: the root's clustering stage is gone.
    expect(r.resolved!.stages.map((s) => s.type)).toEqual(['ingestion']);
    expect(stage(r, 'ingestion').params.lookback_days).toBe(300);
    // `extends` itself is not part of the resolved config.
    expect(r.resolved).not.toHaveProperty('extends');
  });
});

describe('precedence: base file < extending file < profile < --set', () => {
  const files = {
    'base.yaml': `${HEAD}name: base_name\ndescription: the base\nstages:\n  - type: ingestion\n  - type: feature_engineering\n  - type: inference\n  - type: policy\n  - type: synthesis\n  - type: allocation\n  - type: backtest\n    params: { train_window: 100, test_window: 10, step_size: 10, slippage_bps: 2 }\n`,
    'pipeline.yaml': 'extends: ./base.yaml\nname: child_name\nprofile: dev\n',
    'profiles/dev.yaml': 'backtest: { train_window: 200, test_window: 30 }\n',
    'profiles/prod.yaml': 'stages:\n  backtest: { train_window: 500, commission_bps: 3 }\n',
  };

  it('each layer overrides only what it sets', async () => {
    const dir = tmpTree(files);
    const r = await validate(join(dir, 'pipeline.yaml'), { sets: ['stages.backtest.train_window=300'] });
    expect(r.resolved!.name).toBe('child_name');
    expect(r.resolved!.description).toBe('the base');
    expect(r.composed!.profile?.name).toBe('dev');
    expect(r.resolved).not.toHaveProperty('profile');
    expect(stage(r, 'backtest').params).toMatchObject({
      train_window: 300, // --set
      test_window: 30, // profile
      step_size: 10, // base file
      slippage_bps: 2, // base file
      commission_bps: 1, // default
    });
  });

  it('--profile beats the file’s profile:', async () => {
    const dir = tmpTree(files);
    const r = await validate(join(dir, 'pipeline.yaml'), { profile: 'prod' });
    expect(r.composed!.profile?.name).toBe('prod');
    expect(stage(r, 'backtest').params).toMatchObject({ train_window: 500, test_window: 10, commission_bps: 3 });
  });

  it('without a profile the file values stand', async () => {
    const dir = tmpTree({ ...files, 'pipeline.yaml': 'extends: ./base.yaml\n' });
    const r = await validate(join(dir, 'pipeline.yaml'));
    expect(r.resolved!.name).toBe('base_name');
    expect(r.resolved).not.toHaveProperty('profile');
    expect(stage(r, 'backtest').params).toMatchObject({ train_window: 100, test_window: 10 });
  });

  it('later --set wins over an earlier one', async () => {
    const dir = tmpTree(files);
    const r = await validate(join(dir, 'pipeline.yaml'), { sets: ['stages.backtest.train_window=300', 'stages.backtest.train_window=400'] });
    expect(stage(r, 'backtest').params.train_window).toBe(400);
  });

  it('a profile is found in a profiles/ folder above the pipeline’s folder', async () => {
    const dir = tmpTree({ 'pipelines/crypto/p.yaml': `${HEAD}profile: dev\nstages:\n  - type: ingestion\n`, 'profiles/dev.yaml': 'ingestion: { lookback_days: 42 }\n' });
    const r = await validate(join(dir, 'pipelines/crypto/p.yaml'));
    expect(stage(r, 'ingestion').params.lookback_days).toBe(42);
  });
});

describe('--set values', () => {
  it.each([
    ['60', 60],
    ['0.25', 0.25],
    ['-2', -2],
    ['1e3', 1000],
    ['true', true],
    ['false', false],
    ['null', null],
    ['["darwinian","roc"]', ['darwinian', 'roc']],
    ['{"momentum":1.5}', { momentum: 1.5 }],
    ['"60"', '60'],
    ['hrp', 'hrp'],
    ['BTC/USDT', 'BTC/USDT'],
    ['a=b', 'a=b'],
    ['', ''],
  ])('parses %j', (raw, value) => {
    expect(parseSetValue(raw)).toEqual(value);
  });

  it('typed values reach the resolved params', async () => {
    const dir = tmpTree({ 'p.yaml': `${HEAD}stages:\n  - type: ingestion\n  - type: feature_engineering\n  - type: inference\n  - type: policy\n  - type: synthesis\n  - type: allocation\n  - type: backtest\n` });
    const r = await validate(join(dir, 'p.yaml'), {
      sets: [
        'stages.backtest.train_window=60',
        'stages.backtest.benchmark=BTC',
        'stages.policy.relaxation=false',
        'stages.policy.filters=["roc",{"name":"spectral","params":{"entropy_max":0.9}}]',
        'stages.allocation.engine.name=herc',
        'stages.allocation.covariance.estimator=ledoit_wolf',
      ],
    });
    expect(stage(r, 'backtest').params).toMatchObject({ train_window: 60, benchmark: 'BTC' });
    expect(stage(r, 'policy').params.relaxation).toBe(false);
    expect(stage(r, 'policy').params.filters).toEqual([
      { name: 'roc', params: expect.any(Object) },
      { name: 'spectral', params: expect.objectContaining({ entropy_max: 0.9, efficiency_min: 0.3 }) },
    ]);
    expect(stage(r, 'allocation').params.engine).toEqual({ name: 'herc', params: expect.any(Object) });
    expect(stage(r, 'allocation').params.covariance).toMatchObject({ estimator: 'ledoit_wolf', missing: 'pairwise' });
  });

  it('reaches through a plugin written by its name (`engine: hrp` is {name: hrp}), and only through a plugin', async () => {
    const pipeline = (engine: string) => `${HEAD}stages:\n  - type: ingestion\n  - type: feature_engineering\n  - type: inference\n  - type: policy\n  - type: synthesis\n    params: { direction: LONG }\n  - type: allocation\n    params: { engine: ${engine} }\n  - type: backtest\n`;
    const dir = tmpTree({ 'p.yaml': pipeline('hrp'), 'typo.yaml': pipeline('hrpp') });
    const file = join(dir, 'p.yaml');
    const linkage = await validate(file, { sets: ['stages.allocation.engine.params.linkage=ward'] });
    expect(stage(linkage, 'allocation').params.engine).toEqual({ name: 'hrp', params: expect.objectContaining({ linkage: 'ward' }) });
    const renamed = await validate(file, { sets: ['stages.allocation.engine.name=herc'] });
    expect(stage(renamed, 'allocation').params.engine).toEqual({ name: 'herc', params: expect.any(Object) });
    // The name still comes from the file: an unknown one is located there, not at the --set.
    const typo = await validate(join(dir, 'typo.yaml'), { sets: ['stages.allocation.engine.params.linkage=ward'] });
    expect(typo.diagnostics.map((d) => `${d.file.split('/').pop()}:${d.line}:${d.column} ${d.code}`)).toEqual(['typo.yaml:11:23 PLUGIN_UNKNOWN']);
    const notAPlugin = await validate(file, { sets: ['stages.synthesis.direction.name=x'] });
    expect(notAPlugin.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([
      "REF_SET_UNKNOWN_PATH --set cannot reach 'direction.name': 'direction' of stage 'synthesis' is not a mapping",
    ]);
  });

  it('a value of the wrong type is reported at the command line', async () => {
    const dir = tmpTree({ 'p.yaml': `${HEAD}stages:\n  - type: ingestion\n` });
    const r = await validate(join(dir, 'p.yaml'), { sets: ['stages.ingestion.lookback_days="500"'] });
    expect(r.diagnostics.map((d) => `${d.file}:${d.line}:${d.column} ${d.code}`)).toEqual([
      '<command line: --set stages.ingestion.lookback_days="500">:1:1 PARAM_WRONG_TYPE',
    ]);
  });
});

describe('the resolved config', () => {
  it('is explicit: defaults filled, plugin refs as {name, params}, shorthands moved, aliases canonical', async () => {
    const dir = tmpTree({
      'crypto_long.yaml': `${HEAD}stages:
  - type: ingestion
  - type: feature_engineering
  - type: inference
    params: { ranker: strategy_regime, weights: { momentum: 1.5 } }
  - type: clustering
  - type: policy
    params: { filters: [darwinian, { name: spectral }] }
  - type: synthesis
  - type: allocation
`,
    });
    const r = await validate(join(dir, 'crypto_long.yaml'));
    expect(r.diagnostics.map((d) => d.code)).toEqual(['PLUGIN_DEPRECATED_NAME']);
    expect(r.ok).toBe(true);
    const res = r.resolved!;
    expect(res.name).toBe('crypto_long'); // the file name when `name` is omitted
    expect(res.version).toBe('4.0');
    const by = (t: string) => res.stages.find((s) => s.type === t)!.params;
    expect(by('ingestion').scanner).toEqual({
      name: 'lakehouse',
      params: expect.objectContaining({ min_volume_spot: 20_000_000, min_volume_perp: 50_000_000, limit: 100, exclude_stablecoins: true }),
    });
    expect(by('inference')).not.toHaveProperty('weights');
    expect(by('inference').ranker).toEqual({ name: 'regime', params: expect.objectContaining({ weights: { momentum: 1.5 }, volatility_lookback: 20 }) });
    expect(by('clustering')).toMatchObject({ threshold: 0.7, max_clusters: 25, lookbacks: [20, 60, 120], linkage: 'ward' });
    expect(by('policy')).toMatchObject({ top_n: 2, sector_cap: 0.4, min_winners: 15, relaxation: true });
    expect(by('policy').filters).toEqual([
      { name: 'darwinian', params: expect.any(Object) },
      { name: 'spectral', params: expect.objectContaining({ entropy_max: 0.995, efficiency_min: 0.3, hurst_min: 0, hurst_max: 1 }) },
    ]);
    expect(by('synthesis')).toMatchObject({ direction: 'LONG' });
    expect(by('ingestion')).toMatchObject({ toxic_threshold: 5, freshness_days: { spot: 3, perp: 3, equity: 5, etf: 5 } });
    expect(by('allocation')).toMatchObject({ engine: { name: 'hrp', params: { linkage: 'single' } }, cluster_cap: 0.25, bounds: [0, 1] });
    // Every plugin ref in the resolved config is an explicit {name, params}.
    const refs: unknown[] = [by('ingestion').scanner, by('inference').ranker, ...(by('policy').filters as unknown[]), by('allocation').engine];
    for (const ref of refs) expect(Object.keys(ref as object).sort()).toEqual(['name', 'params']);
  });

  it('the champion ranker’s weights come from the shorthand when no ranker is named', async () => {
    const dir = tmpTree({ 'p.yaml': `${HEAD}stages:\n  - type: ingestion\n  - type: feature_engineering\n  - type: inference\n    params: { weights: { momentum: 2 } }\n` });
    const r = await validate(join(dir, 'p.yaml'));
    expect(stage(r, 'inference').params.ranker).toEqual({ name: 'mps', params: expect.objectContaining({ weights: { momentum: 2 } }) });
  });

  it('with `rankers`, the shorthand goes to the first (the champion) only', async () => {
    const dir = tmpTree({ 'p.yaml': `${HEAD}stages:\n  - type: ingestion\n  - type: feature_engineering\n  - type: inference\n    params: { rankers: [cars, mps], weights: { momentum: 2 } }\n` });
    const r = await validate(join(dir, 'p.yaml'));
    expect(stage(r, 'inference').params.rankers).toEqual([
      { name: 'cars', params: expect.objectContaining({ weights: { momentum: 2 } }) },
      { name: 'mps', params: expect.not.objectContaining({ weights: expect.anything() }) },
    ]);
  });
});

describe('the hash of the resolved config', () => {
  const yaml = `# a comment
pipeline: selection
version: "4.0"
name: same
stages:
  - type: ingestion
    params: { scanner: lakehouse, lookback_days: 500 }
  - type: clustering
    params:
      threshold: 0.7
      max_clusters: 25
`;
  const reordered = `stages:
  - params: { lookback_days: 500, scanner: lakehouse }
    type: ingestion
  - params: { max_clusters: 25, threshold: 0.7 }
    type: clustering
name: same
version: "4.0"
pipeline: selection
`;
  const json = JSON.stringify({
    pipeline: 'selection',
    version: '4.0',
    name: 'same',
    stages: [
      { type: 'ingestion', params: { scanner: 'lakehouse', lookback_days: 500 } },
      { type: 'clustering', params: { threshold: 0.7, max_clusters: 25 } },
    ],
  });
  // Defaults spelled out and a plugin named by {name, params}: the same resolved config.
  const explicit = `pipeline: selection
version: "4.0"
name: same
stages:
  - type: ingestion
    params: { scanner: { name: lakehouse, params: { limit: 100 } }, lookback_days: 500 }
  - type: clustering
    params: { lookbacks: [20, 60, 120], linkage: ward }
`;

  async function hashOf(files: Record<string, string>, file: string, sets?: string[]): Promise<string> {
    const dir = tmpTree(files);
    const r = await validate(join(dir, file), { sets });
    expect(r.diagnostics).toEqual([]);
    expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(r.hash).toBe(configHash(r.resolved));
    return r.hash!;
  }

  it('is the same for the same config in YAML, reordered YAML, JSON and with defaults spelled out', async () => {
    const h = await hashOf({ 'p.yaml': yaml }, 'p.yaml');
    expect(await hashOf({ 'p.yaml': reordered }, 'p.yaml')).toBe(h);
    expect(await hashOf({ 'p.json': json }, 'p.json')).toBe(h);
    expect(await hashOf({ 'p.json': JSON.stringify(JSON.parse(json), null, 4) }, 'p.json')).toBe(h);
    expect(await hashOf({ 'p.yaml': explicit }, 'p.yaml')).toBe(h);
    // Through a --set that gives the value it already has.
    expect(await hashOf({ 'p.yaml': yaml }, 'p.yaml', ['stages.clustering.threshold=0.7'])).toBe(h);
  });

  it('changes when a param changes', async () => {
    const h = await hashOf({ 'p.yaml': yaml }, 'p.yaml');
    expect(await hashOf({ 'p.yaml': yaml.replace('threshold: 0.7', 'threshold: 0.6') }, 'p.yaml')).not.toBe(h);
    expect(await hashOf({ 'p.yaml': yaml }, 'p.yaml', ['stages.clustering.max_clusters=24'])).not.toBe(h);
    expect(await hashOf({ 'p.yaml': yaml.replace('lakehouse', '{ name: lakehouse, params: { limit: 99 } }') }, 'p.yaml')).not.toBe(h);
  });

  it('canonical JSON sorts keys at every depth and keeps list order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe('{"a":{"c":null,"d":[2,1]},"b":1}');
    expect(configHash({ a: 1, b: 2 })).toBe(configHash({ b: 2, a: 1 }));
    expect(configHash({ a: [1, 2] })).not.toBe(configHash({ a: [2, 1] }));
  });
});

describe('the resolved config is itself a valid pipeline with the same hash', () => {
  async function roundTrip(file: string): Promise<void> {
    const first = await validate(file);
    expect(first.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const dir = tmpTree({ 'resolved.json': JSON.stringify(first.resolved, null, 2) });
    const again = await validate(join(dir, 'resolved.json'));
    expect(again.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(again.hash).toBe(first.hash);
  }

  it.each(['valid-design-example', 'valid-json', 'valid-seed-format', 'plugin-weights-shorthand', 'plugin-deprecated-alias', 'syntax-aliases-few'])('fixture %s', async (name) => {
    const dir = join(FIXTURES, name);
    await roundTrip(join(dir, name === 'valid-json' ? 'pipeline.json' : 'pipeline.yaml'));
  });

  it('with champion and challengers (`rankers`)', async () => {
    const dir = tmpTree({ 'p.yaml': `${HEAD}stages:\n  - type: ingestion\n  - type: feature_engineering\n  - type: inference\n    params: { rankers: [cars, mps] }\n` });
    await roundTrip(join(dir, 'p.yaml'));
  });
});
