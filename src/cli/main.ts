/**
 * pipeline-run: the command line. Errors a user can act on print as one message (and a hint) with no stack
 * trace unless --debug; exit codes are 0 done, 1 a run failed, 2 invalid input or usage.
 */
import { Command, CommanderError } from 'commander';
import { asFractalError } from '../core/errors.js';
import { version } from '../api/index.js';
import { registerCompareCommand } from './compare.js';
import { registerDocsCommand } from './docs.js';
import { registerLakehouseCommand } from './lakehouse.js';
import { registerPlanCommand } from './plan.js';
import { registerPluginsCommand } from './plugins.js';
import { registerRunCommand } from './run.js';
import { registerRunsCommand } from './runs.js';
import { registerTraceCommand } from './trace.js';
import { registerSchemaCommand } from './schema.js';
import { registerValidateCommand } from './validate.js';
import { registerWorkerCommands } from './worker.js';
import { errorJson, formatError, jsonWritten, setDebug, writeJson } from './shared.js';

const COMMANDS = ['run', 'runs', 'trace', 'compare', 'validate', 'plan', 'plugins', 'schema', 'docs', 'lakehouse', 'worker', 'queue', 'help'];

export function buildProgram(): Command {
  const program = new Command('pipeline-run')
    .description('Fractal: declarative portfolio pipelines.\n  pipeline-run <file>            run a pipeline (same as `run <file>`)\n  pipeline-run validate <paths>  check pipeline files')
    .version(version())
    .option('--debug', 'show stack traces')
    .showHelpAfterError()
    .exitOverride();
  registerRunCommand(program);
  registerValidateCommand(program);
  registerPlanCommand(program);
  registerPluginsCommand(program);
  registerSchemaCommand(program);
  registerDocsCommand(program);
  registerLakehouseCommand(program);
  registerRunsCommand(program);
  registerTraceCommand(program);
  registerCompareCommand(program);
  registerWorkerCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug') || process.env.FRACTAL_DEBUG === '1';
  setDebug(debug);
  if (!argv.length) {
    buildProgram().outputHelp({ error: true });
    return 2;
  }
  // `pipeline-run file.yaml` is `pipeline-run run file.yaml`.
  const first = argv.find((a) => !a.startsWith('-'));
  // Global flags (--debug) may come before the file: `pipeline-run --debug file.yaml` is still a run.
  const lead = argv.findIndex((a) => !a.startsWith('-'));
  const onlyGlobalFlagsBefore = lead >= 0 && argv.slice(0, lead).every((a) => a === '--debug');
  const args = first !== undefined && !COMMANDS.includes(first) && onlyGlobalFlagsBefore ? [...argv.slice(0, lead), 'run', ...argv.slice(lead)] : argv;
  try {
    const program = buildProgram();
    process.exitCode = 0;
    await program.parseAsync(args, { from: 'user' });
    return Number(process.exitCode ?? 0);
  } catch (err) {
    const json = argv.includes('--json');
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      // Commander already printed the usage error on stderr.
      if (json && !jsonWritten()) writeJson({ outcome: 'error', error: { code: 'USAGE', exit_code: 2, message: err.message } });
      return 2;
    }
    // File-system faults (a full disk, a refused permission) are coded and name the path; other surprises are
    // internal errors, still coded, with the stack under --debug.
    const e = asFractalError(err, 'INTERNAL_ERROR');
    process.stderr.write(formatError(e));
    for (const more of e.more) process.stderr.write(formatError(more));
    if (debug) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
    if (json && !jsonWritten()) writeJson({ outcome: 'error', error: errorJson(e), ...(e.more.length ? { more: e.more.map(errorJson) } : {}) });
    return e.exitCode;
  }
}
