/** Problems found in review, each kept from coming back. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateFile } from '../../src/config/validate.js';
import { builtinRegistry } from '../../stages/index.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fractal-reg-'));
  mkdirSync(join(dir, '.git')); // a repository root, for plugin-module rules
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HEAD = 'pipeline: selection\nversion: "4.0"\nstages:\n  - type: ingestion\n  - type: clustering\n';
const write = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
const codes = async (file: string, opts: { sets?: string[]; profile?: string } = {}) =>
  (await validateFile(file, { registry: builtinRegistry(), ...opts })).diagnostics.map((d) => `${d.file.split('/').pop()}:${d.line}:${d.column}:${d.code}`);

test('--set cannot reach Object.prototype', async () => {
  const f = write('p.yaml', HEAD);
  // `__proto__` is an own key like any other: clustering has no such param.
  expect(await codes(f, { sets: ['stages.clustering.__proto__.polluted=1'] })).toEqual(['<command line: --set stages.clustering.__proto__.polluted=1>:1:1:PARAM_UNKNOWN_KEY']);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

test('a __proto__ key in a profile is an unknown key, not a way into the prototype', async () => {
  mkdirSync(join(dir, 'profiles'), { recursive: true });
  write('profiles/pp.yaml', 'clustering:\n  __proto__: { max_clusters: 3 }\n');
  const v = await validateFile(write('q.yaml', HEAD), { registry: builtinRegistry(), profile: 'pp' });
  expect(v.diagnostics.map((d) => d.code)).toContain('PARAM_UNKNOWN_KEY');
  expect(({} as Record<string, unknown>).max_clusters).toBeUndefined();
});

test('an alias to an undefined anchor is a syntax error at the alias', async () => {
  const f = write('a.yaml', `${HEAD}    params: { threshold: *t }\n`);
  expect(await codes(f)).toEqual(['a.yaml:6:26:SYNTAX_ERROR']);
});

test('a plugin stage without documents/requires/provides is refused with a location, not a crash', async () => {
  write('bad.js', "export class St { static meta = { kind: 'stage', name: 'mystage', description: 'x', params: { type: 'object', additionalProperties: false, properties: {} } } }\n");
  const f = write('m.yaml', 'pipeline: selection\nversion: "4.0"\nplugins: [./bad.js]\nstages:\n  - type: ingestion\n');
  expect(await codes(f)).toEqual(['m.yaml:3:11:REF_PLUGIN_MODULE_INVALID']);
});

test('a date that does not exist is refused', async () => {
  const f = write('d.yaml', 'pipeline: selection\nversion: "4.0"\nstages:\n  - type: ingestion\n    params: { as_of: "2024-02-30" }\n');
  expect(await codes(f)).toEqual(['d.yaml:5:22:PARAM_BAD_VALUE']);
});

test('extends naming a folder is reported where it is written', async () => {
  mkdirSync(join(dir, 'afolder'), { recursive: true });
  const f = write('e.yaml', 'extends: ./afolder\npipeline: selection\nversion: "4.0"\nstages:\n  - type: ingestion\n');
  expect(await codes(f)).toEqual(['e.yaml:1:10:REF_EXTENDS_NOT_FOUND']);
});

test("a wrong sleeve `set:` points into the meta file, not at the command line", async () => {
  write('leaf.yaml', 'pipeline: selection\nversion: "4.0"\nstages:\n  - type: ingestion\n  - type: feature_engineering\n  - type: allocation\n  - type: backtest\n');
  const f = write('meta.yaml', 'pipeline: meta\nversion: "4.0"\nsleeves:\n  - name: a\n    pipeline: ./leaf.yaml\n    set: ["stages.backtest.train_window=-5"]\nstages:\n  - type: meta_returns\n');
  expect(await codes(f)).toEqual(['meta.yaml:6:11:PARAM_OUT_OF_RANGE']);
});

test('a wrapped profile refuses keys beside `stages`', async () => {
  mkdirSync(join(dir, 'profiles'), { recursive: true });
  write('profiles/mixed.yaml', 'stages:\n  clustering: { threshold: 0.5 }\nclustring: { threshold: 0.4 }\n');
  expect(await codes(write('w.yaml', HEAD), { profile: 'mixed' })).toEqual(['mixed.yaml:3:1:SCHEMA_UNKNOWN_KEY']);
});

describe('a file that names an invalid pipeline says so where it names it (found in a walkthrough of the README)', () => {
  // A meta's sleeve and a tournament's base with an unknown param: the sleeve's error is located in the sleeve's
  // file, and the meta (or tournament) got no diagnostic of its own, so `validate meta.yaml` never named it and the
  // text and JSON reports counted the sleeve's error once and twice.
  const SLEEVE = `pipeline: selection\nversion: "4.0"\nname: sleeve\nstages:\n${['ingestion', 'feature_engineering', 'inference', 'clustering'].map((t) => `  - type: ${t}\n`).join('')}  - type: policy\n    params: { top_nn: 2 }\n${['synthesis', 'allocation', 'backtest'].map((t) => `  - type: ${t}\n`).join('')}`;
  const META = 'pipeline: meta\nversion: "4.0"\nname: m\nsleeves:\n  - { name: long, pipeline: ./sleeve.yaml }\nstages:\n  - type: meta_returns\n  - type: meta_optimize\n  - type: meta_flatten\n';
  const TOURNAMENT = 'pipeline: tournament\nversion: "4.0"\nname: t\nbase: ./sleeve.yaml\nmatrix:\n  stages.backtest.step_size: [20, 30]\n';
  const at = (text: string, needle: string) => {
    const lines = text.split('\n');
    const line = lines.findIndex((l) => l.includes(needle));
    return `${line + 1}:${lines[line]!.indexOf(needle) + 1}`;
  };

  test('a meta: REF_SLEEVE_INVALID at the sleeve\'s file name, beside the sleeve\'s own error', async () => {
    write('sleeve.yaml', SLEEVE);
    expect(await codes(write('m.yaml', META))).toEqual([`m.yaml:${at(META, './sleeve.yaml')}:REF_SLEEVE_INVALID`, `sleeve.yaml:${at(SLEEVE, 'top_nn')}:PARAM_UNKNOWN_KEY`]);
  });

  test('a tournament: REF_TOURNAMENT_BASE_INVALID at the base\'s file name', async () => {
    write('sleeve.yaml', SLEEVE);
    const found = await codes(write('t.yaml', TOURNAMENT));
    expect(found).toContain(`sleeve.yaml:${at(SLEEVE, 'top_nn')}:PARAM_UNKNOWN_KEY`);
    expect(found).toContain(`t.yaml:${at(TOURNAMENT, './sleeve.yaml')}:REF_TOURNAMENT_BASE_INVALID`);
  });

  test('a valid sleeve adds nothing', async () => {
    write('sleeve.yaml', SLEEVE.replace('top_nn', 'top_n'));
    expect(await codes(write('m.yaml', META))).toEqual([]);
  });

  test('validate: the text summary and the JSON count the same errors, each once', async () => {
    write('sleeve.yaml', SLEEVE);
    write('m.yaml', META);
    const { validatePaths } = await import('../../src/cli/validate.js');
    const text = await validatePaths([join(dir, 'sleeve.yaml'), join(dir, 'm.yaml')], { format: 'text' });
    const json = JSON.parse((await validatePaths([join(dir, 'sleeve.yaml'), join(dir, 'm.yaml')], { format: 'json' })).output);
    expect(text.summary).toBe('2 files checked: 2 invalid, 2 errors, 0 warnings');
    expect(json.errors).toBe(2);
    expect(json.diagnostics.map((d: { code: string }) => d.code)).toEqual(['REF_SLEEVE_INVALID', 'PARAM_UNKNOWN_KEY']);
  });
});

describe("a tournament's base is a file of its own repository, and never itself (found by an adversarial review)", () => {
  const T = (base: string) => `pipeline: tournament\nversion: "4.0"\nname: t\nbase: ${base}\nmatrix:\n  stages.allocation.engine: [hrp]\n`;
  let outside: string;
  beforeAll(() => {
    outside = mkdtempSync(join(tmpdir(), 'fractal-reg-outside-'));
    writeFileSync(join(outside, 'base.yaml'), 'pipeline: selection\nversion: "4.0"\nstages:\n  - type: ingestion\n  - type: backtest\n');
  });
  afterAll(() => rmSync(outside, { recursive: true, force: true }));

  test.each([
    ['a path up and out', () => join('..', outside.split('/').pop()!, 'base.yaml')],
    ['an absolute path', () => '/etc/passwd'],
    ['a link inside the repository to a file outside it', () => (symlinkSync(join(outside, 'base.yaml'), join(dir, 'outs.yaml')), './outs.yaml')],
  ])('%s: REF_TOURNAMENT_BASE_OUTSIDE_REPO, and the file is not read', async (_, base) => {
    const name = base();
    const f = write('tout.yaml', T(name));
    const v = await validateFile(f, { registry: builtinRegistry() });
    expect(v.diagnostics.map((d) => `${d.file.split('/').pop()}:${d.line}:${d.code}`)).toEqual(['tout.yaml:4:REF_TOURNAMENT_BASE_OUTSIDE_REPO']);
    // Nothing of the outside file is quoted (/etc/passwd's first line would be).
    expect(JSON.stringify(v.diagnostics)).not.toMatch(/root:x:0|pipeline: selection/);
  });

  test('a tournament that is its own base, or two that are each other\'s: REF_TOURNAMENT_BASE_INVALID, not a stack overflow', async () => {
    const self = write('tself.yaml', T('./tself.yaml'));
    expect(await codes(self)).toEqual(['tself.yaml:4:7:REF_TOURNAMENT_BASE_INVALID']);
    write('tb.yaml', T('./ta.yaml'));
    const a = write('ta.yaml', T('./tb.yaml'));
    const v = await validateFile(a, { registry: builtinRegistry() });
    expect(v.diagnostics.map((d) => d.code)).toContain('REF_TOURNAMENT_BASE_INVALID');
    expect(v.diagnostics.find((d) => /leads back/.test(d.message))?.message).toMatch(/ta\.yaml -> .*tb\.yaml -> .*ta\.yaml/);
  });
});

test('.nan, .inf and a literal too large for a double are named as such, not as "null" (found by a fault review)', async () => {
  const f = write('nonfinite.yaml', 'pipeline: selection\nversion: "4.0"\nstages:\n  - type: ingestion\n    params: { lookback_days: .nan }\n  - type: clustering\n    params: { max_clusters: 1e400, threshold: -.inf }\n');
  const v = await validateFile(f, { registry: builtinRegistry() });
  const messages = v.diagnostics.map((d) => `${d.line}:${d.column} ${d.code} ${d.message}`);
  expect(messages).toEqual([
    "5:30 PARAM_WRONG_TYPE 'lookback_days' in params of stage 'ingestion' must be an integer, got non-finite number .nan (not a number)",
    "7:29 PARAM_WRONG_TYPE 'max_clusters' in params of stage 'clustering' must be an integer, got non-finite number .inf (an infinite number, or a literal too large for one: 1e400 is read as .inf)",
    "7:47 PARAM_WRONG_TYPE 'threshold' in params of stage 'clustering' must be a number, got non-finite number -.inf (an infinite number, or a literal too large for one: 1e400 is read as .inf)",
  ]);
  expect(messages.join('\n')).not.toContain('null');
});

test('a matrix value that is .nan or .inf is named at the value, not as "null null"', async () => {
  write('tbase.yaml', 'pipeline: selection\nversion: "4.0"\nname: tb\nstages:\n  - type: ingestion\n  - type: clustering\n  - type: allocation\n  - type: backtest\n');
  const f = write('tnan.yaml', 'pipeline: tournament\nversion: "4.0"\nname: tn\nbase: ./tbase.yaml\nmatrix:\n  stages.clustering.threshold: [0.5, .nan]\n  include: [{ stages.clustering.max_clusters: .inf }]\n');
  const v = await validateFile(f, { registry: builtinRegistry() });
  expect(v.diagnostics.map((d) => `${d.line}:${d.column} ${d.code}`)).toEqual(['6:38 PARAM_WRONG_TYPE', '7:47 PARAM_WRONG_TYPE']);
  expect(v.diagnostics.map((d) => d.message).join('\n')).not.toContain('null');
});

test('a document nested thousands of levels deep is a syntax error that says so, and its code frame is a window, not the whole line', async () => {
  const f = write('deep.yaml', `pipeline: selection\nversion: "4.0"\nstages:\n  - type: ingestion\n    params: ${'{a: '.repeat(5000)}1${'}'.repeat(5000)}\n`);
  const v = await validateFile(f, { registry: builtinRegistry() });
  expect(v.diagnostics.map((d) => `${d.line} ${d.code} ${d.message}`)).toEqual(['5 SYNTAX_ERROR YAML syntax error: the document nests too deeply to parse (mappings or lists inside each other thousands of levels down)']);
  const { formatText } = await import('../../src/cli/format.js');
  const lines = formatText(v.diagnostics).split('\n');
  expect(Math.max(...lines.map((l) => l.length))).toBeLessThan(200);
  // The caret still points at the column the diagnostic names, inside the window.
  const [frame, caret] = [lines[1], lines[2]];
  const col = v.diagnostics[0].column;
  const source = readFileSync(f, 'utf8').split('\n')[4];
  expect(frame.slice(8)[caret.indexOf('^') - 8]).toBe(source[col - 1]);
});

test('an unknown champion is reported in the same pass as an unknown matrix path (it waited for the paths to be fixed)', async () => {
  write('tbase2.yaml', 'pipeline: selection\nversion: "4.0"\nname: tb2\nstages:\n  - type: ingestion\n  - type: clustering\n  - type: allocation\n  - type: backtest\n');
  const f = write('tchamp.yaml', 'pipeline: tournament\nversion: "4.0"\nname: tc\nbase: ./tbase2.yaml\nchampion: hrp_31\nmatrix:\n  stages.allocation.engine: [hrp, equal_weight]\n  stages.backtest.step_sise: [30, 60]\ncells: { id: "{engine}_{step_sise}" }\n');
  const v = await validateFile(f, { registry: builtinRegistry() });
  expect(v.diagnostics.map((d) => `${d.line} ${d.code}`)).toEqual(['5 REF_CHAMPION_UNKNOWN', '8 REF_MATRIX_UNKNOWN_PATH']);
  expect(v.diagnostics[0].hint).toContain('hrp_30');
});

test('a decision window shorter than the features\' lookback is a warning at the window (every decision could hold cash, silently)', async () => {
  const f = write('short.yaml', 'pipeline: selection\nversion: "4.0"\nstages:\n  - type: ingestion\n  - type: feature_engineering\n    params: { lookback: 60 }\n  - type: allocation\n  - type: backtest\n    params: { train_window: 30 }\n');
  const v = await validateFile(f, { registry: builtinRegistry() });
  expect(v.ok).toBe(true);
  expect(v.diagnostics.map((d) => `${d.line}:${d.column} ${d.severity} ${d.code}`)).toEqual(['9:29 warning GRAPH_WINDOW_SHORTER_THAN_LOOKBACK']);
  expect(v.diagnostics[0].message).toContain('train_window 30 gives each decision 30 days of returns, fewer than feature_engineering\'s lookback of 60');
  // Without a backtest, ingestion's lookback_days is the window; equal to the lookback is enough.
  const g = write('short2.yaml', 'pipeline: selection\nversion: "4.0"\nstages:\n  - type: ingestion\n    params: { lookback_days: 20 }\n  - type: feature_engineering\n    params: { lookback: 60 }\n  - type: allocation\n');
  expect(await codes(g)).toEqual(['short2.yaml:5:30:GRAPH_WINDOW_SHORTER_THAN_LOOKBACK']);
  const ok = write('enough.yaml', 'pipeline: selection\nversion: "4.0"\nstages:\n  - type: ingestion\n  - type: feature_engineering\n    params: { lookback: 60 }\n  - type: allocation\n  - type: backtest\n    params: { train_window: 60 }\n');
  expect(await codes(ok)).toEqual([]);
});

test('validate on a folder takes a JSON file for a pipeline only if it declares one (a tool config beside the pipelines is not reported)', async () => {
  const d = mkdtempSync(join(tmpdir(), 'fractal-jsonwalk-'));
  try {
    mkdirSync(join(d, '.git'));
    writeFileSync(join(d, 'p.yaml'), 'pipeline: selection\nversion: "4.0"\nstages:\n  - type: ingestion\n');
    writeFileSync(join(d, 'q.json'), '{ "pipeline": "selection", "version": "4.0", "stages": [{ "type": "ingestion" }] }\n');
    writeFileSync(join(d, 'tsconfig.base.json'), '{ "compilerOptions": {} }\n');
    writeFileSync(join(d, 'broken.json'), '{ not json');
    // Other tools' files by name, even when they carry a key a pipeline has (a tsconfig's `extends`); a pipeline
    // whose name merely starts like one is still checked.
    writeFileSync(join(d, 'tsconfig.api.json'), '{ "extends": "./tsconfig.json", "compilerOptions": {} }\n');
    writeFileSync(join(d, 'compose.yaml'), 'services:\n  redis:\n    image: redis:7\n');
    writeFileSync(join(d, 'docker-compose.override.yml'), 'services: {}\n');
    writeFileSync(join(d, 'compose_strategy.yaml'), 'pipeline: selection\nversion: "4.0"\nstages:\n  - type: ingestion\n');
    const { validate } = await import('../../src/api/validate.js');
    const r = await validate(d, {});
    expect(r.files.map((f) => f.file.split('/').pop()).sort()).toEqual(['broken.json', 'compose_strategy.yaml', 'p.yaml', 'q.json']);
    // Named on the command line, a tool's file is checked like any file.
    expect((await validate(join(d, 'compose.yaml'), {})).files.map((f) => f.diagnostics.map((x) => x.code))).toEqual([['SCHEMA_MISSING_KEY']]);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
