/**
 * The folders a command reads from, apart from the registry and validation (config.ts), so that a command that only
 * needs a path (the lakehouse commands, the worker) does not load every plugin to get it.
 */
import { delimiter, resolve } from 'node:path';
import type { ConfigOptions } from './types.js';
import { inputError } from '../core/errors.js';

/**
 * Folders a pipeline's params may read data from besides its own repository, all declared outside the pipeline
 * file: dataRoot (--data-root), FRACTAL_DATA (a list, like PATH), and the lakehouse named by `lakehouse` or
 * FRACTAL_LAKEHOUSE.
 */
export function dataRoots(opts: ConfigOptions): string[] {
  // An empty root would resolve to the current folder: an unset shell variable must not widen what may be read.
  if ((opts.dataRoot ?? []).some((d) => !d.trim())) throw inputError('CLI_BAD_OPTION', "--data-root '' names no folder (an unset shell variable?); it would make the current folder a data root", 'Give the folder to read data from, or leave --data-root out.');
  const env = (process.env.FRACTAL_DATA ?? '').split(delimiter).filter((d) => d.trim());
  const lakehouse = opts.lakehouse ?? process.env.FRACTAL_LAKEHOUSE;
  return [...(opts.dataRoot ?? []), ...env, ...(lakehouse ? [lakehouse] : [])].map((d) => resolve(d));
}

/** The lakehouse folder: the flag, else FRACTAL_LAKEHOUSE, else the pipeline's `lakehouse:`, else ./lakehouse. */
export function lakehousePath(flag: string | undefined, fromConfig?: { value?: string; baseDir: string }): string {
  if (flag) return resolve(flag);
  if (process.env.FRACTAL_LAKEHOUSE) return resolve(process.env.FRACTAL_LAKEHOUSE);
  if (fromConfig?.value) return resolve(fromConfig.baseDir, fromConfig.value);
  return resolve('lakehouse');
}
