/** The report stage on a full run: report.md and a self-contained report.html whose numbers are the run's. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateFile } from '../../src/config/validate.js';
import { runPipeline } from '../../src/pipeline/runner.js';
import { dendrogramSvg } from '../../src/report/charts.js';
import { builtinRegistry } from '../../stages/index.js';

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
  - type: clustering
  - type: policy
    params: { min_winners: 6 }
  - type: synthesis
  - type: allocation
    params: { engine: inverse_vol }
  - type: backtest
    params: { train_window: 120, test_window: 30, step_size: 30 }
  - type: report
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
  // One SVG per chart: equity, drawdown, weights over time, weights, funnel, dendrogram, correlation.
  expect((html.match(/<svg/g) ?? []).length).toBe(7);
  for (const h of ['Performance', 'Weights', 'Selection', 'Clusters', 'Data health', 'Stages']) expect(html).toContain(`<h2>${h}`);
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
