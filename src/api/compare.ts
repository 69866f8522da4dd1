/**
 * compareRuns(folderA, folderB) (`pipeline-run compare <runA> <runB> [--format md|json|html]`): what changed between two runs, read back from their
 * folders: the resolved configs' diff (as `plan --diff` prints it; a meta run's sleeves too), the data and code
 * identities, the metrics side by side with their differences, how the daily out-of-sample returns track each other
 * on their common days, and the weights that changed most. Works on selection and meta runs (and across them), and on
 * tournaments: their champion cells' records, and every cell's side by side.
 */
import { runManifest } from '../runs/manifest.js';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { ResolvedConfig } from '../core/resolved-config.js';
import { decodeNumericColumns } from '../runs/arrow.js';
import type { ConfigChange as Change } from './types.js';
import { changeLines, diffValues, keyed } from './plan.js';
import { readRunJson, type Json } from './trace.js';
import { championOf } from '../runs/headline.js';


const readJson = readRunJson;

/** What compare reads of one run. */
export interface RunSide {
  folder: string;
  name: string;
  run_id: string;
  outcome: string;
  started_at: string;
  kind: string;
  config_hash: string;
  data_hash: string | null;
  fractal_version: string | null;
  git: { commit: string; dirty: boolean } | null;
  plugin_modules: { path: string; sha256: string }[];
  error: { code: string; message: string } | null;
  /** The out-of-sample record compared: a selection run's `backtest` block, a meta run's `meta` block, a tournament's champion cell. */
  record: 'backtest' | 'meta' | 'champion' | null;
  /** A tournament: its champion cell's id (the record compared) and run folder. */
  champion: { cell: string; run: string | null } | null;
  metrics: Json | null;
}

/** One tournament cell in two runs: its out-of-sample figures in each (null where the run has no such cell). */
export interface CellRow {
  cell: string;
  a: CellFigures | null;
  b: CellFigures | null;
}

export interface CellFigures {
  outcome: string;
  rank: number | null;
  sharpe: number | null;
  cagr: number | null;
  max_drawdown: number | null;
  /** Share of paired bootstrap resamples in which the cell's Sharpe beats the champion's. */
  p_beats_champion: number | null;
}

export interface MetricRow {
  metric: string;
  a: number | null;
  b: number | null;
  /** b − a. */
  difference: number | null;
  unit: 'fraction' | 'ratio' | 'count';
}

export interface WeightChange {
  symbol: string;
  a: number;
  b: number;
  change: number;
}

export interface Comparison {
  a: RunSide;
  b: RunSide;
  config: { same: boolean; changes: Change[] };
  /** Meta runs: each sleeve's resolved config, diffed when both runs have its run folder. */
  sleeves: { sleeve: string; same: boolean; changes: Change[]; note?: string }[];
  data: { same: boolean; a: string | null; b: string | null };
  metrics: MetricRow[];
  /** The two daily out-of-sample return series on the days they share. */
  returns: { common_days: number; first: string | null; last: string | null; correlation: number | null; tracking_error: number | null; identical: boolean } | null;
  /** Physical weights at each run's as-of date (weights.json), largest change first. */
  weights: { as_of: { a: string | null; b: string | null }; changes: WeightChange[]; unchanged: number };
  /** Meta runs: the sleeve weights (meta_weights.json). */
  meta_weights: WeightChange[] | null;
  /** Tournaments: every cell of either run, by B's rank (then A's). */
  cells: CellRow[] | null;
  /** Tournaments: what the whole comparison of cells said in each run (null for a run that is not a tournament). */
  tournament: { a: TournamentFigures | null; b: TournamentFigures | null } | null;
}

/** A tournament's own figures: its cells, the best of them, and the statistics about the search (tournament.json). */
export interface TournamentFigures {
  cells: number;
  best: string | null;
  best_sharpe: number | null;
  best_dsr: number | null;
  /** SR0, annualised: what the best of the cells reaches by luck alone. */
  threshold_sharpe: number | null;
  pbo: number | null;
  /** Cells whose Holm-adjusted Ledoit–Wolf p against the champion is below 0.05 with a higher Sharpe; null for a tournament made before Holm's adjustment was recorded. */
  beat_champion: string[] | null;
}

