/**
 * What the tests of the replay pool share: a folder with the fixture plugin module that records which thread made
 * each decision (fixtures/thread-plugins.js), a small closes CSV, the built API (its pool runs the compiled workers),
 * and pipelines over them whose decision stage is that recorder.
 */
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repo } from '../cli/helpers.js';

export type Api = typeof import('../../src/api/index.js');

const SYMBOLS = ['AAA', 'BBB', 'CCC'];
const DAYS = 101;

export async function threadRuns(prefix: string): Promise<{ api: Api; tmp: string; csv: string }> {
  const api = (await import(join(repo, 'dist', 'src', 'api', 'index.js'))) as Api;
  const tmp = mkdtempSync(join(tmpdir(), prefix));
  copyFileSync(join(new URL('.', import.meta.url).pathname, 'fixtures', 'thread-plugins.js'), join(tmp, 'plugins.js'));
  const rows = Array.from({ length: DAYS }, (_, t) => [new Date(Date.UTC(2024, 0, 1 + t)).toISOString().slice(0, 10), ...SYMBOLS.map((_, j) => (100 * (1 + 0.01 * Math.sin(t * (j + 1)))).toFixed(6))].join(','));
  const csv = join(tmp, 'closes.csv');
  writeFileSync(csv, `${['date', ...SYMBOLS].join(',')}\n${rows.join('\n')}\n`);
  return { api, tmp, csv };
}

/** The pipeline file `name` in `tmp`: ingestion of `csv`, the recorder (its record `${name}.jsonl`), a backtest. */
export function threadPipeline(tmp: string, csv: string, name: string, workers: number, stage: Record<string, unknown> = {}): { file: string; record: string } {
  const record = join(tmp, `${name}.jsonl`);
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(
    file,
    `pipeline: selection\nversion: "4.0"\nname: ${name}\nplugins: [./plugins.js]\nstages:\n  - type: ingestion\n    params: { scanner: { name: csv, params: { path: ${JSON.stringify(csv)}, layout: wide, asset_type: equity } } }\n  - type: thread_record\n    params: ${JSON.stringify({ record, ...stage })}\n  - type: backtest\n    params: { train_window: 20, test_window: 5, step_size: 5, workers: ${workers} }\n`,
  );
  return { file, record };
}
