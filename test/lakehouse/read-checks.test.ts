/**
 * What a read checks when it does not hash a file (src/lakehouse/store.ts checkBytes): the stamp is trusted only
 * when it is not "racy"; the rows, first and last dates and column offsets are checked on every read; a registry
 * whose offsets or rows were edited gives the file decoded or LAKEHOUSE_CORRUPT, never garbage or a RangeError.
 * FRACTAL_VERIFY_READS=1 hashes every read.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, closeSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { openLakehouse } from '../../src/lakehouse/index.js';
import { readCounters } from '../../src/lakehouse/store.js';
import { lakehousePins, withLakehousePins } from '../../src/lakehouse/pins.js';
import type { Registry, RegistryEntry } from '../../src/lakehouse/registry.js';
import { CRYPTO, tempDir } from './helpers.js';
import { validateFile } from '../../src/config/validate.js';
import { preflightPipeline, runPipeline, specOf, type PreflightFindings } from '../../src/pipeline/runner.js';
import { planReuse } from '../../src/pipeline/reuse.js';
import { createContainer } from '../../src/pipeline/container.js';
import { builtinRegistry } from '../../stages/index.js';

const KEY = 'binance_spot/ETHUSDT';

/** A store of two symbols; returns its folder and the ETHUSDT file. */
async function store(): Promise<{ dir: string; file: string }> {
  const dir = await tempDir();
  const csv = join(dir, 'csv');
  mkdirSync(csv);
  for (const s of ['ETHUSDT', 'BTCUSDT']) copyFileSync(join(CRYPTO, `${s}.csv`), join(csv, `${s}.csv`));
  const lh = await openLakehouse(join(dir, 'lh'), { create: true });
  await lh.importCsv(csv, { layout: 'ohlcv', venue: 'binance_spot', assetType: 'spot' });
  return { dir: join(dir, 'lh'), file: join(dir, 'lh', 'ohlcv', 'binance_spot', 'ETHUSDT.arrow') };
}

function editEntry(dir: string, edit: (e: RegistryEntry) => void): void {
  const path = join(dir, 'registry.json');
  const reg = JSON.parse(readFileSync(path, 'utf8')) as Registry;
  edit(reg.entries[KEY]!);
  writeFileSync(path, JSON.stringify(reg));
}

/** Overwrites bytes of `file` in place (same size, same inode) and puts its modification time back. */
function rewriteKeepingMtime(file: string, at: number, bytes: Uint8Array): void {
  const before = statSync(file, { bigint: true });
  const fd = openSync(file, 'r+');
  writeSync(fd, bytes, 0, bytes.length, at);
  closeSync(fd);
  // `touch -d @s.ns` (utimes takes a double: no nanoseconds)
  execFileSync('touch', ['-m', '-d', `@${before.mtimeNs / 1_000_000_000n}.${String(before.mtimeNs % 1_000_000_000n).padStart(9, '0')}`, file]);
  const after = statSync(file, { bigint: true });
  expect([after.size, after.ino, after.mtimeNs]).toEqual([before.size, before.ino, before.mtimeNs]);
}

const f64 = (x: number) => new Uint8Array(new Float64Array([x]).buffer);
const i32 = (x: number) => new Uint8Array(new Int32Array([x]).buffer);

