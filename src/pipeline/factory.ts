/**
 * The PipelineFactory: builds a runnable pipeline from a resolved config. Stages come from the container by name;
 * a plugin that is still planned (params fixed, implementation not landed) stops the build with a clear message,
 * before anything is written.
 */
import type { ResolvedConfig } from '../core/resolved-config.js';
import { refParams } from '../config/validate.js';
import { createContainer, type RunScope } from './container.js';
import { inputError } from '../core/errors.js';
import type { PluginResolver, Stage, StageMeta } from '../core/plugin.js';
import { isPluginRef } from '../core/params.js';
import type { PluginRegistry } from '../core/registry.js';

export interface BuiltStage {
  type: string;
  meta: StageMeta;
  stage: Stage;
  params: Record<string, unknown>;
}

export interface BuiltPipeline {
  config: ResolvedConfig;
  stages: BuiltStage[];
  resolver: PluginResolver;
  /** Where the runner attaches the run's services (replays, child runs, the run cache) the plugins were given. */
  scope: RunScope;
}

export class PipelineFactory {
  constructor(private readonly registry: PluginRegistry) {}

  /** Every planned plugin the config uses, as "kind 'name': what is missing". */
  plannedPlugins(config: ResolvedConfig): string[] {
    const out: string[] = [];
    for (const s of config.stages) {
      const hit = this.registry.stage(s.type);
      if (!hit) continue;
      if (hit.cls.meta.planned) out.push(`stage '${s.type}': ${hit.cls.meta.planned}`);
      for (const ref of refParams(hit.cls.meta)) {
        const v = s.params[ref.param];
        const refs = ref.list ? (Array.isArray(v) ? v.filter(isPluginRef) : []) : isPluginRef(v) ? [v] : [];
        // Only the champion of `ranker` is used when `rankers` is given; both are checked, which is stricter.
        for (const r of refs) {
          const p = this.registry.lookup(ref.kind, r.name);
          if (p?.cls.meta.planned) out.push(`${ref.kind} '${r.name}' (stage '${s.type}'): ${p.cls.meta.planned}`);
        }
      }
    }
    return [...new Set(out)];
  }

  build(config: ResolvedConfig): BuiltPipeline {
    const planned = this.plannedPlugins(config);
    if (planned.length)
      throw inputError('PIPELINE_NOT_RUNNABLE', `this pipeline uses plugins that are not implemented in this version yet:\n  - ${planned.join('\n  - ')}`, '`pipeline-run validate` accepts it; running it needs the version where these land. `pipeline-run plugins` marks them (planned).');
    const { resolver, scope } = createContainer(this.registry);
    const stages = config.stages.map((s) => ({
      type: s.type,
      meta: this.registry.stage(s.type)!.cls.meta,
      stage: resolver.get<Stage>('stage', s.type),
      params: s.params,
    }));
    return { config, stages, resolver, scope };
  }
}
