/**
 * report.md: what the run decided, in the order the funnel decided it. It reads only the context and the run's
 * own record (config hash, stage timings), so it works for any prefix of the funnel.
 */
import { params, int } from '../../../src/core/params.js';
import type { PluginMeta, Reporter, StageEnv } from '../../../src/core/plugin.js';
import type { SelectionContext } from '../../../src/core/context.js';

const isoDay = (d: number) => new Date(d * 86_400_000).toISOString().slice(0, 10);
const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

export class MarkdownReporter implements Reporter<SelectionContext> {
  static readonly meta: PluginMeta = {
    kind: 'reporter',
    name: 'markdown',
    description: 'report.md: the pipeline, its stages and timings, and what each stage decided.',
    params: params({ top: int('Rows shown in long tables (candidates, weights).', 25, { min: 1 }) }),
  };

  async render(ctx: SelectionContext, p: Record<string, unknown>, env: StageEnv): Promise<string[]> {
    const top = p.top as number;
    const lines: string[] = [`# ${env.pipeline.name}`, '', `Run \`${env.runId}\` · config \`${env.pipeline.hash.slice(0, 12)}\``, ''];
    lines.push('## Stages', '', '| stage | time |', '|---|---:|');
    for (const s of env.pipeline.stages) lines.push(`| ${s.type} | ${s.ms === undefined ? 'running' : `${s.ms.toFixed(0)} ms`} |`);
    if (ctx.raw_pool) {
      lines.push('', `## Candidates (${ctx.raw_pool.length})`, '', '| symbol | venue | asset type | sector | 24h volume |', '|---|---|---|---|---:|');
      for (const c of ctx.raw_pool.slice(0, top))
        lines.push(`| ${c.symbol} | ${c.venue ?? c.exchange ?? ''} | ${c.asset_type ?? ''} | ${c.sector ?? ''} | ${c.volume_24h === undefined ? '' : Math.round(c.volume_24h).toLocaleString('en-US')} |`);
      if (ctx.raw_pool.length > top) lines.push(`| … ${ctx.raw_pool.length - top} more | | | | |`);
    }
    if (ctx.returns) {
      const r = ctx.returns;
      const span = r.dates.length ? `${isoDay(r.dates[0])} to ${isoDay(r.dates[r.dates.length - 1])}` : 'no dates';
      lines.push('', '## Returns', '', `${r.symbols.length} symbols × ${r.dates.length} days, ${span}.`);
    }
    if (ctx.vetoes && Object.keys(ctx.vetoes).length) {
      lines.push('', '## Vetoes', '', '| symbol | filter | metric | value | threshold |', '|---|---|---|---:|---:|');
      for (const [sym, vs] of Object.entries(ctx.vetoes)) for (const v of vs) lines.push(`| ${sym} | ${v.filter} | ${v.metric} | ${v.value} | ${v.threshold} |`);
    }
    if (ctx.winners) lines.push('', `## Winners (${ctx.winners.length})`, '', ctx.winners.join(', '));
    if (ctx.weights) {
      lines.push('', '## Weights', '', '| symbol | direction | weight |', '|---|---|---:|');
      for (const w of [...ctx.weights].sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight)).slice(0, top)) lines.push(`| ${w.symbol} | ${w.direction} | ${pct(w.weight)} |`);
    }
    lines.push('');
    await env.artifacts.writeText('report.md', lines.join('\n'));
    return ['report.md'];
  }
}
