/**
 * Comparing runs and the runs index (issue 17), from a user's side: `--json` carries the headline metrics;
 * `pipeline-run compare A B` shows the resolved-config diff exactly as `plan --diff` prints it, the data hashes, the
 * metrics side by side (B − A, checked against each run's metrics.json), how the daily returns track (recomputed here
 * from returns.arrow with another Arrow reader) and the weights that changed most (recomputed from weights.json), for
 * selection and meta runs; `pipeline-run runs` writes a compare page per run and its predecessor, lists failed and
 * interrupted runs with their error, and its page sorts and filters (checked in headless Chromium when installed).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from '@uwdata/flechette';
import { cli } from './helpers.js';

let tmp: string;
let runs: string;
const selection = (topN: number, name = 'cmp') => `pipeline: selection
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
    params: { filters: [darwinian, tail_risk], top_n: ${topN}, min_winners: 5 }
  - type: synthesis
  - type: allocation
    params: { engine: inverse_vol }
  - type: backtest
    params: { train_window: 120, test_window: 30, step_size: 30 }
`;
const read = (folder: string, f: string) => JSON.parse(readFileSync(join(folder, f), 'utf8'));
/** What `pipeline-run <file> --json` prints (the fields used here). */
interface RunOut { run_id: string; folder: string; outcome: string; config_hash: string; data_hash: string; metrics: Record<string, unknown> | null }
let A: RunOut;
let B: RunOut;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-compare-'));
  runs = join(tmp, 'runs');
  writeFileSync(join(tmp, 'a.yaml'), selection(2));
  writeFileSync(join(tmp, 'b.yaml'), selection(3));
  A = JSON.parse(cli([join(tmp, 'a.yaml'), '--out', runs, '--json']).stdout);
  B = JSON.parse(cli([join(tmp, 'b.yaml'), '--out', runs, '--json']).stdout);
  expect([A.outcome, B.outcome]).toEqual(['succeeded', 'succeeded']);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

test('--json carries the headline metrics beside the ids and hashes', () => {
  const m = read(A.folder, 'metrics.json').backtest;
  expect(A).toMatchObject({ run_id: expect.any(String), config_hash: expect.any(String), data_hash: expect.stringMatching(/^sha256:/) });
  expect(A.metrics).toEqual({ record: 'backtest', cagr: m.cagr, sharpe: m.sharpe, max_drawdown: m.max_drawdown, turnover: m.turnover, volatility: m.volatility, first: m.first, last: m.last });
});

