/**
 * The files a plugin module runs (src/config/module-graph.ts): what the result cache and the manifest hash, so that
 * a helper a ranker imports is part of its code (a changed helper served stale cached cells).
 */
import { createHash } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { moduleGraph } from '../../src/config/module-graph.js';
import { pluginModuleHashes } from '../../src/runs/manifest.js';
import { inputsFingerprint } from '../../src/runs/result-cache.js';
import type { ResolvedConfig } from '../../src/core/resolved-config.js';
import { removeTmpTrees, tmpTree, writeTree } from './tmp.js';

afterAll(removeTmpTrees);

const tree = () =>
  tmpTree({
    'm/ranker.js': "import { SIGN } from '../lib/sign.js';\nexport * from './more.js';\nconst later = () => import('./lazy.js');\nimport 'node:fs';\nimport lodash from 'lodash';\nexport default class R { static meta = {}; }\n",
    'm/more.js': "export { helper } from '../lib/helper.js';\n",
    'm/lazy.js': 'export const lazy = 1;\n',
    'lib/sign.js': 'export const SIGN = 1;\n',
    'lib/helper.js': "import { SIGN } from './sign.js';\nexport const helper = () => SIGN;\n",
    'unrelated.js': 'export const x = 1;\n',
  });

test('every file imported by path, transitively, each once; packages and node: builtins are not files of the module', () => {
  const root = realpathSync(tree());
  const g = moduleGraph(join(root, 'm/ranker.js'));
  expect(g.files).toEqual(['lib/helper.js', 'lib/sign.js', 'm/lazy.js', 'm/more.js', 'm/ranker.js'].map((f) => join(root, f)));
  expect(g.missing).toEqual([]);
});

test('a change to an imported helper changes the cache key and the manifest hash; an unrelated file does not', () => {
  const root = realpathSync(tree());
  const config = { plugins: ['m/ranker.js'], stages: [] } as unknown as ResolvedConfig;
  const key = inputsFingerprint(config, root);
  const manifest = pluginModuleHashes(['m/ranker.js'], root)[0]!.sha256;
  writeTree(root, { 'unrelated.js': 'export const x = 2;\n' });
  expect(inputsFingerprint(config, root)).toBe(key);
  writeTree(root, { 'lib/sign.js': 'export const SIGN = -1;\n' });
  expect(inputsFingerprint(config, root)).not.toBe(key);
  expect(pluginModuleHashes(['m/ranker.js'], root)[0]!.sha256).not.toBe(manifest);
});

test('a module importing no file keeps its plain sha256 in the manifest (what sha256sum prints)', () => {
  const root = realpathSync(tree());
  const plain = `sha256:${createHash('sha256').update(readFileSync(join(root, 'm/lazy.js'))).digest('hex')}`;
  expect(pluginModuleHashes(['m/lazy.js'], root)).toEqual([{ path: 'm/lazy.js', sha256: plain }]);
});
