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
 *   FractalError                   what every coded failure is (docs/errors.md)
 *
 * The types are in types.ts. This module loads only what validation needs; running (the container, the worker
 * pools, arrow, vega) and the lakehouse load when first used, so the CLI, a shell over it, starts fast.
 */
import type { PluginKind, PluginMeta } from '../core/plugin.js';
import { fractalVersion } from '../runs/manifest.js';
import { getRegistry } from './config.js';

export type * from './types.js';
export type { MetaOf, Implementation } from './plugins.js';
export type { OpenLakehouseOptions } from './lakehouse.js';
export { validate } from './validate.js';
export { plan } from './plan.js';
export { run } from './run.js';
export { openLakehouse } from './lakehouse.js';
export { definePlugin, defineRanker, defineFilter, defineEngine, defineScanner, defineSimulator, defineReporter, defineStage } from './plugins.js';
export { FractalError } from '../core/errors.js';
export { PLUGIN_KINDS } from '../core/plugin.js';

/** The version of Fractal (its package.json). */
export const version = (): string => fractalVersion();

/** The built-in plugins' meta (name, description, params schema with defaults, capabilities), of one kind or all. */
export function listPlugins(kind?: PluginKind): PluginMeta[] {
  const registry = getRegistry();
  return registry.modules.filter((m) => !kind || m.kind === kind).flatMap((m) => m.classes.map((c) => c.meta));
}
