/**
 * Charts for the reports, rendered to SVG with no browser: vega-lite specs compiled and drawn by vega's headless
 * renderer (TOOLCHAIN.md: vega-lite 6.4.3, the last release for Node 20). vega loads only when a report draws.
 * The dendrogram is drawn directly from the scipy-format linkage matrix (vega-lite has no tree mark).
 */
import { leavesList } from '../math/ward.js';
import { sha256 } from '../util/hash.js';

type Spec = Record<string, unknown>;

let engines: Promise<{ vega: any; vl: any }> | undefined;
// One after the other: loading both at once races jest's ESM linker on their shared d3 modules.
const load = () => (engines ??= (async () => ({ vega: await import('vega'), vl: await import('vega-lite') }))());

const warnings: string[] = [];
/**
 * vega-lite's warnings about the specs compiled so far (a conflicting scale, an unusable channel): kept for the
 * tests, which want none, and printed only with FRACTAL_DEBUG=1 (a report's reader cannot act on them).
 */
export const chartWarnings = (): readonly string[] => warnings;
const logger = {
  level: () => logger,
  error: (...a: unknown[]) => void warnings.push(`error: ${a.join(' ')}`),
  warn: (...a: unknown[]) => {
    warnings.push(a.join(' '));
    if (process.env.FRACTAL_DEBUG === '1') process.stderr.write(`vega-lite: ${a.join(' ')}\n`);
    return logger;
  },
  info: () => logger,
  debug: () => logger,
};

/** One vega-lite spec to an SVG string. */
export async function renderSvg(spec: Spec): Promise<string> {
  const { vega, vl } = await load();
  const compiled = vl.compile({ $schema: 'https://vega.github.io/schema/vega-lite/v6.json', config: CONFIG, ...spec }, { logger }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = (await view.toSVG()) as string;
  view.finalize();
  return stableDefIds(svg);
}

const DEF_ID = /(id="|url\(#)(p_)?(clip\d+|gradient_\d+)/g;

/**
 * vega numbers clip paths and gradients with counters that live as long as the process, so the same chart drawn
 * after others (another cell on the same worker thread) gets other ids and its page other bytes. Renames them by
 * order of appearance under a prefix from the chart's own content: the same chart, the same bytes; two different
 * charts inline in one page, different ids.
 */
export function stableDefIds(svg: string): string {
  const prefix = sha256(svg.replace(DEF_ID, '$1$2#')).slice(0, 10);
  const names = new Map<string, string>();
  return svg.replace(DEF_ID, (_m, lead: string, pattern: string | undefined, id: string) => {
    let name = names.get(id);
    if (!name) names.set(id, (name = `${id.startsWith('clip') ? 'clip' : 'gradient'}_${prefix}_${names.size}`));
    return `${lead}${pattern ?? ''}${name}`;
  });
}

const CONFIG = {
  font: 'system-ui, -apple-system, Segoe UI, sans-serif',
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  view: { stroke: null },
};

const iso = (d: number) => new Date(d * 86_400_000).toISOString().slice(0, 10);

/** A time axis that always says the year ("Mar 2024"), whatever span the chart covers. */
const TIME_AXIS = { title: null, format: '%b %Y', labelOverlap: true, tickCount: 8 };
/** One y-axis width for every panel of a time chart, so stacked panels line up on the same dates. */
const Y_EXTENT = { minExtent: 52, maxExtent: 52 };
const WIDTH = 720;

/**
 * The portfolio first and bold, a benchmark thin and grey under it (an explicit domain: names never pick colours).
 * Orders come from scale domains, never from a `sort` list: vega turns a sort list into an expression, and a name
 * such as "constructor" in an expression breaks it (see heatmapSpec).
 */
function seriesColor(names: string[]): Record<string, unknown> {
  const range = names.map((_, i) => (i === 0 ? '#1f5fa8' : '#9a9a9a'));
  return { field: 'series', type: 'nominal', title: null, scale: { domain: names, range }, legend: names.length > 1 ? { orient: 'top-left' } : null };
}

/** The equity curve on its own (starts at 1), with an optional benchmark. */
export function equitySpec(dates: Int32Array, equity: Float64Array, benchmark?: { name: string; equity: Float64Array }, title = 'Equity (starts at 1)'): Spec {
  return { ...equityPanel(dates, equity, benchmark, 260), title };
}

function equityPanel(dates: Int32Array, equity: Float64Array, benchmark: { name: string; equity: Float64Array } | undefined, height: number): Spec {
  const values: { date: string; series: string; value: number }[] = [];
  dates.forEach((d, i) => {
    values.push({ date: iso(d), series: 'portfolio', value: equity[i] });
    if (benchmark) values.push({ date: iso(d), series: benchmark.name, value: benchmark.equity[i] });
  });
  const names = benchmark ? ['portfolio', benchmark.name] : ['portfolio'];
  const encoding = {
    x: { field: 'date', type: 'temporal', axis: TIME_AXIS },
    y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false }, axis: Y_EXTENT },
    color: seriesColor(names),
  };
  // The benchmark first (underneath), thin and dashed; the portfolio over it, bold. Only the literal 'portfolio'
  // appears in an expression (a symbol's name never does: see heatmapSpec).
  return {
    width: WIDTH, height, data: { values }, encoding,
    layer: [
      ...(benchmark ? [{ transform: [{ filter: "datum.series !== 'portfolio'" }], mark: { type: 'line', strokeWidth: 1.1, strokeDash: [4, 3] } }] : []),
      { transform: [{ filter: "datum.series === 'portfolio'" }], mark: { type: 'line', strokeWidth: 2 } },
    ],
  };
}

