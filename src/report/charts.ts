/**
 * Charts for the reports, rendered to SVG with no browser: vega-lite specs compiled and drawn by vega's headless
 * renderer (TOOLCHAIN.md: vega-lite 6.4.3, the last release for Node 20). vega loads only when a report draws.
 * The dendrogram is drawn directly from the scipy-format linkage matrix (vega-lite has no tree mark).
 */
import { leavesList } from '../math/ward.js';

type Spec = Record<string, unknown>;

let engines: Promise<{ vega: any; vl: any }> | undefined;
// One after the other: loading both at once races jest's ESM linker on their shared d3 modules.
const load = () => (engines ??= (async () => ({ vega: await import('vega'), vl: await import('vega-lite') }))());

/** One vega-lite spec to an SVG string. */
export async function renderSvg(spec: Spec): Promise<string> {
  const { vega, vl } = await load();
  const compiled = vl.compile({ $schema: 'https://vega.github.io/schema/vega-lite/v6.json', config: CONFIG, ...spec }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = (await view.toSVG()) as string;
  view.finalize();
  return svg;
}

const CONFIG = {
  font: 'system-ui, -apple-system, Segoe UI, sans-serif',
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  view: { stroke: null },
};

const iso = (d: number) => new Date(d * 86_400_000).toISOString().slice(0, 10);

export function equitySpec(dates: Int32Array, equity: Float64Array, benchmark?: { name: string; equity: Float64Array }): Spec {
  const values: { date: string; series: string; value: number }[] = [];
  dates.forEach((d, i) => {
    values.push({ date: iso(d), series: 'portfolio', value: equity[i] });
    if (benchmark) values.push({ date: iso(d), series: benchmark.name, value: benchmark.equity[i] });
  });
  return {
    width: 720, height: 260, title: 'Equity (starts at 1)', data: { values },
    mark: { type: 'line', strokeWidth: 1.6 },
    encoding: { x: { field: 'date', type: 'temporal', title: null }, y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } }, color: { field: 'series', type: 'nominal', title: null, scale: { range: ['#1f5fa8', '#aaa'] } } },
  };
}

/** Several equity curves on one calendar (a champion and its challengers), in the given order. */
export function equityComparisonSpec(dates: Int32Array, series: { name: string; equity: Float64Array }[], title: string): Spec {
  const values: { date: string; series: string; value: number }[] = [];
  dates.forEach((d, i) => {
    for (const s of series) values.push({ date: iso(d), series: s.name, value: s.equity[i] });
  });
  return {
    width: 720, height: 260, title, data: { values },
    mark: { type: 'line', strokeWidth: 1.4 },
    encoding: {
      x: { field: 'date', type: 'temporal', title: null },
      y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: null, sort: series.map((s) => s.name), scale: { range: ['#1f5fa8', '#e67e22', '#27ae60', '#8e44ad', '#c0392b', '#7f8c8d'] } },
    },
  };
}

/** The gap between two equity curves over time (a parity check: simulator minus reference, relative). */
export function equityGapSpec(dates: Int32Array, gap: Float64Array, title: string): Spec {
  return {
    width: 720, height: 140, title, data: { values: Array.from(dates, (d, i) => ({ date: iso(d), gap: gap[i] })) },
    mark: { type: 'area', color: '#8e44ad', opacity: 0.5, line: { color: '#8e44ad', strokeWidth: 1 } },
    encoding: { x: { field: 'date', type: 'temporal', title: null }, y: { field: 'gap', type: 'quantitative', title: null, axis: { format: '.2~%' } } },
  };
}

export function drawdownSpec(dates: Int32Array, drawdown: Float64Array): Spec {
  return {
    width: 720, height: 140, title: 'Drawdown', data: { values: Array.from(dates, (d, i) => ({ date: iso(d), dd: drawdown[i] })) },
    mark: { type: 'area', color: '#c0392b', opacity: 0.6, line: { color: '#c0392b', strokeWidth: 1 } },
    encoding: { x: { field: 'date', type: 'temporal', title: null }, y: { field: 'dd', type: 'quantitative', title: null, axis: { format: '.0%' } } },
  };
}

