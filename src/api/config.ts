/**
 * What every entry point shares: the built-in registry (created once), the data roots a config may read, the
 * lakehouse folder (paths.ts), and validation of one file with the ConfigOptions a program or the CLI passes.
 */
import { builtinRegistry } from '../../stages/index.js';
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

/** Validates one file with the options (the registry plus the pipeline's own plugin modules). */
export function validateWith(file: string, opts: ConfigOptions): Promise<ValidationResult> {
  return validateFile(file, { registry: getRegistry(), profile: opts.profile, sets: opts.set, dataRoots: dataRoots(opts) });
}
