/**
 * Pipelines small enough that a run takes a fraction of a second (8 synthetic symbols × 120 days, a backtest of a
 * few windows), for tests that need many runs: tournaments' cells, metas' sleeves, queues.
 */

/** A selection pipeline on the synthetic scanner; `lookback` is its feature window. */
export const tinySelection = (name = 'tiny', lookback = 10) => `pipeline: selection
version: "4.0"
name: ${name}
stages:
  - type: ingestion
    params: { scanner: { name: synthetic, params: { symbols: 8, days: 120, seed: 1 } }, lookback_days: 60 }
  - type: feature_engineering
    params: { lookback: ${lookback} }
  - type: inference
    params: { ranker: mps }
  - type: allocation
    params: { engine: equal_weight }
  - type: backtest
    params: { train_window: 40, test_window: 20, step_size: 20 }
`;

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