function drawdownPanel(dates: Int32Array, drawdown: Float64Array, height: number): Spec {
  return {
    width: WIDTH, height, data: { values: Array.from(dates, (d, i) => ({ date: iso(d), dd: drawdown[i] })) },
    mark: { type: 'area', color: '#c0392b', opacity: 0.55, line: { color: '#c0392b', strokeWidth: 1 } },
    encoding: { x: { field: 'date', type: 'temporal', axis: TIME_AXIS }, y: { field: 'dd', type: 'quantitative', title: null, axis: { format: '.0%', ...Y_EXTENT } } },
  };
}

export const REGIME_COLORS: Record<string, string> = { NORMAL: '#8fc99a', TURBULENT: '#f2c46d', CRISIS: '#e07b6f' };

/**
 * Equity over drawdown on one shared time axis (the two plots line up day for day), and when the decisions read a
 * market regime, a strip of the regime each holding period was decided in.
 */
export function performanceSpec(dates: Int32Array, equity: Float64Array, drawdown: Float64Array, benchmark?: { name: string; equity: Float64Array }, regimes?: { start: number; end: number; regime: string }[], title = 'Equity (starts at 1) and drawdown'): Spec {
  const panels: Spec[] = [equityPanel(dates, equity, benchmark, 240), { ...drawdownPanel(dates, drawdown, 110), title: { text: 'Drawdown', fontSize: 11, anchor: 'start', fontWeight: 'normal', color: '#555' } }];
  if (regimes?.length) {
    const states = Object.keys(REGIME_COLORS).filter((k) => regimes.some((r) => r.regime === k));
    panels.push({
      width: WIDTH, height: 18, title: { text: 'Regime at each rebalance', fontSize: 11, anchor: 'start', fontWeight: 'normal', color: '#555' },
      data: { values: regimes.map((r) => ({ start: iso(r.start), end: iso(r.end + 1), regime: r.regime })) },
      mark: { type: 'rect' },
      encoding: {
        x: { field: 'start', type: 'temporal', axis: TIME_AXIS },
        x2: { field: 'end' },
        color: { field: 'regime', type: 'nominal', title: null, scale: { domain: states, range: states.map((k) => REGIME_COLORS[k]) }, legend: { orient: 'bottom', direction: 'horizontal' } },
      },
    });
  }
  return { title, vconcat: panels, spacing: 8, resolve: { scale: { x: 'shared', color: 'independent' }, legend: { color: 'independent' } } };
}

/** Rolling Sharpe over rolling volatility, on one time axis. */
export function rollingSpec(dates: Int32Array, sharpe: Float64Array, volatility: Float64Array, days: number): Spec {
  // The whole record's span, as the equity chart above it (the first `days` have no value yet).
  const x = { field: 'date', type: 'temporal', axis: TIME_AXIS, scale: { domain: [iso(dates[0]), iso(dates[dates.length - 1])] } };
  const rows = (a: Float64Array) => Array.from(dates, (d, i) => ({ date: iso(d), v: Number.isFinite(a[i]) ? a[i] : null })).filter((x) => x.v !== null);
  const panel = (a: Float64Array, label: string, format: string, color: string, rule?: number): Spec => ({
    width: WIDTH, height: 120, title: { text: label, fontSize: 11, anchor: 'start', fontWeight: 'normal', color: '#555' },
    layer: [
      { data: { values: rows(a) }, mark: { type: 'line', color, strokeWidth: 1.4 }, encoding: { x, y: { field: 'v', type: 'quantitative', title: null, axis: { format, ...Y_EXTENT } } } },
      ...(rule === undefined ? [] : [{ data: { values: [{ y: rule }] }, mark: { type: 'rule', color: '#999', strokeDash: [3, 3] }, encoding: { y: { field: 'y', type: 'quantitative' } } }]),
    ],
  });
  return { title: `Rolling ${days}-day Sharpe and volatility (annualised)`, vconcat: [panel(sharpe, 'Sharpe', '.1f', '#1f5fa8', 0), panel(volatility, 'Volatility', '.0%', '#8e44ad')], spacing: 8, resolve: { scale: { x: 'shared' } } };
}