const LABELS: Record<string, string> = { cagr: 'CAGR', total_return: 'total return', volatility: 'volatility (annual)', sharpe: 'Sharpe', sortino: 'Sortino', max_drawdown: 'max drawdown', calmar: 'Calmar', hit_rate: 'hit rate', turnover: 'turnover per rebalance', costs: 'trading costs (total)', days: 'days', windows: 'windows', rebalances: 'meta rebalances' };
const labelOf = (metric: string) => LABELS[metric] ?? metric.replace(/_/g, ' ');

const METRICS: [string, MetricRow['unit']][] = [
  ['cagr', 'fraction'], ['total_return', 'fraction'], ['volatility', 'fraction'], ['sharpe', 'ratio'], ['sortino', 'ratio'],
  ['max_drawdown', 'fraction'], ['calmar', 'ratio'], ['hit_rate', 'fraction'], ['turnover', 'fraction'], ['costs', 'fraction'],
  ['days', 'count'], ['windows', 'count'], ['rebalances', 'count'],
];

function side(folder: string): RunSide & { manifest: Json } {
  const manifest = runManifest(folder, readJson(folder, 'manifest.json'), 'Give two folders `pipeline-run` printed (runs/<name>/<run_id>), or run ids of runs under the runs root (--out).');
  const all = readJson(folder, 'metrics.json') ?? {};
  const champion = championOf(readJson(folder, 'tournament.json'));
  const record = all.backtest ? 'backtest' : all.meta ? 'meta' : champion ? 'champion' : null;
  return {
    manifest,
    folder,
    name: manifest.name,
    run_id: manifest.run_id,
    outcome: manifest.outcome,
    started_at: manifest.started_at,
    kind: manifest.config?.pipeline ?? 'selection',
    config_hash: manifest.config_hash,
    data_hash: manifest.data_hash ?? null,
    fractal_version: manifest.fractal_version ?? null,
    git: manifest.git ? { commit: manifest.git.commit, dirty: manifest.git.dirty } : null,
    plugin_modules: manifest.plugin_modules ?? [],
    error: manifest.error ? { code: manifest.error.code, message: manifest.error.message } : null,
    record,
    champion: champion ? { cell: champion.id, run: champion.run } : null,
    metrics: record === 'champion' ? champion!.metrics : record ? all[record] : null,
  };
}

/** Each cell of a tournament run by id, with the figures compare shows. */
function cellFigures(folder: string): Map<string, CellFigures> {
  const cells = (readJson(folder, 'tournament.json')?.cells ?? []) as Json[];
  const out = new Map<string, CellFigures>();
  for (const c of cells) {
    if (typeof c.id !== 'string') continue;
    const m = (c.metrics ?? {}) as Json;
    out.set(c.id, { outcome: typeof c.outcome === 'string' ? c.outcome : 'unknown', rank: num(c.rank), sharpe: num(m.sharpe), cagr: num(m.cagr), max_drawdown: num(m.max_drawdown), p_beats_champion: num(c.p_beats_champion) });
  }
  return out;
}

function tournamentFigures(folder: string): TournamentFigures | null {
  const j = readJson(folder, 'tournament.json');
  if (!j) return null;
  const cells = (Array.isArray(j.cells) ? j.cells : []) as Json[];
  const best = cells.find((c) => c.rank === 1);
  const ppy = num(j.periods_per_year) ?? 365;
  const sr0 = num((j.deflation as Json | undefined)?.threshold_sharpe);
  return {
    cells: cells.filter((c) => c.outcome === 'succeeded').length,
    best: typeof best?.id === 'string' ? best.id : null,
    best_sharpe: num((best?.metrics as Json | undefined)?.sharpe),
    best_dsr: num(best?.dsr),
    threshold_sharpe: sr0 === null ? null : sr0 * Math.sqrt(ppy),
    pbo: num((j.pbo as Json | undefined)?.value),
    // Made before Holm's adjustment was recorded: not known (null), rather than "none".
    beat_champion: cells.some((c) => num((c.sharpe_test as Json | undefined)?.p_holm) !== null) ? cells.filter((c) => { const p = num((c.sharpe_test as Json | undefined)?.p_holm); return p !== null && p < 0.05 && num((c.sharpe_test as Json).delta)! > 0; }).map((c) => String(c.id)) : null,
  };
}

