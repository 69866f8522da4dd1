/** What the commands share: loading the registry, the common options, and validation of one file. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { builtinRegistry } from '../../stages/index.js';
import type { PluginRegistry } from '../core/registry.js';
import { validateFile, type ValidationResult } from '../config/validate.js';

let debug = false;
/** --debug (or FRACTAL_DEBUG=1): stack traces are shown. */
export const setDebug = (on: boolean) => {
  debug = on;
};
export const isDebug = () => debug;

let registry: PluginRegistry | undefined;
/** The built-in registry, created once; a duplicate plugin name fails here, at start. */
export function getRegistry(): PluginRegistry {
  return (registry ??= builtinRegistry());
}

export const collect = (v: string, prev: string[] = []) => [...prev, v];

export function addConfigOptions(cmd: Command): Command {
  return cmd
    .option('--profile <name>', 'apply profiles/<name>.yaml (beats the file\'s own `profile:`)')
    .option('--set <path=value>', 'override a param: stages.<type>.<param>=<value> (repeatable)', collect, []);
}

export interface ConfigOptions {
  profile?: string;
  set?: string[];
}

export function validateWith(file: string, opts: ConfigOptions): Promise<ValidationResult> {
  return validateFile(file, { registry: getRegistry(), profile: opts.profile, sets: opts.set });
}

/** The lakehouse folder: --lakehouse, else FRACTAL_LAKEHOUSE, else the pipeline's `lakehouse:`, else ./lakehouse. */
export function lakehousePath(flag: string | undefined, fromConfig?: { value?: string; baseDir: string }): string {
  if (flag) return resolve(flag);
  if (process.env.FRACTAL_LAKEHOUSE) return resolve(process.env.FRACTAL_LAKEHOUSE);
  if (fromConfig?.value) return resolve(fromConfig.baseDir, fromConfig.value);
  return resolve('lakehouse');
}
