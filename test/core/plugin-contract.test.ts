/**
 * Contract checks over every built-in plugin that the bad-input rules rely on: engines declare the estimate they
 * need (so too few observations are refused or fall back), and a param that names a file carries the path marker
 * (so validation confines it to the allowed roots; the marker decides, never the param's name).
 */
import { PATH_KEYWORD } from '../../src/core/params.js';
import type { EngineMeta, JsonSchema } from '../../src/core/plugin.js';
import { PLUGIN_KINDS } from '../../src/core/plugin.js';
import { builtinRegistry } from '../../stages/index.js';

const registry = builtinRegistry();
const all = PLUGIN_KINDS.flatMap((kind) => registry.names(kind).map((name) => registry.lookup(kind, name)!.cls.meta));

test('every engine declares what it estimates', () => {
  const engines = all.filter((m) => m.kind === 'engine');
  expect(engines.length).toBeGreaterThanOrEqual(10);
  for (const m of engines) expect({ engine: m.name, needs: ['covariance', 'variances', 'nothing'].includes((m as EngineMeta).needs ?? '') }).toEqual({ engine: m.name, needs: true });
});

/** Every [path, schema] in a params schema, at any depth. */
function walk(s: JsonSchema, at: string[] = []): [string[], JsonSchema][] {
  const out: [string[], JsonSchema][] = [[at, s]];
  for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, JsonSchema>)) out.push(...walk(v, [...at, k]));
  if (s.items && typeof s.items === 'object') out.push(...walk(s.items as JsonSchema, [...at, '[]']));
  if (s.additionalProperties && typeof s.additionalProperties === 'object') out.push(...walk(s.additionalProperties as JsonSchema, [...at, '*']));
  return out;
}

test('a param that names a file or folder is marked as a path (and so confined)', () => {
  const named = /(^|_)(path|file|dir|folder|directory)s?$/;
  let marked = 0;
  for (const m of all) {
    for (const [at, s] of walk(m.params)) {
      const last = at[at.length - 1] ?? '';
      if (s[PATH_KEYWORD] !== undefined) {
        marked++;
        expect({ plugin: m.name, param: at.join('.'), type: s.type }).toEqual({ plugin: m.name, param: at.join('.'), type: 'string' });
      } else if (named.test(last)) {
        expect({ plugin: m.name, param: at.join('.'), marked: false }).toEqual({ plugin: m.name, param: at.join('.'), marked: true });
      }
    }
  }
  expect(marked).toBeGreaterThanOrEqual(2); // the csv scanner's path, the ingestion stage's candidates_path
});
