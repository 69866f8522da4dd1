/**
 * `pipeline-run runs [--out DIR] [--prune]`: an index of every run under the runs root (index.md and index.html),
 * newest first, with outcome, config hash, duration and the key backtest metrics when the run has them. Runs whose
 * process died (`.<run_id>.partial/` with no live process) are listed as interrupted, with their last audit event;
 * `--prune` deletes those folders, naming each one.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { writeJson } from './shared.js';
import type { Command } from 'commander';
import { inputError } from '../core/errors.js';
import { byCodeUnit } from '../util/order.js';
import { describeEvent, lastAuditEvent, partialRuns, type PartialRun } from '../runs/run-folder.js';

interface RunRow {
  name: string;
  run_id: string;
  folder: string;
  outcome: string;
  started_at: string;
  duration_ms: number;
  config_hash: string;
  stages: string;
  metrics?: { cagr?: number; sharpe?: number; max_drawdown?: number; volatility?: number };
  error?: string;
  /** Interrupted or running runs (and failed ones without a manifest): the last whole event of the audit. */
  last_event?: PartialRun['last_event'];
  /** A running run's process. */
  pid?: number;
}

export function collectRuns(root: string): RunRow[] {
  const rows: RunRow[] = [];
  // .cache (sleeve results) and other dot-folders are not pipelines.
  for (const name of readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name).sort()) {
    for (const p of partialRuns(join(root, name))) {
      rows.push({
        name, run_id: p.run_id, folder: p.folder, outcome: p.state, started_at: p.running?.started_at ?? '', duration_ms: 0, config_hash: '', stages: '',
        ...(p.last_event ? { last_event: p.last_event, error: `last event: ${describeEvent(p.last_event)}` } : { error: 'no audit event' }),
        ...(p.state === 'running' && p.running ? { pid: p.running.pid } : {}),
      });
    }
    for (const run of readdirSync(join(root, name), { withFileTypes: true })) {
      if (!run.isDirectory() || run.name.startsWith('.')) continue; // .partial folders: above
      const folder = join(root, name, run.name);
      const mf = join(folder, 'manifest.json');
      if (!existsSync(mf)) {
        // A failed run whose manifest could not be written (a full disk), or an interrupted run a later run marked.
        if (!run.name.endsWith('.failed')) continue;
        const failed = existsSync(join(folder, 'FAILED')) ? readFileSync(join(folder, 'FAILED'), 'utf8').split('\n')[0] : '';
        const last = lastAuditEvent(join(folder, 'audit.jsonl'));
        rows.push({ name, run_id: run.name.replace(/\.failed$/, ''), folder, outcome: 'failed', started_at: last?.time ?? '', duration_ms: 0, config_hash: '', stages: '', error: failed || 'no FAILED record', ...(last ? { last_event: last } : {}) });
        continue;
      }
      try {
        const m = JSON.parse(readFileSync(mf, 'utf8'));
        const metricsFile = join(folder, 'metrics.json');
        const all = existsSync(metricsFile) ? JSON.parse(readFileSync(metricsFile, 'utf8')) : {};
        const metrics = all.backtest ?? all.meta; // a selection run's backtest, or a meta run's combined record
        rows.push({
          name: m.name, run_id: m.run_id, folder, outcome: m.outcome, started_at: m.started_at, duration_ms: m.duration_ms,
          config_hash: m.config_hash, stages: (m.stages ?? []).map((s: { type: string }) => s.type).join(' → '),
          ...(metrics && typeof metrics.sharpe === 'number' ? { metrics } : {}),
          ...(m.error ? { error: `${m.error.stage ? `${m.error.stage}: ` : ''}[${m.error.code}] ${m.error.message}` } : {}),
        });
      } catch {
        rows.push({ name, run_id: run.name, folder, outcome: 'unreadable manifest', started_at: '', duration_ms: 0, config_hash: '', stages: '' });
      }
    }
  }
  return rows.sort((a, b) => byCodeUnit(b.started_at, a.started_at));
}

