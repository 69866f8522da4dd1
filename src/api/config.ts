/**
 * What every entry point shares: the built-in registry (created once), the data roots a config may read, the
 * lakehouse folder, and validation of one file with the ConfigOptions a program or the CLI passes.
 */
import { delimiter, resolve } from 'node:path';
import { builtinRegistry } from '../../stages/index.js';
import type { PluginRegistry } from '../core/registry.js';
import { validateFile, type ValidationResult } from '../config/validate.js';
import type { ConfigOptions } from './types.js';

let registry: PluginRegistry | undefined;
/** The built-in registry, created once; a duplicate plugin name fails here, at start. */
export function getRegistry(): PluginRegistry {
  return (registry ??= builtinRegistry());
}

/**
 * Folders a pipeline's params may read data from besides its own repository, all declared outside the pipeline
 * file: dataRoot (--data-root), FRACTAL_DATA (a list, like PATH), and the lakehouse named by `lakehouse` or
 * FRACTAL_LAKEHOUSE.
 */
export function dataRoots(opts: ConfigOptions): string[] {
  const env = (process.env.FRACTAL_DATA ?? '').split(delimiter).filter(Boolean);
  const lakehouse = opts.lakehouse ?? process.env.FRACTAL_LAKEHOUSE;
  return [...(opts.dataRoot ?? []), ...env, ...(lakehouse ? [lakehouse] : [])].map((d) => resolve(d));
}

/** Validates one file with the options (the registry plus the pipeline's own plugin modules). */
export function validateWith(file: string, opts: ConfigOptions): Promise<ValidationResult> {
  return validateFile(file, { registry: getRegistry(), profile: opts.profile, sets: opts.set, dataRoots: dataRoots(opts) });
}

/** The lakehouse folder: the flag, else FRACTAL_LAKEHOUSE, else the pipeline's `lakehouse:`, else ./lakehouse. */
export function lakehousePath(flag: string | undefined, fromConfig?: { value?: string; baseDir: string }): string {
  if (flag) return resolve(flag);
  if (process.env.FRACTAL_LAKEHOUSE) return resolve(process.env.FRACTAL_LAKEHOUSE);
  if (fromConfig?.value) return resolve(fromConfig.baseDir, fromConfig.value);
  return resolve('lakehouse');
}
