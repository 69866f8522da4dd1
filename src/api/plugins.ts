/**
 * The plugin contract for third-party plugins: `define*` helpers that make a plugin class from its `meta` and an
 * implementation object, checked at once against the rules the registry applies (a name in lower_snake_case, a
 * params schema of `type: object` with `additionalProperties: false`, the capabilities a scanner, an engine or a
 * simulator must declare). A module that exports what they return is a plugin module (`plugins:` in a pipeline,
 * docs/plugin-modules.md); writing the class by hand, with a static `meta`, is the same thing.
 */
import type { AllocationEngine } from '../portfolio/engine.js';
import type { Simulator } from '../portfolio/simulator.js';
import type { EngineMeta, Params, PluginClass, PluginMeta, Reporter, ScannerMeta, SimulatorMeta, Stage, StageMeta } from '../core/plugin.js';
import { pluginModule, PluginRegistry } from '../core/registry.js';
import type { Filter, FilterCheck } from '../../stages/policy/filter.js';
import type { Ranker } from '../../stages/inference/ranker.js';
import type { Scanner } from '../../stages/ingestion/scanner.js';

/**
 * A meta without its kind (the helper names it). Each helper takes the params type `P` its implementation receives
 * (the params schema's shape, defaults filled in): `defineRanker<{ scale: number }>(meta, { score(f, p) { … } })`.
 */
export type MetaOf<M extends PluginMeta> = Omit<M, 'kind'>;

/** An implementation: an object with the kind's methods, or a function making one per instance (for state). */
export type Implementation<I> = I | (() => I);

const className = (name: string) => name.replace(/(^|_)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase());

/**
 * A plugin class of any kind from its meta and implementation. Throws FractalError PLUGIN_INVALID (exit 2) when the
 * meta breaks a rule, naming it.
 */
export function definePlugin<I extends object, M extends PluginMeta = PluginMeta>(meta: M, implementation: Implementation<I>): PluginClass<I, M> {
  const make = typeof implementation === 'function' ? (implementation as () => I) : () => implementation;
  const C = class {
    static readonly meta = meta;
    constructor() {
      Object.assign(this, make());
    }
  };
  Object.defineProperty(C, 'name', { value: className(String(meta?.name ?? 'plugin')) });
  // The registry's own checks, now rather than when a pipeline loads the module.
  new PluginRegistry([pluginModule(meta.kind, [C as unknown as PluginClass], `definePlugin('${String(meta?.name)}')`)]);
  return C as unknown as PluginClass<I, M>;
}

/** A ranker: `score(features, params, ctx, env)` returns one conviction per symbol of `features.symbols`. */
export const defineRanker = <P = Params>(meta: MetaOf<PluginMeta>, implementation: Implementation<Ranker<P>>) => definePlugin<Ranker<P>>({ ...meta, kind: 'ranker' }, implementation);
/** A veto filter: `hard`, `evaluate(features, params, ctx)` (checks per symbol) and `relax(params, amount)`. */
/**
 * A filter of a plugin module, whose `evaluate` may return its verdicts as a Map keyed by symbol (docs/plugin-modules.md:
 * a module has no `dict()`, and a plain object keyed by user-chosen names would take `__proto__` as its prototype).
 */
export type PluginFilter<P = Params> = Omit<Filter<P>, 'evaluate'> & { evaluate(...args: Parameters<Filter<P>['evaluate']>): ReturnType<Filter<P>['evaluate']> | Map<string, FilterCheck[]> };
export const defineFilter = <P = Params>(meta: MetaOf<PluginMeta>, implementation: Implementation<PluginFilter<P>>) => definePlugin<PluginFilter<P>>({ ...meta, kind: 'filter' }, implementation);
/** An allocation engine: `allocate(problem, params)`; its meta says what it needs and honours. */
export const defineEngine = (meta: MetaOf<EngineMeta>, implementation: Implementation<AllocationEngine>) => definePlugin<AllocationEngine, EngineMeta>({ ...meta, kind: 'engine' }, implementation);
/** A scanner: `scan(params, env)`; its meta says whether it is live, point in time, cacheable and reads the lakehouse. */
export const defineScanner = <P = Params>(meta: MetaOf<ScannerMeta>, implementation: Implementation<Scanner<P>>) => definePlugin<Scanner<P>, ScannerMeta>({ ...meta, kind: 'scanner' }, implementation);
/** A simulator: holds a decision path; its meta says its model (weights or orders). */
export const defineSimulator = (meta: MetaOf<SimulatorMeta>, implementation: Implementation<Simulator>) => definePlugin<Simulator, SimulatorMeta>({ ...meta, kind: 'simulator' }, implementation);
/** A reporter: `render(ctx, params, env)` writes files into the run folder and returns their names. */
export const defineReporter = <P = Params>(meta: MetaOf<PluginMeta>, implementation: Implementation<Reporter<unknown, P>>) => definePlugin<Reporter<unknown, P>>({ ...meta, kind: 'reporter' }, implementation);
/** A stage: `execute(ctx, params, env)`; its meta says which documents it belongs to, what it requires and provides. */
export const defineStage = <P = Params>(meta: MetaOf<StageMeta>, implementation: Implementation<Stage<unknown, P>>) => definePlugin<Stage<unknown, P>, StageMeta>({ ...meta, kind: 'stage' }, implementation);