/** Per rebalance: turnover and trading costs (bars), and the gross and net exposure of the weights decided. */
export function tradingSpec(rows: { date: number; turnover: number; cost: number; gross: number; net: number }[], span?: [number, number]): Spec {
  const values = rows.map((r) => ({ ...r, date: iso(r.date) }));
  const x = { field: 'date', type: 'temporal', axis: TIME_AXIS, ...(span ? { scale: { domain: [iso(span[0]), iso(span[1])] } } : {}) };
  // Bars on a time axis have no band: a width in pixels from the number of rebalances.
  const barWidth = Math.max(2, Math.min(14, Math.floor((WIDTH / Math.max(1, rows.length)) * 0.6)));
  const bars = (field: string, label: string, color: string, format: string): Spec => ({
    width: WIDTH, height: 90, title: { text: label, fontSize: 11, anchor: 'start', fontWeight: 'normal', color: '#555' }, data: { values },
    mark: { type: 'bar', color, width: barWidth },
    encoding: { x, y: { field, type: 'quantitative', title: null, axis: { format, ...Y_EXTENT } } },
  });
  const exposure: Spec = {
    width: WIDTH, height: 90, title: { text: 'Exposure decided (gross and net)', fontSize: 11, anchor: 'start', fontWeight: 'normal', color: '#555' },
    data: { values: values.flatMap((r) => [{ date: r.date, kind: 'gross', v: r.gross }, { date: r.date, kind: 'net', v: r.net }]) },
    mark: { type: 'line', point: { size: 14 }, interpolate: 'step-after' },
    encoding: {
      x,
      y: { field: 'v', type: 'quantitative', title: null, axis: { format: '.0%', ...Y_EXTENT } },
      color: { field: 'kind', type: 'nominal', title: null, scale: { domain: ['gross', 'net'], range: ['#1f5fa8', '#e67e22'] }, legend: { orient: 'top', direction: 'horizontal' } },
    },
  };
  return { title: 'Turnover, trading costs and exposure at each rebalance', vconcat: [bars('turnover', 'Turnover (traded notional / equity)', '#1f5fa8', '.0%'), bars('cost', 'Trading costs (of equity)', '#c0392b', '.2%'), exposure], spacing: 8, resolve: { scale: { x: 'shared', color: 'independent' }, legend: { color: 'independent' } } };
}

/** Colours of the parts of a whole (sleeves, rankers), in order; the whole itself is drawn dark. */
export const PART_COLORS = ['#1f5fa8', '#e67e22', '#27ae60', '#8e44ad', '#c0392b', '#16a085', '#d35400', '#7f8c8d'];

/**
 * Several equity curves on one calendar (a champion and its challengers; a meta and its sleeves), in the given order.
 * With `whole`, the first series is the whole (drawn dark) and the others take the part colours in order.
 */
export function equityComparisonSpec(dates: Int32Array, series: { name: string; equity: Float64Array }[], title: string, whole = false): Spec {
  const values: { date: string; series: string; value: number }[] = [];
  dates.forEach((d, i) => {
    for (const s of series) values.push({ date: iso(d), series: s.name, value: s.equity[i] });
  });
  return {
    width: WIDTH, height: 260, title, data: { values },
    mark: { type: 'line', strokeWidth: 1.4 },
    encoding: {
      x: { field: 'date', type: 'temporal', axis: TIME_AXIS },
      y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false }, axis: Y_EXTENT },
      color: { field: 'series', type: 'nominal', title: null, scale: { domain: series.map((s) => s.name), range: whole ? ['#333333', ...PART_COLORS] : PART_COLORS }, legend: { orient: 'top', direction: 'horizontal' } },
    },
  };
}

