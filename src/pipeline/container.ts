/**
 * The inversify container of a run: one ContainerModule per plugin kind (plus any the pipeline loads), and the
 * services plugins may inject. Plugins resolve by kind and name; aliases resolve to the canonical name.
 */
import 'reflect-metadata';
import { Container, ContainerModule } from 'inversify';
import { FractalError } from '../core/errors.js';
import type { PluginKind, PluginMeta, PluginResolver } from '../core/plugin.js';
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

export function createContainer(registry: PluginRegistry): { container: Container; resolver: PluginResolver } {
  const container = new Container();
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
  return { container, resolver };
}
