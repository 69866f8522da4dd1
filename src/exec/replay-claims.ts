/**
 * Who decides which backtest date, shared by the replay pool's threads (src/exec/replay-pool.ts) in one
 * SharedArrayBuffer. The dates are split into contiguous blocks, one per thread. A block's owner claims its dates
 * from the front, one at a time, ascending (each decision reuses the caches of the one before it: the block moments).
 * A thread whose own block is empty steals from the back of the block with the most dates left: a run of dates at
 * once, which it decides ascending too, so only the run's first decision finds its caches cold (one date at a time
 * from the back, descending, would keep them lukewarm at best: at N=2000 a descending decision costs 103 ms CPU
 * against 75 ms ascending, measured in one thread on the walk-forward bench).
 *
 * A worker starts late (it loads the modules and rebuilds the pipeline first). A thread done with its block takes
 * the next block over, front first, while that block's owner has not started: it goes on ascending and warm, and
 * nobody waits for a worker that is still loading (the owner, once ready, steals like any thread done early).
 *
 * Each block is one 64-bit word, its front index in the high half and its back index (exclusive) in the low half,
 * changed by compare-and-exchange only: a date is claimed by exactly one thread, whoever gets there first. After the
 * words, one 32-bit state per block (NOT_STARTED, STARTED by its owner, ADOPTED by the thread before it), also set by
 * compare-and-exchange: a block's front is advanced by one thread only.
 * `decideClaimed` is the loop every thread of the pool runs over its claims, the run's own and the workers'.
 */
import { batchAttributes } from '../pipeline/runner.js';
import { withSpan } from '../util/tracing.js';

/** A stolen run is worth its cold first decision only when the owner has at least this many dates left (see `steal`). */
const MIN_STEAL = 3;

/** Dates to decide, as indices into the pool's date list: [from, to), ascending; `stolen` when from another's block. */
export interface ClaimedRun {
  from: number;
  to: number;
  stolen: boolean;
}

const HALF = 32n;
const LOW = (1n << HALF) - 1n;
const pack = (front: number, back: number): bigint => (BigInt(front) << HALF) | BigInt(back);
const unpack = (w: bigint): { front: number; back: number } => ({ front: Number(w >> HALF), back: Number(w & LOW) });

const NOT_STARTED = 0;
const STARTED = 1;
const ADOPTED = 2;

export class ReplayClaims {
  private readonly words: BigInt64Array;
  private readonly states: Int32Array;
  /** By owner: the block whose front it advances (its own once started, then each next one it adopts); -1 none. */
  private readonly fronts = new Map<number, number>();

  constructor(readonly buffer: SharedArrayBuffer) {
    const blocks = buffer.byteLength / 12;
    this.words = new BigInt64Array(buffer, 0, blocks);
    this.states = new Int32Array(buffer, 8 * blocks, blocks);
  }

  /** `n` dates in `blocks` contiguous blocks of equal length (to one date), the first ones first. */
  static split(n: number, blocks: number): ReplayClaims {
    const claims = new ReplayClaims(new SharedArrayBuffer(12 * blocks));
    for (let k = 0; k < blocks; k++) claims.words[k] = pack(Math.floor((k * n) / blocks), Math.floor(((k + 1) * n) / blocks));
    return claims;
  }

  get blocks(): number {
    return this.words.length;
  }

  /** The dates block k has not handed out yet: [front, back). */
  private left(k: number): { front: number; back: number } {
    return unpack(Atomics.load(this.words, k));
  }

  /**
   * The next run for the owner of block `own`: its next date from the front (of its block, or of the next blocks it
   * adopted), else a run stolen from another block; undefined when nothing is left worth taking.
   */
  next(own: number): ClaimedRun | undefined {
    // The owner's first claim: its block is its own unless the thread before it adopted it meanwhile.
    let k = this.fronts.get(own) ?? (Atomics.compareExchange(this.states, own, NOT_STARTED, STARTED) === ADOPTED ? -1 : own);
    while (k >= 0) {
      const w = Atomics.load(this.words, k);
      const { front, back } = unpack(w);
      if (front >= back) {
        // The next block, while its owner is still starting: ascending on from here, the caches warm.
        k = k + 1 < this.blocks && Atomics.compareExchange(this.states, k + 1, NOT_STARTED, ADOPTED) === NOT_STARTED ? k + 1 : -1;
        this.fronts.set(own, k);
        continue;
      }
      this.fronts.set(own, k);
      if (Atomics.compareExchange(this.words, k, w, pack(front + 1, back)) === w) return { from: front, to: front + 1, stolen: false };
    }
    return this.steal();
  }

  /**
   * The back half (rounded down) of the block with the most dates left, when it has MIN_STEAL or more. A stolen run
   * starts cold: its first decision costs f warm ones (the block moments rebuilt; at N=2000 f is 2-3), so c dates
   * taken from an owner with r left end after f + c - 1 warm decisions in the thief and r - c in the owner, which
   * beats the owner's r alone when f + c - 1 < r: with c = ⌊r / 2⌋ and f up to 3, from r = 3 on. Half rather than
   * all: the owner keeps going meanwhile, and the thief comes back for half of what is then left.
   */
  steal(): ClaimedRun | undefined {
    for (;;) {
      let best = -1;
      let most = MIN_STEAL - 1;
      for (let k = 0; k < this.blocks; k++) {
        const { front, back } = this.left(k);
        if (back - front > most) [best, most] = [k, back - front];
      }
      if (best < 0) return undefined;
      const w = Atomics.load(this.words, best);
      const { front, back } = unpack(w);
      // Taken meanwhile: look again.
      if (back - front < MIN_STEAL) continue;
      const take = Math.floor((back - front) / 2);
      if (Atomics.compareExchange(this.words, best, w, pack(front, back - take)) === w) return { from: back - take, to: back, stolen: true };
    }
  }

  /** Nothing more is handed out (a failure stops the pool: no thread starts another decision). */
  close(): void {
    for (let k = 0; k < this.blocks; k++) {
      for (;;) {
        const w = Atomics.load(this.words, k);
        const { front } = unpack(w);
        if (Atomics.compareExchange(this.words, k, w, pack(front, front)) === w) break;
      }
    }
  }
}

/**
 * Decides every date `claims` hands the owner of block `own`, its own ascending, then stolen runs: `decide` is
 * called with each date's index. The batch span says how many it decided and how many of them were stolen.
 */
export async function decideClaimed(claims: ReplayClaims, own: number, dates: readonly number[], attributes: Record<string, string | boolean>, decide: (index: number) => Promise<void>): Promise<void> {
  await withSpan('backtest batch', attributes, async (span) => {
    const mine: number[] = [];
    let stolen = 0;
    for (let run: ClaimedRun | undefined; (run = claims.next(own)); ) {
      for (let i = run.from; i < run.to; i++) {
        await decide(i);
        mine.push(dates[i]!);
        if (run.stolen) stolen++;
      }
    }
    span.setAttributes({ ...batchAttributes(mine), 'fractal.decisions.stolen': stolen });
  });
}
