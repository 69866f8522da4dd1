/**
 * The API's functions behind `runs`, `trace`, `compare`, `plugins`, `schema` and `docs`, in process, on real run
 * folders: the demo pipeline run twice (the second with another clustering threshold) into a temporary runs root.
 * Expected values are read from the run folders' own files (manifest.json, metrics.json, weights.json), not from
 * the functions under test.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkDocs, checkSchemas, compareMarkdown, compareRuns, listPlugins, listRuns, PLUGIN_KINDS, pruneRuns, run, traceSymbol, writeDocs, writeRunsIndex, writeSchemas } from '../../src/api/index.js';
import type { RunResult } from '../../src/api/types.js';

const REPO = new URL('../..', import.meta.url).pathname;
const json = (f: string) => JSON.parse(readFileSync(f, 'utf8'));
let dir: string;
let out: string;
let a: Extract<RunResult, { outcome: 'succeeded' | 'failed' }>;
let b: Extract<RunResult, { outcome: 'succeeded' | 'failed' }>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fractal-api-inspect-'));
  out = join(dir, 'runs');
  const demo = join(REPO, 'pipelines', 'demo.yaml');
  const first = await run(demo, { out, workers: false });
  const second = await run(demo, { out, workers: false, set: ['stages.clustering.threshold=0.5'] });
  if (first.outcome !== 'succeeded' || second.outcome !== 'succeeded') throw new Error(`demo runs: ${first.outcome}, ${second.outcome}`);
  a = first;
  b = second;
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('listRuns: every run, newest first, with its manifest and metrics; NO_RUNS for a missing root', async () => {
  const rows = await listRuns(out);
  expect(rows.map((r) => r.run_id)).toEqual([b.summary.run_id, a.summary.run_id]);
  for (const [row, r] of [[rows[0]!, b], [rows[1]!, a]] as const) {
    const m = json(join(r.paths.folder, 'manifest.json'));
    expect(row).toMatchObject({ name: 'demo', outcome: 'succeeded', folder: r.paths.folder, config_hash: m.config_hash, started_at: m.started_at, duration_ms: m.duration_ms });
    const metrics = json(join(r.paths.folder, 'metrics.json')).backtest;
    expect(row.metrics?.sharpe).toBe(metrics.sharpe);
  }
  expect(rows[0]!.compare).toBeUndefined(); // no index written yet: no compare page to link
  await expect(listRuns(join(dir, 'none'))).rejects.toMatchObject({ code: 'NO_RUNS', exitCode: 2 });
});

test('writeRunsIndex: index.md, index.html and a compare page against the previous run; pruneRuns removes only interrupted runs', async () => {
  const idx = await writeRunsIndex(out);
  expect(idx.html).toBe(join(out, 'index.html'));
  expect(readFileSync(idx.md, 'utf8')).toContain(`[${a.summary.run_id}]`);
  expect(readFileSync(idx.html, 'utf8')).toContain(b.summary.run_id);
  expect(idx.comparePages).toBe(1);
  const page = join(out, '.compare', 'demo', `${a.summary.run_id}--${b.summary.run_id}.html`);
  expect(existsSync(page)).toBe(true);
  expect((await listRuns(out))[0]!.compare).toEqual({ with: a.summary.run_id, page: join('.compare', 'demo', `${a.summary.run_id}--${b.summary.run_id}.html`) });
  expect((await writeRunsIndex(out)).comparePages).toBe(0); // pages of finished runs are kept

  // A run whose process is gone: a .partial folder with no running process recorded.
  const partial = join(out, 'demo', '.20000101T000000Z-dead.partial');
  mkdirSync(partial);
  writeFileSync(join(partial, 'audit.jsonl'), '{"event":"stage_started","stage":"ingestion","time":"2000-01-01T00:00:00Z"}\n');
  expect((await listRuns(out)).filter((r) => r.outcome === 'interrupted').map((r) => r.folder)).toEqual([partial]);
  expect(pruneRuns(out).map((r) => r.folder)).toEqual([partial]);
  expect(existsSync(partial)).toBe(false);
  expect(existsSync(a.paths.folder) && existsSync(b.paths.folder)).toBe(true);
  expect(pruneRuns(out)).toEqual([]);
});

test("traceSymbol: a held symbol's weight is weights.json's; a symbol discovery never saw is SYMBOL_NOT_IN_RUN", () => {
  const weights = json(join(b.paths.folder, 'weights.json')) as { symbol: string; weight: number; direction: string }[];
  const held = weights[0]!;
  const t = traceSymbol(b.paths.folder, held.symbol);
  expect(t).toMatchObject({ symbol: held.symbol, run: b.summary.run_id, weight: { weight: held.weight, direction: held.direction }, selection: { winner: true } });
  expect(t.discovery?.candidate).toMatchObject({ symbol: held.symbol });
  expect(() => traceSymbol(b.paths.folder, 'NOT-A-SYMBOL')).toThrow(expect.objectContaining({ code: 'SYMBOL_NOT_IN_RUN' }));
  expect(() => traceSymbol(dir, held.symbol)).toThrow(expect.objectContaining({ code: 'NOT_A_RUN' }));
});

test('compareRuns: the one config change, the metrics of both metrics.json files; a run against itself changes nothing', async () => {
  const c = await compareRuns(a.paths.folder, b.paths.folder);
  expect(c.config).toEqual({ same: false, changes: [{ path: 'stages.clustering.threshold', kind: 'changed', before: 0.7, after: 0.5 }] });
  const ma = json(join(a.paths.folder, 'metrics.json')).backtest;
  const mb = json(join(b.paths.folder, 'metrics.json')).backtest;
  const sharpe = c.metrics.find((m) => m.metric === 'sharpe')!;
  expect(sharpe.a).toBe(ma.sharpe);
  expect(sharpe.b).toBe(mb.sharpe);
  expect(sharpe.difference).toBeCloseTo(mb.sharpe - ma.sharpe, 12);
  expect(compareMarkdown(c)).toContain('~ stages.clustering.threshold: 0.7 -> 0.5');
  const same = await compareRuns(a.paths.folder, a.paths.folder);
  expect(same.config.same).toBe(true);
  expect(same.weights.changes).toEqual([]);
  expect(same.returns).toMatchObject({ identical: true });
});

test('listPlugins: kind by kind in PLUGIN_KINDS order, by name within a kind', () => {
  const all = listPlugins();
  expect(all).toEqual(PLUGIN_KINDS.flatMap((k) => listPlugins(k)));
  for (const k of PLUGIN_KINDS) {
    const names = listPlugins(k).map((m) => m.name);
    expect(names.length).toBeGreaterThan(0);
    expect(listPlugins(k).every((m) => m.kind === k)).toBe(true);
    expect(new Set(names).size).toBe(names.length);
  }
});

test("writeSchemas/checkSchemas and writeDocs/checkDocs: the repository's files are current; an empty folder is filled, a stray page removed", () => {
  expect(checkSchemas(join(REPO, 'schemas')).stale).toEqual([]);
  expect(checkDocs(join(REPO, 'docs', 'reference'))).toMatchObject({ stale: [], extra: [] });
  const schemas = join(dir, 'schemas');
  const before = checkSchemas(schemas);
  expect(before.stale.length).toBe(before.files);
  expect(existsSync(schemas)).toBe(false); // check writes nothing
  expect(writeSchemas(schemas).stale.length).toBe(before.files);
  expect(readdirSync(schemas).sort()).toEqual([...before.stale].sort());
  for (const f of before.stale) expect(readFileSync(join(schemas, f), 'utf8')).toBe(readFileSync(join(REPO, 'schemas', f), 'utf8'));
  expect(checkSchemas(schemas).stale).toEqual([]);
  const docs = join(dir, 'reference');
  expect(writeDocs(docs).stale.length).toBe(checkDocs(join(REPO, 'docs', 'reference')).files);
  writeFileSync(join(docs, 'ranker', 'gone.md'), '# no such plugin\n');
  expect(checkDocs(docs)).toMatchObject({ stale: [], extra: [join('ranker', 'gone.md')] });
  expect(writeDocs(docs).extra).toEqual([join('ranker', 'gone.md')]);
  expect(existsSync(join(docs, 'ranker', 'gone.md'))).toBe(false);
  expect(readFileSync(join(docs, 'README.md'), 'utf8')).toBe(readFileSync(join(REPO, 'docs', 'reference', 'README.md'), 'utf8'));
});
