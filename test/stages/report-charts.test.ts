/**
 * What the report's charts must get right (issue 17, "fix what reads wrong"), checked on the specs and the SVG they
 * render to: the portfolio is the bold blue line whatever its benchmark is called; equity and drawdown share one
 * time axis and one y-axis width (so they line up); dates carry their year; more holdings than colours become the top
 * ones plus "other", with a legend that lists them all; shares of a whole are drawn against 100%. vega-lite compiles
 * every spec without a warning. And the meta's sleeve attribution adds up to the meta's return, by the vectorized
 * simulator's own holding (another implementation of drift) and on a meta run's artifacts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from '@uwdata/flechette';
import { driftContributions } from '../../src/math/attribution.js';
import { axesHeatmapSpec, chartWarnings, equitySpec, intervalSpec, performanceSpec, renderSvg, rollingSpec, tradingSpec, weightsOverTimeSpec, weightsSpec } from '../../src/report/charts.js';
import { VectorizedSimulator } from '../../stages/backtest/simulators/vectorized.simulator.js';
import { runYaml } from './pipeline-helpers.js';

/** A chart spec as the plain JSON it is, to read back. */
const json = (spec: unknown) => JSON.parse(JSON.stringify(spec));
const days = Int32Array.from({ length: 400 }, (_, i) => 19000 + i); // 2022-01-08 ..
const walk = (seed: number) => Float64Array.from(days, (_, i) => 0.01 * Math.sin(i * 0.37 + seed) + 0.002 * Math.cos(i * 1.3 * seed));
const eq = (r: Float64Array) => {
  let e = 1;
  return Float64Array.from(r, (x) => (e *= 1 + x));
};

test('the portfolio is bold and blue even when the benchmark’s name sorts first', async () => {
  const spec = json(performanceSpec(days, eq(walk(1)), new Float64Array(days.length), { name: 'AAAUSDT', equity: eq(walk(2)) }));
  const equity = spec.vconcat[0];
  expect(equity.encoding.color.scale).toEqual({ domain: ['portfolio', 'AAAUSDT'], range: ['#1f5fa8', '#9a9a9a'] });
  // The portfolio's layer is drawn last (on top), thicker than the benchmark's dashed one.
  expect(equity.layer.map((l: { transform: { filter: string }[]; mark: { strokeWidth: number } }) => [l.transform[0].filter, l.mark.strokeWidth])).toEqual([["datum.series !== 'portfolio'", 1.1], ["datum.series === 'portfolio'", 2]]);
  const svg = await renderSvg(spec);
  const paths = [...svg.matchAll(/<path[^>]*stroke="(#1f5fa8|#9a9a9a)"[^>]*stroke-width="([\d.]+)"/g)].map((m) => [m[1], m[2]]);
  expect(paths).toContainEqual(['#1f5fa8', '2']);
  expect(paths).toContainEqual(['#9a9a9a', '1.1']);
});

test('equity, drawdown and regime share one time axis and one y-axis width; every time axis says the year', () => {
  const spec = json(performanceSpec(days, eq(walk(1)), new Float64Array(days.length), undefined, [{ start: days[0]!, end: days[199]!, regime: 'NORMAL' }, { start: days[200]!, end: days[399]!, regime: 'CRISIS' }]));
  expect(spec.resolve.scale.x).toBe('shared');
  expect(spec.vconcat).toHaveLength(3);
  for (const panel of spec.vconcat) {
    const enc = panel.encoding ?? panel.layer?.[0]?.encoding ?? spec.vconcat[0].encoding;
    expect(enc.x.axis.format).toBe('%b %Y');
  }
  expect(spec.vconcat[0].encoding.y.axis).toMatchObject({ minExtent: 52, maxExtent: 52 });
  expect(spec.vconcat[1].encoding.y.axis).toMatchObject({ minExtent: 52, maxExtent: 52 });
  for (const s of [equitySpec(days, eq(walk(1))), rollingSpec(days, walk(1), walk(2), 30), tradingSpec([{ date: days[10]!, turnover: 1, cost: 0.001, gross: 1, net: 1 }])]) {
    expect(JSON.stringify(s)).toContain('"format":"%b %Y"');
    expect(JSON.stringify(s)).not.toMatch(/"type":"temporal"(?![^}]*"format":"%b %Y")[^}]*}/);
  }
});

