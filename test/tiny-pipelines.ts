/**
 * Pipelines small enough that a run takes a fraction of a second (8 synthetic symbols × 120 days, a backtest of a
 * few windows), for tests that need many runs: tournaments' cells, metas' sleeves, queues.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_DIR } from './data.js';

/** A selection pipeline on the synthetic scanner (pipelines/bench/tiny.yaml, as the queue benchmark reads it); `lookback` is its feature window. */
export const tinySelection = (name = 'tiny', lookback = 10): string => {
  const text = readFileSync(join(REPO_DIR, 'pipelines', 'bench', 'tiny.yaml'), 'utf8');
  if (!text.includes('\nname: tiny\n') || !text.includes('params: { lookback: 10 }')) throw new Error('pipelines/bench/tiny.yaml changed: its name or feature lookback is not where tinySelection rewrites them');
  return text.replace('\nname: tiny\n', `\nname: ${name}\n`).replace('params: { lookback: 10 }', `params: { lookback: ${lookback} }`);
};

/** A tournament of 4 cells (lookback 5 or 8, test window 10 or 20) on `./tiny.yaml` (tinySelection()). */
export const tinySweep = `pipeline: tournament
version: "4.0"
name: sweep
base: ./tiny.yaml
champion: c5_20
matrix:
  stages.feature_engineering.lookback: [5, 8]
  stages.backtest.test_window: [10, 20]
cells: { id: "c{lookback}_{test_window}", max: 4 }
statistics: { bootstrap: { resamples: 100 }, cscv_blocks: 2 }
`;
