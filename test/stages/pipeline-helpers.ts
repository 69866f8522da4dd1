/**
 * What the user-side stage tests share: a lakehouse of the Binance closes in ../shared/data/crypto, running a
 * pipeline file through validation and the runner, and reading a run's artifacts back.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateFile } from '../../src/config/validate.js';
import { runPipeline } from '../../src/pipeline/runner.js';
import { openLakehouse } from '../../src/lakehouse/index.js';
import { builtinRegistry } from '../../stages/index.js';
import { DATA_DIR } from '../data.js';

/** A lakehouse at `dir` filled with the crypto closes (venue binance_spot, spot). */
export async function cryptoLakehouse(dir: string, source = join(DATA_DIR, 'crypto')): Promise<string> {
  const lh = await openLakehouse(dir, { create: true });
  await lh.importCsv(source, { layout: 'ohlcv', venue: 'binance_spot', assetType: 'spot' });
  return dir;
}

/** A copy of the crypto CSVs in `dir` with every row after `cut` (YYYY-MM-DD) left out: the data as it was then. */
export function cryptoCsvCut(dir: string, cut: string): string {
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(join(DATA_DIR, 'crypto')).filter((n) => n.endsWith('.csv'))) {
    const [header, ...rows] = readFileSync(join(DATA_DIR, 'crypto', f), 'utf8').trim().split('\n');
    writeFileSync(join(dir, f), [header, ...rows.filter((r) => r.slice(0, 10) <= cut)].join('\n') + '\n');
  }
  return dir;
}

/** Writes `yaml` as <tmp>/<name>.yaml, expects it to validate without errors, and runs it into <tmp>/runs. */
export async function runYaml(tmp: string, name: string, yaml: string, lakehouse = join(tmp, 'none'), outRoot = join(tmp, 'runs')) {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(file, yaml);
  const v = await validateFile(file, { registry: builtinRegistry() });
  expect(v.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return runPipeline(v, { outRoot, lakehousePath: lakehouse });
}

export const readJson = (folder: string, file: string) => JSON.parse(readFileSync(join(folder, file), 'utf8'));

export const auditEvents = (folder: string): { stage: string | null; event: string; data: any }[] =>
  readFileSync(join(folder, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
