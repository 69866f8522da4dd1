/**
 * The replay pool's claims (src/exec/replay-claims.ts): owners take their block from the front one date at a time,
 * a thread whose block is empty goes on with the next block while its owner has not started, else takes the back
 * half of the block with the most left (3 or more), and threads claiming at once, each in its own worker, never claim
 * a date twice nor leave one out.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ReplayClaims } from '../../src/exec/replay-claims.js';
import { repo } from '../cli/helpers.js';

/** Every run a thread is handed, owner of `own`, until nothing is left for it. */
function drain(claims: ReplayClaims, own: number) {
  const runs = [];
  for (let run; (run = claims.next(own)); ) runs.push(run);
  return runs;
}

test('the owner goes ascending from the front; a thief takes the back half of the fullest block while 3 or more are left', () => {
  // Blocks [0, 6), [6, 13), [13, 20), each owner started.
  const claims = ReplayClaims.split(20, 3);
  expect(claims.next(0)).toEqual({ from: 0, to: 1, stolen: false });
  expect(claims.next(0)).toEqual({ from: 1, to: 2, stolen: false });
  expect(claims.next(1)).toEqual({ from: 6, to: 7, stolen: false });
  expect(claims.next(2)).toEqual({ from: 13, to: 14, stolen: false });
  expect(drain(claims, 0)).toEqual([
    { from: 2, to: 3, stolen: false },
    { from: 3, to: 4, stolen: false },
    { from: 4, to: 5, stolen: false },
    { from: 5, to: 6, stolen: false },
    // Left: block 1 has 6 (7..12), block 2 has 6 (14..19): half of the first of them, from its back.
    { from: 10, to: 13, stolen: true },
    // 3 against 6: block 2's back 3.
    { from: 17, to: 20, stolen: true },
    // 3 and 3: block 1's back 1, then block 2's; then 2 and 2, too few to be worth taking.
    { from: 9, to: 10, stolen: true },
    { from: 16, to: 17, stolen: true },
  ]);
  // What is left is the owners' own.
  expect(drain(claims, 1)).toEqual([
    { from: 7, to: 8, stolen: false },
    { from: 8, to: 9, stolen: false },
  ]);
  expect(drain(claims, 2)).toEqual([
    { from: 14, to: 15, stolen: false },
    { from: 15, to: 16, stolen: false },
  ]);
});

test('a thread done with its block goes on with the next one while its owner has not started; the owner, late, steals', () => {
  // Blocks [0, 6), [6, 13), [13, 20); the owners of blocks 1 and 2 are still starting.
  // Nobody else started: block 0, then block 1 from its front, then block 2, ascending on, no date stolen (the
  // caches stay warm); the owners, ready at last, find nothing left.
  const alone = ReplayClaims.split(20, 3);
  expect(drain(alone, 0)).toEqual(Array.from({ length: 20 }, (_, i) => ({ from: i, to: i + 1, stolen: false })));
  expect(alone.next(1)).toBeUndefined();
  expect(alone.next(2)).toBeUndefined();
  // Block 1 taken over up to 9, block 2 not yet.
  const claims2 = ReplayClaims.split(20, 3);
  for (let i = 0; i < 9; i++) claims2.next(0);
  // Block 1's owner, ready now, finds its block taken over: it steals (block 2, untouched, has the most left: 7).
  expect(claims2.next(1)).toEqual({ from: 17, to: 20, stolen: true });
  // Block 2's owner starts on its own block, what is left of it.
  expect(claims2.next(2)).toEqual({ from: 13, to: 14, stolen: false });
  // The thread that adopted block 1 goes on at its front.
  expect(claims2.next(0)).toEqual({ from: 9, to: 10, stolen: false });
});

test('closed, nothing more is handed out', () => {
  const claims = ReplayClaims.split(30, 2);
  expect(claims.next(0)).toEqual({ from: 0, to: 1, stolen: false });
  claims.close();
  expect(claims.next(0)).toBeUndefined();
  expect(claims.next(1)).toBeUndefined();
});

test('threads claiming at once claim every date exactly once', async () => {
  // The compiled module in each worker (a worker cannot load the TypeScript sources), the claims in shared memory.
  const url = pathToFileURL(join(repo, 'dist', 'src', 'exec', 'replay-claims.js')).href;
  const n = 200_000;
  const threads = 4;
  const claims = ReplayClaims.split(n, threads);
  const counts = new Int32Array(new SharedArrayBuffer(4 * n));
  // All start together (a gate the workers wait on); the last one works longer on each date, so the others run out
  // first and take its dates over while it still claims them.
  const gate = new Int32Array(new SharedArrayBuffer(4));
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    import(${JSON.stringify(url)}).then(({ ReplayClaims }) => {
      const claims = new ReplayClaims(workerData.buffer);
      const counts = new Int32Array(workerData.counts);
      const gate = new Int32Array(workerData.gate);
      parentPort.postMessage('ready');
      Atomics.wait(gate, 0, 0);
      let stolen = 0;
      for (let run; (run = claims.next(workerData.own)); ) {
        for (let i = run.from; i < run.to; i++) {
          Atomics.add(counts, i, 1);
          for (let k = 0; k < workerData.work; k++) Atomics.load(counts, i);
        }
        if (run.stolen) stolen += run.to - run.from;
      }
      parentPort.postMessage(stolen);
    });`;
  const workers = Array.from({ length: threads }, (_, own) => new Worker(code, { eval: true, workerData: { buffer: claims.buffer, counts: counts.buffer, gate: gate.buffer, own, work: own === threads - 1 ? 200 : 0 } }));
  const ready = workers.map((w) => new Promise((resolve) => w.once('message', resolve)));
  const stolen = Promise.all(
    workers.map(
      (w) =>
        new Promise<number>((resolve, reject) => {
          w.on('message', (m) => m !== 'ready' && resolve(m as number));
          w.once('error', reject);
        }),
    ),
  );
  await Promise.all(ready);
  Atomics.store(gate, 0, 1);
  Atomics.notify(gate, 0);
  const taken = await stolen;
  expect(counts.every((c) => c === 1)).toBe(true);
  expect(taken.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
}, 60_000);