test('more holdings than colours: the largest keep a colour each, the rest is one "other", and the legend lists them all', async () => {
  const names = Array.from({ length: 30 }, (_, i) => `S${String(i).padStart(2, '0')}USDT`);
  const rows = [0, 1, 2].flatMap((k) => names.map((symbol, i) => ({ date: days[k * 30]!, symbol, weight: (30 - i) / 465 })));
  const spec = json(weightsOverTimeSpec(rows));
  const { domain, range } = spec.encoding.color.scale;
  expect(domain).toEqual([...names.slice(0, 12), 'other']);
  expect(new Set(range).size).toBe(13); // no colour repeats
  expect(spec.encoding.color.legend.symbolLimit).toBe(0);
  // Weights still add up at each date: "other" is the sum of the rest.
  const other = spec.data.values.filter((v: { symbol: string }) => v.symbol === 'other');
  expect(other).toHaveLength(3);
  expect(other[0].weight).toBeCloseTo(names.slice(12).reduce((a, _, i) => a + (30 - 12 - i) / 465, 0), 12);
  const svg = await renderSvg(spec);
  for (const n of [...names.slice(0, 12), 'other']) expect(svg).toContain(`>${n}<`);
  expect(svg).not.toMatch(/…\s*\d+ entries/);
});

test('shares of a whole (meta weights) are drawn against 100%, other weights to a round number past the largest', () => {
  expect(json(weightsSpec([{ symbol: 'long', weight: 0.55 }, { symbol: 'short', weight: 0.45 }], 'Meta weights', [0, 1])).encoding.x.scale).toEqual({ domain: [0, 1], nice: false });
  expect(json(weightsSpec([{ symbol: 'A', weight: 0.19 }])).encoding.x.scale).toEqual({ zero: true, nice: true });
});

test('vega-lite compiles the report’s specs without a warning', async () => {
  const before = chartWarnings().length;
  await renderSvg(performanceSpec(days, eq(walk(1)), new Float64Array(days.length), { name: 'B', equity: eq(walk(2)) }, [{ start: days[0]!, end: days[399]!, regime: 'NORMAL' }]));
  await renderSvg(rollingSpec(days, walk(1), walk(2), 30));
  await renderSvg(tradingSpec([0, 30, 60].map((k) => ({ date: days[k]!, turnover: 1, cost: 0.001, gross: 1, net: 0.5 })), [days[0]!, days[399]!]));
  expect(chartWarnings().slice(before)).toEqual([]);
});

test('drift attribution adds up to what the vectorized simulator holds, day by day', () => {
  // Three parts over 60 days, one with a missing day (flat), held from a target with drift and no costs.
  const T = 60;
  const dates = Int32Array.from({ length: T }, (_, i) => 20000 + i);
  const names = ['a', 'b', 'c'];
  const values = new Float64Array(3 * T);
  for (let j = 0; j < 3; j++) for (let t = 0; t < T; t++) values[j * T + t] = 0.02 * Math.sin(t * (j + 1) * 0.7) + 0.003 * (j - 1);
  values[1 * T + 17] = NaN;
  const target = Float64Array.from([0.5, 0.3, 0.15]); // 5% cash
  const held = new VectorizedSimulator().hold({ dates, symbols: names, returns: values, target, current: new Float64Array(3), costRate: 0 });
  const c = driftContributions(dates, names, values, [{ start: dates[0]!, end: dates[T - 1]!, weights: { a: 0.5, b: 0.3, c: 0.15 } }]);
  for (let t = 0; t < T; t++) expect(c[0]![t]! + c[1]![t]! + c[2]![t]!).toBeCloseTo(held.returns[t]!, 14);
  expect(c[1]![17]).toBe(0);
});

