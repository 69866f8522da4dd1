/**
 * An error thrown inside a pipeline's own plugin module is reported as the plugin's (PLUGIN_FAILED, the module and
 * the file:line:col of its frame), not as a Fractal bug to report (STAGE_FAILED). Found in a walkthrough of
 * docs/plugin-modules.md. Through the CLI, as a plugin author runs it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './helpers.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fractal-plugin-failure-'));
  mkdirSync(join(dir, '.git'));
  mkdirSync(join(dir, 'lib'));
  // The throw is in a helper the ranker imports: line 2, column 9 of lib/explode.js.
  writeFileSync(join(dir, 'lib', 'explode.js'), 'export function explode(n) {\n  throw new Error(`boom at ${n} symbols`);\n}\n');
  writeFileSync(
    join(dir, 'r.js'),
    "import { explode } from './lib/explode.js';\nexport default class Boom {\n  static meta = { kind: 'ranker', name: 'boom', description: 'throws', params: { type: 'object', additionalProperties: false, properties: {} } };\n  score(features) {\n    return explode(features.symbols.length);\n  }\n}\n",
  );
  writeFileSync(
    join(dir, 'p.yaml'),
    'pipeline: selection\nversion: "4.0"\nname: boom\nplugins: [./r.js]\nstages:\n  - type: ingestion\n    params: { scanner: { name: synthetic, params: { symbols: 20, days: 300, seed: 3 } }, lookback_days: 120 }\n  - type: feature_engineering\n    params: { lookback: 60 }\n  - type: inference\n    params: { ranker: boom }\n',
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('named as the plugin\'s, at the frame in its code, exit 1; no "please report it"', () => {
  const r = cli(['run', join(dir, 'p.yaml'), '--out', join(dir, 'runs'), '--json'], { cwd: dir });
  expect(r.code).toBe(1);
  const error = JSON.parse(r.stdout).error as { code: string; message: string; hint: string };
  expect(error.code).toBe('PLUGIN_FAILED');
  expect(error.message).toMatch(/^plugin module \.\/r\.js threw at lib\/explode\.js:2:9: boom at \d+ symbols$/);
  expect(error.hint).toContain("The error is in the plugin's code");
  const text = cli(['run', join(dir, 'p.yaml'), '--out', join(dir, 'runs')], { cwd: dir });
  expect(text.stderr).not.toContain('please report it');
});