test('compare: the config diff as plan --diff prints it, the data, metrics side by side, tracking, the weights that changed most', () => {
  const md = cli(['compare', A.folder, B.folder]);
  expect(md.code).toBe(0);
  const plan = cli(['plan', join(tmp, 'b.yaml'), '--diff', join(tmp, 'a.yaml')]);
  const planLines = plan.stdout.split('\n').filter((l) => /^[~+-] /.test(l));
  expect(planLines).toEqual(['~ stages.policy.top_n: 2 -> 3']);
  for (const l of planLines) expect(md.stdout).toContain(`\n${l}\n`);
  expect(md.stdout).toContain('The same data: `sha256:');

  const c = JSON.parse(cli(['compare', A.folder, B.folder, '--format', 'json']).stdout);
  expect(c.config).toEqual({ same: false, changes: [{ path: 'stages.policy.top_n', kind: 'changed', before: 2, after: 3 }] });
  expect(c.data).toMatchObject({ same: true, a: A.data_hash, b: B.data_hash });
  const ma = read(A.folder, 'metrics.json').backtest;
  const mb = read(B.folder, 'metrics.json').backtest;
  for (const key of ['cagr', 'sharpe', 'max_drawdown', 'turnover', 'costs', 'volatility']) {
    const row = c.metrics.find((r: { metric: string }) => r.metric === key);
    expect(row).toMatchObject({ a: ma[key], b: mb[key] });
    expect(row.difference).toBeCloseTo(mb[key] - ma[key], 14);
  }
  // Tracking, recomputed from the two returns.arrow files.
  const series = (f: string) => {
    const t = tableFromIPC(readFileSync(join(f, 'returns.arrow'))).toArray() as { date: Date | number; return: number }[];
    return new Map(t.map((r) => [new Date(r.date).getTime(), r.return]));
  };
  const ra = series(A.folder);
  const rb = series(B.folder);
  const days = [...ra.keys()].filter((d) => rb.has(d) && Number.isFinite(ra.get(d)) && Number.isFinite(rb.get(d)));
  const x = days.map((d) => ra.get(d)!);
  const y = days.map((d) => rb.get(d)!);
  const mean = (v: number[]) => v.reduce((s, a) => s + a, 0) / v.length;
  const d = y.map((v, i) => v - x[i]!);
  const te = Math.sqrt(d.reduce((s, v) => s + (v - mean(d)) ** 2, 0) / (d.length - 1)) * Math.sqrt(365);
  const cov = x.reduce((s, v, i) => s + (v - mean(x)) * (y[i]! - mean(y)), 0);
  const corr = cov / Math.sqrt(x.reduce((s, v) => s + (v - mean(x)) ** 2, 0) * y.reduce((s, v) => s + (v - mean(y)) ** 2, 0));
  expect(c.returns.common_days).toBe(days.length);
  expect(c.returns.tracking_error).toBeCloseTo(te, 12);
  expect(c.returns.correlation).toBeCloseTo(corr, 12);
  // Weights: every symbol of either weights.json, by the size of its change.
  const wa = new Map((read(A.folder, 'weights.json') as { symbol: string; weight: number }[]).map((w) => [w.symbol, w.weight]));
  const wb = new Map((read(B.folder, 'weights.json') as { symbol: string; weight: number }[]).map((w) => [w.symbol, w.weight]));
  const changes = [...new Set([...wa.keys(), ...wb.keys()])].map((s) => ({ s, ch: (wb.get(s) ?? 0) - (wa.get(s) ?? 0) })).filter((w) => w.ch !== 0).sort((p, q) => Math.abs(q.ch) - Math.abs(p.ch));
  expect(changes.length).toBeGreaterThan(0);
  expect(c.weights.changes.map((w: { symbol: string }) => w.symbol)).toEqual(changes.slice(0, 15).map((w) => w.s));
  expect(c.weights.changes[0].change).toBeCloseTo(changes[0]!.ch, 14);
});

test('a rerun compares as the same config, data and code, with identical returns', () => {
  const again = JSON.parse(cli([join(tmp, 'a.yaml'), '--out', runs, '--json']).stdout);
  const md = cli(['compare', A.folder, again.folder]).stdout;
  expect(md).toContain('Same config, data and code');
  expect(md).toContain('The resolved configs are identical.');
  expect(md).toMatch(/Identical on the \d+ days they share/);
  expect(md).toContain('No weight changed');
});

