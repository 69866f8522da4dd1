/** The pipeline the reuse tests run (a seeded synthetic market, every stage, a report): reused from each stage. */
export const PIPELINE = `pipeline: selection
version: "4.0"
name: reuse_demo
stages:
  - type: ingestion
    params: { scanner: { name: synthetic, params: { symbols: 30, days: 400, seed: 11 } }, lookback_days: 200 }
  - type: feature_engineering
    params: { lookback: 60 }
  - type: inference
    params: { rankers: [mps, cars] }
  - type: clustering
    params: { threshold: 0.7 }
  - type: policy
    params: { filters: [darwinian, tail_risk], top_n: 2, min_winners: 6 }
  - type: synthesis
  - type: allocation
    params: { engine: hrp, fallback: [equal_weight] }
  - type: backtest
    params: { train_window: 120, test_window: 30, step_size: 30 }
  - type: report
`;
