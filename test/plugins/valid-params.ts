/**
 * A plugin's params as the engine hands them to it: the given ones checked against the plugin's own params schema
 * with its defaults filled in (the ajv instance `validate` uses). Tests that call a plugin directly build its typed
 * params here, so a test never passes what validation would not.
 */
import { compile } from '../../src/config/ajv.js';
import type { PluginMeta } from '../../src/core/plugin.js';

export function validParams<P>(plugin: { meta: PluginMeta }, given: Partial<P> = {}): P {
  const value = structuredClone(given);
  const check = compile(plugin.meta.params);
  if (!check(value)) throw new Error(`${plugin.meta.kind} '${plugin.meta.name}': invalid params ${JSON.stringify(given)}: ${JSON.stringify(check.errors)}`);
  return value as P;
}
