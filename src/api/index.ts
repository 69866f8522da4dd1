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
 * options (`lakehouse`, `out`) where the command line's name its flags (`--lakehouse`, `--out`; option-names.ts).
 *
 * The types are in types.ts. This module loads only what validation needs; running (the container, the worker
 * pools, arrow, vega) and the lakehouse load when first used, so the CLI, a shell over it, starts fast. The CLI
 * imports the modules behind it, not this one: it keeps its flags' names.
 */
import { PLUGIN_KINDS } from '../core/plugin.js';
import { apiFunction, apiLakehouse, apiRunResult } from './boundary.js';
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

export const validate = apiFunction('validate', validateImpl);
export const plan = apiFunction('plan', planImpl);
export const run = apiFunction('run', runImpl, apiRunResult);
export const openLakehouse = apiFunction('openLakehouse', openLakehouseImpl, apiLakehouse);
export const bullmqExecutors = apiFunction('bullmqExecutors', queue.bullmqExecutors);
export const formatQueueStatus = apiFunction('formatQueueStatus', queue.formatQueueStatus);
export const queueStatus = apiFunction('queueStatus', queue.queueStatus);
export const startWorker = apiFunction('startWorker', queue.startWorker);
export const listRuns = apiFunction('listRuns', runs.listRuns);
export const pruneRuns = apiFunction('pruneRuns', runs.pruneRuns);
export const writeRunsIndex = apiFunction('writeRunsIndex', runs.writeRunsIndex);
export const traceSymbol = apiFunction('traceSymbol', traceSymbolImpl);
export const compareRuns = apiFunction('compareRuns', compare.compareRuns);
export const compareMarkdown = apiFunction('compareMarkdown', compare.formatMarkdown);
export const compareHtml = apiFunction('compareHtml', compare.formatHtml);
export const writeSchemas = apiFunction('writeSchemas', reference.writeSchemas);
export const checkSchemas = apiFunction('checkSchemas', reference.checkSchemas);
export const writeDocs = apiFunction('writeDocs', reference.writeDocs);
export const checkDocs = apiFunction('checkDocs', reference.checkDocs);
export const definePlugin = apiFunction('definePlugin', plugins.definePlugin);
export const defineRanker = apiFunction('defineRanker', plugins.defineRanker);
export const defineFilter = apiFunction('defineFilter', plugins.defineFilter);
export const defineEngine = apiFunction('defineEngine', plugins.defineEngine);
export const defineScanner = apiFunction('defineScanner', plugins.defineScanner);
export const defineSimulator = apiFunction('defineSimulator', plugins.defineSimulator);
export const defineReporter = apiFunction('defineReporter', plugins.defineReporter);
export const defineStage = apiFunction('defineStage', plugins.defineStage);
export const version = apiFunction('version', versionImpl);
/**
 * The built-in plugins' meta (name, description, params schema with defaults, capabilities), of one kind or all:
 * kind by kind (PLUGIN_KINDS' order), by name within a kind, as `pipeline-run plugins` lists them.
 */
export const listPlugins = apiFunction('listPlugins', listPluginsImpl);
