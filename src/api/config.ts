/**
 * What every entry point shares: the built-in registry (created once) and its plugins' meta, the data roots a config
 * may read, the lakehouse folder (paths.ts), and validation of one file with the ConfigOptions a program or the CLI
 * passes.
 */
import { builtinRegistry } from '../../stages/index.js';
import { PLUGIN_KINDS, type PluginKind, type PluginMeta } from '../core/plugin.js';
import type { PluginRegistry } from '../core/registry.js';
import { validateFile, type ValidationResult } from '../config/validate.js';
import type { ConfigOptions } from './types.js';
import { dataRoots } from './paths.js';

export { dataRoots, lakehousePath } from './paths.js';

let registry: PluginRegistry | undefined;
/** The built-in registry, created once; a duplicate plugin name fails here, at start. */
export function getRegistry(): PluginRegistry {
  return (registry ??= builtinRegistry());
}

/**
 * The built-in plugins' meta (name, description, params schema with defaults, capabilities), of one kind or all:
 * kind by kind (PLUGIN_KINDS' order), by name within a kind, as `pipeline-run plugins` lists them.
 */
export function listPlugins(kind?: PluginKind): PluginMeta[] {
  const registry = getRegistry();
  return (kind ? [kind] : PLUGIN_KINDS).flatMap((k) => registry.names(k).map((n) => registry.lookup(k, n)!.cls.meta));
}

/** Validates one file with the options (the registry plus the pipeline's own plugin modules). */
export function validateWith(file: string, opts: ConfigOptions): Promise<ValidationResult> {
  return validateFile(file, { registry: getRegistry(), profile: opts.profile, sets: opts.set, dataRoots: dataRoots(opts) });
}
