/**
 * Fractal as a library: `import { validate, plan, run, openLakehouse, defineRanker } from 'fractal'`.
 *
 *   validate(paths, options?)      every layer, every problem of pipeline files or folders; nothing run
 *   plan(file, options?)           the resolved config and its hash; with `diff`, the changes from another file or ref
 *   run(file, options?)            validate, preflight, run into a run folder: the summary and the paths
 *   openLakehouse(dir?, options?)  the market-data store: symbols(), readOhlcv(), readReturns(), dataIdentity(), ...
 *   definePlugin, defineRanker, defineFilter, defineEngine, defineScanner, defineSimulator, defineReporter,
 *   defineStage                    plugin classes for a pipeline's own plugin modules (docs/plugin-modules.md)
 *   listPlugins(kind?)             the built-in plugins' meta
 *   listRuns(out?), pruneRuns(out?), writeRunsIndex(out?)
 *                                  the runs under a runs root; remove interrupted ones; write index.md/index.html
 *   traceSymbol(folder, symbol)    one symbol's path through a run's funnel, read back from its artifacts
 *   compareRuns(a, b, top?)        what changed between two runs (compareMarkdown, compareHtml render it)
 *   writeSchemas, checkSchemas, writeDocs, checkDocs
 *                                  the generated editor schemas and config reference, written or checked
 *   FractalError                   what every coded failure is (docs/errors.md)
 *
 * Every function here goes through the API's boundary (boundary.ts): the errors it throws or returns name the API's
 * options (`lakehouse`, `out`) where the command line's name its flags (`--lakehouse`, `--out`; option-names.ts), and
 * so do the methods of the objects it returns (a lakehouse handle and its returns panels, the BullMQ executors).
 *
 * The types are in types.ts. This module loads only what validation needs; running (the container, the worker
 * pools, arrow, vega) and the lakehouse load when first used, so the CLI, a shell over it, starts fast. The CLI
 * imports the modules behind it, not this one: it keeps its flags' names.
 */
import { PLUGIN_KINDS } from '../core/plugin.js';
import { apiFunction, apiRunResult } from './boundary.js';
import { listPlugins as listPluginsImpl } from './config.js';
import { validate as validateImpl } from './validate.js';
import { plan as planImpl } from './plan.js';
import { run as runImpl } from './run.js';
import { openLakehouse as openLakehouseImpl } from './lakehouse.js';
import * as queue from './queue.js';
import * as runs from './runs.js';
import { traceSymbol as traceSymbolImpl } from './trace.js';
import * as compare from './compare.js';
import * as reference from './reference.js';
import * as plugins from './plugins.js';
import { version as versionImpl } from './version.js';

export type * from './types.js';
export type { MetaOf, Implementation, PluginFilter } from './plugins.js';
export type { OpenLakehouseOptions } from './lakehouse.js';
export type { BullmqExecutors, QueueConnectionOptions, WorkerStartOptions } from './queue.js';
export { FractalError } from '../core/errors.js';
export { PLUGIN_KINDS };

