/** `pipeline-run trace <run folder> <symbol> [--json]`: prints what the API's traceSymbol (src/api/trace.ts) reads back. */
import { isAbsolute, join } from 'node:path';
import type { Command } from 'commander';
import { writeJson } from './shared.js';
import { runFolderOf } from '../api/runs.js';
import { traceSymbol, type Trace } from '../api/trace.js';
import { wholeNumber } from '../util/words.js';

export { readRunJson, traceSymbol, type Json, type Trace } from '../api/trace.js';

const n = (x: unknown, d = 4) => (typeof x === 'number' ? (Number.isInteger(x) ? String(x) : x.toFixed(d)) : x === null || x === undefined ? '—' : String(x));

/** The trace as text; `folder` (the run folder traced) names a tournament's cell runs by their whole path. */
export function formatTrace(t: Trace, folder?: string): string {
  const out = [`${t.symbol} in run ${t.run}`];
  if (t.tournament) {
    const x = t.tournament;
    const at = (run: string) => (folder && !isAbsolute(run) ? join(folder, run) : run);
    const others = x.cells.filter((c) => c.cell !== x.champion);
    out.push(`a tournament: followed in its champion cell ${x.champion}, the record it compares every cell with (${at(x.run)})`);
    if (others.length) {
      const w = Math.max(...others.map((c) => c.cell.length));
      out.push('', `the other cells' runs (\`pipeline-run trace <folder> ${t.symbol}\` follows it in one):`);
      for (const c of others) out.push(`  ${c.cell.padEnd(w)}  ${c.run ? at(c.run) : `no run folder (${c.outcome})`}`);
    }
    out.push('', `── champion cell ${x.champion}`, ...formatTrace(x.trace).trimEnd().split('\n').map((l) => (l ? `   ${l}` : '')));
    return `${out.join('\n')}\n`;
  }
  if (t.meta) {
    out.push('', `weight     ${t.meta.weight === null ? 'not held' : `${(t.meta.weight * 100).toFixed(2)}%`}${Object.keys(t.meta.contributions).length ? ` = ${Object.entries(t.meta.contributions).map(([s, c]) => `${s} ${(c * 100).toFixed(2)}%`).join(' + ')}` : ''}`);
    for (const s of t.meta.sleeves) {
      out.push('', `── sleeve ${s.sleeve}${s.note ? `: ${s.note}` : ''}`);
      if (s.trace) out.push(...formatTrace(s.trace).trimEnd().split('\n').map((l) => (l ? `   ${l}` : '')));
    }
    return `${out.join('\n')}\n`;
  }
  if (t.discovery?.dropped) {
    const d = t.discovery.dropped;
    out.push('', `discovery  not a candidate as of ${t.discovery.as_of}: dropped at the '${d.step}' step (scanner '${t.discovery.scanner}' on ${t.discovery.venue})`, `           ${d.reason}`);
    out.push('', `It took no further part in the run: no features, scores, cluster, vetoes or weight.`);
    return `${out.join('\n')}\n`;
  }
  if (t.discovery) {
    const c = t.discovery.candidate ?? {};
    out.push('', `discovery  found by scanner '${t.discovery.scanner}' on ${t.discovery.venue} (as of ${t.discovery.as_of})`, `           ${[c.asset_type, c.sector, c.volume_24h !== undefined ? `24h volume ${wholeNumber(c.volume_24h)}` : null, c.metadata?.status].filter(Boolean).join(', ')}`);
  }
  if (t.features) out.push('', 'features   ' + Object.entries(t.features).map(([k, v]) => `${k} ${n(v)}`).join(', '));
  // The champion first (scores.json's keys are sorted, like every JSON artifact's).
  if (t.scores) out.push('', `scores     ${Object.entries(t.scores.conviction).sort(([a], [b]) => Number(b === t.scores!.champion) - Number(a === t.scores!.champion)).map(([k, v]) => `${k}${k === t.scores!.champion ? ' (champion)' : ''} ${n(v)}`).join(', ')}`, `           champion rank ${n(t.scores.champion_rank)} of ${t.scores.of}${t.scores.regime ? `, regime ${t.scores.regime}` : ''}`);
  if (t.cluster !== undefined) out.push('', t.cluster ? `cluster    ${t.cluster.id} (${t.cluster.size} members: ${t.cluster.members.slice(0, 8).join(', ')}${t.cluster.size > 8 ? ', …' : ''})` : 'cluster    none');
  if (t.filters) {
    out.push('', 'filters');
    for (const f of t.filters) {
      const evidence = f.verdict === 'passed once relaxed' ? `: ${f.metric} ${n(f.value)} failed the strict threshold ${n(f.strict_threshold)}, passed the relaxed one` : f.metric ? `: ${f.metric} ${n(f.value)} vs threshold ${n(f.threshold)}` : '';
      out.push(`  ${f.filter.padEnd(16)} ${f.verdict}${evidence}${f.overridden ? ` (${f.overridden})` : ''}`);
    }
  }
  if (t.selection) out.push('', `selection  ${t.selection.winner ? `winner (${t.selection.reason})` : 'not selected'}; the HTR loop ended at stage ${t.selection.htr_stage} (${t.selection.htr_stage_name})${t.selection.overridden_vetoes?.length ? `; overrode ${t.selection.overridden_vetoes.length} veto(es)` : ''}`);
  if (t.atoms) out.push('', `atoms      ${t.atoms.length ? t.atoms.map((a) => `${a.id}${a.weight !== undefined ? ` ${n(a.weight)}` : ''}`).join(', ') : 'none'}`);
  if (t.weight !== undefined) out.push(`weight     ${t.weight ? `${(t.weight.weight * 100).toFixed(2)}% ${t.weight.direction}` : 'not held'}`);
  return `${out.join('\n')}\n`;
}

export function registerTraceCommand(program: Command): void {
  program
    .command('trace')
    .description("one symbol's path through a run's funnel: discovery, features, scores, cluster, filter verdicts, relaxation, atom, weight (a meta run: in every sleeve; a tournament: in its champion cell)")
    .argument('<run>', 'a run folder (as printed by pipeline-run), or a run id under --out')
    .argument('<symbol>', 'the symbol')
    .option('--out <dir>', 'the runs root a run id is looked up in', 'runs')
    .option('--json', 'machine-readable output')
    .action((run: string, symbol: string, opts: { json?: boolean; out: string }) => {
      const folder = runFolderOf(run, opts.out);
      const t = traceSymbol(folder, symbol);
      if (opts.json) writeJson(t);
      else process.stdout.write(formatTrace(t, folder));
    });
}