test('a commit records when it registered each file; a stamp whose mtime is not strictly older is racy and the file is hashed', async () => {
  const { dir, file } = await store();
  const st = statSync(file, { bigint: true });
  const stamp = (await openLakehouse(dir, { readOnly: true })).registry().entries[KEY]!.stamp!;
  expect(stamp).toMatchObject({ size: Number(st.size), mtime_ns: String(st.mtimeNs), ino: String(st.ino) });
  expect(BigInt(stamp.registered_ns!)).toBeGreaterThanOrEqual(st.mtimeNs);

  // The close of the first row rewritten in place within the commit's clock tick (the mtime did not move).
  const entry = (await openLakehouse(dir, { readOnly: true })).registry().entries[KEY]!;
  rewriteKeepingMtime(file, entry.offsets!.close, f64(1e9));
  editEntry(dir, (e) => (e.stamp!.registered_ns = e.stamp!.mtime_ns)); // the same tick: racy
  const racy = await openLakehouse(dir, { readOnly: true });
  await expect(racy.readOhlcv('ETHUSDT', 'binance_spot')).rejects.toMatchObject({ code: 'LAKEHOUSE_CORRUPT', message: expect.stringContaining('ETHUSDT') });
  // The hint names this lakehouse, not ./lakehouse.
  await expect(racy.readOhlcv('ETHUSDT', 'binance_spot')).rejects.toMatchObject({ hint: expect.stringContaining(`lakehouse verify --lakehouse ${dir}`) });
  await expect(racy.readReturns({ symbols: ['ETHUSDT'], venue: 'binance_spot', end: '2024-01-01', lookbackDays: 30 })).rejects.toMatchObject({ code: 'LAKEHOUSE_CORRUPT' });

  // A stamp older than its registration is trusted: a rewrite that keeps the shape and puts the mtime back is what
  // stamps cannot see (documented). FRACTAL_VERIFY_READS=1 and `verify` hash the file and name it.
  editEntry(dir, (e) => (e.stamp!.registered_ns = String(BigInt(e.stamp!.mtime_ns) + 1n)));
  const trusted = await openLakehouse(dir, { readOnly: true });
  const hashed = readCounters.hashed;
  expect((await trusted.readOhlcv('ETHUSDT', 'binance_spot')).close[0]).toBe(1e9);
  expect(readCounters.hashed).toBe(hashed);
  process.env.FRACTAL_VERIFY_READS = '1';
  try {
    const verifying = await openLakehouse(dir, { readOnly: true });
    await expect(verifying.readOhlcv('ETHUSDT', 'binance_spot')).rejects.toMatchObject({ code: 'LAKEHOUSE_CORRUPT' });
    await expect(verifying.readReturns({ symbols: ['ETHUSDT'], venue: 'binance_spot', end: '2024-01-01', lookbackDays: 30 })).rejects.toMatchObject({ code: 'LAKEHOUSE_CORRUPT' });
  } finally {
    delete process.env.FRACTAL_VERIFY_READS;
  }
  expect((await trusted.verify()).problems.map((p) => p.key)).toEqual([KEY]);
});

test('with a trusted stamp, a file whose dates no longer fit its registry entry fails the read without a hash of every read', async () => {
  const { dir, file } = await store();
  editEntry(dir, (e) => (e.stamp!.registered_ns = String(BigInt(e.stamp!.mtime_ns) + 1n)));
  const entry = (await openLakehouse(dir, { readOnly: true })).registry().entries[KEY]!;
  rewriteKeepingMtime(file, entry.offsets!.date + 4 * (entry.rows - 1), i32(0)); // the last date: 1970-01-01
  const ro = await openLakehouse(dir, { readOnly: true });
  await expect(ro.readOhlcv('ETHUSDT', 'binance_spot')).rejects.toMatchObject({ code: 'LAKEHOUSE_CORRUPT', message: expect.stringContaining('ETHUSDT') });
  await expect(ro.readReturns({ symbols: ['ETHUSDT'], venue: 'binance_spot', end: '2024-01-01', lookbackDays: 30 })).rejects.toMatchObject({ code: 'LAKEHOUSE_CORRUPT' });
});

