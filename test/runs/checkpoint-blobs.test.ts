/**
 * A stage checkpoint stores each plain context field as a blob of its v8 serialisation. A field the stage neither
 * replaced nor provides keeps the previous checkpoint's blob without being serialised again; a field the stage
 * provides is stored again even when it is the same object changed in place. Checked against the blob a fresh
 * serialisation of the value gives (readBlob), not against the code's own bookkeeping.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { ArtifactWriter } from '../../src/runs/artifacts.js';
import { CheckpointWriter, readBlob } from '../../src/runs/checkpoints.js';
import { checkpointOf, latestRun } from '../../src/pipeline/reuse.js';

describe('checkpoint blobs across stages', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fractal-cp-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const state = (provides: string[], previous?: Parameters<typeof checkpointOf>[3]['previous']) => ({ hashes: { prefix: ['a', 'b'], params: ['p', 'q'] }, writes: [], data: [], provides, previous });

  it('a provided field changed in place is stored again; an untouched one keeps its blob', () => {
    const writer = new CheckpointWriter(dir);
    const returns = { symbols: ['A', 'B'], values: Float64Array.of(0.01, 0.02, -0.01, 0.03) };
    const weights = [{ symbol: 'A', weight: 0.5 }];
    const ctx = { kind: 'selection', returns, weights };
    const first = checkpointOf(0, 'ingestion', ctx, state(['returns', 'weights']), writer);
    // The next stage changes `weights` in place (it provides it) and leaves `returns` alone.
    weights[0]!.weight = 0.75;
    const second = checkpointOf(1, 'allocation', ctx, state(['weights'], { refs: first.refs, unrestorable: first.checkpoint.unrestorable, fields: first.checkpoint.fields }), writer);
    expect(second.checkpoint.fields.returns).toBe(first.checkpoint.fields.returns);
    expect(second.checkpoint.fields.weights).not.toBe(first.checkpoint.fields.weights);
    expect(readBlob(dir, second.checkpoint.fields.weights!)).toEqual([{ symbol: 'A', weight: 0.75 }]);
    expect(readBlob(dir, second.checkpoint.fields.returns!)).toEqual(returns);
  });

  it('a field made on read (an accessor, the returns panel\'s price columns) is left to the stage that made it, never read for the checkpoint', () => {
    const writer = new CheckpointWriter(dir);
    let reads = 0;
    const prices = { symbols: ['A'], dates: Int32Array.of(1, 2) } as { symbols: string[]; dates: Int32Array; close?: Float64Array };
    Object.defineProperty(prices, 'close', { enumerable: true, get: () => (reads++, Float64Array.of(10, 11)) });
    const ctx = { kind: 'selection', prices, weights: [{ symbol: 'A', weight: 1 }] };
    const { checkpoint } = checkpointOf(0, 'ingestion', ctx, state(['prices', 'weights']), writer);
    expect(checkpoint.unrestorable).toEqual({ prices: 0 });
    expect(checkpoint.fields.prices).toBeUndefined();
    expect(reads).toBe(0);
    expect(readBlob(dir, checkpoint.fields.weights!)).toEqual([{ symbol: 'A', weight: 1 }]);
  });
});

describe('what a checkpoint records of the files it names', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fractal-cp-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

  it('each write: the sha256 and size of the file as it left it (a section\'s, the whole file then); each blob: its size', async () => {
    const artifacts = new ArtifactWriter(dir);
    await artifacts.writeJson('winners.json', { winners: ['A', 'é'] });
    await artifacts.writeJsonSection('metrics.json', 'allocation', { n: 1 });
    const afterFirstSection = readFileSync(join(dir, 'metrics.json'));
    await artifacts.writeJsonSection('metrics.json', 'backtest', { sharpe: 1.5 });
    await artifacts.writeBytes('returns.arrow', Uint8Array.of(1, 2, 3));
    const writer = new CheckpointWriter(dir);
    const ctx = { kind: 'selection', winners: ['A', 'é'] };
    const { checkpoint } = checkpointOf(0, 'policy', ctx, { hashes: { prefix: ['a'], params: ['p'] }, writes: artifacts.log, data: [] }, writer);
    const file = (f: string) => readFileSync(join(dir, f));
    expect(checkpoint.writes).toEqual([
      { file: 'winners.json', sha256: sha(file('winners.json')), size: file('winners.json').length },
      { file: 'metrics.json', section: 'allocation', sha256: sha(afterFirstSection), size: afterFirstSection.length },
      { file: 'metrics.json', section: 'backtest', sha256: sha(file('metrics.json')), size: file('metrics.json').length },
      { file: 'returns.arrow', sha256: sha(Uint8Array.of(1, 2, 3)), size: 3 },
    ]);
    expect(Object.keys(checkpoint.blobs!).sort()).toEqual(Object.values(checkpoint.fields).sort());
    for (const [b, size] of Object.entries(checkpoint.blobs!)) expect(size).toBe(readFileSync(join(dir, 'checkpoints', 'blobs', b)).length);
  });
});

describe('a reused stage\'s blobs copied into the new run', () => {
  it('keep their names and bytes, also where serialising the restored value again gives other bytes (an array)', () => {
    const from = mkdtempSync(join(tmpdir(), 'fractal-cp-from-'));
    const to = mkdtempSync(join(tmpdir(), 'fractal-cp-to-'));
    try {
      const source = new CheckpointWriter(from);
      const value = [{ symbol: 'A', weight: 0.5 }, { symbol: 'B', weight: 0.5 }];
      const sha = source.blob(value);
      // The premise: a deserialised array serialises to other bytes (V8 writes it back as a sparse array), so a copy
      // made by serialising the restored value would be stored under another name than the checkpoint says.
      expect(createHash('sha256').update(serialize(deserialize(readFileSync(join(from, 'checkpoints', 'blobs', sha))))).digest('hex')).not.toBe(sha);
      new CheckpointWriter(to).copyBlob(sha, readFileSync(join(from, 'checkpoints', 'blobs', sha)));
      expect(readFileSync(join(to, 'checkpoints', 'blobs', sha)).equals(readFileSync(join(from, 'checkpoints', 'blobs', sha)))).toBe(true);
      expect(readBlob(to, sha)).toEqual(value);
    } finally {
      rmSync(from, { recursive: true, force: true });
      rmSync(to, { recursive: true, force: true });
    }
  });
});

describe('--reuse latest', () => {
  it('is the run that started last, also among runs started in the same second (their ids then order at random)', () => {
    const parent = mkdtempSync(join(tmpdir(), 'fractal-latest-'));
    try {
      const run = (id: string, startedAt: string | null) => {
        mkdirSync(join(parent, id));
        if (startedAt !== null) writeFileSync(join(parent, id, 'manifest.json'), JSON.stringify({ run_id: id, started_at: startedAt }));
      };
      run('20261130T145356Z-03618d', '2026-11-30T14:53:56.100Z');
      run('20261130T145357Z-f00000', '2026-11-30T14:53:57.050Z');
      run('20261130T145357Z-a52d22', '2026-11-30T14:53:57.700Z');
      run('20261130T145357Z-51d415', '2026-11-30T14:53:57.400Z');
      // Not runs: an interrupted one (no manifest) and a failed one, even though newer.
      run('20261130T145358Z-ffffff', null);
      run('20261130T145359Z-000000.failed', '2026-11-30T14:53:59.000Z');
      expect(latestRun(parent)).toBe(join(parent, '20261130T145357Z-a52d22'));
      // A newer second wins whatever the milliseconds.
      run('20261130T145400Z-000001', '2026-11-30T14:54:00.000Z');
      expect(latestRun(parent)).toBe(join(parent, '20261130T145400Z-000001'));
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it('is undefined when there is no run', () => {
    const parent = mkdtempSync(join(tmpdir(), 'fractal-latest-'));
    try {
      expect(latestRun(parent)).toBeUndefined();
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
});

describe('a blob depends on the values alone (found comparing a BullMQ run with a local one)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fractal-cp-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a holey array and a packed one with the same values: one blob (V8 writes them as sparse and dense)', () => {
    const holey: number[] = new Array(3);
    holey[2] = 3;
    holey[0] = 1;
    holey[1] = 2;
    const packed = JSON.parse('[1,2,3]') as number[];
    // The premise: V8 itself serialises the two differently.
    expect(Buffer.from(serialize(holey)).equals(Buffer.from(serialize(packed)))).toBe(false);
    const w = new CheckpointWriter(dir);
    expect(w.blob([{ cells: holey }])).toBe(w.blob([{ cells: packed }]));
    expect(readBlob(dir, w.blob([{ cells: holey }]))).toEqual([{ cells: [1, 2, 3] }]);
  });

  it('a typed array viewing part of a larger buffer: the blob of its own values, not of the buffer', () => {
    const big = new Float64Array([9, 9, 1.5, -2, 9]);
    const view = big.subarray(2, 4);
    const own = Float64Array.of(1.5, -2);
    const w = new CheckpointWriter(dir);
    expect(w.blob({ values: view })).toBe(w.blob({ values: own }));
    expect(readBlob(dir, w.blob({ values: view }))).toEqual({ values: own });
  });

  it('maps, sets, dates and shared references survive the copy as they are', () => {
    const shared = { symbol: 'A' };
    const value = { m: new Map([['k', [shared]]]), s: new Set([1, 2]), d: new Date(Date.UTC(2024, 0, 2)), again: shared };
    const w = new CheckpointWriter(dir);
    const back = readBlob(dir, w.blob(value)) as typeof value;
    expect(back).toEqual(value);
    expect(back.again).toBe(back.m.get('k')![0]);
  });
});
