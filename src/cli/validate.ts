/**
 * `pipeline-run validate <files or folders…>`: every layer, every problem, nothing run. Exit 0 when all are valid
 * (warnings allowed), 2 otherwise. In folders, pipeline files are *.yaml, *.yml and *.json outside profiles/,
 * schemas/ and build folders; a file that another one `extends` is checked through that one.
 */
import type { Command } from 'commander';
import { validate } from '../api/validate.js';
import { inputError } from '../core/errors.js';
import { FORMATS, formatGithub, formatJson, formatText, type Format } from './format.js';
import { addConfigOptions, type ConfigOptions } from './shared.js';

export interface ValidateOptions extends ConfigOptions {
  format: Format;
}

/** validate() (src/api/validate.ts), formatted for the terminal, a JSON reader or GitHub annotations. */
export async function validatePaths(paths: string[], opts: ValidateOptions): Promise<{ output: string; summary: string; exitCode: number }> {
  const r = await validate(paths, opts);
  const output = opts.format === 'json' ? formatJson(r.files, r.diagnostics) : opts.format === 'github' ? formatGithub(r.diagnostics) : formatText(r.diagnostics);
  const invalid = r.files.filter((f) => !f.valid).length;
  const n = r.files.length;
  const summary = `${n} file${n === 1 ? '' : 's'} checked: ${invalid ? `${invalid} invalid, ` : 'all valid, '}${r.errors} error${r.errors === 1 ? '' : 's'}, ${r.warnings} warning${r.warnings === 1 ? '' : 's'}`;
  return { output, summary, exitCode: invalid ? 2 : 0 };
}

export function registerValidateCommand(program: Command): void {
  addConfigOptions(
    program
      .command('validate')
      .description('validate pipeline files (every layer, every problem, with file:line:col); runs nothing')
      .argument('<paths...>', 'pipeline files or folders')
      .option('--format <format>', `output format: ${FORMATS.join(' | ')}`, 'text')
      .option('--json', 'the same as --format json'),
  ).action(async (paths: string[], given: ValidateOptions & { json?: boolean }) => {
    const opts = given.json ? { ...given, format: 'json' as const } : given;
    if (!FORMATS.includes(opts.format)) throw inputError('USAGE', `unknown --format '${opts.format}'`, `Use one of: ${FORMATS.join(', ')}.`);
    const r = await validatePaths(paths, opts);
    process.stdout.write(r.output);
    if (opts.format === 'text') process.stderr.write(`${r.summary}\n`);
    process.exitCode = r.exitCode;
  });
}