test('a meta run’s report attributes its return to its sleeves: contributions and costs add up to the daily returns', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'fractal-meta-report-'));
  try {
    const sleeve = (name: string, direction: string) => `pipeline: selection
version: "4.0"
name: ${name}
stages:
  - type: ingestion
    params: { scanner: { name: synthetic, params: { symbols: 30, days: 420, seed: 5 } }, lookback_days: 200 }
  - type: feature_engineering
    params: { lookback: 60 }
  - type: inference
  - type: clustering
  - type: policy
    params: { filters: [darwinian, tail_risk], top_n: 2, min_winners: 5 }
  - type: synthesis
    params: { direction: ${direction} }
  - type: allocation
    params: { engine: inverse_vol }
  - type: backtest
    params: { train_window: 120, test_window: 30, step_size: 30 }
`;
    writeFileSync(join(tmp, 'up.yaml'), sleeve('up', 'LONG'));
    writeFileSync(join(tmp, 'down.yaml'), sleeve('down', 'SHORT'));
    const s = await runYaml(tmp, 'attrib', `pipeline: meta
version: "4.0"
name: attrib
sleeves:
  - { name: up, pipeline: ./up.yaml }
  - { name: down, pipeline: ./down.yaml }
stages:
  - type: meta_returns
  - type: meta_optimize
    params: { engine: equal_weight, train_window: 60, test_window: 30, step_size: 30 }
  - type: meta_flatten
  - type: report
`);
    expect(s.outcome).toBe('succeeded');
    const md = readFileSync(join(s.folder, 'report.md'), 'utf8');
    const section = md.slice(md.indexOf('### Sleeve contributions'));
    const row = (name: string) => new RegExp(`\\| ${name} \\|([^\\n]*)\\|\\n`).exec(section)![1]!.split('|').map((c) => c.trim());
    const up = Number(row('up').at(-1)!.replace('%', ''));
    const down = Number(row('down').at(-1)!.replace('%', ''));
    const costs = Number(row('meta trading costs').at(-1)!.replace('%', ''));
    const daily = (tableFromIPC(readFileSync(join(s.folder, 'returns.arrow'))).toArray() as { return: number }[]).reduce((a, r) => a + r.return, 0);
    // Each figure is rounded to 0.01 points in the table.
    expect(Math.abs(up + down + costs - daily * 100)).toBeLessThan(0.02);
    expect(costs).toBeLessThanOrEqual(0);
    const html = readFileSync(join(s.folder, 'report.html'), 'utf8');
    for (const t of ["Each sleeve's own equity on the meta's out-of-sample days", 'Cumulative contribution to the meta return', 'Meta equity (starts at 1) and drawdown']) expect(html).toContain(t);
    expect(html).not.toMatch(/<script/i);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

describe('the tournament interval chart', () => {
  // Found on a 2,000-cell tournament: a sort list of every cell made vega overflow the stack and the report fail.
  it('renders thousands of cells in the given order', async () => {
    const rows = Array.from({ length: 2000 }, (_, i) => ({ cell: `cell_${String(i).padStart(4, '0')}`, sharpe: 2 - i / 1000, lo: 1 - i / 1000, hi: 3 - i / 1000, champion: i === 7 }));
    const svg = await renderSvg(intervalSpec(rows, 0.95));
    const labels = [...svg.matchAll(/>(cell_\d{4})</g)].map((m) => m[1]);
    expect(labels.length).toBe(2000);
    expect(labels).toEqual(rows.map((r) => r.cell));
  });

  it('says when it shows only the best cells', () => {
    const rows = [{ cell: 'a', sharpe: 1, lo: 0, hi: 2, champion: false }, { cell: 'champ', sharpe: 0.5, lo: 0, hi: 1, champion: true }];
    expect(json(intervalSpec(rows, 0.95, 500)).title).toBe('Sharpe ratio by cell (out of sample): the best 1 of 500 cells and the champion');
    expect(json(intervalSpec(rows, 0.95)).title).toBe('Sharpe ratio by cell (out of sample)');
  });
});

describe('chart bytes', () => {
  // vega numbers gradients and clip paths with process-wide counters: a chart drawn after others (another tournament
  // cell on the same worker thread) came out with other ids, so reports differed with the worker count.
  it('are the same however many charts the process drew before', async () => {
    const rows = Array.from({ length: 12 }, (_, i) => ({ x: `x${i % 4}`, y: `y${Math.floor(i / 4)}`, panel: '', value: Math.sin(i) }));
    const first = await renderSvg(axesHeatmapSpec(rows, 'x', 'y', 'Sharpe'));
    await renderSvg(axesHeatmapSpec(rows.map((r) => ({ ...r, value: -r.value! })), 'x', 'y', 'Sharpe'));
    const again = await renderSvg(axesHeatmapSpec(rows, 'x', 'y', 'Sharpe'));
    expect(again).toBe(first);
    // Every reference points at a definition of the same chart, and the ids are not vega's counters.
    const defined = new Set([...first.matchAll(/id="([^"]+)"/g)].map((m) => m[1]));
    const used = [...first.matchAll(/url\(#([^)]+)\)/g)].map((m) => m[1]);
    expect(used.length).toBeGreaterThan(0);
    for (const id of used) expect(defined.has(id)).toBe(true);
    expect(first).not.toMatch(/"(clip\d+|gradient_\d+)"/);
  });
});

