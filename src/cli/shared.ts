/** What the commands share: loading the registry, the common options, validation of one file, error output. */
import type { Command } from 'commander';
import type { FractalError } from '../core/errors.js';
import { errorInfo } from '../api/errors.js';

let debug = false;
/** --debug (or FRACTAL_DEBUG=1): stack traces are shown. */
export const setDebug = (on: boolean) => {
  debug = on;
};
export const isDebug = () => debug;

export const collect = (v: string, prev: string[] = []) => [...prev, v];

export function addConfigOptions(cmd: Command): Command {
  return cmd
    .option('--profile <name>', 'apply profiles/<name>.yaml (beats the file\'s own `profile:`)')
    .option('--set <path=value>', 'override a param: stages.<type>.<param>=<value> (repeatable)', collect, [])
    .option('--data-root <dir>', 'a folder params may read data from, besides the repository (repeatable; FRACTAL_DATA adds one)', collect, []);
}

export type { ConfigOptions } from '../api/types.js';

export { lakehousePath } from '../api/paths.js';

let jsonOut = false;
/** `--json` output: exactly one JSON object on stdout per command (main prints one for an error otherwise). */
export function writeJson(value: unknown): void {
  jsonOut = true;
  console.log(JSON.stringify(value, null, 2));
}
export const jsonWritten = () => jsonOut;

/** A coded error as JSON: code, exit code, message, hint, and where (file:line:col) when a param caused it. */
export function errorJson(err: FractalError): Record<string, unknown> {
  return { ...errorInfo(err) };
}

/** `error CODE: file:line:col: message` and its hint, for stderr. */
export function formatError(err: { code: string; message: string; hint?: string; location?: { file: string; line: number; column: number } }): string {
  const at = err.location ? `${err.location.file}:${err.location.line}:${err.location.column}: ` : '';
  return `error ${err.code}: ${at}${err.message}\n${err.hint ? `  hint: ${err.hint}\n` : ''}`;
}
