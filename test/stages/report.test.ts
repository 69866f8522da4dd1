/**
 * The report stage on a full run: report.md and a self-contained report.html whose numbers are the run's: the metrics,
 * the per-window table (the audit's window records), the monthly returns (recomputed here from returns.arrow), the
 * regime each decision read, no benchmark column without a benchmark, and what became of each veto.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tableFromIPC } from '@uwdata/flechette';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateFile } from '../../src/config/validate.js';
import { runPipeline } from '../../src/pipeline/runner.js';
import { dendrogramSvg } from '../../src/report/charts.js';
import { builtinRegistry } from '../../stages/index.js';
import { openLakehouse } from '../../src/lakehouse/index.js';
import { floorPipeline, spotMarket } from './pipeline-helpers.js';

let tmp: string;
let folder: string;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-report-'));
  const file = join(tmp, 'r.yaml');
  writeFileSync(
    file,
    `pipeline: selection
version: "4.0"
name: report_check
stages:
  - type: ingestion
    params: { scanner: { name: synthetic, params: { symbols: 24, days: 420, seed: 5 } }, lookback_days: 120 }
  - type: feature_engineering
  - type: inference
    params: { rankers: [regime, mps] }
  - type: clustering
  - type: policy
    params: { min_winners: 6 }
  - type: synthesis
  - type: allocation
    params: { engine: inverse_vol }
  - type: backtest
    params: { train_window: 120, test_window: 30, step_size: 30 }
  - type: report
    params: { reporters: [markdown, { name: html, params: { rolling_days: 30 } }] }
`,
  );
  const v = await validateFile(file, { registry: builtinRegistry() });
  expect(v.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const s = await runPipeline(v, { outRoot: join(tmp, 'runs'), lakehousePath: join(tmp, 'none') });
  expect(s.error).toBeUndefined();
  folder = s.folder;
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

test('report.html is self-contained: no script, no external resource', () => {
  const html = readFileSync(join(folder, 'report.html'), 'utf8');
  expect(html).not.toMatch(/<script/i);
  expect(html).not.toMatch(/<(link|img|iframe)[^>]+(href|src)="https?:/i);
  expect(html).not.toMatch(/url\(\s*['"]?https?:/i);
  // One SVG per chart: equity over drawdown (and the regime strip), rolling Sharpe and volatility, turnover/costs/
  // exposure, weights over time, the challengers' equity, weights, funnel, dendrogram, correlation.
  expect((html.match(/<svg/g) ?? []).length).toBe(9);
  for (const h of ['Performance', 'Champion and challengers', 'Weights', 'Selection', 'Clusters', 'Data health', 'Stages']) expect(html).toContain(`<h2>${h}`);
  for (const t of ['Equity (starts at 1) and drawdown', 'Regime at each rebalance', 'Rolling 30-day Sharpe and volatility', 'Turnover, trading costs and exposure at each rebalance', 'Weights at each rebalance']) expect(html).toContain(t);
});

test('the latest decision is labelled as having no out-of-sample record, with the dates that say why', () => {
  const html = readFileSync(join(folder, 'report.html'), 'utf8');
  const md = readFileSync(join(folder, 'report.md'), 'utf8');
  const m = JSON.parse(readFileSync(join(folder, 'metrics.json'), 'utf8')).backtest;
  // The latest decision is made on the market's last close, the last day of the out-of-sample record: held from the
  // day after, it has earned nothing.
  const decided = /Decided on the data up to (\d{4}-\d{2}-\d{2}) \(its close the last data seen\)/.exec(html)?.[1];
  expect(decided).toBe(m.last);
  for (const text of [html, md]) {
    expect(text).toContain('Weights of the latest decision');
    expect(text).toContain(`This decision has no out-of-sample record yet: the performance above ends at ${m.last}`);
  }
  // The label sits before the weights chart, not after it.
  expect(html.indexOf('no out-of-sample record yet')).toBeLessThan(html.indexOf('Weights as of'));
});

test('a record that is all cash is no record: the run fails (BACKTEST_ALL_CASH, exit 1), counting why, though the stages\' own decision holds', async () => {
  // The same market, each walk-forward decision reading 30 days for features over 60: the completeness filter vetoes
  // everything. The stages' own decision reads ingestion's 120 days and holds positions.
  const file = join(tmp, 'cash.yaml');
  writeFileSync(file, `pipeline: selection
version: "4.0"
name: cash_check
stages:
  - type: ingestion
    params: { scanner: { name: synthetic, params: { symbols: 24, days: 420, seed: 5 } }, lookback_days: 120 }
  - type: feature_engineering
    params: { lookback: 60 }
  - type: inference
  - type: clustering
  - type: policy
  - type: synthesis
  - type: allocation
    params: { engine: inverse_vol }
  - type: backtest
    params: { train_window: 30, test_window: 30, step_size: 30 }
  - type: report
`);
  const v = await validateFile(file, { registry: builtinRegistry() });
  expect(v.diagnostics.map((d) => d.code)).toEqual(['GRAPH_WINDOW_SHORTER_THAN_LOOKBACK']);
  const s = await runPipeline(v, { outRoot: join(tmp, 'runs'), lakehousePath: join(tmp, 'none') });
  expect(s.outcome).toBe('failed');
  expect(s.error).toMatchObject({ code: 'BACKTEST_ALL_CASH', stage: 'backtest', exit_code: 1 });
  expect(s.error!.message).toMatch(/^every one of the backtest's (\d+) decisions held cash \(.+ ×\1\): the run has no record$/);
  expect(s.error!.hint).toContain('GRAPH_WINDOW_SHORTER_THAN_LOOKBACK');
  expect(s.stages.map((x) => `${x.type}:${x.outcome}`)).toEqual(['ingestion:succeeded', 'feature_engineering:succeeded', 'inference:succeeded', 'clustering:succeeded', 'policy:succeeded', 'synthesis:succeeded', 'allocation:succeeded', 'backtest:failed', 'report:skipped']);
});

test('a record that is mostly cash is flagged as such, with why (the run still succeeds)', async () => {
  // Six spot symbols whose quote volume is ~$1M a day for the first 300 days and ~$50M after: below the lakehouse
  // scanner's $20M floor (30-day mean) the early decisions find nothing tradable and hold cash; the later ones trade.
  const csv = join(tmp, 'thin-start');
  spotMarket(csv, { seed: 7, total: 420, quote: (t) => (t < 300 ? 1e6 : 50e6) });
  const lakehouse = join(tmp, 'lakehouse-thin-start');
  const lh = await openLakehouse(lakehouse, { create: true });
  await lh.importCsv(csv, { layout: 'ohlcv', venue: 'binance_spot', assetType: 'spot' });
  const file = join(tmp, 'thin_start.yaml');
  writeFileSync(file, floorPipeline('thin_start'));
  const v = await validateFile(file, { registry: builtinRegistry() });
  expect(v.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const s = await runPipeline(v, { outRoot: join(tmp, 'runs'), lakehousePath: lakehouse });
  expect(s.outcome).toBe('succeeded');
  const m = JSON.parse(readFileSync(join(s.folder, 'metrics.json'), 'utf8')).backtest;
  // Most decisions held cash, not all.
  expect(m.cash_windows * 2).toBeGreaterThanOrEqual(m.windows);
  expect(m.cash_windows).toBeLessThan(m.windows);
  expect(Object.values(m.cash_reasons as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(m.cash_windows);
  for (const f of ['report.md', 'report.html']) expect(readFileSync(join(s.folder, f), 'utf8')).toContain(`CASH: ${m.cash_windows} of the ${m.windows} decisions held cash (nothing tradable ×${m.cash_windows})`);
  // The full run above holds something: no flag there.
  expect(readFileSync(join(folder, 'report.md'), 'utf8')).not.toContain('CASH:');
});

test('the metrics shown are the run metrics', () => {
  const html = readFileSync(join(folder, 'report.html'), 'utf8');
  const m = JSON.parse(readFileSync(join(folder, 'metrics.json'), 'utf8')).backtest;
  expect(html).toContain(`<td>CAGR</td><td class="num">${(m.cagr * 100).toFixed(2)}%</td>`);
  expect(html).toContain(`<td>Sharpe</td><td class="num">${m.sharpe.toFixed(2)}</td>`);
  const md = readFileSync(join(folder, 'report.md'), 'utf8');
  expect(md).toContain(`| max drawdown | ${(m.max_drawdown * 100).toFixed(2)}% |`);
});

test('the dendrogram draws n-1 merges and labels the leaves in scipy leaf order', () => {
  // Four points: (0,1) merge at 1, (2,3) at 2, then the two pairs at 5.
  const Z = new Float64Array([0, 1, 1, 2, 2, 3, 2, 2, 4, 5, 5, 4]);
  const svg = dendrogramSvg(Z, ['A', 'B', 'C', 'D']);
  expect((svg.match(/<path/g) ?? []).length).toBe(3);
  const labels = [...svg.matchAll(/>([A-D])</g)].map((m) => m[1]);
  expect(labels).toEqual(['A', 'B', 'C', 'D']);
});

const cell = (html: string) => [...html.matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((m) => m[1]);

test('the per-window table is the backtest’s window records, with the regime each decision read', () => {
  const html = readFileSync(join(folder, 'report.html'), 'utf8');
  const md = readFileSync(join(folder, 'report.md'), 'utf8');
  const windows = (readFileSync(join(folder, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)) as { event: string; data: { as_of: string; end: string; engine: string; regime: string; regime_by: string; holdings: number; return: number } }[]).filter((e) => e.event === 'window').map((e) => e.data);
  expect(windows.length).toBe(JSON.parse(readFileSync(join(folder, 'metrics.json'), 'utf8')).backtest.windows);
  const table = /<details open><summary><b>Walk-forward windows \((\d+)\)<\/b><\/summary>[\s\S]*?<\/details>/.exec(html)!;
  expect(Number(table[1])).toBe(windows.length);
  const rows = [...table[0].matchAll(/<tr>((?:<td[^>]*>[^<]*<\/td>)+)<\/tr>/g)].map((m) => cell(m[1]!));
  expect(rows.length).toBe(windows.length);
  windows.forEach((w, k) => {
    // #, decided, held to, engine, regime, holdings, turnover, costs, carry, return, note
    expect(rows[k]!.slice(0, 6)).toEqual([String(k + 1), w.as_of, w.end, w.engine, w.regime, String(w.holdings)]);
    expect(rows[k]![9]).toBe(`${(w.return * 100).toFixed(2)}%`);
    expect(md).toContain(`| ${k + 1} | ${w.as_of} | ${w.end} | ${w.engine} | ${w.regime} | ${w.holdings} |`);
  });
  // The regime ranker is the champion here: every decision read one, and says which ranker.
  expect(windows.every((w) => ['NORMAL', 'TURBULENT', 'CRISIS'].includes(w.regime) && w.regime_by === 'regime')).toBe(true);
});

test('monthly returns compound the days of each calendar month (recomputed from returns.arrow)', () => {
  const html = readFileSync(join(folder, 'report.html'), 'utf8');
  const rows = tableFromIPC(readFileSync(join(folder, 'returns.arrow'))).toArray() as { date: unknown; return: number }[];
  const months = new Map<string, number>();
  for (const r of rows) {
    const key = new Date(r.date instanceof Date ? r.date.getTime() : Number(r.date)).toISOString().slice(0, 7);
    months.set(key, (1 + (months.get(key) ?? 0)) * (1 + r.return) - 1);
  }
  const table = /<table class="monthly">([\s\S]*?)<\/table>/.exec(html)![1]!;
  const names = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  let seen = 0;
  for (const row of table.split('</tr>').slice(1)) {
    const year = /<th>(\d{4})<\/th>/.exec(row)?.[1];
    if (!year) continue;
    const cells = cell(row);
    names.forEach((_, i) => {
      const want = months.get(`${year}-${String(i + 1).padStart(2, '0')}`);
      expect(cells[i]).toBe(want === undefined ? '' : `${(want * 100).toFixed(1)}%`);
      if (want !== undefined) seen++;
    });
  }
  expect(seen).toBe(months.size);
  const md = readFileSync(join(folder, 'report.md'), 'utf8');
  expect(md).toContain('### Monthly returns');
});

test('without a benchmark the metrics table has one column, not an empty second one', () => {
  const html = readFileSync(join(folder, 'report.html'), 'utf8');
  expect(html).toContain('<table class="metrics"><tr><th></th><th>portfolio</th></tr>');
  expect(html).not.toContain('against ');
  expect(readFileSync(join(folder, 'report.md'), 'utf8')).toContain('| metric | value |');
});

test('the vetoes table says what became of each vetoed symbol: left out, or overridden at a relaxation stage and held', () => {
  const html = readFileSync(join(folder, 'report.html'), 'utf8');
  const winners = JSON.parse(readFileSync(join(folder, 'winners.json'), 'utf8'));
  const vetoes = JSON.parse(readFileSync(join(folder, 'vetoes.json'), 'utf8')).vetoes as Record<string, unknown[]>;
  const weights = new Map((JSON.parse(readFileSync(join(folder, 'weights.json'), 'utf8')) as { symbol: string; weight: number }[]).map((w) => [w.symbol, w.weight]));
  const section = /<h2>Vetoes[\s\S]*?<\/table>/.exec(html)![0];
  const reasons = new Set<string>();
  for (const sym of Object.keys(vetoes)) {
    const w = (winners.winners as { symbol: string; reason: string; overridden_vetoes: unknown[] }[]).find((x) => x.symbol === sym);
    const row = new RegExp(`<tr><td>${sym}</td>(?:<td[^>]*>[^<]*</td>){4}<td>([^<]*)</td>`).exec(section)![1]!;
    if (!w) expect(row).toBe('left out');
    else {
      reasons.add(w.reason);
      const stage = w.reason === 'representative' ? 'HTR stage 3 (representative forcing)' : 'HTR stage 4 (balanced fallback)';
      const held = weights.get(sym);
      expect(row).toBe(`overridden at ${stage}: ${held ? `held, ${(held * 100).toFixed(2)}%` : 'selected, not held at the as-of date'}`);
    }
  }
  // This run's HTR loop forced representatives (stage 3) and filled by the balanced fallback (stage 4).
  expect([...reasons].sort()).toEqual(['fallback', 'representative']);
});

test('data health is labelled as the files are now when the run is as of an earlier date; a run to the data end is not', async () => {
  const html = readFileSync(join(folder, 'report.html'), 'utf8');
  expect(html).toContain('<h2>Data health</h2>');
  expect(html).not.toContain("run past this run's as-of date");
  // The same pipeline as of 90 days before the data's end.
  const last = JSON.parse(readFileSync(join(folder, 'metrics.json'), 'utf8')).backtest.last as string;
  const asOf = new Date(Date.parse(last) - 90 * 86_400_000).toISOString().slice(0, 10);
  const source = readFileSync(join(tmp, 'r.yaml'), 'utf8').replace('lookback_days: 120 }', `lookback_days: 120, as_of: "${asOf}" }`);
  expect(source).toContain(asOf);
  const file = join(tmp, 'r-earlier.yaml');
  writeFileSync(file, source);
  const v = await validateFile(file, { registry: builtinRegistry() });
  expect(v.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const s = await runPipeline(v, { outRoot: join(tmp, 'runs'), lakehousePath: join(tmp, 'none') });
  expect(s.error).toBeUndefined();
  expect(readFileSync(join(s.folder, 'report.html'), 'utf8')).toContain(`As the lakehouse's files are now, which run past this run's as-of date (${asOf})`);
});