function cellRows(a: RunSide, b: RunSide): CellRow[] | null {
  if (a.kind !== 'tournament' && b.kind !== 'tournament') return null;
  const ca = cellFigures(a.folder);
  const cb = cellFigures(b.folder);
  const rank = (f: CellFigures | null | undefined) => f?.rank ?? Infinity;
  return [...new Set([...ca.keys(), ...cb.keys()])]
    .map((cell) => ({ cell, a: ca.get(cell) ?? null, b: cb.get(cell) ?? null }))
    .sort((x, y) => rank(x.b) - rank(y.b) || rank(x.a) - rank(y.a) || (x.cell < y.cell ? -1 : 1));
}

const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

function weightChanges(a: Map<string, number>, b: Map<string, number>): { changes: WeightChange[]; unchanged: number } {
  const symbols = [...new Set([...a.keys(), ...b.keys()])];
  const all = symbols.map((symbol) => ({ symbol, a: a.get(symbol) ?? 0, b: b.get(symbol) ?? 0, change: (b.get(symbol) ?? 0) - (a.get(symbol) ?? 0) }));
  const changes = all.filter((w) => Math.abs(w.change) > 1e-12).sort((x, y) => Math.abs(y.change) - Math.abs(x.change) || (x.symbol < y.symbol ? -1 : 1));
  return { changes, unchanged: all.length - changes.length };
}

const weightsOf = (list: unknown): Map<string, number> => new Map(Array.isArray(list) ? (list as Json[]).filter((w) => typeof w.symbol === 'string' && typeof w.weight === 'number').map((w) => [w.symbol as string, w.weight as number]) : []);

async function returnsOf(folder: string): Promise<{ dates: Int32Array; r: Float64Array } | undefined> {
  const f = join(folder, 'returns.arrow');
  if (!existsSync(f)) return undefined;
  const cols = await decodeNumericColumns(readFileSync(f));
  return cols.date && cols.return ? { dates: cols.date as Int32Array, r: cols.return as Float64Array } : undefined;
}

const iso = (d: number) => new Date(d * 86_400_000).toISOString().slice(0, 10);

/** Correlation and annualised tracking error of two daily series on the days both have a finite return. */
function tracking(a: { dates: Int32Array; r: Float64Array }, b: { dates: Int32Array; r: Float64Array }, ppy: number): Comparison['returns'] {
  const at = new Map<number, number>();
  a.dates.forEach((d, i) => at.set(d, i));
  const xa: number[] = [];
  const xb: number[] = [];
  const days: number[] = [];
  b.dates.forEach((d, j) => {
    const i = at.get(d);
    if (i === undefined || !Number.isFinite(a.r[i]!) || !Number.isFinite(b.r[j]!)) return;
    xa.push(a.r[i]!);
    xb.push(b.r[j]!);
    days.push(d);
  });
  const n = xa.length;
  if (!n) return { common_days: 0, first: null, last: null, correlation: null, tracking_error: null, identical: false };
  const mean = (x: number[]) => x.reduce((s, v) => s + v, 0) / x.length;
  const ma = mean(xa);
  const mb = mean(xb);
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (xa[i]! - ma) * (xb[i]! - mb);
    saa += (xa[i]! - ma) ** 2;
    sbb += (xb[i]! - mb) ** 2;
  }
  const diff = xa.map((x, i) => xb[i]! - x);
  const md = mean(diff);
  const sd = n > 1 ? Math.sqrt(diff.reduce((s, v) => s + (v - md) ** 2, 0) / (n - 1)) : NaN;
  return {
    common_days: n,
    first: iso(days[0]!),
    last: iso(days[n - 1]!),
    correlation: saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : null,
    tracking_error: Number.isFinite(sd) ? sd * Math.sqrt(ppy) : null,
    identical: diff.every((x) => x === 0),
  };
}

/** Sleeve configs of a meta run, by sleeve name, from the sleeves' own run folders. */
function sleeveConfigs(s: RunSide): Map<string, ResolvedConfig | undefined> {
  const out = new Map<string, ResolvedConfig | undefined>();
  const list = (readJson(s.folder, 'sleeves.json')?.sleeves ?? []) as { name: string; run: string | null }[];
  for (const x of list) {
    const dir = x.run ? (x.run.startsWith('/') ? x.run : join(s.folder, x.run)) : undefined;
    out.set(x.name, dir && existsSync(join(dir, 'manifest.json')) ? (readJson(dir, 'manifest.json')!.config as ResolvedConfig) : undefined);
  }
  return out;
}

