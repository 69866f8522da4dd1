import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { generateSchemas } from '../../src/config/schema-gen.js';
import { builtinRegistry } from '../../stages/index.js';

const repo = join(new URL('.', import.meta.url).pathname, '..', '..');
const schemas = generateSchemas(builtinRegistry());
const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
const validatePipeline = ajv.compile(schemas['pipeline.schema.json']);
const validateProfile = ajv.compile(schemas['profile.schema.json']);

const pipelineFiles = readdirSync(join(repo, 'pipelines')).filter((f) => /\.ya?ml$/.test(f));

test('every pipeline in pipelines/ carries the yaml-language-server modeline', () => {
  expect(pipelineFiles.length).toBeGreaterThan(0);
  for (const f of pipelineFiles) expect(readFileSync(join(repo, 'pipelines', f), 'utf8').split('\n')[0]).toBe('# yaml-language-server: $schema=../schemas/pipeline.schema.json');
});

test('the editor schema accepts the committed pipelines', () => {
  for (const f of pipelineFiles) {
    const ok = validatePipeline(parse(readFileSync(join(repo, 'pipelines', f), 'utf8')));
    expect({ f, errors: ok ? null : validatePipeline.errors }).toEqual({ f, errors: null });
  }
});

const doc = (stages: unknown[]) => ({ pipeline: 'selection', version: '4.0', stages });

test('the editor schema selects each stage params by type and each plugin params by name', () => {
  expect(validatePipeline(doc([{ type: 'clustering', params: { threshold: 0.7 } }]))).toBe(true);
  expect(validatePipeline(doc([{ type: 'clustering', params: { treshold: 0.7 } }]))).toBe(false);
  expect(validatePipeline(doc([{ type: 'allocation', params: { engine: { name: 'hrp', params: { linkage: 'ward' } } } }]))).toBe(true);
  expect(validatePipeline(doc([{ type: 'allocation', params: { engine: { name: 'hrp', params: { linkage: 'singel' } } } }]))).toBe(false);
  expect(validatePipeline(doc([{ type: 'allocation', params: { engine: 'hrpp' } }]))).toBe(false);
  expect(validatePipeline(doc([{ type: 'inference', params: { ranker: 'mps', weights: { momentum: 1.5 } } }]))).toBe(true);
  expect(validatePipeline(doc([{ type: 'clusterin' }]))).toBe(false);
});

test('the profile schema takes partial params keyed by stage type', () => {
  expect(validateProfile({ backtest: { train_window: 60 } })).toBe(true);
  expect(validateProfile({ stages: { backtest: { train_window: 60 } } })).toBe(true);
  expect(validateProfile({ backtest: { train_windo: 60 } })).toBe(false);
  expect(validateProfile({ backtst: {} })).toBe(false);
});