const pct = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '—' : `${(x * 100).toFixed(1)}%`);
const fix = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(2));
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function renderIndex(rows: RunRow[], root: string): { md: string; html: string } {
  const head = ['pipeline', 'run', 'outcome', 'started', 'time', 'CAGR', 'Sharpe', 'max DD', 'vol', 'config', 'note'];
  const note = (r: RunRow) => (r.outcome === 'succeeded' ? '' : (r.error ?? '').replace(/\|/g, '/').slice(0, 160));
  const cells = (r: RunRow) => [r.name, r.run_id, r.outcome, r.started_at.replace('T', ' ').slice(0, 19), `${(r.duration_ms / 1000).toFixed(1)} s`, pct(r.metrics?.cagr), fix(r.metrics?.sharpe), pct(r.metrics?.max_drawdown), pct(r.metrics?.volatility), r.config_hash.slice(0, 12), note(r)];
  const link = (r: RunRow) => relative(root, join(r.folder, ['report.html', 'report.md', 'manifest.json', 'FAILED', 'audit.jsonl'].find((f) => existsSync(join(r.folder, f))) ?? ''));
  const md = [
    `# Runs (${rows.length})`,
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${cells(r).map((c, i) => (i === 1 ? `[${c}](${link(r)})` : c)).join(' | ')} |`),
    '',
  ].join('\n');
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>Fractal runs</title><style>
body{font:14px system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse}td,th{padding:.3rem .6rem;border-bottom:1px solid #ddd;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}.failed,.interrupted{color:#b00020}.succeeded{color:#1b7f3b}.running{color:#8a6d00}</style></head><body>
<h1>Runs (${rows.length})</h1><table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>
${rows.map((r) => `<tr>${cells(r).map((c, i) => (i === 1 ? `<td><a href="${esc(link(r))}">${esc(c)}</a></td>` : i === 2 ? `<td class="${esc(r.outcome)}" title="${esc(r.error ?? '')}">${esc(c)}</td>` : `<td${i >= 4 && i <= 8 ? ' class="num"' : ''}>${esc(c)}</td>`)).join('')}</tr>`).join('\n')}
</tbody></table></body></html>
`;
  return { md, html };
}

export function registerRunsCommand(program: Command): void {
  program
    .command('runs')
    .description('write an index of all runs (index.md, index.html) with their key metrics')
    .option('--out <dir>', 'runs root', 'runs')
    .option('--json', 'print the index as JSON instead')
    .option('--prune', 'delete the folders of interrupted runs (their process is gone), naming each')
    .action((opts: { out: string; json?: boolean; prune?: boolean }) => {
      const root = resolve(opts.out);
      if (!existsSync(root)) throw inputError('NO_RUNS', `no runs folder at ${opts.out}`, 'Run a pipeline first, or point --out at the runs root.');
      let rows = collectRuns(root);
      if (opts.prune) {
        const gone = rows.filter((r) => r.outcome === 'interrupted');
        for (const r of gone) {
          rmSync(r.folder, { recursive: true, force: true });
          process.stderr.write(`removed interrupted run ${relative(process.cwd(), r.folder) || r.folder} (${r.error})\n`);
        }
        process.stderr.write(`${gone.length} interrupted run(s) removed\n`);
        rows = rows.filter((r) => !gone.includes(r));
      }
      if (opts.json) {
        writeJson(rows);
        return;
      }
      const { md, html } = renderIndex(rows, root);
      for (const [name, text] of [['index.md', md], ['index.html', html]] as const) {
        writeFileSync(join(root, `${name}.tmp`), text);
        renameSync(join(root, `${name}.tmp`), join(root, name));
      }
      process.stdout.write(`${join(opts.out, 'index.html')}\n`);
      for (const r of rows.filter((x) => x.outcome === 'interrupted' || x.outcome === 'running' || x.outcome === 'unknown'))
        process.stderr.write(`${r.outcome}: ${relative(process.cwd(), r.folder) || r.folder} (${r.error})\n`);
      const interrupted = rows.filter((r) => r.outcome === 'interrupted').length;
      process.stderr.write(`${rows.length} run(s) indexed${interrupted ? `, ${interrupted} interrupted (\`runs --prune\` removes them)` : ''}\n`);
    });
}
