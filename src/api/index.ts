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
 * The types are in types.ts. This module loads only what validation needs; running (the container, the worker
 * pools, arrow, vega) and the lakehouse load when first used, so the CLI, a shell over it, starts fast.
 */
import { PLUGIN_KINDS } from '../core/plugin.js';

export type * from './types.js';
export type { MetaOf, Implementation, PluginFilter } from './plugins.js';
export type { OpenLakehouseOptions } from './lakehouse.js';
export { validate } from './validate.js';
export { plan } from './plan.js';
export { run } from './run.js';
export { openLakehouse } from './lakehouse.js';
export { bullmqExecutors, formatQueueStatus, queueStatus, startWorker } from './queue.js';
export type { BullmqExecutors, QueueConnectionOptions, WorkerStartOptions } from './queue.js';
export { listRuns, pruneRuns, writeRunsIndex } from './runs.js';
export { traceSymbol } from './trace.js';
export { compareRuns, formatMarkdown as compareMarkdown, formatHtml as compareHtml } from './compare.js';
export { writeSchemas, checkSchemas, writeDocs, checkDocs } from './reference.js';
export { definePlugin, defineRanker, defineFilter, defineEngine, defineScanner, defineSimulator, defineReporter, defineStage } from './plugins.js';
export { FractalError } from '../core/errors.js';
export { version } from './version.js';
export { listPlugins } from './config.js';
export { PLUGIN_KINDS };

