/**
 * report.html: one self-contained page (inline CSS, inline SVG charts, no script, no network) with the equity
 * curve against the benchmark, the drawdown, the weights, the cluster dendrogram, the correlation heat map, the
 * selection funnel, the metrics table and the data health of the inputs. It shows what the run produced: a
 * pipeline that stops before the backtest gets the sections it has.
 */
import { int, params, str, type Static } from '../../../src/core/params.js';
import { inject } from 'inversify';
import { type ChildRuns, type PluginMeta, type Reporter, SERVICE, type StageEnv } from '../../../src/core/plugin.js';
import type { AnyContext } from '../../../src/core/context.js';

const PARAMS = params({
  title: str('Report title; the pipeline name when omitted.'),
  rolling_days: int('Days of the rolling Sharpe and volatility window; a quarter of the annualisation (91 crypto, 63 otherwise) when omitted.', undefined, { min: 5 }),
});
export type HtmlParams = Static<typeof PARAMS>;

export class HtmlReporter implements Reporter<AnyContext, HtmlParams> {
  static readonly meta: PluginMeta = {
    kind: 'reporter',
    name: 'html',
    description: 'A self-contained report.html with vega-lite charts rendered to SVG: equity and drawdown, rolling Sharpe and volatility, monthly returns, trading and exposure, windows, weights, dendrogram, correlation, funnel, metrics, data health.',
    params: PARAMS,
  };

  constructor(@inject(SERVICE.ChildRuns) private readonly childRuns: ChildRuns) {}

  async render(ctx: AnyContext, p: HtmlParams, env: StageEnv): Promise<string[]> {
    // The page's code and its charts (a sixth of the stages' code) load with the first report, not with every run.
    const { renderHtmlReport } = await import('./html-report.js');
    return renderHtmlReport(ctx, p, env, this.childRuns);
  }
}
