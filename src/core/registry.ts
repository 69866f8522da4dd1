/**
 * The plugin registry: every plugin class by kind and name (and deprecated alias). The container resolves
 * instances; the registry answers questions about metadata (names for "did you mean", params schemas for the
 * validator and the schema generator). Duplicate names within a kind are refused when they are added.
 */
import { FractalError } from './errors.js';
import { ENGINE_CONSTRAINTS, PLUGIN_KINDS, type PluginAlias, type PluginClass, type PluginKind, type PluginMeta, type StageClass } from './plugin.js';

/** The inversify service identifier of a kind; plugins are bound under it by name. */
export const serviceId = (kind: PluginKind): symbol => Symbol.for(`fractal.plugin.${kind}`);

/**
 * One container module per kind: the classes it binds by name. The inversify ContainerModule is made from it when
 * a container is built (container.ts), so `validate` never loads inversify.
 */
export interface PluginModule {
  kind: PluginKind;
  classes: PluginClass[];
  /** Where the classes come from (built-in module or a plugin file), for error messages. */
  origin: string;
}

export function pluginModule(kind: PluginKind, classes: PluginClass[], origin = `built-in ${kind}s`): PluginModule {
  return { kind, classes, origin };
}

export interface Lookup {
  cls: PluginClass;
  /** The canonical name (differs from the requested one when an alias was used). */
  name: string;
  alias?: PluginAlias;
}

const NAME_RE = /^[a-z][a-z0-9_]*$/;

const isBool = (v: unknown) => typeof v === 'boolean';
/** The capabilities a kind's plugins must declare in their meta (src/core/plugin.ts ScannerMeta, EngineMeta, SimulatorMeta). */
const CAPABILITIES: Partial<Record<PluginKind, Record<string, { check: (v: unknown) => boolean; expected: string; optional?: boolean }>>> = {
  scanner: {
    live: { check: isBool, expected: 'true or false' },
    pointInTime: { check: isBool, expected: 'true or false' },
    cacheable: { check: isBool, expected: 'true or false' },
    readsLakehouse: { check: isBool, expected: 'true or false' },
  },
  engine: {
    needs: { check: (v) => v === 'covariance' || v === 'variances' || v === 'nothing', expected: "'covariance', 'variances' or 'nothing'" },
    honours: { check: (v) => Array.isArray(v) && v.every((c) => (ENGINE_CONSTRAINTS as readonly unknown[]).includes(c)), expected: `a list of ${ENGINE_CONSTRAINTS.map((c) => `'${c}'`).join(', ')}` },
    longOnly: { check: isBool, expected: 'true or false' },
    volatilityBand: { check: (v) => typeof v === 'number' && v > 0, expected: 'a positive number', optional: true },
  },
  simulator: {
    model: { check: (v) => v === 'weights' || v === 'orders', expected: "'weights' or 'orders'" },
  },
};

export class PluginRegistry {
  private readonly byKind = new Map<PluginKind, Map<string, { cls: PluginClass; origin: string; module: string }>>();
  private readonly aliases = new Map<PluginKind, Map<string, { name: string; alias: PluginAlias }>>();
  readonly modules: PluginModule[] = [];

  constructor(modules: PluginModule[] = []) {
    for (const k of PLUGIN_KINDS) {
      this.byKind.set(k, new Map());
      this.aliases.set(k, new Map());
    }
    for (const m of modules) this.addModule(m);
  }

  addModule(m: PluginModule): void {
    for (const C of m.classes) this.checkAndAdd(m.kind, C, m.origin);
    this.modules.push(m);
  }

