/**
 * Plugin modules named by a pipeline (`plugins: [./my_ranker.js]`) load only from inside the pipeline's
 * repository: the nearest ancestor with `.git`, else the pipeline's own folder. Never an absolute path elsewhere,
 * never a `..` or symlink escape. Each case builds its own layout in a temp folder.
 */
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { validateFile, type ValidationResult } from '../../src/config/validate.js';
import { builtinRegistry } from '../../stages/index.js';
import { removeTmpTrees, tmpTree, writeTree } from './tmp.js';

afterAll(removeTmpTrees);

const ranker = (name: string, extra = '') => `export default class R_${name} {
  static meta = {
    kind: 'ranker', name: '${name}', description: 'test ranker',
    params: { type: 'object', additionalProperties: false, properties: { alpha: { type: 'number', default: 0.5 } } },${extra}
  };
}
`;

const pipeline = (plugins: string[], ranker = 'mps') =>
  `pipeline: selection\nversion: "4.0"\nplugins: ${JSON.stringify(plugins)}\nstages:\n  - type: ingestion\n  - type: feature_engineering\n  - type: inference\n    params: { ranker: ${ranker} }\n`;

const codes = (r: ValidationResult) => r.diagnostics.map((d) => `${d.line}:${d.column} ${d.code}`);
const validate = (file: string) => validateFile(file, { registry: builtinRegistry() });

describe('plugin modules inside a repository (a folder with .git)', () => {
  function repo(files: Record<string, string>): string {
    const root = tmpTree(files);
    mkdirSync(join(root, 'repo', '.git'), { recursive: true });
    return root;
  }

  it('loads a module anywhere in the repository, also through ../', async () => {
    const root = repo({ 'repo/plugins/r.js': ranker('repo_ranker'), 'repo/pipelines/p.yaml': pipeline(['../plugins/r.js'], 'repo_ranker') });
    const r = await validate(join(root, 'repo/pipelines/p.yaml'));
    expect(r.diagnostics).toEqual([]);
    expect(r.resolved!.stages[2].params.ranker).toEqual({ name: 'repo_ranker', params: { alpha: 0.5 } });
  });

  it('accepts an absolute path inside the repository', async () => {
    const root = repo({ 'repo/plugins/r.js': ranker('abs_ranker'), 'repo/p.yaml': '' });
    const abs = join(root, 'repo/plugins/r.js');
    const r = await validate(join(tmpWrite(root, 'repo/p.yaml', pipeline([abs], 'abs_ranker'))));
    expect(r.diagnostics).toEqual([]);
  });

  it('refuses a ../ escape out of the repository, even when the file exists', async () => {
    const root = repo({ 'outside.js': ranker('outside_ranker'), 'repo/p.yaml': pipeline(['../outside.js'], 'outside_ranker') });
    const r = await validate(join(root, 'repo/p.yaml'));
    // The plugins entry (line 3) is refused; the ranker it would have defined is then unknown (line 8).
    expect(codes(r)).toEqual(['3:11 REF_PLUGIN_MODULE_OUTSIDE_REPO', '8:23 PLUGIN_UNKNOWN']);
  });

  it('refuses an absolute path outside the repository', async () => {
    const root = repo({ 'outside.js': ranker('outside_ranker'), 'repo/p.yaml': '' });
    tmpWrite(root, 'repo/p.yaml', pipeline([join(root, 'outside.js')]));
    const r = await validate(join(root, 'repo/p.yaml'));
    expect(codes(r)).toEqual(['3:11 REF_PLUGIN_MODULE_OUTSIDE_REPO']);
    expect(r.diagnostics[0].message).toContain('absolute path outside');
  });

  it('refuses a module that imports (or re-exports) a file outside the repository; one importing a file inside loads', async () => {
    const root = repo({
      'outside.js': ranker('far_ranker'),
      'repo/p.yaml': pipeline(['./relay.js'], 'far_ranker'),
      'repo/relay.js': "export { default } from '../outside.js';\n",
      'repo/q.yaml': pipeline(['./near.js'], 'near_ranker'),
      'repo/near.js': "import { alpha } from './lib/alpha.js';\nexport default class Near { static meta = { kind: 'ranker', name: 'near_ranker', description: 'imports a helper', params: { type: 'object', additionalProperties: false, properties: { alpha: { type: 'number', default: alpha } } } }; }\n",
      'repo/lib/alpha.js': 'export const alpha = 0.25;\n',
    });
    const r = await validate(join(root, 'repo/p.yaml'));
    expect(codes(r)[0]).toBe('3:11 REF_PLUGIN_MODULE_OUTSIDE_REPO');
    expect(r.diagnostics[0].message).toContain(`imports ${join(root, 'outside.js')}, outside the pipeline's repository`);
    const q = await validate(join(root, 'repo/q.yaml'));
    expect(q.diagnostics).toEqual([]);
    expect(q.resolved!.stages[2].params.ranker).toEqual({ name: 'near_ranker', params: { alpha: 0.25 } });
  });

  it('refuses a symlink inside the repository that points outside it', async () => {
    const root = repo({ 'outside.js': ranker('linked_ranker'), 'repo/p.yaml': pipeline(['./link.js'], 'linked_ranker') });
    symlinkSync(join(root, 'outside.js'), join(root, 'repo/link.js'));
    const r = await validate(join(root, 'repo/p.yaml'));
    expect(codes(r)[0]).toBe('3:11 REF_PLUGIN_MODULE_OUTSIDE_REPO');
    expect(r.diagnostics[0].message).toContain('link');
  });
});