export async function compareRuns(folderA: string, folderB: string, top = 15): Promise<Comparison> {
  const { manifest: ma, ...a } = side(resolve(folderA));
  const { manifest: mb, ...b } = side(resolve(folderB));
  const changes = ma.config && mb.config ? diffValues(keyed(ma.config as ResolvedConfig), keyed(mb.config as ResolvedConfig)) : [];
  const sleeves: Comparison['sleeves'] = [];
  if (a.kind === 'meta' && b.kind === 'meta') {
    const sa = sleeveConfigs(a);
    const sb = sleeveConfigs(b);
    for (const name of [...new Set([...sa.keys(), ...sb.keys()])].sort()) {
      const ca = sa.get(name);
      const cb = sb.get(name);
      if (!sa.has(name) || !sb.has(name)) sleeves.push({ sleeve: name, same: false, changes: [], note: sa.has(name) ? 'only in A' : 'only in B' });
      else if (!ca || !cb) sleeves.push({ sleeve: name, same: false, changes: [], note: 'its run folder is gone (vetoed, failed or pruned): not compared' });
      else {
        const c = diffValues(keyed(ca), keyed(cb));
        sleeves.push({ sleeve: name, same: !c.length, changes: c });
      }
    }
  }
  const metrics: MetricRow[] = METRICS.filter(([m]) => a.metrics?.[m] !== undefined || b.metrics?.[m] !== undefined).map(([metric, unit]) => {
    const x = num(a.metrics?.[metric]);
    const y = num(b.metrics?.[metric]);
    return { metric, a: x, b: y, difference: x !== null && y !== null ? y - x : null, unit };
  });
  // A tournament's daily record is its champion cell's (the record compared).
  const recordFolder = (s: RunSide) => (s.champion?.run ? join(s.folder, s.champion.run) : s.folder);
  const ra = await returnsOf(recordFolder(a));
  const rb = await returnsOf(recordFolder(b));
  const ppy = num(a.metrics?.periods_per_year) ?? num(b.metrics?.periods_per_year) ?? 365;
  const wa = readJson(a.folder, 'weights.json');
  const wb = readJson(b.folder, 'weights.json');
  const w = weightChanges(weightsOf(wa), weightsOf(wb));
  const metaA = readJson(a.folder, 'meta_weights.json');
  const metaB = readJson(b.folder, 'meta_weights.json');
  return {
    a,
    b,
    config: { same: a.config_hash === b.config_hash, changes },
    sleeves,
    data: { same: a.data_hash === b.data_hash, a: a.data_hash, b: b.data_hash },
    metrics,
    returns: ra && rb ? tracking(ra, rb, ppy) : null,
    weights: { as_of: { a: (a.metrics?.weights_as_of as string | undefined) ?? null, b: (b.metrics?.weights_as_of as string | undefined) ?? null }, changes: w.changes.slice(0, top), unchanged: w.unchanged },
    meta_weights: metaA && metaB ? weightChanges(weightsOf(metaA), weightsOf(metaB)).changes : null,
    cells: cellRows(a, b),
    tournament: a.kind === 'tournament' || b.kind === 'tournament' ? { a: tournamentFigures(a.folder), b: tournamentFigures(b.folder) } : null,
  };
}

/** The tournament block's rows: label, then how each side shows. */
function tournamentRows(t: NonNullable<Comparison['tournament']>): [string, string, string][] {
  const f = (x: TournamentFigures | null, show: (y: TournamentFigures) => string) => (x ? show(x) : '—');
  const rows: [string, (y: TournamentFigures) => string][] = [
    ['cells that ran', (y) => String(y.cells)],
    ['best cell (Sharpe)', (y) => (y.best ? `${y.best} (${fix(y.best_sharpe)})` : '—')],
    ["best cell's DSR", (y) => fix(y.best_dsr)],
    ['SR0: the best Sharpe luck alone gives', (y) => fix(y.threshold_sharpe)],
    ['PBO', (y) => fix(y.pbo)],
    ['beat the champion (Holm p < 0.05, higher Sharpe)', (y) => (y.beat_champion === null ? '—' : y.beat_champion.length ? y.beat_champion.join(', ') : 'none')],
  ];
  return rows.map(([k, show]) => [k, f(t.a, show), f(t.b, show)]);
}

