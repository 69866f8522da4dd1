/**
 * The inversify container of a run: one ContainerModule per plugin kind (plus any the pipeline loads), and the
 * services plugins may inject (the resolver, the registry, and the run services: SERVICE in core/plugin.ts). Plugins resolve by kind and name; aliases resolve to the canonical name.
 */
import 'reflect-metadata';
import { Container, ContainerModule } from 'inversify';
import { FractalError } from '../core/errors.js';
import { SERVICE, type ChildRuns, type PluginKind, type PluginMeta, type PluginResolver, type Replays, type RunCache, type RunServices } from '../core/plugin.js';
import { type PluginModule, type PluginRegistry, serviceId } from '../core/registry.js';
import { suggestionHint } from '../config/diagnostics.js';

export const SERVICES = {
  PluginResolver: Symbol.for('fractal.PluginResolver'),
  Registry: Symbol.for('fractal.PluginRegistry'),
} as const;

/** The inversify ContainerModule of one kind's plugin module: each class bound under its kind, by its name. */
export function toContainerModule(m: PluginModule): ContainerModule {
  return new ContainerModule((options) => {
    for (const C of m.classes) options.bind(serviceId(m.kind)).to(C).inSingletonScope().whenNamed(C.meta.name);
  });
}

/**
 * The run a built pipeline's plugins serve. The container injects the run services (SERVICE) into the plugins that
 * ask for them when it builds them, which is before the run exists (the preflight runs first); what it injects
 * forwards to the services the runner attaches here when the run starts.
 */
export class RunScope {
  private attached?: RunServices;

  attach(services: RunServices): void {
    this.attached = services;
  }

  get services(): RunServices {
    if (!this.attached) throw new Error('a run service was used before the run attached its services (RunScope.attach)');
    return this.attached;
  }
}

/** What the container injects for each run service: the attached run's, looked up on each call. */
function bindRunServices(container: Container, scope: RunScope): void {
  const replays: Replays = {
    replay: (asOf, o) => scope.services.replays.replay(asOf, o),
    replayMany: (dates, o) => scope.services.replays.replayMany(dates, o),
  };
  const childRuns: ChildRuns = {
    runSleeves: (names, o) => scope.services.childRuns.runSleeves(names, o),
    sleeveConfig: (name) => scope.services.childRuns.sleeveConfig(name),
    cellSpec: (id) => scope.services.childRuns.cellSpec(id),
    runCells: (ids, o) => scope.services.childRuns.runCells(ids, o),
    get runsRoot() {
      return scope.services.childRuns.runsRoot;
    },
    get useCache() {
      return scope.services.childRuns.useCache;
    },
  };
  const cache: RunCache = {
    get: <T>(key: string) => scope.services.cache.get<T>(key),
    set: <T>(key: string, value: T, release?: () => Promise<void> | void) => scope.services.cache.set(key, value, release),
  };
  container.bind(SERVICE.Replays).toConstantValue(replays);
  container.bind(SERVICE.ChildRuns).toConstantValue(childRuns);
  container.bind(SERVICE.RunCache).toConstantValue(cache);
}

export function createContainer(registry: PluginRegistry): { container: Container; resolver: PluginResolver; scope: RunScope } {
  const container = new Container();
  const scope = new RunScope();
  bindRunServices(container, scope);
  for (const m of registry.modules) container.load(toContainerModule(m));
  const lookup = (kind: PluginKind, name: string) => {
    const hit = registry.lookup(kind, name);
    if (!hit) throw new FractalError('PLUGIN_UNKNOWN', `unknown ${kind} '${name}'`, { exitCode: 2, hint: suggestionHint(name, registry.names(kind), `${kind}s`) });
    return hit;
  };
  const resolver: PluginResolver = {
    get: <T>(kind: PluginKind, name: string): T => container.get<T>(serviceId(kind), { name: lookup(kind, name).name }),
    meta: <M extends PluginMeta>(kind: PluginKind, name: string): M => lookup(kind, name).cls.meta as M,
    names: (kind) => registry.names(kind),
  };
  container.bind(SERVICES.PluginResolver).toConstantValue(resolver);
  container.bind(SERVICES.Registry).toConstantValue(registry);
  return { container, resolver, scope };
}
