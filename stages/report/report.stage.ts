/** Report: runs each reporter over the context; every file it writes lands in the run folder. */
import { params, pluginRefList, type Static } from '../../src/core/params.js';
import type { Reporter, Stage, StageEnv, StageMeta } from '../../src/core/plugin.js';
import type { AnyContext } from '../../src/core/context.js';

const PARAMS = params({
  reporters: pluginRefList('reporter', 'Reporters to run.', ['markdown', 'html']),
});
export type ReportParams = Static<typeof PARAMS>;

export class ReportStage implements Stage<AnyContext, ReportParams> {
  static readonly meta: StageMeta = {
    kind: 'stage',
    name: 'report',
    description: 'Writes the run report: report.md and a self-contained report.html with charts.',
    documents: ['selection', 'meta', 'tournament'],
    requires: [],
    provides: ['report'],
    params: PARAMS,
  };

  async execute(ctx: AnyContext, p: ReportParams, env: StageEnv): Promise<AnyContext> {
    const files: string[] = [];
    for (const ref of p.reporters) {
      const reporter = env.plugins.get<Reporter<AnyContext>>('reporter', ref.name);
      files.push(...(await reporter.render(ctx, ref.params, env)));
    }
    ctx.report = { files };
    env.audit.event('report', 'report_written', { files });
    return ctx;
  }
}