test('meta runs: the meta config diff, each sleeve, the sleeve weights', () => {
  writeFileSync(join(tmp, 'long.yaml'), selection(2, 'long'));
  writeFileSync(join(tmp, 'short.yaml'), selection(2, 'short').replace('  - type: allocation', '  - type: synthesis\n    params: { direction: SHORT }\n  - type: allocation').replace('  - type: synthesis\n  - type: synthesis', '  - type: synthesis'));
  const meta = (engine: string) => `pipeline: meta
version: "4.0"
name: cmp_meta
sleeves:
  - { name: long, pipeline: ./long.yaml }
  - { name: short, pipeline: ./short.yaml }
stages:
  - type: meta_returns
  - type: meta_optimize
    params: { engine: ${engine}, train_window: 60, test_window: 30, step_size: 30 }
  - type: meta_flatten
`;
  writeFileSync(join(tmp, 'meta_a.yaml'), meta('equal_weight'));
  writeFileSync(join(tmp, 'meta_b.yaml'), meta('inverse_vol'));
  const a = JSON.parse(cli([join(tmp, 'meta_a.yaml'), '--out', runs, '--json']).stdout);
  const b = JSON.parse(cli([join(tmp, 'meta_b.yaml'), '--out', runs, '--json']).stdout);
  expect([a.outcome, b.outcome]).toEqual(['succeeded', 'succeeded']);
  expect(a.metrics.record).toBe('meta');
  const c = JSON.parse(cli(['compare', a.folder, b.folder, '--json']).stdout);
  expect(c.config.changes).toEqual([{ path: 'stages.meta_optimize.engine.name', kind: 'changed', before: 'equal_weight', after: 'inverse_vol' }]);
  expect(c.sleeves.map((s: { sleeve: string; same: boolean }) => [s.sleeve, s.same])).toEqual([['long', true], ['short', true]]);
  const mb = read(b.folder, 'metrics.json').meta;
  expect(c.metrics.find((r: { metric: string }) => r.metric === 'sharpe').b).toBe(mb.sharpe);
  const sleeveWeights = new Map((read(b.folder, 'meta_weights.json') as { symbol: string; weight: number }[]).map((w) => [w.symbol, w.weight]));
  for (const w of c.meta_weights) expect(w.b).toBe(sleeveWeights.get(w.symbol) ?? 0);
});

