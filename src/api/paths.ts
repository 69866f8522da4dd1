/**
 * The folders a command reads from, apart from the registry and validation (config.ts), so that a command that only
 * needs a path (the lakehouse commands, the worker) does not load every plugin to get it.
 */
import { delimiter, resolve } from 'node:path';
import type { ConfigOptions } from './types.js';

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

/** The lakehouse folder: the flag, else FRACTAL_LAKEHOUSE, else the pipeline's `lakehouse:`, else ./lakehouse. */
export function lakehousePath(flag: string | undefined, fromConfig?: { value?: string; baseDir: string }): string {
  if (flag) return resolve(flag);
  if (process.env.FRACTAL_LAKEHOUSE) return resolve(process.env.FRACTAL_LAKEHOUSE);
  if (fromConfig?.value) return resolve(fromConfig.baseDir, fromConfig.value);
  return resolve('lakehouse');
}