/** The gap between two equity curves over time (a parity check: simulator minus reference, relative). */
export function equityGapSpec(dates: Int32Array, gap: Float64Array, title: string): Spec {
  return {
    width: WIDTH, height: 140, title, data: { values: Array.from(dates, (d, i) => ({ date: iso(d), gap: gap[i] })) },
    mark: { type: 'area', color: '#8e44ad', opacity: 0.5, line: { color: '#8e44ad', strokeWidth: 1 } },
    encoding: { x: { field: 'date', type: 'temporal', axis: TIME_AXIS }, y: { field: 'gap', type: 'quantitative', title: null, axis: { format: '.2~%', ...Y_EXTENT } } },
  };
}

export function drawdownSpec(dates: Int32Array, drawdown: Float64Array): Spec {
  return { ...drawdownPanel(dates, drawdown, 140), title: 'Drawdown' };
}

/**
 * Weights as bars, largest first. `domain` fixes the axis (e.g. [0, 1] for shares of a whole); otherwise the axis
 * runs to a round number past the largest weight, and always includes 0.
 */
export function weightsSpec(weights: { symbol: string; weight: number }[], title = 'Weights (last rebalance)', domain?: [number, number]): Spec {
  return {
    width: WIDTH, height: Math.max(80, 16 * weights.length), title, data: { values: weights },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'symbol', type: 'nominal', sort: '-x', title: null },
      x: { field: 'weight', type: 'quantitative', title: null, axis: { format: '.0%' }, scale: domain ? { domain, nice: false } : { zero: true, nice: true } },
      color: { condition: { test: 'datum.weight < 0', value: '#c0392b' }, value: '#1f5fa8' },
    },
  };
}

/** Distinct colours for the top holdings; the rest is one grey "other". */
const HOLDING_COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#aec7e8', '#ffbb78', '#98df8a'];
export const OTHER = 'other';

/**
 * Weights at each rebalance, stacked. At most `top` names get a colour of their own (those with the largest mean
 * absolute weight over the rebalances); the others are summed into "other" (longs and shorts apart), so colours never
 * repeat and the legend is whole.
 */
export function weightsOverTimeSpec(rows: { date: number; symbol: string; weight: number }[], title = 'Weights at each rebalance', top = HOLDING_COLORS.length, legendTitle = 'holding'): Spec {
  const dates = [...new Set(rows.map((r) => r.date))].sort((a, b) => a - b);
  const size = new Map<string, number>();
  for (const r of rows) size.set(r.symbol, (size.get(r.symbol) ?? 0) + Math.abs(r.weight) / dates.length);
  const ranked = [...size.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([s]) => s);
  const shown = ranked.length <= Math.min(top, HOLDING_COLORS.length) + 1 ? ranked : ranked.slice(0, Math.min(top, HOLDING_COLORS.length));
  const keep = new Set(shown);
  const values: { date: string; symbol: string; weight: number }[] = [];
  const other = new Map<string, number>();
  for (const r of rows) {
    if (keep.has(r.symbol)) values.push({ date: iso(r.date), symbol: r.symbol, weight: r.weight });
    else {
      const k = `${r.date}|${r.weight < 0 ? '-' : '+'}`;
      other.set(k, (other.get(k) ?? 0) + r.weight);
    }
  }
  for (const [k, w] of other) values.push({ date: iso(Number(k.split('|')[0])), symbol: OTHER, weight: w });
  const domain = other.size ? [...shown, OTHER] : shown;
  const range = domain.map((s, i) => (s === OTHER && other.size ? '#c7c7c7' : HOLDING_COLORS[i % HOLDING_COLORS.length]));
  const hidden = ranked.length - shown.length;
  return {
    width: WIDTH, height: 220, title: hidden ? { text: title, subtitle: `the ${shown.length} largest holdings; "other" sums the ${hidden} smaller ones` } : title, data: { values },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'date', type: 'ordinal', title: null, sort: dates.map(iso), axis: { labelAngle: -45, labelOverlap: true } },
      y: { field: 'weight', type: 'quantitative', title: null, stack: 'zero', axis: { format: '.0%', ...Y_EXTENT } },
      color: { field: 'symbol', type: 'nominal', title: legendTitle, scale: { domain, range }, legend: { columns: 1, symbolLimit: 0, labelLimit: 140 } },
      order: { field: 'symbol', type: 'nominal', sort: 'ascending' },
    },
  };
}