test('tournaments: the champion cell\'s record as the headline and in compare, every cell side by side, the base changed once', () => {
  writeFileSync(join(tmp, 'base.yaml'), selection(2, 'base'));
  const tournament = `pipeline: tournament
version: "4.0"
name: cmp_tournament
base: ./base.yaml
champion: inverse_vol_30
matrix:
  stages.allocation.engine: [inverse_vol, equal_weight]
  stages.backtest.step_size: [30, 60]
cells: { id: "{engine}_{step_size}" }
`;
  writeFileSync(join(tmp, 't.yaml'), tournament);
  const a = JSON.parse(cli([join(tmp, 't.yaml'), '--out', runs, '--json']).stdout);
  expect(a.outcome).toBe('succeeded');
  // The base changed: every cell changes with it.
  writeFileSync(join(tmp, 'base.yaml'), selection(3, 'base'));
  const b = JSON.parse(cli([join(tmp, 't.yaml'), '--out', runs, '--json']).stdout);
  expect(b.outcome).toBe('succeeded');
  const ta = read(a.folder, 'tournament.json');
  const tb = read(b.folder, 'tournament.json');
  const championB = tb.cells.find((x: { id: string }) => x.id === 'inverse_vol_30');
  expect(b.metrics).toEqual({ record: 'champion', cell: 'inverse_vol_30', cagr: championB.metrics.cagr, sharpe: championB.metrics.sharpe, max_drawdown: championB.metrics.max_drawdown, turnover: championB.metrics.turnover, volatility: championB.metrics.volatility, first: tb.calendar.first, last: tb.calendar.last });
  const c = JSON.parse(cli(['compare', a.folder, b.folder, '--json']).stdout);
  expect(c.a.record).toBe('champion');
  expect(c.a.champion.cell).toBe('inverse_vol_30');
  expect(c.metrics.find((r: { metric: string }) => r.metric === 'sharpe')).toMatchObject({ a: ta.cells.find((x: { id: string }) => x.id === 'inverse_vol_30').metrics.sharpe, b: championB.metrics.sharpe });
  // The base's change is one line (its hash), not one per cell; the policy's change itself is the base's, not the tournament's.
  expect(c.config.changes.map((x: { path: string }) => x.path)).toEqual(['tournament.base.config_hash']);
  // Every cell of both, by B's rank, each figure from its own tournament.json.
  const byRank = [...tb.cells].sort((x: { rank: number }, y: { rank: number }) => x.rank - y.rank).map((x: { id: string }) => x.id);
  expect(c.cells.map((r: { cell: string }) => r.cell)).toEqual(byRank);
  for (const r of c.cells) {
    for (const [side, t] of [['a', ta], ['b', tb]] as const) {
      const cell = t.cells.find((x: { id: string }) => x.id === r.cell);
      expect(r[side]).toEqual({ outcome: cell.outcome, rank: cell.rank, sharpe: cell.metrics.sharpe, cagr: cell.metrics.cagr, max_drawdown: cell.metrics.max_drawdown, p_beats_champion: cell.p_beats_champion });
    }
  }
  // The search itself, from each tournament.json: a change in the best cell or in PBO is not hidden behind the
  // champion's record.
  for (const [side, t] of [['a', ta], ['b', tb]] as const) {
    const best = t.cells.find((x: { rank: number }) => x.rank === 1);
    expect(c.tournament[side]).toEqual({
      cells: t.cells.length, best: best.id, best_sharpe: best.metrics.sharpe, best_dsr: best.dsr,
      threshold_sharpe: t.deflation.threshold_sharpe * Math.sqrt(t.periods_per_year), pbo: t.pbo.value,
      beat_champion: t.cells.filter((x: { sharpe_test: { p_holm?: number; delta: number } }) => (x.sharpe_test.p_holm ?? 1) < 0.05 && x.sharpe_test.delta > 0).map((x: { id: string }) => x.id),
    });
  }
  const md = cli(['compare', a.folder, b.folder]).stdout;
  expect(md).toContain(c.tournament.a.best === c.tournament.b.best ? `best cell ${c.tournament.a.best} (unchanged), PBO ` : `best cell ${c.tournament.a.best} → ${c.tournament.b.best}, PBO `);
  // A tournament against itself: the best cell did not change, and the summary says so rather than `x → x`.
  const same = cli(['compare', b.folder, b.folder]).stdout;
  expect(same).toContain(`; best cell ${c.tournament.b.best} (unchanged), PBO `);
  expect(same).not.toContain(`best cell ${c.tournament.b.best} → `);
  expect(md).toContain('## Tournament (the search over cells');
  expect(md).toMatch(/\| PBO \| [0-9.]+ \| [0-9.]+ \|/);
  expect(md).toContain('## Metrics (out of sample: champion cell inverse_vol_30 record of A, champion cell inverse_vol_30 record of B)');
  expect(md).toContain('## Cells (out of sample; by rank in B)');
  expect(md).toContain('| inverse_vol_30 (champion of A and B) |');
  // Tournaments hold no weights of their own.
  expect(md).not.toContain('## Weights that changed most');
});

