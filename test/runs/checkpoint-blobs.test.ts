/**
 * A stage checkpoint stores each plain context field as a blob of its v8 serialisation. A field the stage neither
 * replaced nor provides keeps the previous checkpoint's blob without being serialised again; a field the stage
 * provides is stored again even when it is the same object changed in place. Checked against the blob a fresh
 * serialisation of the value gives (readBlob), not against the code's own bookkeeping.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointWriter, readBlob } from '../../src/runs/checkpoints.js';
import { checkpointOf } from '../../src/pipeline/reuse.js';

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
