/**
 * A policy's verdict reaches the weights (issue 10, item 4), from a user's side on the Binance closes in
 * ../shared/data/crypto: a pipeline with a policy stage and no synthesis allocates over the policy's winners, not
 * over every candidate; `validate` warns, at the policy stage's line, when a pipeline's weights are decided where
 * the winners cannot reach them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateFile } from '../../src/config/validate.js';
import { runPipeline } from '../../src/pipeline/runner.js';
import { builtinRegistry } from '../../stages/index.js';
import { cli } from '../cli/helpers.js';
import { cryptoLakehouse, readJson as read } from './pipeline-helpers.js';

let tmp: string;
let lakehouse: string;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-universe-'));
  lakehouse = await cryptoLakehouse(join(tmp, 'lakehouse'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const funnel = `pipeline: selection
version: "4.0"
name: NAME
stages:
  - type: ingestion
    params: { scanner: lakehouse, lookback_days: 365 }
  - type: feature_engineering
    params: { lookback: 60 }
  - type: inference
    params: { ranker: mps }
  - type: clustering
    params: { threshold: 0.7, max_clusters: 25 }
`;

test('policy without synthesis: the weights are over the winners only', async () => {
  const file = join(tmp, 'no_synthesis.yaml');
  writeFileSync(file, `${funnel.replace('NAME', 'no_synthesis')}  - type: policy\n    params: { filters: [darwinian, spectral], top_n: 2, min_winners: 15 }\n  - type: allocation\n    params: { engine: hrp, fallback: [equal_weight] }\n`);
  const v = await validateFile(file, { registry: builtinRegistry() });
  expect(v.diagnostics).toEqual([]);
  const s = await runPipeline(v, { outRoot: join(tmp, 'runs'), lakehousePath: lakehouse });
  expect(s.outcome).toBe('succeeded');
  const winners = read(s.folder, 'winners.json').winners.map((w: { symbol: string }) => w.symbol).sort();
  const candidates = read(s.folder, 'candidates.json').candidates.length;
  expect(winners.length).toBeGreaterThanOrEqual(15);
  expect(winners.length).toBeLessThan(candidates);
  const held = read(s.folder, 'weights.json').filter((w: { weight: number }) => w.weight !== 0).map((w: { symbol: string }) => w.symbol).sort();
  expect(held).toEqual(winners);
  const alloc = read(s.folder, 'metrics.json').allocation;
  expect(alloc.universe).toMatchObject({ source: 'winners', atoms: false, assets: winners.length });
  expect(Object.keys(alloc.risk_contributions).sort()).toEqual(winners);
});

test('validate warns, at the policy stage, when the allocation comes before the policy (exit 0: a warning)', () => {
  const file = join(tmp, 'alloc_first.yaml');
  writeFileSync(file, `${funnel.replace('NAME', 'alloc_first')}  - type: allocation\n    params: { engine: hrp }\n  - type: policy\n    params: { filters: [darwinian], top_n: 2 }\n`);
  const r = cli(['validate', '--format', 'json', file]);
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout);
  const d = out.diagnostics.find((x: { code: string }) => x.code === 'GRAPH_WINNERS_UNUSED');
  expect(d).toMatchObject({ severity: 'warning', line: 15, column: 11, layer: 'graph' });
  expect(d.message).toBe("the winners of stage 'policy' are not used: stage 'allocation' (stages[4]) decides the weights before it");
  // The same funnel with the policy first is clean.
  const ok = join(tmp, 'policy_first.yaml');
  writeFileSync(ok, `${funnel.replace('NAME', 'policy_first')}  - type: policy\n    params: { filters: [darwinian], top_n: 2 }\n  - type: allocation\n    params: { engine: hrp }\n`);
  expect(JSON.parse(cli(['validate', '--format', 'json', ok]).stdout).diagnostics).toEqual([]);
});
