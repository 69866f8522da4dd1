/**
 * report.md: what the run decided, in the order the funnel decided it. It reads only the context and the run's
 * own record (config hash, stage timings), so it works for any prefix of the funnel.
 */
import { params, int, type Static } from '../../../src/core/params.js';
import type { PluginMeta, Reporter, StageEnv } from '../../../src/core/plugin.js';
import type { AnyContext } from '../../../src/core/context.js';

const PARAMS = params({ top: int('Rows shown in long tables (candidates, weights).', 25, { min: 1 }) });
export type MarkdownParams = Static<typeof PARAMS>;

export class MarkdownReporter implements Reporter<AnyContext, MarkdownParams> {
  static readonly meta: PluginMeta = {
    kind: 'reporter',
    name: 'markdown',
    description: 'report.md: the pipeline, its stages and timings, and what each stage decided.',
    params: PARAMS,
  };

  async render(ctx: AnyContext, p: MarkdownParams, env: StageEnv): Promise<string[]> {
    // The report's sections load with the first report, not with every run.
    const { renderMarkdownReport } = await import('./markdown-report.js');
    return renderMarkdownReport(ctx, p, env);
  }
}