describe('plugin modules without a repository: the pipeline’s folder is the limit', () => {
  it('loads from the pipeline’s folder and below', async () => {
    const root = tmpTree({ 'a/sub/r.js': ranker('sub_ranker'), 'a/p.yaml': pipeline(['./sub/../sub/r.js'], 'sub_ranker') });
    const r = await validate(join(root, 'a/p.yaml'));
    expect(r.diagnostics).toEqual([]);
  });

  it('refuses a sibling folder', async () => {
    const root = tmpTree({ 'b/r.js': ranker('sibling_ranker'), 'a/p.yaml': pipeline(['../b/r.js']) });
    const r = await validate(join(root, 'a/p.yaml'));
    expect(codes(r)).toEqual(['3:11 REF_PLUGIN_MODULE_OUTSIDE_REPO']);
  });
});

describe('what a module must hold', () => {
  it('refuses a TypeScript file', async () => {
    const root = tmpTree({ 'r.ts': ranker('ts_ranker'), 'p.yaml': pipeline(['./r.ts']) });
    const r = await validate(join(root, 'p.yaml'));
    expect(codes(r)).toEqual(['3:11 REF_PLUGIN_MODULE_INVALID']);
    expect(r.diagnostics[0].message).toContain('.js');
  });

  it('a module that throws as it loads: refused with the place in its own files (a helper it imports, here)', async () => {
    const root = tmpTree({ 'r.js': "import './lib/setup.js';\nexport default class R {}\n", 'lib/setup.js': "const ready = false;\nif (!ready) throw new Error('not configured');\n", 'p.yaml': pipeline(['./r.js']) });
    const r = await validate(join(root, 'p.yaml'));
    expect(codes(r)).toEqual(['3:11 REF_PLUGIN_MODULE_INVALID']);
    expect(r.diagnostics[0].message).toBe("plugin module './r.js' failed to load at lib/setup.js:2:19: not configured");
  });

  it('a syntax error is refused with its place, in the module or in a file it imports (Node names none)', async () => {
    const own = tmpTree({ 'r.js': "export default class R {\n  static meta = {\n    kind: 'ranker',,\n  };\n}\n", 'p.yaml': pipeline(['./r.js']) });
    const a = await validate(join(own, 'p.yaml'));
    expect(codes(a)).toEqual(['3:11 REF_PLUGIN_MODULE_INVALID']);
    expect(a.diagnostics[0].message).toBe("plugin module './r.js' failed to load at r.js:3:20: Unexpected token ','");
    const imported = tmpTree({ 'r.js': "import { k } from './lib/k.js';\nexport default class R {}\n", 'lib/k.js': 'export const k = (1 + ;\n', 'p.yaml': pipeline(['./r.js']) });
    const b = await validate(join(imported, 'p.yaml'));
    expect(b.diagnostics[0].message).toMatch(/^plugin module '\.\/r\.js' failed to load at lib\/k\.js:1:23: Unexpected token/);
    // A SyntaxError thrown while the module runs (JSON.parse) keeps its own frame: the source parses clean.
    const running = tmpTree({ 'r.js': "const cfg = '{bad';\nexport const parsed = JSON.parse(cfg);\nexport default class R {}\n", 'p.yaml': pipeline(['./r.js']) });
    const c = await validate(join(running, 'p.yaml'));
    expect(c.diagnostics[0].message).toMatch(/^plugin module '\.\/r\.js' failed to load at r\.js:2:\d+: /);
  });

  it('a params schema that does not compile, or a default its own schema refuses, is the module\'s error, found as it loads', async () => {
    const bad = (name: string, alpha: string) => `export default class R_${name} {\n  static meta = { kind: 'ranker', name: '${name}', description: 'd', params: { type: 'object', additionalProperties: false, properties: { alpha: ${alpha} } } };\n}\n`;
    const root = tmpTree({
      'neg.js': bad('neg_default', "{ type: 'number', minimum: 0, default: -5 }"),
      'typo.js': bad('typo_type', "{ type: 'nmber', default: 1 }"),
      'p.yaml': pipeline(['./neg.js'], 'mps'),
      'q.yaml': pipeline(['./typo.js'], 'mps'),
    });
    const neg = await validate(join(root, 'p.yaml'));
    expect(codes(neg)).toEqual(['3:11 REF_PLUGIN_MODULE_INVALID']);
    expect(neg.diagnostics[0].message).toBe("plugin module './neg.js': class R_neg_default param 'alpha' has the default -5, which its own schema refuses (must be >= 0)");
    const typo = await validate(join(root, 'q.yaml'));
    expect(codes(typo)).toEqual(['3:11 REF_PLUGIN_MODULE_INVALID']);
    expect(typo.diagnostics[0].message).toMatch(/^plugin module '\.\/typo\.js': class R_typo_type has a params schema that does not compile: /);
  });

  it('registers every class of a module exporting a list, each under its own kind', async () => {
    const two = `${ranker('list_ranker').replace('export default class', 'class')}
export class ListFilter {
  static meta = { kind: 'filter', name: 'list_filter', description: 'f', params: { type: 'object', additionalProperties: false, properties: {} } };
}
export default [R_list_ranker];
`;
    const root = tmpTree({
      'm.js': two,
      'p.yaml': `${pipeline(['./m.js'], 'list_ranker')}  - type: policy\n    params: { filters: [list_filter, darwinian] }\n`,
    });
    const r = await validate(join(root, 'p.yaml'));
    expect(r.diagnostics).toEqual([]);
    expect(r.registry.names('filter')).toContain('list_filter');
    expect(r.registry.names('ranker')).toContain('list_ranker');
  });

  it('refuses a class of an unknown kind', async () => {
    const root = tmpTree({ 'm.js': ranker('odd').replace("kind: 'ranker'", "kind: 'widget'"), 'p.yaml': pipeline(['./m.js']) });
    const r = await validate(join(root, 'p.yaml'));
    expect(codes(r)).toEqual(['3:11 REF_PLUGIN_MODULE_INVALID']);
    expect(r.diagnostics[0].message).toContain('widget');
  });

  it('refuses a plugin whose alias clashes with a built-in name', async () => {
    const root = tmpTree({ 'm.js': ranker('fresh', "\n    aliases: [{ name: 'cars', deprecated: 'x' }],"), 'p.yaml': pipeline(['./m.js']) });
    const r = await validate(join(root, 'p.yaml'));
    expect(codes(r)).toEqual(['3:11 REF_PLUGIN_MODULE_INVALID']);
  });

  it('a new stage type from a module can be used in the pipeline and keyed in a profile', async () => {
    const stage = `export class NoteStage {
  static meta = {
    kind: 'stage', name: 'note', description: 'n', documents: ['selection'], requires: ['returns'], provides: ['note'],
    params: { type: 'object', additionalProperties: false, properties: { text: { type: 'string', default: '' } } },
  };
}
`;
    const root = tmpTree({
      'note.js': stage,
      'p.yaml': 'pipeline: selection\nversion: "4.0"\nprofile: dev\nplugins: [./note.js]\nstages:\n  - type: ingestion\n  - type: note\n',
      'profiles/dev.yaml': 'note: { text: hello }\n',
    });
    const r = await validate(join(root, 'p.yaml'));
    expect(r.diagnostics).toEqual([]);
    expect(r.resolved!.stages[1]).toEqual({ type: 'note', params: { text: 'hello' } });
  });

  it('a module loaded for one pipeline does not leak into the next one', async () => {
    const root = tmpTree({ 'r.js': ranker('leaky_ranker'), 'a.yaml': pipeline(['./r.js'], 'leaky_ranker'), 'b.yaml': pipeline([], 'leaky_ranker') });
    const registry = builtinRegistry();
    expect((await validateFile(join(root, 'a.yaml'), { registry })).diagnostics).toEqual([]);
    const b = await validateFile(join(root, 'b.yaml'), { registry });
    expect(codes(b)).toEqual(['8:23 PLUGIN_UNKNOWN']);
  });

  it('the built-in registry refuses two plugins of a kind with one name at start', async () => {
    const { PluginRegistry, pluginModule } = await import('../../src/core/registry.js');
    const { BUILTIN_MODULES } = await import('../../stages/index.js');
    const rankers = BUILTIN_MODULES.find((m) => m.kind === 'ranker')!;
    expect(() => new PluginRegistry([...BUILTIN_MODULES, pluginModule('ranker', [rankers.classes[0]], 'a copy')])).toThrow(/defined twice/);
  });
});

function tmpWrite(root: string, rel: string, text: string): string {
  writeTree(root, { [rel]: text });
  return join(root, rel);
}