/** Cumulative contribution of each part (a meta run's sleeves) to the return, in return points over time. */
export function contributionSpec(dates: Int32Array, parts: { name: string; cumulative: Float64Array }[], title: string): Spec {
  const values: { date: string; part: string; v: number }[] = [];
  dates.forEach((d, i) => {
    for (const p of parts) values.push({ date: iso(d), part: p.name, v: p.cumulative[i] });
  });
  return {
    width: WIDTH, height: 200, title, data: { values },
    layer: [
      { mark: { type: 'line', strokeWidth: 1.5 }, encoding: { x: { field: 'date', type: 'temporal', axis: TIME_AXIS }, y: { field: 'v', type: 'quantitative', title: null, axis: { format: '.0%', ...Y_EXTENT } }, color: { field: 'part', type: 'nominal', title: null, scale: { domain: parts.map((p) => p.name), range: parts.map((p, i) => (p.name === 'meta trading costs' ? '#999999' : PART_COLORS[i % PART_COLORS.length])) }, legend: { orient: 'top', direction: 'horizontal' } } } },
      { data: { values: [{ y: 0 }] }, mark: { type: 'rule', color: '#999' }, encoding: { y: { field: 'y', type: 'quantitative' } } },
    ],
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
export function intervalSpec(rows: { cell: string; sharpe: number; lo: number; hi: number; champion: boolean }[], confidence: number, cells = rows.length): Spec {
  const champ = rows.find((r) => r.champion);
  // The rows' order is the scale's domain: vega compiles a sort list into one nested expression per entry, which
  // overflows the stack at about a thousand cells.
  const y = { field: 'cell', type: 'nominal', sort: null, scale: { domain: rows.map((r) => r.cell) }, title: null, axis: { labelLimit: 220 } };
  const color = { field: 'role', type: 'nominal', title: null, scale: { domain: ['cell', 'champion'], range: ['#1f5fa8', '#e67e22'] } };
  const layers: Spec[] = [
    { data: { values: [{ x: 0 }] }, mark: { type: 'rule', color: '#999' }, encoding: { x: { field: 'x', type: 'quantitative' } } },
    { mark: { type: 'rule', strokeWidth: 2, opacity: 0.55 }, encoding: { y, x: { field: 'lo', type: 'quantitative', title: `annualised Sharpe ratio, ${Math.round(confidence * 100)}% bootstrap interval` }, x2: { field: 'hi' }, color } },
    { mark: { type: 'point', filled: true, size: 45, opacity: 1 }, encoding: { y, x: { field: 'sharpe', type: 'quantitative' }, color } },
  ];
  if (champ) layers.push({ data: { values: [{ x: champ.sharpe }] }, mark: { type: 'rule', strokeDash: [4, 3], color: '#e67e22' }, encoding: { x: { field: 'x', type: 'quantitative' } } });
  return {
    width: 560, height: Math.max(80, 18 * rows.length),
    title: cells > rows.length ? `Sharpe ratio by cell (out of sample): the best ${rows.filter((r) => !r.champion).length} of ${cells} cells and the champion` : 'Sharpe ratio by cell (out of sample)',
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

/**
 * Tournament: the CSCV logits λ of every split; λ < 0 (left of the rule) is a split where the in-sample best ranked
 * below the median out of sample (overfit); λ = 0, exactly at the median, is not counted (src/math/pbo.ts).
 */
export function logitHistogramSpec(logits: number[], pbo: number): Spec {
  const counts = new Map<number, number>();
  for (const l of logits) counts.set(Number(l.toFixed(6)), (counts.get(Number(l.toFixed(6))) ?? 0) + 1);
  const values = [...counts].sort((a, b) => a[0] - b[0]).map(([lambda, n]) => ({ lambda, share: n / logits.length, side: lambda < 0 ? 'overfit (λ < 0)' : lambda === 0 ? 'at the median (λ = 0)' : 'λ > 0' }));
  return {
    width: 560, height: 180, title: `PBO ${(pbo * 100).toFixed(1)}%: logits of the in-sample best cell's out-of-sample rank (${logits.length} splits)`,
    data: { values },
    layer: [
      { mark: { type: 'bar', width: 8 }, encoding: { x: { field: 'lambda', type: 'quantitative', title: 'λ = logit of relative OOS rank' }, y: { field: 'share', type: 'quantitative', title: 'share of splits', axis: { format: '.0%' } }, color: { field: 'side', type: 'nominal', title: null, scale: { domain: ['overfit (λ < 0)', 'at the median (λ = 0)', 'λ > 0'], range: ['#c0392b', '#999999', '#1f5fa8'] } } } },
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
      x: { field: 'date', type: 'temporal', axis: TIME_AXIS },
      y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
      color: { field: 'cell', type: 'nominal', title: null, sort: names, scale: { domain: names, range }, legend: { labelLimit: 260 } },
      strokeDash: { condition: { test: `datum.cell === ${JSON.stringify(series.find((s) => s.champion)?.name ?? '')}`, value: [5, 3] }, value: [1, 0] },
    },
  };
}