describe('a registry whose offsets or rows do not fit the file', () => {
  const clean = async () => {
    const { dir } = await store();
    editEntry(dir, (e) => (e.stamp!.registered_ns = String(BigInt(e.stamp!.mtime_ns) + 1n))); // trusted: no hash first
    const lh = await openLakehouse(dir, { readOnly: true });
    return { dir, bars: await lh.readOhlcv('ETHUSDT', 'binance_spot'), returns: await lh.readReturns({ symbols: ['ETHUSDT'], venue: 'binance_spot', end: '2024-01-01' }) };
  };
  const hex = (a: Float64Array | Int32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');

  test.each([
    ['close near the end, open past it', (e: RegistryEntry) => Object.assign(e.offsets!, { close: e.bytes - 16, open: e.bytes + 1000 })],
    ['date misaligned', (e: RegistryEntry) => Object.assign(e.offsets!, { date: e.offsets!.date + 2 })],
    ['close on top of date', (e: RegistryEntry) => Object.assign(e.offsets!, { close: e.offsets!.date })],
  ])('%s: the file is decoded instead, the same bars and returns', async (_, edit) => {
    const { dir, bars, returns } = await clean();
    editEntry(dir, edit);
    const lh = await openLakehouse(dir, { readOnly: true });
    const decoded = readCounters.decoded;
    const o = await lh.readOhlcv('ETHUSDT', 'binance_spot');
    for (const c of ['date', 'open', 'high', 'low', 'close', 'volume'] as const) expect(hex(o[c])).toBe(hex(bars[c]));
    const lh2 = await openLakehouse(dir, { readOnly: true });
    const r = await lh2.readReturns({ symbols: ['ETHUSDT'], venue: 'binance_spot', end: '2024-01-01' });
    expect(hex(r.values)).toBe(hex(returns.values));
    expect(readCounters.decoded).toBe(decoded + 2);
  });

  test.each([
    ['rows + 50', (e: RegistryEntry) => (e.rows += 50)],
    ['rows - 1', (e: RegistryEntry) => (e.rows -= 1)],
    ['first date', (e: RegistryEntry) => (e.first_date = '2022-06-13')],
    ['last date', (e: RegistryEntry) => (e.last_date = '2030-01-01')],
  ])('%s: LAKEHOUSE_CORRUPT naming the file', async (_, edit) => {
    const { dir } = await clean();
    editEntry(dir, edit);
    const lh = await openLakehouse(dir, { readOnly: true });
    await expect(lh.readOhlcv('ETHUSDT', 'binance_spot')).rejects.toMatchObject({ code: 'LAKEHOUSE_CORRUPT', message: expect.stringContaining('ETHUSDT.arrow') });
    const lh2 = await openLakehouse(dir, { readOnly: true });
    await expect(lh2.readReturns({ symbols: ['ETHUSDT'], venue: 'binance_spot', end: '2024-01-01' })).rejects.toMatchObject({ code: 'LAKEHOUSE_CORRUPT', message: expect.stringContaining('ETHUSDT.arrow') });
  });

  // Not of the type a commit writes: refused as the registry loads (test/lakehouse/registry-fields.test.ts).
  test.each([
    ['an offset not a number', (e: RegistryEntry) => Object.assign(e.offsets!, { close: '64' as unknown as number }), /its offsets\.close "64" is not a byte offset/],
    ['rows negative', (e: RegistryEntry) => (e.rows = -1), /its rows -1 is not a whole number from 1/],
  ])('%s: LAKEHOUSE_REGISTRY naming the entry and the field, before any file is read', async (_, edit, message) => {
    const { dir } = await clean();
    editEntry(dir, edit);
    await expect(openLakehouse(dir, { readOnly: true })).rejects.toMatchObject({ code: 'LAKEHOUSE_REGISTRY', message: expect.stringMatching(message) });
  });
});

/** ETHUSDT's rows with one more day, as a CSV folder beside the store (`name`). */
function oneMoreDay(dir: string, name: string, close?: string): { csv: string; rows: number } {
  const csv = join(dir, '..', name);
  mkdirSync(csv);
  const rows = readFileSync(join(CRYPTO, 'ETHUSDT.csv'), 'utf8').trim().split('\n');
  const last = rows[rows.length - 1]!.split(',');
  const next = new Date(Date.parse(`${last[0]}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  const cells = [next, ...last.slice(1)];
  if (close) cells[4] = close;
  writeFileSync(join(csv, 'ETHUSDT.csv'), [...rows, cells.join(',')].join('\n') + '\n');
  return { csv, rows: rows.length };
}

/** The store of two symbols, a writer on it, and a pipeline reading it: its ingestion (30 days), then `more` stages. */
async function storeAndPipeline(name: string, more: string) {
  const { dir } = await store();
  const writer = await openLakehouse(dir, { create: true });
  const file = join(dir, '..', `${name}.yaml`);
  writeFileSync(file, `pipeline: selection\nversion: "4.0"\nname: ${name}\nstages:\n  - type: ingestion\n    params: { scanner: { name: lakehouse, params: { min_volume_spot: 0 } }, lookback_days: 30 }\n${more}`);
  return { dir, writer, v: await validateFile(file, { registry: builtinRegistry() }) };
}

describe('a reader that started before a commit (found running imports beside runs)', () => {
  const env = process.env.FRACTAL_LAKEHOUSE_KEEP_VERSIONS;
  afterEach(() => {
    if (env === undefined) delete process.env.FRACTAL_LAKEHOUSE_KEEP_VERSIONS;
    else process.env.FRACTAL_LAKEHOUSE_KEEP_VERSIONS = env;
  });

  test('reads the version its registry names, kept aside by the commit that replaced it, whole: every column, the returns', async () => {
    const { dir } = await store();
    const reader = await openLakehouse(dir, { readOnly: true });
    const before = await (await openLakehouse(dir, { readOnly: true })).readOhlcv('ETHUSDT', 'binance_spot');
    const want = { date: Array.from(before.date), open: Array.from(before.open), close: Array.from(before.close) };
    // An import commits a longer ETHUSDT (one more day) while the reader holds the older registry.
    const { csv, rows } = oneMoreDay(dir, 'more');
    const writer = await openLakehouse(dir, { create: true });
    await writer.importCsv(csv, { layout: 'ohlcv', venue: 'binance_spot', assetType: 'spot', replace: true });
    const got = await reader.readOhlcv('ETHUSDT', 'binance_spot');
    expect({ date: Array.from(got.date), open: Array.from(got.open), close: Array.from(got.close) }).toEqual(want);
    expect(got.date.length).toBe(rows - 1);
    const r = await reader.readReturns({ symbols: ['ETHUSDT', 'BTCUSDT'], venue: 'binance_spot', end: '2030-01-01' });
    expect(r.dates[r.dates.length - 1]).toBe(want.date[want.date.length - 1]);
    // A reader opened after the commit reads the new version, and the folder verifies (a kept version is no orphan).
    expect((await (await openLakehouse(dir, { readOnly: true })).readOhlcv('ETHUSDT', 'binance_spot')).date.length).toBe(rows);
    const after = await openLakehouse(dir, { readOnly: true });
    const v = await after.verify();
    expect({ ok: v.ok, orphans: v.orphans }).toEqual({ ok: true, orphans: [] });
    expect((await after.keptVersions()).files).toBe(1); // what `lakehouse status` reports
  });

  test('the same bytes written again later are another version: a reader of the second one still finds it kept (A, B, A, B)', async () => {
    const { dir } = await store();
    const writer = await openLakehouse(dir, { create: true });
    const a = join(dir, '..', 'a');
    mkdirSync(a);
    copyFileSync(join(CRYPTO, 'ETHUSDT.csv'), join(a, 'ETHUSDT.csv'));
    const b = oneMoreDay(dir, 'b').csv;
    const put = (csv: string) => writer.importCsv(csv, { layout: 'ohlcv', venue: 'binance_spot', assetType: 'spot', replace: true });
    await put(b);
    await put(a); // A's bytes again: a new file (another inode) with A's checksum
    const reader = await openLakehouse(dir, { readOnly: true });
    await put(b);
    const got = await reader.readOhlcv('ETHUSDT', 'binance_spot');
    expect(got.date.length).toBe(readFileSync(join(CRYPTO, 'ETHUSDT.csv'), 'utf8').trim().split('\n').length - 1);
    expect(Array.from(got.high).every(Number.isFinite)).toBe(true); // the deferred columns, from the kept file too
  });

  test('every read-only open inside a run reads the registry the run first read (src/lakehouse/pins.ts)', async () => {
    const { dir } = await store();
    const writer = await openLakehouse(dir, { create: true });
    const { csv, rows } = oneMoreDay(dir, 'more');
    const lengthIn = async () => (await (await openLakehouse(dir, { readOnly: true })).readOhlcv('ETHUSDT', 'binance_spot')).date.length;
    const inRun = await withLakehousePins(async () => {
      const first = await lengthIn();
      await writer.importCsv(csv, { layout: 'ohlcv', venue: 'binance_spot', assetType: 'spot', replace: true });
      // Another open in the same run (a scanner's data identity, a child run): the version the run started with.
      return [first, await lengthIn(), lakehousePins().length];
    });
    expect(inRun).toEqual([rows - 1, rows - 1, 1]);
    expect(await lengthIn()).toBe(rows); // outside any run: registry.json as it is now
  });

  test('a run handed its preflight (the CLI and the API run it first) reads the registry the preflight checked, not registry.json again', async () => {
    const { dir, writer, v } = await storeAndPipeline('latest', '');
    const lastDay = async (found?: PreflightFindings) => {
      const s = await runPipeline(v, { outRoot: join(dir, '..', 'runs'), lakehousePath: dir, ...(found ? { preflighted: found } : {}) });
      expect(s.outcome).toBe('succeeded');
      return { data_hash: s.data_hash, as_of: JSON.parse(readFileSync(join(s.folder, 'candidates.json'), 'utf8')).as_of as string };
    };
    const before = await lastDay();
    const found: PreflightFindings = {};
    expect(await preflightPipeline(v, { lakehousePath: dir }, undefined, found)).toEqual([]);
    expect(found.pins?.map((p) => p.root)).toEqual([dir]);
    // A commit between the preflight and the run: ETHUSDT gains a day.
    await writer.importCsv(oneMoreDay(dir, 'more').csv, { layout: 'ohlcv', venue: 'binance_spot', assetType: 'spot', replace: true });
    expect(await lastDay(found)).toEqual(before);
    const after = await lastDay();
    expect(after.data_hash).not.toBe(before.data_hash);
  });

  test('--from/--reuse judges the data the run will read (its preflight\'s registry), not registry.json as it is by then', async () => {
    const { dir, writer, v } = await storeAndPipeline('two', '  - type: feature_engineering\n    params: { lookback: 10 }\n');
    const runsRoot = join(dir, '..', 'runs');
    const first = await runPipeline(v, { outRoot: runsRoot, lakehousePath: dir });
    expect(first.outcome).toBe('succeeded');
    const found: PreflightFindings = {};
    expect(await preflightPipeline(v, { lakehousePath: dir }, undefined, found)).toEqual([]);
    await writer.importCsv(oneMoreDay(dir, 'more').csv, { layout: 'ohlcv', venue: 'binance_spot', assetType: 'spot', replace: true });
    const plan = (pins?: PreflightFindings['pins']) => planReuse(v, specOf(v)!, { from: 'feature_engineering', run: first.run_id }, { runsRoot, lakehousePath: dir, plugins: createContainer(v.registry).resolver, ...(pins ? { pins } : {}) });
    // On registry.json as it is now, the first run's data changed; on the version the run will read, it did not.
    await expect(plan()).rejects.toMatchObject({ code: 'REUSE_DATA_CHANGED' });
    const reuse = await plan(found.pins);
    const again = await runPipeline(v, { outRoot: runsRoot, lakehousePath: dir, preflighted: found, reuse });
    expect({ outcome: again.outcome, data_hash: again.data_hash, ingestion: again.stages[0]!.outcome }).toEqual({ outcome: 'succeeded', data_hash: first.data_hash, ingestion: 'reused' });
  });

  test('a version no longer kept (FRACTAL_LAKEHOUSE_KEEP_VERSIONS hours, pruned by a later writer) is LAKEHOUSE_CHANGED, not damage', async () => {
    const { dir } = await store();
    const reader = await openLakehouse(dir, { readOnly: true });
    process.env.FRACTAL_LAKEHOUSE_KEEP_VERSIONS = '0';
    const writer = await openLakehouse(dir, { create: true });
    await writer.importCsv(oneMoreDay(dir, 'more').csv, { layout: 'ohlcv', venue: 'binance_spot', assetType: 'spot', replace: true });
    // The next commit prunes what the first kept (0 hours).
    await writer.importCsv(oneMoreDay(dir, 'other', '1234.5').csv, { layout: 'ohlcv', venue: 'binance_spot', assetType: 'spot', replace: true });
    await expect(reader.readOhlcv('ETHUSDT', 'binance_spot')).rejects.toMatchObject({ code: 'LAKEHOUSE_CHANGED', message: expect.stringContaining('was written (a commit) while this run read it') });
    // (Damage with no commit since stays LAKEHOUSE_CORRUPT: the tests above.)
  });
});