export function weightsSpec(weights: { symbol: string; weight: number }[]): Spec {
  return {
    width: 720, height: Math.max(80, 16 * weights.length), title: 'Weights (last rebalance)', data: { values: weights },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'symbol', type: 'nominal', sort: '-x', title: null },
      x: { field: 'weight', type: 'quantitative', title: null, axis: { format: '.0%' } },
      color: { condition: { test: 'datum.weight < 0', value: '#c0392b' }, value: '#1f5fa8' },
    },
  };
}

export function weightsOverTimeSpec(rows: { date: number; symbol: string; weight: number }[]): Spec {
  return {
    width: 720, height: 220, title: 'Weights at each rebalance', data: { values: rows.map((r) => ({ ...r, date: iso(r.date) })) },
    mark: { type: 'bar' },
    encoding: { x: { field: 'date', type: 'ordinal', title: null, axis: { labelAngle: -45, labelOverlap: true } }, y: { field: 'weight', type: 'quantitative', title: null, stack: 'zero', axis: { format: '.0%' } }, color: { field: 'symbol', type: 'nominal', legend: { columns: 2, symbolLimit: 30 } } },
  };
}

export function heatmapSpec(symbols: string[], corr: Float64Array): Spec {
  const n = symbols.length;
  const values: { a: string; b: string; rho: number }[] = [];
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) values.push({ a: symbols[i], b: symbols[j], rho: Number.isFinite(corr[i * n + j]) ? corr[i * n + j] : 0 });
  const side = Math.min(640, Math.max(160, 14 * n));
  return {
    width: side, height: side, title: 'Correlation (dendrogram order)', data: { values },
    mark: 'rect',
    encoding: {
      // sort: null keeps the data's order (the dendrogram's). A sort list would become a vega expression holding
      // the names, and vega fails on a string constant such as "constructor" or "toString" in an expression.
      x: { field: 'a', type: 'nominal', sort: null, title: null, axis: { labelFontSize: n > 40 ? 7 : 10 } },
      y: { field: 'b', type: 'nominal', sort: null, title: null, axis: { labelFontSize: n > 40 ? 7 : 10 } },
      color: { field: 'rho', type: 'quantitative', scale: { domain: [-1, 1], scheme: 'redblue', reverse: true }, title: 'ρ' },
    },
  };
}

export function funnelSpec(steps: { step: string; count: number }[]): Spec {
  return {
    width: 720, height: Math.max(80, 26 * steps.length), title: 'Selection funnel', data: { values: steps },
    encoding: { y: { field: 'step', type: 'nominal', sort: steps.map((s) => s.step), title: null }, x: { field: 'count', type: 'quantitative', title: null } },
    layer: [{ mark: { type: 'bar', color: '#1f5fa8' } }, { mark: { type: 'text', align: 'left', dx: 4 }, encoding: { text: { field: 'count' } } }],
  };
}