  private checkAndAdd(kind: PluginKind, C: PluginClass, origin: string): void {
    const meta = C?.meta as PluginMeta | undefined;
    const where = `${origin}${C?.name ? ` (class ${C.name})` : ''}`;
    if (!meta || typeof meta !== 'object') throw new FractalError('PLUGIN_INVALID', `${where} has no static 'meta'`, { exitCode: 2 });
    if (meta.kind !== kind) throw new FractalError('PLUGIN_INVALID', `${where} declares kind '${meta.kind}' but is registered as a ${kind}`, { exitCode: 2 });
    if (typeof meta.name !== 'string' || !NAME_RE.test(meta.name))
      throw new FractalError('PLUGIN_INVALID', `${where} has an invalid name '${String(meta.name)}' (lower_snake_case)`, { exitCode: 2 });
    const params = meta.params as { type?: unknown; additionalProperties?: unknown } | undefined;
    if (!params || params.type !== 'object' || params.additionalProperties !== false)
      throw new FractalError('PLUGIN_INVALID', `${kind} '${meta.name}' (${where}): params must be a JSON Schema with type: object and additionalProperties: false`, { exitCode: 2 });
    if (kind === 'stage') {
      const sm: Record<string, unknown> = { ...meta };
      const bad = ['documents', 'requires', 'provides'].filter((k) => {
        const v = sm[k];
        return !Array.isArray(v) || !v.every((x) => typeof x === 'string');
      });
      if (bad.length) throw new FractalError('PLUGIN_INVALID', `stage '${meta.name}' (${where}) must declare ${bad.join(', ')} as lists of strings`, { exitCode: 2, hint: "e.g. documents: ['selection'], requires: ['returns'], provides: ['my_output']" });
    }
    const declared: Record<string, unknown> = { ...meta };
    const missing = Object.entries(CAPABILITIES[kind] ?? {}).filter(([k, c]) => !(c.optional && declared[k] === undefined) && !c.check(declared[k]));
    if (missing.length)
      throw new FractalError('PLUGIN_INVALID', `${kind} '${meta.name}' (${where}) must declare ${missing.map(([k, c]) => `${k} (${c.expected})`).join(', ')} in its meta`, { exitCode: 2, hint: `What a ${kind} is, it declares in its meta, and the run reads it there; see docs/plugins.md.` });
    const names = this.byKind.get(kind)!;
    const aliases = this.aliases.get(kind)!;
    const clash = names.get(meta.name) ?? (aliases.has(meta.name) ? { origin: `an alias of '${aliases.get(meta.name)!.name}'` } : undefined);
    if (clash) throw new FractalError('PLUGIN_DUPLICATE', `${kind} '${meta.name}' is defined twice: in ${clash.origin} and in ${where}`, { exitCode: 2, hint: 'Plugin names are unique per kind; rename one of them.' });
    for (const a of meta.aliases ?? []) {
      if (names.has(a.name) || aliases.has(a.name))
        throw new FractalError('PLUGIN_DUPLICATE', `${kind} alias '${a.name}' of '${meta.name}' clashes with an existing ${kind} name`, { exitCode: 2 });
    }
    names.set(meta.name, { cls: C, origin: where, module: origin });
    for (const a of meta.aliases ?? []) aliases.set(a.name, { name: meta.name, alias: a });
  }

  lookup(kind: PluginKind, name: string): Lookup | undefined {
    const hit = this.byKind.get(kind)!.get(name);
    if (hit) return { cls: hit.cls, name };
    const alias = this.aliases.get(kind)!.get(name);
    if (alias) return { cls: this.byKind.get(kind)!.get(alias.name)!.cls, name: alias.name, alias: alias.alias };
    return undefined;
  }

  stage(name: string): (Lookup & { cls: StageClass }) | undefined {
    return this.lookup('stage', name) as (Lookup & { cls: StageClass }) | undefined;
  }

  /** Where a plugin comes from: `built-in <kind>s`, or `plugin module <path>` for a pipeline's own. */
  originOf(kind: PluginKind, name: string): string | undefined {
    const canonical = this.lookup(kind, name)?.name;
    return canonical === undefined ? undefined : this.byKind.get(kind)!.get(canonical)!.module;
  }

  /** Canonical names of a kind, in registration order (built-in stages are registered in flow order). */
  names(kind: PluginKind): string[] {
    return [...this.byKind.get(kind)!.keys()];
  }

  /** Canonical names plus aliases: everything that resolves. */
  resolvableNames(kind: PluginKind): string[] {
    return [...this.names(kind), ...this.aliases.get(kind)!.keys()];
  }

  classes(kind: PluginKind): PluginClass[] {
    return [...this.byKind.get(kind)!.values()].map((v) => v.cls);
  }

  /** A copy to which a pipeline's own plugin modules can be added without touching the built-ins. */
  clone(): PluginRegistry {
    return new PluginRegistry(this.modules);
  }
}
