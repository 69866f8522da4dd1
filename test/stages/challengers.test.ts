/**
 * Champion and challengers (issue 10, item 5), from a user's side: one run with `rankers: [mps, cars, regime]`
 * gives every ranker an out-of-sample record. The check is independent of how the run shares work: a challenger's
 * returns must be exactly those of a separate run where that ranker is the champion.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { cli } from '../cli/helpers.js';
import { readJson as read, runYaml } from './pipeline-helpers.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-challengers-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const pipeline = (name: string, rankers: string, backtest = '') => `pipeline: selection
version: "4.0"
name: ${name}
stages:
  - type: ingestion
    params: { scanner: { name: synthetic, params: { symbols: 40, days: 420, seed: 7 } }, lookback_days: 150 }
  - type: feature_engineering
    params: { lookback: 60 }
  - type: inference
    params: { rankers: ${rankers} }
  - type: clustering
    params: { threshold: 0.7, max_clusters: 25, lookbacks: [20, 60] }
  - type: policy
    params: { filters: [darwinian, tail_risk], top_n: 2, min_winners: 8 }
  - type: synthesis
  - type: allocation
    params: { engine: hrp, fallback: [equal_weight] }
  - type: backtest
    params: { train_window: 150, test_window: 30, step_size: 30, workers: 1${backtest} }
  - type: report
`;

async function run(name: string, yaml: string) {
  const s = await runYaml(tmp, name, yaml);
  expect(s.outcome).toBe('succeeded');
  return s.folder;
}
const column = (folder: string, file: string, name: string) => Array.from(tableFromIPC(readFileSync(join(folder, file))).getChild(name)!.toArray() as Float64Array);

let one: string;
beforeAll(async () => {
  one = await run('cc', pipeline('cc', '[mps, cars, regime]'));
});

test('challengers.json and challengers.arrow: one out-of-sample record per ranker, the champion first', () => {
  const c = read(one, 'challengers.json');
  expect(c.champion).toBe('mps');
  expect(c.out_of_sample).toBe(true);
  expect(c.order).toEqual(['mps', 'cars', 'regime']);
  expect(Object.keys(c.rankers).sort()).toEqual(['cars', 'mps', 'regime']);
  expect(c.rankers.mps.role).toBe('champion');
  expect(c.rankers.cars.role).toBe('challenger');
  for (const k of ['mps', 'cars', 'regime']) expect(typeof c.rankers[k].metrics.sharpe).toBe('number');
  const t = tableFromIPC(readFileSync(join(one, 'challengers.arrow')));
  expect(t.schema.fields.map((f) => f.name)).toEqual(['date', 'mps', 'cars', 'regime']);
  // The champion's column is the run's own out-of-sample returns.
  expect(column(one, 'challengers.arrow', 'mps')).toEqual(column(one, 'returns.arrow', 'return'));
  // The rankers disagree somewhere, or the comparison would say nothing.
  expect(column(one, 'challengers.arrow', 'cars')).not.toEqual(column(one, 'challengers.arrow', 'mps'));
});

test.each(['cars', 'regime'])('the %s column equals a separate run with it as champion, day for day', async (k) => {
  const others = ['mps', 'cars', 'regime'].filter((x) => x !== k);
  const alone = await run(`cc_${k}`, pipeline(`cc_${k}`, `[${[k, ...others].join(', ')}]`, ', challengers: false'));
  expect(column(one, 'challengers.arrow', k)).toEqual(column(alone, 'returns.arrow', 'return'));
  const rec = read(one, 'challengers.json').rankers[k];
  const bt = read(alone, 'metrics.json').backtest;
  expect(rec.metrics.sharpe).toBe(bt.sharpe);
  expect(rec.metrics.carry).toEqual(bt.carry);
  expect(rec.weights_as_of).toEqual(read(alone, 'weights.json').map((w: { symbol: string; weight: number }) => ({ symbol: w.symbol, weight: w.weight })));
});

test('the CLI on two worker threads gives the same bytes as in process (challengers are decided in the workers too)', () => {
  const f = join(tmp, 'cc_cli.yaml');
  writeFileSync(f, pipeline('cc_cli', '[mps, cars, regime]'));
  const a = JSON.parse(cli([f, '--out', join(tmp, 'cli'), '--json', '--set', 'stages.backtest.workers=2']).stdout);
  const b = JSON.parse(cli([f, '--out', join(tmp, 'cli'), '--json', '--set', 'stages.backtest.workers=1']).stdout);
  expect(a.outcome).toBe('succeeded');
  for (const name of ['challengers.arrow', 'challengers.json', 'returns.arrow']) expect(readFileSync(join(a.folder, name))).toEqual(readFileSync(join(b.folder, name)));
  expect(readFileSync(join(a.folder, 'challengers.arrow'))).toEqual(readFileSync(join(one, 'challengers.arrow')));
});

test('the report compares the rankers side by side', () => {
  const md = readFileSync(join(one, 'report.md'), 'utf8');
  expect(md).toContain('## Champion and challengers');
  expect(md).toMatch(/\| metric \| mps \(champion\) \| cars \| regime \|/);
  const html = readFileSync(join(one, 'report.html'), 'utf8');
  expect(html).toContain('<h2>Champion and challengers</h2>');
  expect(html).toContain('Equity by ranker as champion (out of sample)');
});
