/**
 * The report against a benchmark and the DRIFT flag, on the Binance closes in ../shared/data/crypto, from a user's
 * side: a long-only crypto pipeline benchmarked on BTCUSDT writes beta, alpha, tracking error and information ratio
 * into metrics.json, equal to an OLS fit written here on the run's own returns.arrow (return and benchmark columns),
 * and the report shows them; a min-variance book far above its volatility band says DRIFT in report.md, report.html
 * and on the console.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from '@uwdata/flechette';
import { cli } from '../cli/helpers.js';
import { cryptoLakehouse } from './pipeline-helpers.js';

let tmp: string;
let lakehouse: string;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-report-bench-'));
  lakehouse = await cryptoLakehouse(join(tmp, 'lakehouse'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const pipeline = (name: string, engine: string, benchmark = '') => `pipeline: selection
version: "4.0"
name: ${name}
stages:
  - type: ingestion
    params: { scanner: { name: lakehouse, params: { min_volume_spot: 0 } }, lookback_days: 365 }
  - type: feature_engineering
    params: { lookback: 60 }
  - type: inference
    params: { ranker: mps }
  - type: clustering
  - type: policy
    params: { filters: [darwinian, spectral, tail_risk], top_n: 2, min_winners: 8 }
  - type: synthesis
  - type: allocation
    params: { engine: ${engine}, fallback: [equal_weight] }
  - type: backtest
    params: { train_window: 180, test_window: 30, step_size: 30${benchmark ? `, benchmark: ${benchmark}` : ''} }
  - type: report
`;

function run(name: string, yaml: string) {
  writeFileSync(join(tmp, `${name}.yaml`), yaml);
  const r = cli([join(tmp, `${name}.yaml`), '--lakehouse', lakehouse, '--out', join(tmp, 'runs')]);
  expect(r.code).toBe(0);
  return { folder: r.stdout.trim(), stderr: r.stderr };
}

test('beta, alpha, tracking error and information ratio against BTCUSDT: an OLS on the run’s own returns agrees', () => {
  const { folder } = run('bench', pipeline('bench', 'hrp', 'BTCUSDT'));
  const m = JSON.parse(readFileSync(join(folder, 'metrics.json'), 'utf8')).backtest;
  const rel = m.benchmark.relative;
  // The normal equations of y = a + b x on the daily returns (risk-free 0), straight from returns.arrow.
  const rows = tableFromIPC(readFileSync(join(folder, 'returns.arrow'))).toArray() as { return: number; benchmark: number }[];
  const x = rows.map((r) => r.benchmark);
  const y = rows.map((r) => r.return);
  const n = x.length;
  const sx = x.reduce((s, v) => s + v, 0);
  const sy = y.reduce((s, v) => s + v, 0);
  const sxx = x.reduce((s, v) => s + v * v, 0);
  const sxy = x.reduce((s, v, i) => s + v * y[i]!, 0);
  const beta = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  const alpha = ((sy - beta * sx) / n) * 365;
  const d = y.map((v, i) => v - x[i]!);
  const md = d.reduce((s, v) => s + v, 0) / n;
  const te = Math.sqrt(d.reduce((s, v) => s + (v - md) ** 2, 0) / (n - 1)) * Math.sqrt(365);
  expect(rel.days).toBe(n);
  expect(rel.beta).toBeCloseTo(beta, 10);
  expect(rel.alpha).toBeCloseTo(alpha, 10);
  expect(rel.tracking_error).toBeCloseTo(te, 12);
  expect(rel.information_ratio).toBeCloseTo((md * 365) / te, 10);
  const html = readFileSync(join(folder, 'report.html'), 'utf8');
  expect(html).toContain('<tr><th></th><th>portfolio</th><th>BTCUSDT</th></tr>');
  expect(html).toContain(`<tr><td>Beta</td><td class="num">${rel.beta.toFixed(2)}</td></tr>`);
  expect(html).toContain(`<tr><td>Information ratio</td><td class="num">${rel.information_ratio.toFixed(2)}</td></tr>`);
  const md2 = readFileSync(join(folder, 'report.md'), 'utf8');
  expect(md2).toContain(`| Alpha (annual, Jensen) | ${(rel.alpha * 100).toFixed(2)}% |`);
  expect(md2).toContain('| metric | portfolio | BTCUSDT |');
});

test('a book far above its engine’s volatility band says DRIFT in report.md, report.html and on the console', () => {
  const { folder, stderr } = run('drift', pipeline('drift', 'min_variance'));
  const band = JSON.parse(readFileSync(join(folder, 'metrics.json'), 'utf8')).backtest.volatility_band;
  expect(band).toMatchObject({ engine: 'min_variance', band: 0.35, limit: 0.25, flagged: true });
  expect(band.realised - band.band).toBeGreaterThan(0.25);
  const text = `realised volatility ${(band.realised * 100).toFixed(1)}% is ${(band.drift * 100).toFixed(1)} points above the min_variance band of 35.0%`;
  expect(readFileSync(join(folder, 'report.md'), 'utf8')).toContain(`**DRIFT: ${text}`);
  expect(readFileSync(join(folder, 'report.html'), 'utf8')).toContain(`<p class="flag">DRIFT: ${text}`);
  expect(stderr).toContain(`DRIFT: ${text}`);
  // Within its band (hrp, 45%: flagged beyond 70%), nothing is said.
  const calm = run('calm', pipeline('calm', 'hrp'));
  expect(JSON.parse(readFileSync(join(calm.folder, 'metrics.json'), 'utf8')).backtest.volatility_band.flagged).toBe(false);
  expect(calm.stderr).not.toContain('DRIFT');
  expect(readFileSync(join(calm.folder, 'report.md'), 'utf8')).not.toContain('DRIFT');
});
