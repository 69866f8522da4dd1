/**
 * pipeline-run: the command line. Errors a user can act on print as one message (and a hint) with no stack
 * trace unless --debug; exit codes are 0 done, 1 a run failed, 2 invalid input or usage.
 */
import { Command, CommanderError } from 'commander';
import { existsSync } from 'node:fs';
import { asFractalError, inputError } from '../core/errors.js';
import { version } from '../api/version.js';
import { errorJson, formatError, jsonWritten, setDebug, writeJson } from './shared.js';

type Register = (program: Command) => void;
/**
 * Each command's module, in the order help lists them. A command loads only its own module (and what that imports:
 * `validate` the registry and the validator, `lakehouse` the store, ...); help and usage errors load them all.
 */
const MODULES: [string[], () => Promise<Register>][] = [
  [['run'], async () => (await import('./run.js')).registerRunCommand],
  [['validate'], async () => (await import('./validate.js')).registerValidateCommand],
  [['plan'], async () => (await import('./plan.js')).registerPlanCommand],
  [['plugins'], async () => (await import('./plugins.js')).registerPluginsCommand],
  [['schema'], async () => (await import('./schema.js')).registerSchemaCommand],
  [['docs'], async () => (await import('./docs.js')).registerDocsCommand],
  [['lakehouse'], async () => (await import('./lakehouse.js')).registerLakehouseCommand],
  [['runs'], async () => (await import('./runs.js')).registerRunsCommand],
  [['trace'], async () => (await import('./trace.js')).registerTraceCommand],
  [['compare'], async () => (await import('./compare.js')).registerCompareCommand],
  [['worker', 'queue'], async () => (await import('./worker.js')).registerWorkerCommands],
];

const COMMANDS = [...MODULES.flatMap(([names]) => names), 'help'];

/**
 * The program with the commands `args` may run: the one it names, none for a bare --version, else (help, usage
 * errors, no command) all of them.
 */
export async function buildProgram(args: string[] = []): Promise<Command> {
  const program = new Command('pipeline-run')
    .description('Fractal: declarative portfolio pipelines.\n  pipeline-run <file>            run a pipeline (same as `run <file>`)\n  pipeline-run validate <paths>  check pipeline files')
    .version(version())
    .option('--debug', 'show stack traces')
    .showHelpAfterError()
    .exitOverride();
  const named = args.find((a) => !a.startsWith('-'));
  const versionOnly = named === undefined && args.some((a) => a === '--version' || a === '-V') && !args.some((a) => a === '--help' || a === '-h');
  const chosen = versionOnly ? [] : MODULES.filter(([names]) => named !== undefined && names.includes(named));
  const modules = versionOnly || chosen.length ? chosen : MODULES;
  for (const register of await Promise.all(modules.map(([, load]) => load()))) register(program);
  return program;
}

/**
 * `pipeline-run valdate pipelines/` would run the file `valdate`: a word that is no file, has no extension and is
 * close to a command's name is a mistyped command (USAGE, with the name it meant), not a missing pipeline file.
 */
async function refuseMistypedCommand(word: string): Promise<void> {
  if (/[\\/.]/.test(word) || existsSync(word)) return;
  const { didYouMean } = await import('../config/diagnostics.js');
  const meant = didYouMean(word, COMMANDS);
  if (meant) throw inputError('USAGE', `unknown command '${word}'`, `Did you mean '${meant}'? Commands: ${COMMANDS.join(', ')}; a pipeline file runs as \`pipeline-run <file>\`.`);
}

/**
 * `pipeline-run help nosuch`: Commander would print the general help and exit 0; an unknown command is a usage error
 * (USAGE, exit 2) naming the known ones, as a mistyped command is.
 */
async function refuseHelpForUnknownCommand(args: string[]): Promise<void> {
  const [first, topic] = args.filter((a) => !a.startsWith('-'));
  if (first !== 'help' || topic === undefined || COMMANDS.includes(topic)) return;
  const { didYouMean } = await import('../config/diagnostics.js');
  const meant = didYouMean(topic, COMMANDS);
  throw inputError('USAGE', `unknown command '${topic}'`, `${meant ? `Did you mean '${meant}'? ` : ''}Commands: ${COMMANDS.join(', ')}.`);
}

/**
 * A reader that stops early (`pipeline-run validate x | head -1`, a CI step that greps the first line) closes the
 * pipe, and the next write to it fails with EPIPE, emitted on the stream: unhandled, it ended the process with a
 * stack and exit 1 whatever the command had decided. Nobody is reading any more, so output stops quietly (the stream
 * is destroyed: later writes are dropped) and the command's own outcome decides the exit status. Any other error on
 * the stream is left as it was.
 */
export function quietOnClosedPipe(stream: NodeJS.WriteStream): void {
  if (guarded.has(stream)) return;
  guarded.add(stream);
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}
const guarded = new WeakSet<NodeJS.WriteStream>();

export async function main(argv: string[]): Promise<number> {
  quietOnClosedPipe(process.stdout);
  quietOnClosedPipe(process.stderr);
  const debug = argv.includes('--debug') || process.env.FRACTAL_DEBUG === '1';
  setDebug(debug);
  if (!argv.length) {
    (await buildProgram()).outputHelp({ error: true });
    return 2;
  }
  // `pipeline-run file.yaml` is `pipeline-run run file.yaml`.
  const first = argv.find((a) => !a.startsWith('-'));
  // Global flags (--debug) may come before the file: `pipeline-run --debug file.yaml` is still a run.
  const lead = argv.findIndex((a) => !a.startsWith('-'));
  const onlyGlobalFlagsBefore = lead >= 0 && argv.slice(0, lead).every((a) => a === '--debug');
  const args = first !== undefined && !COMMANDS.includes(first) && onlyGlobalFlagsBefore ? [...argv.slice(0, lead), 'run', ...argv.slice(lead)] : argv;
  try {
    if (args !== argv) await refuseMistypedCommand(first!);
    await refuseHelpForUnknownCommand(args);
    const program = await buildProgram(args);
    process.exitCode = 0;
    await program.parseAsync(args, { from: 'user' });
    return Number(process.exitCode ?? 0);
  } catch (err) {
    // --json, or --format json (compare, validate, plan): a reader of stdout gets one JSON object whatever happens.
    const formatAt = argv.findIndex((a) => a === '--format' || a.startsWith('--format='));
    const json = argv.includes('--json') || (formatAt >= 0 && (argv[formatAt] === '--format=json' || argv[formatAt + 1] === 'json'));
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