/** What the record compared is, for the metrics' heading: "backtest", "meta", "champion cell hrp_mps_30". */
const recordLabel = (s: RunSide) => (s.record === 'champion' ? `champion cell ${s.champion!.cell}` : s.record ?? '—');
/** Neither run holds weights of its own (two tournaments: their weights are their cells'). */
const noWeights = (c: Comparison) => c.a.kind === 'tournament' && c.b.kind === 'tournament';

const pct = (x: number | null, sign = false) => (x === null ? '—' : `${sign && x > 0 ? '+' : ''}${(x * 100).toFixed(2)}%`);
const fix = (x: number | null, sign = false) => (x === null ? '—' : `${sign && x > 0 ? '+' : ''}${x.toFixed(3)}`);
/** A probability to three places, never rounded to a certainty it is not (0.9996 is "> 0.999"). */
const prob = (x: number | null) => (x === null ? '—' : x > 0.999 && x < 1 ? '> 0.999' : x < 0.001 && x > 0 ? '< 0.001' : x.toFixed(3));
const count = (x: number | null, sign = false) => (x === null ? '—' : `${sign && x > 0 ? '+' : ''}${Math.round(x)}`);
const fmt = (row: MetricRow, x: number | null, sign = false) => (row.unit === 'fraction' ? (sign && x !== null ? `${x > 0 ? '+' : ''}${(x * 100).toFixed(2)} pts` : pct(x)) : row.unit === 'ratio' ? fix(x, sign) : count(x, sign));
const label = (s: RunSide) => `${s.name} ${s.run_id}`;

/** The headline sentence: what changed (config, data, code) and what it did to the Sharpe and CAGR. */
function summaryLine(c: Comparison): string {
  const what = [c.config.same ? null : `config (${c.config.changes.length} change${c.config.changes.length === 1 ? '' : 's'})`, c.sleeves.some((s) => !s.same) ? 'sleeve configs' : null, c.data.same ? null : 'data', c.a.fractal_version !== c.b.fractal_version || c.a.git?.commit !== c.b.git?.commit ? 'code' : null].filter(Boolean);
  const sharpe = c.metrics.find((m) => m.metric === 'sharpe');
  const cagr = c.metrics.find((m) => m.metric === 'cagr');
  const effect = sharpe?.difference !== null && sharpe?.difference !== undefined ? `; Sharpe ${fix(sharpe.a)} → ${fix(sharpe.b)}${cagr && cagr.difference !== null ? `, CAGR ${pct(cagr.a)} → ${pct(cagr.b)}` : ''}` : '';
  const t = c.tournament;
  const best = t?.a && t?.b ? (t.a.best === t.b.best ? `${t.a.best ?? '—'} (unchanged)` : `${t.a.best ?? '—'} → ${t.b.best ?? '—'}`) : '';
  const search = t?.a && t?.b ? `; best cell ${best}, PBO ${fix(t.a.pbo)} → ${fix(t.b.pbo)}` : '';
  return `${what.length ? `Changed: ${what.join(', ')}` : 'Same config, data and code'}${effect}${search}.`;
}