/** Every problem of pipeline files or folders, every layer; nothing run (validate.ts; docs/api.md). */
export const validate = apiFunction('validate', validateImpl);
/** The resolved config and its hash; with `diff`, the changes from another file or ref (plan.ts). */
export const plan = apiFunction('plan', planImpl);
/** Validates, preflights and runs a pipeline file into a run folder: the summary and the paths (run.ts). */
export const run = apiFunction('run', runImpl, { result: apiRunResult, unwrapArguments: true });
/** The market-data store at `dir`: symbols(), readOhlcv(), readReturns(), dataIdentity(), ... (lakehouse.ts; docs/lakehouse.md). */
export const openLakehouse = apiFunction('openLakehouse', openLakehouseImpl);
/** Executors for run() that send a meta's sleeves and a tournament's cells to BullMQ workers; close() them after (docs/distributed.md). */
export const bullmqExecutors = apiFunction('bullmqExecutors', queue.bullmqExecutors);
/** A queue's status as the lines `pipeline-run queue status` prints. */
export const formatQueueStatus = apiFunction('formatQueueStatus', queue.formatQueueStatus);
/** Waiting, active, failed and stalled jobs per submitted run, and the queue's totals (docs/distributed.md). */
export const queueStatus = apiFunction('queueStatus', queue.queueStatus);
/** Runs a queue worker until it is drained (a signal, or `signal` aborted); resolves to its exit code (docs/distributed.md). */
export const startWorker = apiFunction('startWorker', queue.startWorker);
/** Every run under a runs root, newest first: outcome, config hash, duration, key metrics (docs/runs.md). */
export const listRuns = apiFunction('listRuns', runs.listRuns);
/** Deletes the folders of interrupted runs (their process is gone) under a runs root; returns the runs removed (docs/runs.md). */
export const pruneRuns = apiFunction('pruneRuns', runs.pruneRuns);
/** Writes a runs root's index.md and index.html (docs/runs.md). */
export const writeRunsIndex = apiFunction('writeRunsIndex', runs.writeRunsIndex);
/** One symbol's path through a run's funnel, read back from its artifacts (docs/runs.md). */
export const traceSymbol = apiFunction('traceSymbol', traceSymbolImpl);
/** What changed between two run folders (compareMarkdown and compareHtml render it; docs/runs.md). */
export const compareRuns = apiFunction('compareRuns', compare.compareRuns);
/** A comparison of two runs as Markdown. */
export const compareMarkdown = apiFunction('compareMarkdown', compare.formatMarkdown);
/** A comparison of two runs as a standalone HTML page. */
export const compareHtml = apiFunction('compareHtml', compare.formatHtml);
/** Writes the generated editor schemas (schemas/). */
export const writeSchemas = apiFunction('writeSchemas', reference.writeSchemas);
/** Whether the committed editor schemas are the generated ones. */
export const checkSchemas = apiFunction('checkSchemas', reference.checkSchemas);
/** Writes the generated config reference (docs/reference/). */
export const writeDocs = apiFunction('writeDocs', reference.writeDocs);
/** Whether the committed config reference is the generated one. */
export const checkDocs = apiFunction('checkDocs', reference.checkDocs);
/** A plugin class for a pipeline's own plugin module, of any kind (docs/plugin-modules.md). */
export const definePlugin = apiFunction('definePlugin', plugins.definePlugin);
/** A ranker plugin class with typed params (docs/plugin-modules.md). */
export const defineRanker = apiFunction('defineRanker', plugins.defineRanker);
/** A filter plugin class with typed params (docs/plugin-modules.md). */
export const defineFilter = apiFunction('defineFilter', plugins.defineFilter);
/** An allocation engine plugin class with typed params (docs/plugin-modules.md). */
export const defineEngine = apiFunction('defineEngine', plugins.defineEngine);
/** A scanner plugin class with typed params (docs/plugin-modules.md). */
export const defineScanner = apiFunction('defineScanner', plugins.defineScanner);
/** A simulator plugin class with typed params (docs/plugin-modules.md). */
export const defineSimulator = apiFunction('defineSimulator', plugins.defineSimulator);
/** A reporter plugin class with typed params (docs/plugin-modules.md). */
export const defineReporter = apiFunction('defineReporter', plugins.defineReporter);
/** A stage plugin class with typed params (docs/plugin-modules.md). */
export const defineStage = apiFunction('defineStage', plugins.defineStage);
/** Fractal's version. */
export const version = apiFunction('version', versionImpl);
/**
 * The built-in plugins' meta (name, description, params schema with defaults, capabilities), of one kind or all:
 * kind by kind (PLUGIN_KINDS' order), by name within a kind, as `pipeline-run plugins` lists them.
 */
export const listPlugins = apiFunction('listPlugins', listPluginsImpl);
