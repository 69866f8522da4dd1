/**
 * listRuns, pruneRuns, writeRunsIndex (`pipeline-run runs [--out DIR] [--prune]`): an index of every run under the runs root (index.md and index.html),
 * newest first, with outcome, config hash, duration and the key backtest metrics when the run has them. Runs whose
 * process died (`.<run_id>.partial/` with no live process) are listed as interrupted, with their last audit event;
 * `--prune` deletes those folders, naming each one.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { inputError } from '../core/errors.js';
import { byCodeUnit } from '../util/order.js';
import { describeEvent, lastAuditEvent, partialRuns } from '../runs/run-folder.js';
import type { RunRow, RunsIndex } from './types.js';
import { headlineMetrics } from '../runs/headline.js';

/**
 * The folder a command's run argument names: a path that exists, as given; a bare word (a run id,
 * `20261201T052010Z-824f4e`, or `<run_id>.failed`) is looked up under the runs root `out` (runs/<pipeline>/<id>, or its
 * `.failed` folder): RUN_NOT_FOUND when no pipeline there has it, RUN_AMBIGUOUS (naming each) when several do. A path
 * that does not exist comes back resolved, for the reader to report (NOT_A_RUN).
 */
export function runFolderOf(arg: string, out = 'runs'): string {
  if (existsSync(arg) || /[\\/]/.test(arg)) return resolve(arg);
  const found: string[] = [];
  const names = arg.endsWith('.failed') ? [arg] : [arg, `${arg}.failed`];
  for (const e of existsSync(out) ? readdirSync(out, { withFileTypes: true }) : []) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue;
    for (const name of names) if (existsSync(join(out, e.name, name))) found.push(join(out, e.name, name));
  }
  if (found.length > 1) throw inputError('RUN_AMBIGUOUS', `run id '${arg}' is ambiguous: matches ${found.sort(byCodeUnit).join(', ')}`);
  if (!found.length) throw inputError('RUN_NOT_FOUND', `no run '${arg}' under ${out}${existsSync(out) ? '' : ` (there is no folder ${out})`}`);
  return resolve(found[0]!);
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
        // Valid JSON that is not a run's manifest ({}, [], a hand edit) is as unreadable as broken JSON; one whose
        // name, id and outcome are there is listed with what it has.
        if (!['name', 'run_id', 'outcome'].every((k) => typeof m?.[k] === 'string')) throw new Error('not a manifest');
        // A selection run's backtest, or a meta run's combined record.
        const h = headlineMetrics(folder);
        const metrics = h && h.sharpe !== null ? Object.fromEntries(Object.entries({ cagr: h.cagr, sharpe: h.sharpe, max_drawdown: h.max_drawdown, volatility: h.volatility, turnover: h.turnover }).filter(([, v]) => v !== null)) : undefined;
        rows.push({
          name: m.name, run_id: m.run_id, folder, outcome: m.outcome, started_at: typeof m.started_at === 'string' ? m.started_at : '', duration_ms: typeof m.duration_ms === 'number' ? m.duration_ms : 0,
          config_hash: typeof m.config_hash === 'string' ? m.config_hash : '', stages: (m.stages ?? []).map((s: { type: string }) => s.type).join(' → '),
          data_hash: m.data_hash ?? null, kind: m.config?.pipeline ?? 'selection',
          // The profile the config was run under (research and production runs of one pipeline side by side).
          profile: typeof m.profile?.name === 'string' ? m.profile.name : null,
          ...(metrics ? { metrics } : {}),
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

/** Runs with a manifest, per pipeline, in the order they started: each is compared with the one before it. */
export function comparePairs(rows: RunRow[]): [RunRow, RunRow][] {
  const byName = new Map<string, RunRow[]>();
  for (const r of rows) if (r.config_hash) byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
  const pairs: [RunRow, RunRow][] = [];
  for (const list of byName.values()) {
    const sorted = [...list].sort((a, b) => byCodeUnit(a.started_at, b.started_at));
    for (let i = 1; i < sorted.length; i++) pairs.push([sorted[i - 1]!, sorted[i]!]);
  }
  return pairs;
}

/**
 * Writes a compare page (`.compare/<pipeline>/<runA>--<runB>.html`) for each run and the run before it, unless it
 * exists (run folders do not change once written); records the link on the later run's row.
 */
export async function writeComparePages(rows: RunRow[], root: string, write = true): Promise<number> {
  const { compareRuns, formatHtml } = await import('./compare.js');
  let written = 0;
  for (const [a, b] of comparePairs(rows)) {
    const page = join('.compare', a.name, `${a.run_id}--${b.run_id}.html`);
    const file = join(root, page);
    if (!write && !existsSync(file)) continue;
    if (!existsSync(file)) {
      try {
        const c = await compareRuns(a.folder, b.folder);
        const back = relative(dirname(file), root);
        const report = (f: string) => {
          const page = ['report.html', 'report.md', 'manifest.json'].find((x) => existsSync(join(f, x)));
          return page ? relative(dirname(file), join(f, page)) : undefined;
        };
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(`${file}.tmp`, formatHtml(c, (s) => report(s.folder), join(back, 'index.html')));
        renameSync(`${file}.tmp`, file);
        written++;
      } catch {
        continue; // an unreadable run: no page, the index still lists it
      }
    }
    b.compare = { with: a.run_id, page };
  }
  return written;
}

const COLUMNS = ['pipeline', 'run', 'outcome', 'profile', 'started', 'time', 'CAGR', 'Sharpe', 'max DD', 'turnover', 'vol', 'config', 'data', 'compare', 'note'] as const;
/** Columns sorted as numbers (the rest as text). */
const NUMERIC = new Set(['time', 'CAGR', 'Sharpe', 'max DD', 'turnover', 'vol']);

export function renderIndex(rows: RunRow[], root: string): { md: string; html: string } {
  const note = (r: RunRow) => (r.outcome === 'succeeded' ? '' : r.error ?? '');
  const cells = (r: RunRow) => [r.name, r.run_id, r.outcome, r.profile ?? '', r.started_at.replace('T', ' ').slice(0, 19), r.duration_ms ? `${(r.duration_ms / 1000).toFixed(1)} s` : '—', pct(r.metrics?.cagr), fix(r.metrics?.sharpe), pct(r.metrics?.max_drawdown), pct(r.metrics?.turnover), pct(r.metrics?.volatility), r.config_hash.slice(0, 8), (r.data_hash ?? '').replace(/^sha256:/, '').slice(0, 8), r.compare ? 'vs previous' : '', note(r)];
  const sortValue = (r: RunRow, col: string) => {
    const x = col === 'time' ? r.duration_ms : col === 'CAGR' ? r.metrics?.cagr : col === 'Sharpe' ? r.metrics?.sharpe : col === 'max DD' ? r.metrics?.max_drawdown : col === 'turnover' ? r.metrics?.turnover : col === 'vol' ? r.metrics?.volatility : undefined;
    return x === undefined || !Number.isFinite(x) ? '' : String(x);
  };
  const link = (r: RunRow) => relative(root, join(r.folder, ['report.html', 'report.md', 'manifest.json', 'FAILED', 'audit.jsonl'].find((f) => existsSync(join(r.folder, f))) ?? ''));
  const counts = (o: string) => rows.filter((r) => r.outcome === o).length;
  const md = [
    `# Runs (${rows.length})`,
    '',
    "Metrics are out of sample; a tournament's are its champion cell's.",
    '',
    `| ${COLUMNS.join(' | ')} |`,
    `|${COLUMNS.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${cells(r).map((c, i) => (COLUMNS[i] === 'run' ? `[${c}](${link(r)})` : COLUMNS[i] === 'compare' && r.compare ? `[vs ${r.compare.with}](${r.compare.page})` : c.replace(/\|/g, '/').replace(/\n/g, ' '))).join(' | ')} |`),
    '',
  ].join('\n');
  const td = (r: RunRow, col: string, c: string) => {
    const sort = NUMERIC.has(col) ? ` data-sort="${esc(sortValue(r, col))}"` : '';
    if (col === 'run') return `<td><a href="${esc(link(r))}">${esc(c)}</a></td>`;
    if (col === 'outcome') return `<td class="${esc(r.outcome)}">${esc(c)}</td>`;
    if (col === 'compare') return `<td>${r.compare ? `<a href="${esc(r.compare.page)}" title="what changed since ${esc(r.compare.with)}">${esc(c)}</a>` : ''}</td>`;
    if (col === 'config') return `<td title="${esc(r.config_hash)}"><code>${esc(c)}</code></td>`;
    if (col === 'data') return `<td title="${esc(r.data_hash ?? '')}"><code>${esc(c)}</code></td>`;
    if (col === 'note') return `<td class="note${r.outcome === 'succeeded' ? '' : ' error'}">${esc(c)}</td>`;
    if (col === 'config' || col === 'data') return `<td><code>${esc(c)}</code></td>`;
    return `<td${NUMERIC.has(col) ? ' class="num"' : ''}${sort}>${esc(c)}</td>`;
  };
  const names = [...new Set(rows.map((r) => r.name))].sort();
  // The HTML table has no note column: a run that did not succeed gets its error on a full-width line below it (one
  // <tbody> per run, so sorting and filtering move the two lines together).
  const shown = COLUMNS.filter((c) => c !== 'note');
  const group = (r: RunRow) => {
    const c = cells(r);
    const main = `<tr>${shown.map((col) => td(r, col, c[COLUMNS.indexOf(col)]!)).join('')}</tr>`;
    const err = note(r) ? `<tr class="error-row"><td colspan="${shown.length}"><span class="${esc(r.outcome)}">${esc(r.outcome)}:</span> ${esc(note(r))}</td></tr>` : '';
    return `<tbody data-outcome="${esc(r.outcome)}" data-pipeline="${esc(r.name)}">${main}${err}</tbody>`;
  };
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Fractal runs</title><style>
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,sans-serif;margin:1.5rem;color:#222}
table{border-collapse:collapse}td,th{padding:.3rem .55rem;text-align:left;vertical-align:top;white-space:nowrap}
tbody{border-bottom:1px solid #e3e3e3}tbody:hover{background:#fafafa}
th{position:sticky;top:0;background:#f3f3f3;cursor:pointer;user-select:none;border-bottom:1px solid #ccc}th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr.error-row td{white-space:normal;padding-top:0;padding-left:1.6rem;font-size:13px;color:#6d1020;max-width:80rem}
code{font-size:12px;color:#555}.failed,.interrupted,.unknown{color:#b00020;font-weight:600}.succeeded{color:#1b7f3b}.running{color:#8a6d00;font-weight:600}
.controls{margin:.6rem 0 1rem;display:flex;gap:.8rem;align-items:center;flex-wrap:wrap}.controls input{width:18rem;padding:.25rem .4rem}.muted{color:#666}
</style></head><body>
<h1>Runs (${rows.length})</h1>
<p class="muted">${['succeeded', 'failed', 'interrupted', 'running'].map((o) => `${counts(o)} ${o}`).join(' · ')}. Click a column to sort; "compare" shows what changed since the pipeline's previous run (config diff, data, metrics, weights). Metrics are out of sample; a tournament's are its champion cell's.</p>
<div class="controls"><label>filter <input id="q" type="search" placeholder="pipeline, run id, error text…"></label>
<label>outcome <select id="outcome"><option value="">all</option>${['succeeded', 'failed', 'interrupted', 'running'].map((o) => `<option>${o}</option>`).join('')}</select></label>
<label>pipeline <select id="pipeline"><option value="">all</option>${names.map((n) => `<option>${esc(n)}</option>`).join('')}</select></label>
<span id="shown" class="muted"></span></div>
<table id="runs"><thead><tr>${shown.map((h) => `<th data-type="${NUMERIC.has(h) ? 'num' : 'text'}">${h}</th>`).join('')}</tr></thead>
${rows.map(group).join('\n')}
</table>
<script>
(() => {
  const table = document.getElementById('runs');
  const groups = [...table.tBodies];
  const q = document.getElementById('q'), outcome = document.getElementById('outcome'), pipeline = document.getElementById('pipeline');
  const filter = () => {
    const text = q.value.trim().toLowerCase();
    let n = 0;
    for (const g of groups) {
      const show = (!outcome.value || g.dataset.outcome === outcome.value) && (!pipeline.value || g.dataset.pipeline === pipeline.value) && (!text || g.textContent.toLowerCase().includes(text));
      g.hidden = !show;
      if (show) n++;
    }
    document.getElementById('shown').textContent = n === groups.length ? '' : n + ' of ' + groups.length + ' shown';
  };
  for (const el of [q, outcome, pipeline]) el.addEventListener('input', filter);
  table.querySelectorAll('th').forEach((th, i) => th.addEventListener('click', () => {
    const dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
    table.querySelectorAll('th').forEach((h) => h.removeAttribute('aria-sort'));
    th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
    const num = th.dataset.type === 'num';
    const key = (g) => { const c = g.rows[0].cells[i]; return num ? (c.dataset.sort === '' ? NaN : Number(c.dataset.sort)) : c.textContent; };
    groups.sort((a, b) => {
      const x = key(a), y = key(b);
      if (num) return Number.isNaN(x) ? (Number.isNaN(y) ? 0 : 1) : Number.isNaN(y) ? -1 : (x - y) * dir;
      return x.localeCompare(y) * dir;
    });
    for (const g of groups) table.appendChild(g);
  }));
})();
</script>
</body></html>
`;
  return { md, html };
}

/** The runs root, resolved; NO_RUNS (exit 2) when it does not exist. */
function runsRoot(out: string): string {
  const root = resolve(out);
  if (!existsSync(root)) throw inputError('NO_RUNS', `no runs folder at ${out}`, 'Run a pipeline first, or point --out at the runs root.');
  return root;
}

/**
 * Every run under the runs root `out` (default `runs`), newest first: outcome, config hash, duration, the key
 * backtest metrics; interrupted and running runs with their last audit event; the compare page an earlier
 * writeRunsIndex wrote against the pipeline's previous run. Writes nothing. FractalError NO_RUNS (exit 2) when `out`
 * does not exist.
 */
export async function listRuns(out = 'runs'): Promise<RunRow[]> {
  const root = runsRoot(out);
  const rows = collectRuns(root);
  await writeComparePages(rows, root, false);
  return rows;
}

/** Deletes the folders of interrupted runs (their process is gone) under `out`; returns the runs removed. */
export function pruneRuns(out = 'runs', opts: { keep?: number } = {}): RunRow[] {
  const root = runsRoot(out);
  const rows = collectRuns(root);
  const gone = rows.filter((r) => r.outcome === 'interrupted');
  if (opts.keep !== undefined) gone.push(...olderThanKept(root, rows, opts.keep));
  for (const r of gone) rmSync(r.folder, { recursive: true, force: true });
  if (opts.keep !== undefined) forgetRemoved(root, gone);
  return gone;
}

/**
 * The finished runs (succeeded or failed) of each pipeline beyond its `keep` newest, except those a kept run still
 * points into: a meta's cached sleeves (sleeves.json) and a tournament's cached cells (tournament.json) are other
 * runs' folders. Running and interrupted runs are not counted.
 */
function olderThanKept(root: string, rows: RunRow[], keep: number): RunRow[] {
  const finished = rows.filter((r) => r.outcome === 'succeeded' || r.outcome === 'failed' || r.outcome === 'unreadable manifest');
  const byPipeline = new Map<string, RunRow[]>();
  for (const r of finished) byPipeline.set(dirname(r.folder), [...(byPipeline.get(dirname(r.folder)) ?? []), r]);
  const kept = new Set<string>();
  const candidates: RunRow[] = [];
  for (const list of byPipeline.values()) {
    // Newest first: by start time, then by id (a run id begins with the second it started).
    const sorted = [...list].sort((a, b) => byCodeUnit(b.started_at, a.started_at) || byCodeUnit(b.run_id, a.run_id));
    sorted.slice(0, keep).forEach((r) => kept.add(r.folder));
    candidates.push(...sorted.slice(keep));
  }
  // What the kept runs point into stays, and what that points into (a nested meta), until nothing is added.
  const topOf = (p: string): string | undefined => {
    const rel = relative(root, p).split('/');
    return rel.length >= 2 && rel[0] !== '..' ? join(root, rel[0]!, rel[1]!) : undefined;
  };
  const queue = [...kept];
  while (queue.length) {
    const folder = queue.pop()!;
    for (const ref of referencedRuns(folder)) {
      const top = topOf(ref);
      if (top && !kept.has(top)) {
        kept.add(top);
        queue.push(top);
      }
    }
  }
  return candidates.filter((r) => !kept.has(r.folder));
}

/** The run folders a run points into, resolved: its sleeves' and cells' runs, nested ones included. */
function referencedRuns(folder: string): string[] {
  const out: string[] = [];
  const read = (file: string) => {
    try {
      return JSON.parse(readFileSync(join(folder, file), 'utf8')) as { sleeves?: { run?: unknown }[]; cells?: { run?: unknown }[] };
    } catch {
      return undefined;
    }
  };
  for (const s of read('sleeves.json')?.sleeves ?? []) if (typeof s.run === 'string') out.push(resolve(folder, s.run));
  for (const c of read('tournament.json')?.cells ?? []) if (typeof c.run === 'string') out.push(resolve(folder, c.run));
  // A run's own children (sleeves/, cells/) may be metas or tournaments pointing elsewhere in turn.
  for (const group of ['sleeves', 'cells']) {
    const dir = join(folder, group);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) for (const run of existsSync(join(dir, name)) ? readdirSync(join(dir, name)) : []) out.push(...referencedRuns(join(dir, name, run)));
  }
  return out;
}

/**
 * After runs were removed: the cached results that pointed into them (a later meta served from the cache would point
 * at a folder that is gone) and the compare pages that named them.
 */
function forgetRemoved(root: string, gone: RunRow[]): void {
  if (!gone.length) return;
  const removed = gone.map((r) => r.folder);
  const inside = (p: string) => removed.some((f) => p === f || p.startsWith(`${f}/`));
  const cache = join(root, '.cache', 'sleeves');
  for (const f of existsSync(cache) ? readdirSync(cache) : []) {
    try {
      const run = (JSON.parse(readFileSync(join(cache, f), 'utf8')) as { run?: unknown }).run;
      if (typeof run === 'string' && inside(resolve(root, run))) rmSync(join(cache, f), { force: true });
    } catch {
      /* unreadable: a miss already */
    }
  }
  const ids = new Set(gone.map((r) => r.run_id.replace(/\.failed$/, '')));
  const compare = join(root, '.compare');
  for (const pipeline of existsSync(compare) ? readdirSync(compare) : []) {
    for (const page of readdirSync(join(compare, pipeline))) if ([...ids].some((id) => page.includes(id))) rmSync(join(compare, pipeline, page), { force: true });
  }
}

/**
 * Writes the runs root's index (index.md, index.html: every run, sortable and filterable) and a compare page for
 * each run and the pipeline's run before it. FractalError NO_RUNS (exit 2) when `out` does not exist.
 */
export async function writeRunsIndex(out = 'runs'): Promise<RunsIndex> {
  const root = runsRoot(out);
  const rows = collectRuns(root);
  const comparePages = await writeComparePages(rows, root);
  const { md, html } = renderIndex(rows, root);
  for (const [name, text] of [['index.md', md], ['index.html', html]] as const) {
    writeFileSync(join(root, `${name}.tmp`), text);
    renameSync(join(root, `${name}.tmp`), join(root, name));
  }
  return { html: join(root, 'index.html'), md: join(root, 'index.md'), rows, comparePages };
}