export function formatMarkdown(c: Comparison): string {
  const L: string[] = [`# Compare ${c.a.name === c.b.name ? c.a.name : `${c.a.name} and ${c.b.name}`}`, '', summaryLine(c), ''];
  L.push('| | A | B |', '|---|---|---|');
  const row = (k: string, f: (s: RunSide) => string) => L.push(`| ${k} | ${f(c.a)} | ${f(c.b)} |`);
  row('run', (s) => `\`${s.run_id}\` (${s.name})`);
  row('started', (s) => s.started_at.replace('T', ' ').slice(0, 19));
  row('outcome', (s) => (s.error ? `${s.outcome}: [${s.error.code}] ${s.error.message.replace(/\|/g, '/').slice(0, 120)}` : s.outcome));
  row('kind', (s) => s.kind);
  row('config', (s) => `\`${s.config_hash.slice(0, 16)}\``);
  row('data', (s) => (s.data_hash ? `\`${s.data_hash.slice(0, 23)}\`` : '—'));
  row('code', (s) => `${s.fractal_version ?? '?'}${s.git ? ` @ ${s.git.commit?.slice(0, 10) ?? 'no commit yet'}${s.git.dirty ? ' (dirty)' : ''}` : ''}`);
  if (c.a.plugin_modules.length || c.b.plugin_modules.length) row('plugin modules', (s) => s.plugin_modules.map((p) => `${p.path} \`${p.sha256.slice(7, 19)}\``).join('<br>') || '—');
  L.push('', '## Config', '');
  if (c.config.same) L.push('The resolved configs are identical.');
  else L.push('```diff', `--- A ${label(c.a)}  sha256:${c.a.config_hash.slice(0, 16)}`, `+++ B ${label(c.b)}  sha256:${c.b.config_hash.slice(0, 16)}`, ...changeLines(c.config.changes), '```');
  for (const s of c.sleeves) {
    if (s.same) continue;
    L.push('', `Sleeve \`${s.sleeve}\`: ${s.note ?? ''}`);
    if (s.changes.length) L.push('', '```diff', ...changeLines(s.changes), '```');
  }
  L.push('', '## Data', '', c.data.same ? `The same data: \`${c.data.a ?? 'none'}\`.` : `Different data: A \`${c.data.a ?? 'none'}\`, B \`${c.data.b ?? 'none'}\`.`);
  if (c.metrics.length) {
    L.push('', `## Metrics (out of sample: ${recordLabel(c.a)} record of A, ${recordLabel(c.b)} record of B)`, '', '| metric | A | B | B − A |', '|---|---:|---:|---:|');
    for (const m of c.metrics) L.push(`| ${labelOf(m.metric)} | ${fmt(m, m.a)} | ${fmt(m, m.b)} | ${fmt(m, m.difference, true)} |`);
  } else L.push('', '## Metrics', '', 'Neither run has an out-of-sample record.');
  if (c.returns) {
    const r = c.returns;
    L.push('', '## Daily returns', '', r.common_days ? (r.identical ? `Identical on the ${r.common_days} days they share (${r.first} to ${r.last}).` : `On the ${r.common_days} days they share (${r.first} to ${r.last}): correlation ${fix(r.correlation)}, tracking error ${pct(r.tracking_error)} a year.`) : 'The two records share no day.');
  }
  if (c.tournament) {
    L.push('', '## Tournament (the search over cells: the choice among them is in sample; docs/tournaments.md)', '', '| | A | B |', '|---|---|---|');
    for (const [k, x, y] of tournamentRows(c.tournament)) L.push(`| ${k} | ${x} | ${y} |`);
  }
  if (c.cells) {
    L.push('', '## Cells (out of sample; by rank in B)', '', '| cell | rank A | rank B | Sharpe A | Sharpe B | CAGR A | CAGR B | P(beats champion) A | P(beats champion) B |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of c.cells) L.push(`| ${r.cell}${cellNote(c, r)} | ${cellText(r.a, (f) => count(f.rank))} | ${cellText(r.b, (f) => count(f.rank))} | ${cellText(r.a, (f) => fix(f.sharpe))} | ${cellText(r.b, (f) => fix(f.sharpe))} | ${cellText(r.a, (f) => pct(f.cagr))} | ${cellText(r.b, (f) => pct(f.cagr))} | ${cellText(r.a, (f) => prob(f.p_beats_champion))} | ${cellText(r.b, (f) => prob(f.p_beats_champion))} |`);
  }
  if (!noWeights(c)) {
    L.push('', `## Weights that changed most (A as of ${c.weights.as_of.a ?? '—'}, B as of ${c.weights.as_of.b ?? '—'})`, '');
    if (!c.weights.changes.length) L.push(`No weight changed${c.weights.unchanged ? ` (${c.weights.unchanged} holdings)` : ''}.`);
    else {
      L.push('| symbol | A | B | change |', '|---|---:|---:|---:|');
      for (const w of c.weights.changes) L.push(`| ${w.symbol} | ${pct(w.a)} | ${pct(w.b)} | ${pct(w.change, true)} |`);
      if (c.weights.unchanged) L.push('', `${c.weights.unchanged} other holding(s) unchanged.`);
    }
  }
  if (c.meta_weights?.length) {
    L.push('', '## Sleeve weights', '', '| sleeve | A | B | change |', '|---|---:|---:|---:|');
    for (const w of c.meta_weights) L.push(`| ${w.symbol} | ${pct(w.a)} | ${pct(w.b)} | ${pct(w.change, true)} |`);
  }
  return `${L.join('\n')}\n`;
}

/** A cell's figure in one run: '—' where the run has no such cell, its outcome where it did not succeed. */
const cellText = (f: CellFigures | null, show: (f: CellFigures) => string) => (!f ? '—' : f.outcome !== 'succeeded' ? f.outcome : show(f));
/** Which cell is each run's champion. */
const cellNote = (c: Comparison, r: CellRow) => {
  const of = [c.a.champion?.cell === r.cell ? 'A' : null, c.b.champion?.cell === r.cell ? 'B' : null].filter(Boolean);
  return of.length ? ` (champion of ${of.join(' and ')})` : '';
};

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A self-contained page (no script, no network), for the runs index. `link` makes a run's report link, or none. */
export function formatHtml(c: Comparison, link: (s: RunSide) => string | undefined = () => undefined, indexHref?: string): string {
  const runCell = (s: RunSide) => {
    const href = link(s);
    return href ? `<a href="${esc(href)}">${esc(s.run_id)}</a>` : esc(s.run_id);
  };
  const rows: [string, (s: RunSide) => string][] = [
    ['run', (s) => `${runCell(s)} <span class="muted">${esc(s.name)}</span>`],
    ['started', (s) => esc(s.started_at.replace('T', ' ').slice(0, 19))],
    ['outcome', (s) => `<span class="${esc(s.outcome)}">${esc(s.outcome)}</span>${s.error ? `: [${esc(s.error.code)}] ${esc(s.error.message)}` : ''}`],
    ['config', (s) => `<code>${esc(s.config_hash.slice(0, 16))}</code>`],
    ['data', (s) => (s.data_hash ? `<code>${esc(s.data_hash.slice(0, 23))}</code>` : '—')],
    ['code', (s) => esc(`${s.fractal_version ?? '?'}${s.git ? ` @ ${s.git.commit?.slice(0, 10) ?? 'no commit yet'}${s.git.dirty ? ' (dirty)' : ''}` : ''}`)],
  ];
  const diffLine = (l: string) => `<span class="${l[0] === '+' ? 'add' : l[0] === '-' ? 'del' : 'chg'}">${esc(l)}</span>`;
  const parts: string[] = [
    `<h1>Compare ${esc(c.a.name === c.b.name ? c.a.name : `${c.a.name} and ${c.b.name}`)}</h1><p>${esc(summaryLine(c))}</p>`,
    `<table><tr><th></th><th>A</th><th>B</th></tr>${rows.map(([k, f]) => `<tr><td>${k}</td><td>${f(c.a)}</td><td>${f(c.b)}</td></tr>`).join('')}</table>`,
    '<h2>Config</h2>',
    c.config.same ? '<p>The resolved configs are identical.</p>' : `<pre>${c.config.changes.length ? changeLines(c.config.changes).map(diffLine).join('\n') : ''}</pre>`,
    ...c.sleeves.filter((s) => !s.same).map((s) => `<p>Sleeve <code>${esc(s.sleeve)}</code>${s.note ? `: ${esc(s.note)}` : ''}</p>${s.changes.length ? `<pre>${changeLines(s.changes).map(diffLine).join('\n')}</pre>` : ''}`),
    `<h2>Data</h2><p>${c.data.same ? `The same data: <code>${esc(c.data.a ?? 'none')}</code>.` : `Different data: A <code>${esc(c.data.a ?? 'none')}</code>, B <code>${esc(c.data.b ?? 'none')}</code>.`}</p>`,
  ];
  if (c.metrics.length) parts.push(`<h2>Metrics <span class="muted">(out of sample: ${esc(recordLabel(c.a))} record of A, ${esc(recordLabel(c.b))} record of B)</span></h2><table><tr><th>metric</th><th>A</th><th>B</th><th>B − A</th></tr>${c.metrics.map((m) => `<tr><td>${esc(labelOf(m.metric))}</td><td class="num">${fmt(m, m.a)}</td><td class="num">${fmt(m, m.b)}</td><td class="num ${m.difference !== null && m.difference !== 0 ? (m.difference > 0) === (m.metric !== 'volatility' && m.metric !== 'turnover' && m.metric !== 'costs') ? 'better' : 'worse' : ''}">${fmt(m, m.difference, true)}</td></tr>`).join('')}</table>`);
  if (c.returns) {
    const r = c.returns;
    parts.push(`<p class="muted">${r.common_days ? (r.identical ? `Daily returns identical on the ${r.common_days} days they share.` : `Daily returns on the ${r.common_days} days they share (${r.first} to ${r.last}): correlation ${fix(r.correlation)}, tracking error ${pct(r.tracking_error)} a year.`) : 'The two records share no day.'}</p>`);
  }
  if (c.tournament)
    parts.push(`<h2>Tournament <span class="muted">(the search over cells: the choice among them is in sample)</span></h2><table><tr><th></th><th>A</th><th>B</th></tr>${tournamentRows(c.tournament).map(([k, x, y]) => `<tr><td>${esc(k)}</td><td>${esc(x)}</td><td>${esc(y)}</td></tr>`).join('')}</table>`);
  if (c.cells) {
    const num = (f: (x: CellFigures) => string) => (x: CellFigures | null) => `<td class="num">${esc(cellText(x, f))}</td>`;
    const cols: [string, (x: CellFigures | null) => string][] = [['rank', num((f) => count(f.rank))], ['Sharpe', num((f) => fix(f.sharpe))], ['CAGR', num((f) => pct(f.cagr))], ['P(beats champion)', num((f) => prob(f.p_beats_champion))]];
    parts.push(`<h2>Cells <span class="muted">(out of sample; by rank in B)</span></h2><table><tr><th>cell</th>${cols.map(([h]) => `<th>${esc(h)} A</th><th>${esc(h)} B</th>`).join('')}</tr>${c.cells.map((r) => `<tr><td>${esc(r.cell)}<span class="muted">${esc(cellNote(c, r))}</span></td>${cols.map(([, f]) => `${f(r.a)}${f(r.b)}`).join('')}</tr>`).join('')}</table>`);
  }
  if (!noWeights(c)) parts.push(`<h2>Weights that changed most</h2><p class="muted">A as of ${esc(c.weights.as_of.a ?? '—')}, B as of ${esc(c.weights.as_of.b ?? '—')}.</p>`);
  if (!noWeights(c)) parts.push(c.weights.changes.length ? `<table><tr><th>symbol</th><th>A</th><th>B</th><th>change</th></tr>${c.weights.changes.map((w) => `<tr><td>${esc(w.symbol)}</td><td class="num">${pct(w.a)}</td><td class="num">${pct(w.b)}</td><td class="num">${pct(w.change, true)}</td></tr>`).join('')}</table>${c.weights.unchanged ? `<p class="muted">${c.weights.unchanged} other holding(s) unchanged.</p>` : ''}` : '<p>No weight changed.</p>');
  if (c.meta_weights?.length) parts.push(`<h2>Sleeve weights</h2><table><tr><th>sleeve</th><th>A</th><th>B</th><th>change</th></tr>${c.meta_weights.map((w) => `<tr><td>${esc(w.symbol)}</td><td class="num">${pct(w.a)}</td><td class="num">${pct(w.b)}</td><td class="num">${pct(w.change, true)}</td></tr>`).join('')}</table>`);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Compare ${esc(c.a.run_id)} and ${esc(c.b.run_id)}</title><style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;color:#222;max-width:880px;margin:2rem auto;padding:0 1rem}
h2{margin-top:1.6rem;border-bottom:1px solid #e5e5e5;padding-bottom:.2rem}table{border-collapse:collapse;margin:.5rem 0}
td,th{padding:.25rem .6rem;border-bottom:1px solid #eee;text-align:left;vertical-align:top}td.num{text-align:right;font-variant-numeric:tabular-nums}
pre{background:#f7f7f7;padding:.6rem;overflow-x:auto;font-size:12.5px}.add{color:#1b7f3b}.del{color:#b00020}.chg{color:#8a5a00}
.muted{color:#666}.better{color:#1b7f3b}.worse{color:#b00020}.failed,.interrupted{color:#b00020}.succeeded{color:#1b7f3b}
</style></head><body>
${indexHref ? `<p class="muted"><a href="${esc(indexHref)}">all runs</a></p>` : ''}
${parts.join('\n')}
</body></html>
`;
}

export const compareFileName = (a: { name: string; run_id: string }, b: { run_id: string }) => `${basename(a.name)}--${a.run_id}--${b.run_id}.html`;
