/** A self-contained report.html with vega-lite charts rendered to SVG. */
import { plannedError } from '../../../src/core/planned.js';
import { params, str } from '../../../src/core/params.js';
import type { PluginMeta } from '../../../src/core/plugin.js';

export class HtmlReporter {
  static readonly meta: PluginMeta = {
    kind: 'reporter',
    name: 'html',
    description: 'A self-contained report.html with vega-lite charts rendered to SVG.',
    params: params({ title: str('Report title; the pipeline name when omitted.') }),
    planned: 'the HTML report lands with issue 6.',
  };

  run(): never {
    throw plannedError(HtmlReporter.meta);
  }
}
