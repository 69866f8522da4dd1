/**
 * A crypto sleeve (every day) and an equity sleeve (FTSE 100 closes, weekdays) for meta pipelines across two
 * calendars: the data and the pipelines, shared by meta-mixed-calendars.test.ts and meta-invariant.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DATA_DIR, REPO_DIR } from '../data.js';

/** The FTSE 100 closes from 2019 on (a wide CSV), as the import reads them. */
export function ftseFrom2019(last = '9999-12-31'): string {
  const [header, ...rows] = gunzipSync(readFileSync(join(DATA_DIR, 'skfolio', 'ftse100_dataset.csv.gz'))).toString('utf8').trim().split('\n');
  return [header, ...rows.filter((r) => r.slice(0, 10) >= '2019-01-01' && r.slice(0, 10) <= last)].join('\n') + '\n';
}
export const FTSE_LONG = `pipeline: selection
version: "4.0"
name: ftse_long
stages:
  - type: ingestion
    params:
      scanner: { name: lakehouse, params: { venue: ftse, min_volume_spot: 0, min_volume_perp: 0, exclude_stablecoins: false, exclude_gold_tokens: false } }
      lookback_days: 252
  - type: feature_engineering
    params: { lookback: 60 }
  - type: inference
    params: { ranker: mps }
  - type: clustering
    params: { threshold: 0.7, max_clusters: 25 }
  - type: policy
    params: { filters: [], top_n: 1, min_winners: 5 }
  - type: synthesis
    params: { direction: LONG }
  - type: allocation
    params: { engine: inverse_vol, fallback: [equal_weight] }
  - type: backtest
    params: { train_window: 252, test_window: 15, step_size: 20 }
`;
/** pipelines/crypto_long.yaml on the crypto venue alone (the lakehouse holds the FTSE too). */
export function cryptoLong(): string {
  const text = readFileSync(join(REPO_DIR, 'pipelines', 'crypto_long.yaml'), 'utf8');
  const scanner = 'scanner: lakehouse,';
  if (!text.includes(scanner)) throw new Error(`pipelines/crypto_long.yaml no longer says '${scanner}': pin its venue here another way`);
  return text.replace(scanner, 'scanner: { name: lakehouse, params: { venue: binance_spot } },');
}
export const mixMeta = (joinKind: 'inner' | 'outer', name = `mix_${joinKind}`) =>
  `pipeline: meta\nversion: "4.0"\nname: ${name}\nsleeves:\n  - { name: crypto, pipeline: ./crypto_long.yaml }\n  - { name: ftse, pipeline: ./ftse_long.yaml }\nstages:\n  - type: meta_returns\n    params: { join: ${joinKind} }\n  - type: meta_optimize\n    params: { engine: equal_weight, train_window: 60, test_window: 30, step_size: 30, slippage_bps: 0, commission_bps: 0 }\n  - type: meta_flatten\n`;