/** A dendrogram as SVG from a scipy linkage matrix (n-1 rows of [a, b, height, count]), leaves labelled. */
export function dendrogramSvg(linkage: Float64Array, labels: string[], clusterOf?: ArrayLike<number>): string {
  const n = labels.length;
  if (n < 2) return '';
  const rows = n - 1;
  const order = Array.from(leavesList(linkage));
  const rowH = 14;
  const W = 720;
  const labelW = 110;
  const H = n * rowH + 30;
  const maxH = Math.max(...Array.from({ length: rows }, (_, r) => linkage[r * 4 + 2])) || 1;
  const xOf = (h: number) => labelW + ((W - labelW - 20) * h) / maxH;
  const y = new Map<number, number>();
  const x = new Map<number, number>();
  order.forEach((leaf, i) => {
    y.set(leaf, 15 + i * rowH + rowH / 2);
    x.set(leaf, labelW);
  });
  const palette = ['#1f5fa8', '#e67e22', '#27ae60', '#8e44ad', '#c0392b', '#16a085', '#d35400', '#2c3e50'];
  const parts: string[] = [];
  for (let r = 0; r < rows; r++) {
    const [a, b, h] = [linkage[r * 4], linkage[r * 4 + 1], linkage[r * 4 + 2]];
    const id = n + r;
    const xa = x.get(a)!, xb = x.get(b)!, ya = y.get(a)!, yb = y.get(b)!, xh = xOf(h);
    parts.push(`<path d="M${xa.toFixed(1)},${ya.toFixed(1)}H${xh.toFixed(1)}V${yb.toFixed(1)}H${xb.toFixed(1)}" fill="none" stroke="#555" stroke-width="1"/>`);
    x.set(id, xh);
    y.set(id, (ya + yb) / 2);
  }
  order.forEach((leaf) => {
    const c = clusterOf ? palette[(clusterOf[leaf] - 1) % palette.length] : '#222';
    parts.push(`<text x="${labelW - 4}" y="${(y.get(leaf)! + 4).toFixed(1)}" text-anchor="end" font-size="10" fill="${c}">${escapeXml(labels[leaf])}</text>`);
  });
  parts.push(`<text x="${labelW}" y="${H - 4}" font-size="10" fill="#777">0</text><text x="${W - 20}" y="${H - 4}" font-size="10" fill="#777" text-anchor="end">${maxH.toFixed(2)}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif">${parts.join('')}</svg>`;
}

export const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Tournament: each cell's Sharpe ratio with its bootstrap interval, best first; the champion's Sharpe as a dashed rule. */
export function intervalSpec(rows: { cell: string; sharpe: number; lo: number; hi: number; champion: boolean }[], confidence: number): Spec {
  const champ = rows.find((r) => r.champion);
  const y = { field: 'cell', type: 'nominal', sort: rows.map((r) => r.cell), title: null, axis: { labelLimit: 220 } };
  const color = { field: 'role', type: 'nominal', title: null, scale: { domain: ['cell', 'champion'], range: ['#1f5fa8', '#e67e22'] } };
  const layers: Spec[] = [
    { data: { values: [{ x: 0 }] }, mark: { type: 'rule', color: '#999' }, encoding: { x: { field: 'x', type: 'quantitative' } } },
    { mark: { type: 'rule', strokeWidth: 2, opacity: 0.55 }, encoding: { y, x: { field: 'lo', type: 'quantitative', title: `annualised Sharpe ratio, ${Math.round(confidence * 100)}% bootstrap interval` }, x2: { field: 'hi' }, color } },
    { mark: { type: 'point', filled: true, size: 45, opacity: 1 }, encoding: { y, x: { field: 'sharpe', type: 'quantitative' }, color } },
  ];
  if (champ) layers.push({ data: { values: [{ x: champ.sharpe }] }, mark: { type: 'rule', strokeDash: [4, 3], color: '#e67e22' }, encoding: { x: { field: 'x', type: 'quantitative' } } });
  return {
    width: 560, height: Math.max(80, 18 * rows.length), title: 'Sharpe ratio by cell (out of sample)',
    data: { values: rows.map((r) => ({ ...r, role: r.champion ? 'champion' : 'cell' })) },
    layer: layers,
  };
}

/** Tournament: a metric over two matrix axes (one panel per value of the other axes, when there are any). */
export function axesHeatmapSpec(rows: { x: string; y: string; panel: string; value: number | null }[], xTitle: string, yTitle: string, metric: string): Spec {
  const finite = rows.map((r) => r.value).filter((v): v is number => v !== null && Number.isFinite(v));
  const extent = Math.max(1e-9, ...finite.map(Math.abs));
  const panels = [...new Set(rows.map((r) => r.panel))];
  const cell: Spec = {
    width: Math.min(640, 104 * new Set(rows.map((r) => r.x)).size), height: 34 * new Set(rows.map((r) => r.y)).size,
    encoding: {
      x: { field: 'x', type: 'nominal', title: xTitle, sort: null, axis: { labelAngle: 0, labelLimit: 200, labelFontSize: 10 } },
      y: { field: 'y', type: 'nominal', title: yTitle || null, sort: null },
    },
    layer: [
      { mark: 'rect', encoding: { color: { field: 'value', type: 'quantitative', title: metric, scale: { domain: [-extent, extent], scheme: 'redblue' } } } },
      { mark: { type: 'text', fontSize: 11 }, encoding: { text: { field: 'label' }, color: { condition: { test: `abs(datum.value) > ${0.6 * extent}`, value: 'white' }, value: '#222' } } },
    ],
  };
  const values = rows.map((r) => ({ ...r, label: r.value === null || !Number.isFinite(r.value) ? 'failed' : r.value.toFixed(2) }));
  const over = yTitle ? `${xTitle} × ${yTitle}` : xTitle;
  if (panels.length <= 1) return { title: `${metric} over ${over}`, data: { values }, ...cell };
  return { title: `${metric} over ${over}, one panel per value of the other axes`, data: { values }, facet: { field: 'panel', type: 'nominal', title: null, sort: panels }, columns: 2, spec: cell };
}

/** Tournament: the CSCV logits λ of every split; λ ≤ 0 (left of the rule) is a split where the in-sample best was at best median out of sample. */
export function logitHistogramSpec(logits: number[], pbo: number): Spec {
  const counts = new Map<number, number>();
  for (const l of logits) counts.set(Number(l.toFixed(6)), (counts.get(Number(l.toFixed(6))) ?? 0) + 1);
  const values = [...counts].sort((a, b) => a[0] - b[0]).map(([lambda, n]) => ({ lambda, share: n / logits.length, side: lambda <= 0 ? 'overfit (λ ≤ 0)' : 'λ > 0' }));
  return {
    width: 560, height: 180, title: `PBO ${(pbo * 100).toFixed(1)}%: logits of the in-sample best cell's out-of-sample rank (${logits.length} splits)`,
    data: { values },
    layer: [
      { mark: { type: 'bar', width: 8 }, encoding: { x: { field: 'lambda', type: 'quantitative', title: 'λ = logit of relative OOS rank' }, y: { field: 'share', type: 'quantitative', title: 'share of splits', axis: { format: '.0%' } }, color: { field: 'side', type: 'nominal', title: null, scale: { domain: ['overfit (λ ≤ 0)', 'λ > 0'], range: ['#c0392b', '#1f5fa8'] } } } },
      { data: { values: [{ x: 0 }] }, mark: { type: 'rule', color: '#555', strokeDash: [4, 3] }, encoding: { x: { field: 'x', type: 'quantitative' } } },
    ],
  };
}

/** Tournament: equity curves (from 1) of some cells and the champion on the common calendar. */
export function cellsEquitySpec(dates: Int32Array, series: { name: string; equity: Float64Array; champion: boolean }[]): Spec {
  const values: { date: string; cell: string; value: number }[] = [];
  for (const s of series) dates.forEach((d, i) => values.push({ date: iso(d), cell: s.name, value: s.equity[i] }));
  const names = series.map((s) => s.name);
  const palette = ['#1f5fa8', '#27ae60', '#8e44ad', '#16a085', '#c0392b', '#2c3e50', '#d35400', '#7f8c8d'];
  let k = 0;
  const range = series.map((s) => (s.champion ? '#e67e22' : palette[k++ % palette.length]));
  return {
    width: 720, height: 260, title: 'Equity of the top cells against the champion (starts at 1, out of sample)', data: { values },
    mark: { type: 'line', strokeWidth: 1.5 },
    encoding: {
      x: { field: 'date', type: 'temporal', title: null },
      y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
      color: { field: 'cell', type: 'nominal', title: null, sort: names, scale: { domain: names, range }, legend: { labelLimit: 260 } },
      strokeDash: { condition: { test: `datum.cell === ${JSON.stringify(series.find((s) => s.champion)?.name ?? '')}`, value: [5, 3] }, value: [1, 0] },
    },
  };
}