test('bad input: a folder that is not a run, an unknown format', () => {
  const r = cli(['compare', A.folder, tmp]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('error NOT_A_RUN');
  expect(cli(['compare', A.folder, B.folder, '--format', 'pdf']).code).toBe(2);
});

test('runs: compare pages for each run and its predecessor, failed and interrupted runs with their error', () => {
  // A run that fails at run time (the synthetic market has no coin this liquid), after a good one of the same name.
  writeFileSync(join(tmp, 'c.yaml'), selection(2).replace('{ symbols: 30, days: 420, seed: 5 }', '{ symbols: 30, days: 420, seed: 5, min_volume_spot: 1e15 }'));
  const failed = JSON.parse(cli([join(tmp, 'c.yaml'), '--out', runs, '--json']).stdout);
  expect(failed.outcome).toBe('failed');
  const r = cli(['runs', '--out', runs]);
  expect(r.code).toBe(0);
  const html = readFileSync(join(runs, 'index.html'), 'utf8');
  const page = join('.compare', 'cmp', `${A.run_id}--${B.run_id}.html`);
  expect(existsSync(join(runs, page))).toBe(true);
  expect(html).toContain(`href="${page}"`);
  const comparePage = readFileSync(join(runs, page), 'utf8');
  expect(comparePage).toContain('~ stages.policy.top_n: 2 -&gt; 3');
  expect(comparePage).not.toMatch(/<script/i);
  // The failed run: its row says failed and the line below it carries the error code and message.
  expect(html).toMatch(new RegExp(`${failed.run_id}</a></td><td class="failed">failed</td>`));
  expect(html).toMatch(/<tr class="error-row"><td colspan="\d+"><span class="failed">failed:<\/span> ingestion: \[EMPTY_UNIVERSE\] scanner 'synthetic' found no candidates/);
  const md = readFileSync(join(runs, 'index.md'), 'utf8');
  expect(md).toContain(`[vs ${A.run_id}](${page})`);
  const json = JSON.parse(cli(['runs', '--out', runs, '--json']).stdout);
  expect(json.find((x: { run_id: string }) => x.run_id === failed.run_id)).toMatchObject({ outcome: 'failed', error: expect.stringContaining('[EMPTY_UNIVERSE]') });
  expect(json.find((x: { run_id: string }) => x.run_id === B.run_id)).toMatchObject({ compare: { with: A.run_id, page } });
});

const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
(chromium ? test : test.skip)('the index sorts by a column and filters by outcome and text (headless Chromium)', () => {
  writeFileSync(join(runs, 'harness.html'), `<!doctype html><body><iframe id="f" src="index.html"></iframe><pre id="out"></pre><script>
document.getElementById('f').onload = () => {
  const d = document.getElementById('f').contentDocument, out = [];
  const visible = () => [...d.querySelectorAll('#runs tbody')].filter((g) => !g.hidden);
  const sharpe = [...d.querySelectorAll('#runs th')].find((h) => h.textContent === 'Sharpe');
  const col = [...d.querySelectorAll('#runs th')].indexOf(sharpe);
  sharpe.click();
  out.push('asc ' + visible().map((g) => g.rows[0].cells[col].dataset.sort).join(' '));
  sharpe.click();
  out.push('desc ' + visible().map((g) => g.rows[0].cells[col].dataset.sort).join(' '));
  const o = d.getElementById('outcome'); o.value = 'failed'; o.dispatchEvent(new Event('input'));
  out.push('failed ' + visible().map((g) => g.dataset.outcome).join(' '));
  o.value = ''; o.dispatchEvent(new Event('input'));
  const q = d.getElementById('q'); q.value = 'EMPTY_UNIVERSE'; q.dispatchEvent(new Event('input'));
  out.push('text ' + visible().length);
  document.getElementById('out').textContent = out.join('\\n');
};
</script></body>`);
  const r = spawnSync(chromium!, ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--allow-file-access-from-files', `--user-data-dir=${mkdtempSync(join(tmp, 'chrome-'))}`, '--virtual-time-budget=5000', '--dump-dom', `file://${join(runs, 'harness.html')}`], { encoding: 'utf8', timeout: 60000 });
  const out = /<pre id="out">([\s\S]*?)<\/pre>/.exec(r.stdout)?.[1] ?? '';
  const lines = Object.fromEntries(out.split('\n').map((l) => [l.split(' ')[0], l.split(' ').slice(1)]));
  const asc = lines.asc!.filter((x) => x !== '').map(Number);
  expect(asc.length).toBeGreaterThan(3);
  expect(asc).toEqual([...asc].sort((p, q) => p - q));
  expect(lines.desc!.filter((x) => x !== '').map(Number)).toEqual([...asc].reverse());
  // Runs without a Sharpe (failed) sort last either way.
  expect(lines.asc!.at(-1)).toBe('');
  expect(lines.failed!.length).toBeGreaterThan(0);
  expect(new Set(lines.failed)).toEqual(new Set(['failed']));
  expect(lines.text).toEqual(['1']);
});
