/**
 * The command line's flags by the names a program uses for the same thing through the API: its options, arguments
 * and functions. Errors are written once, in the command line's words (the catalogue, src/core/error-catalogue.ts,
 * and the sites that raise them say `--lakehouse`, `--out`, `--redis`, ...); every error that leaves a function of
 * the API's entry point is rewritten with this table (boundary.ts), so a program is told to set `lakehouse`, which
 * it can, not to pass `--lakehouse`, which it cannot. The command line prints them as they are written.
 *
 * A new flag is one row (test/api/option-names.test.ts lists every option of every command and fails on one
 * missing). The names are checked against the option types: a renamed option does not type-check here.
 */
import type { CcxtOptions, CsvImportOptions, Lakehouse, SyntheticOptions, WriteOptions } from '../lakehouse/index.js';
import type { OpenLakehouseOptions } from './lakehouse.js';
import type { QueueConnectionOptions, WorkerStartOptions } from './queue.js';
import type { pruneRuns } from './runs.js';
import type { PlanOptions, RunOptions } from './types.js';

/** An option of one of the API's option objects. */
type OptionName =
  | keyof RunOptions
  | keyof PlanOptions
  | keyof WorkerStartOptions
  | keyof QueueConnectionOptions
  | keyof OpenLakehouseOptions
  | keyof SyntheticOptions
  | keyof CsvImportOptions
  | keyof CcxtOptions
  | keyof WriteOptions
  | keyof NonNullable<Parameters<Lakehouse['declareSymbols']>[1]>
  | keyof NonNullable<Parameters<typeof pruneRuns>[1]>;
/** A positional argument named where a flag was: openLakehouse(dir), listPlugins(kind), compareRuns(a, b, top). */
type ArgumentName = 'dir' | 'kind' | 'top';

const option = (name: OptionName | ArgumentName, value?: string) => `\`${value === undefined ? name : `${name}: ${value}`}\``;
const call = (...names: string[]) => names.map((n) => `\`${n}()\``).join(' or ');

/**
 * What a program sets where the command line takes a flag: the API's name (as code), or, for a function whose
 * argument has another name, that function's own (`in`). null: the flag has no counterpart a program sets, and the
 * sentences naming it are rewritten whole (CLI_PHRASES).
 */
export type FlagName = string | null | { api: string; in: Record<string, string> };

export const CLI_FLAGS: Record<string, FlagName> = {
  // where things are
  '--lakehouse': { api: option('lakehouse'), in: { openLakehouse: `openLakehouse's ${option('dir')}` } },
  '--out': option('out'),
  '--data-root': option('dataRoot'),
  // composing a config
  '--profile': option('profile'),
  '--set': option('set'),
  '--diff': option('diff'),
  // running
  '--no-cache': option('cache', 'false'),
  '--no-checkpoints': option('checkpoints', 'false'),
  '--from': option('from'),
  '--reuse': option('reuse'),
  '--trace': option('trace'),
  '--executor': `${option('cellExecutor')} and ${option('sleeveExecutor')} (${call('bullmqExecutors')})`,
  // distributed runs
  '--redis': option('redis'),
  '--queue': option('queue'),
  '--concurrency': option('concurrency'),
  '--lock-ms': option('lockMs'),
  '--drain-ms': option('drainMs'),
  // runs, plugins, compare, generated files
  '--prune': call('pruneRuns'),
  '--keep': option('keep'),
  '--kind': option('kind'),
  '--top': option('top'),
  '--format': call('compareMarkdown', 'compareHtml'),
  '--check': call('checkSchemas', 'checkDocs'),
  '--version': call('version'),
  // the lakehouse's writers (openLakehouse(dir, { writable: true }))
  '--synthetic': call('seedSynthetic'),
  '--symbols': option('symbols'),
  '--days': option('days'),
  '--seed': option('seed'),
  '--end': option('end'),
  '--replace': option('replace'),
  '--layout': option('layout'),
  '--venue': option('venue'),
  '--asset-type': option('assetType'),
  '--exchange': option('exchange'),
  '--quote': option('quote'),
  '--type': option('type'),
  '--min-volume': option('minVolume'),
  '--since': option('since'),
  '--max-symbols': option('maxSymbols'),
  '--skip-unknown': option('skipUnknown'),
  // only the command line's: a program reads what the functions return (--json), passes no `log` (--quiet), and
  // finds a stack on the error itself (--debug)
  '--json': null,
  '--quiet': null,
  '--debug': null,
};

/** Sentences about a flag a program has no counterpart of (null above), or that say what only the command line does. */
export const CLI_PHRASES: [RegExp, string][] = [
  [/\b([Pp])ass --redis (rediss?:\/\/[^\s`]+)/g, "$1ass `redis: '$2'`"],
  [/Run with --debug for the stack trace, and please report it\./g, "The stack trace is the error's `cause` (a failed run's FAILED file holds it); please report it."],
  [/\(`--debug` prints the whole stack\)/g, "(a failed run's FAILED file holds the whole stack)"],
  // traceSymbol and compareRuns take run folders; the command line also looks run ids up under its --out.
  [/, or (?:a run id of a run|run ids of runs) under the runs root \(--out\)/g, ''],
];
