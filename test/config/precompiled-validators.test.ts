/**
 * The build precompiles every built-in schema's validator (scripts/precompile-validators.mjs) and a run takes them by
 * content hash instead of compiling at start-up. They must judge exactly as validators compiled on demand do: the
 * same diagnostics, messages and hints on every validation fixture and example pipeline.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cli, repo } from '../cli/helpers.js';

const dist = join(repo, 'dist');
const file = join(dist, 'src', 'config', 'ajv-precompiled.cjs');

describe('precompiled schema validators', () => {
  it('cover the document schemas and every built-in plugin', async () => {
    expect(existsSync(file)).toBe(true);
    const { FORMATS, schemaKey } = await import(pathToFileURL(join(dist, 'src', 'config', 'ajv.js')).href);
    const { DOCUMENT_SCHEMAS } = await import(pathToFileURL(join(dist, 'src', 'config', 'documents.js')).href);
    const { builtinRegistry, BUILTIN_MODULES } = await import(pathToFileURL(join(dist, 'stages', 'index.js')).href);
    const validators = createRequire(import.meta.url)(file)(FORMATS) as Record<string, unknown>;
    const registry = builtinRegistry();
    const schemas = [...Object.values(DOCUMENT_SCHEMAS).filter(Boolean)];
    for (const m of BUILTIN_MODULES) for (const C of registry.classes(m.kind)) schemas.push(C.meta.params);
    expect(schemas.length).toBeGreaterThan(40);
    const missing = schemas.filter((s) => typeof validators[schemaKey(s)] !== 'function');
    expect(missing).toEqual([]);
  });

  it('give the same diagnostics as validators compiled on demand', () => {
    const args = ['validate', 'test/config/fixtures', 'pipelines', 'examples/plugins/pipeline.yaml', '--format', 'json'];
    const pre = cli(args);
    const onDemand = cli(args, { env: { FRACTAL_AJV_PRECOMPILED: '0' } });
    expect(pre.code).toBe(2); // the fixtures hold invalid files
    expect(onDemand.code).toBe(pre.code);
    expect(pre.stdout).toBe(onDemand.stdout);
    // Not a vacuous comparison: schema and params checks fired many times with their located messages.
    const codes = (pre.stdout.match(/"code":\s*"(PARAM|SCHEMA)_[A-Z_]+"/g) ?? []).length;
    expect(codes).toBeGreaterThan(40);
  });

  it.each(['pipelines/demo.yaml', 'pipelines/crypto_meta.yaml', 'pipelines/tournament_crypto.yaml'])('resolve %s to the same config (defaults filled in alike)', (f) => {
    const pre = cli(['plan', f]);
    const onDemand = cli(['plan', f], { env: { FRACTAL_AJV_PRECOMPILED: '0' } });
    expect(pre.code).toBe(0);
    expect(pre.stdout).toMatch(/[0-9a-f]{64}/);
    expect(pre.stdout).toBe(onDemand.stdout);
  });
});
