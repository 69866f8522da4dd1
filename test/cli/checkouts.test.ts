/**
 * Reproducible bytes across checkouts: one project (a meta pipeline over two selection pipelines, a CSV of closes)
 * copied into two folders and run from each folder's root with the CLI. The run folders must hold the same bytes
 * (run ids, times and timings apart) and no path of the folder they were made in: a path recorded absolute (a
 * sleeve's pipeline file, a CSV's) made two checkouts of one project disagree.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { DATA_DIR } from '../data.js';
import { cli } from './helpers.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'fractal-checkouts-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const selection = (name: string, engine: string) => `pipeline: selection
version: "4.0"
name: ${name}
stages:
  - type: ingestion
    params: { scanner: { name: csv, params: { path: data/prices.csv, layout: wide, asset_type: equity } }, lookback_days: 120 }
  - type: feature_engineering
    params: { lookback: 60 }
  - type: inference
  - type: clustering
    params: { max_clusters: 4 }
  - type: policy
    params: { top_n: 2, min_winners: 2 }
  - type: allocation
    params: { engine: ${engine} }
  - type: backtest
    params: { train_window: 120, test_window: 40, step_size: 40 }
  - type: report
`;
const META = `pipeline: meta
version: "4.0"
name: checkout_meta
sleeves:
  - { name: hrp, pipeline: ./pipelines/hrp.yaml }
  - { name: ew, pipeline: ./pipelines/ew.yaml }
stages:
  - type: meta_returns
  - type: meta_optimize
    params: { engine: equal_weight, train_window: 60, test_window: 40, step_size: 40 }
  - type: meta_flatten
  - type: report
`;

/** Every file under `dir` (relative paths), checkpoints apart (their blobs carry the run id by design). */
function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) {
        if (e !== 'checkpoints') walk(p);
      } else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

test('one project run from two folders: the same bytes, and no path of either folder in what it wrote', () => {
  const roots = ['first', join('second', 'deeper')].map((d) => join(tmp, d, 'project'));
  const folders: string[] = [];
  for (const root of roots) {
    mkdirSync(join(root, 'pipelines'), { recursive: true });
    mkdirSync(join(root, 'pipelines', 'data'), { recursive: true });
    copyFileSync(join(DATA_DIR, 'pypfopt', 'stock_prices.csv'), join(root, 'pipelines', 'data', 'prices.csv'));
    writeFileSync(join(root, 'pipelines', 'hrp.yaml'), selection('sleeve_hrp', 'hrp'));
    writeFileSync(join(root, 'pipelines', 'ew.yaml'), selection('sleeve_ew', 'equal_weight'));
    writeFileSync(join(root, 'meta.yaml'), META);
    const r = cli(['run', 'meta.yaml', '--out', 'runs', '--json', '--no-cache'], { cwd: root });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    folders.push(JSON.parse(r.stdout).folder as string);
  }
  // Run ids, ISO times and the timings a manifest and the audit carry are the only differences allowed.
  const norm = (text: string) =>
    text
      .replace(/\d{8}T\d{6}Z-[0-9a-f]{6}/g, 'RUN_ID')
      .replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z/g, 'TIME')
      .replace(/"(ms|duration_ms|elapsed_ms)": ?[0-9.]+/g, '"$1":0')
      .replace(/\b\d+(\.\d+)? (ms|s)\b/g, 'N $2'); // the reports' stage timings
  // Files paired by their paths with run ids taken out (a sleeve's run folder is named by its run id).
  const byName = (folder: string) => new Map(files(folder).map((f) => [norm(f), f] as const));
  const [a, b] = folders.map(byName);
  expect([...b!.keys()]).toEqual([...a!.keys()]);
  expect(a!.size).toBeGreaterThan(20);
  const [root1, root2] = roots.map((r) => join(r, '..'));
  for (const [name, f] of a!) {
    const x = readFileSync(join(folders[0]!, f));
    const y = readFileSync(join(folders[1]!, b!.get(name)!));
    expect({ name, leaks: [x.includes(root1!), y.includes(root2!)] }).toEqual({ name, leaks: [false, false] });
    if (name.endsWith('.arrow')) expect({ name, same: x.equals(y) }).toEqual({ name, same: true });
    else expect({ name, text: norm(y.toString('latin1')) }).toEqual({ name, text: norm(x.toString('latin1')) });
  }
}, 120_000);
