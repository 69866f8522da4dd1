/** What the commands share: loading the registry, the common options, validation of one file, error output. */
import { delimiter, resolve } from 'node:path';
import type { Command } from 'commander';
import { builtinRegistry } from '../../stages/index.js';
import type { FractalError } from '../core/errors.js';
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
    .option('--set <path=value>', 'override a param: stages.<type>.<param>=<value> (repeatable)', collect, [])
    .option('--data-root <dir>', 'a folder params may read data from, besides the repository (repeatable; FRACTAL_DATA adds one)', collect, []);
}

export interface ConfigOptions {
  profile?: string;
  set?: string[];
  dataRoot?: string[];
  lakehouse?: string;
}

/**
 * Folders a pipeline's params may read data from besides its own repository, all declared outside the pipeline
 * file: --data-root, FRACTAL_DATA (a list, like PATH), and the lakehouse named by --lakehouse or FRACTAL_LAKEHOUSE.
 */
export function dataRoots(opts: ConfigOptions): string[] {
  const env = (process.env.FRACTAL_DATA ?? '').split(delimiter).filter(Boolean);
  const lakehouse = opts.lakehouse ?? process.env.FRACTAL_LAKEHOUSE;
  return [...(opts.dataRoot ?? []), ...env, ...(lakehouse ? [lakehouse] : [])].map((d) => resolve(d));
}

export function validateWith(file: string, opts: ConfigOptions): Promise<ValidationResult> {
  return validateFile(file, { registry: getRegistry(), profile: opts.profile, sets: opts.set, dataRoots: dataRoots(opts) });
}

let jsonOut = false;
/** `--json` output: exactly one JSON object on stdout per command (main prints one for an error otherwise). */
export function writeJson(value: unknown): void {
  jsonOut = true;
  console.log(JSON.stringify(value, null, 2));
}
export const jsonWritten = () => jsonOut;

/** A coded error as JSON: code, exit code, message, hint, and where (file:line:col) when a param caused it. */
export function errorJson(err: FractalError): Record<string, unknown> {
  return {
    code: err.code,
    exit_code: err.exitCode,
    message: err.message,
    ...(err.hint ? { hint: err.hint } : {}),
    ...(err.location ? { location: err.location } : {}),
  };
}

/** `error CODE: file:line:col: message` and its hint, for stderr. */
export function formatError(err: { code: string; message: string; hint?: string; location?: { file: string; line: number; column: number } }): string {
  const at = err.location ? `${err.location.file}:${err.location.line}:${err.location.column}: ` : '';
  return `error ${err.code}: ${at}${err.message}\n${err.hint ? `  hint: ${err.hint}\n` : ''}`;
}

/** The lakehouse folder: --lakehouse, else FRACTAL_LAKEHOUSE, else the pipeline's `lakehouse:`, else ./lakehouse. */
export function lakehousePath(flag: string | undefined, fromConfig?: { value?: string; baseDir: string }): string {
  if (flag) return resolve(flag);
  if (process.env.FRACTAL_LAKEHOUSE) return resolve(process.env.FRACTAL_LAKEHOUSE);
  if (fromConfig?.value) return resolve(fromConfig.baseDir, fromConfig.value);
  return resolve('lakehouse');
}
