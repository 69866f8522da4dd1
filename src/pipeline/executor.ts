/**
 * Where a tournament's cells run. The runner hands an executor the cells to run and gets their results back; the
 * local worker pool (src/exec/cell-pool.ts) is the first executor, a distributed one (BullMQ) can be another. A
 * job is self-contained plain data: the base file and exactly the inputs the tournament validated it with, the
 * config hash the worker must arrive at, and the cell's content identity (config hash + data identity + engine
 * code: the result cache's key), which a queue can use as the job id.
 */
import type { SleeveTask } from '../exec/sleeve-pool.js';
import type { ChildRun } from '../core/plugin.js';

/**
 * One cell to run: the base validated with `profile` and `sets` must resolve to `expectHash`. `key` is the cell's
 * content identity (null when its data cannot be identified before it runs: a live scanner).
 */
export type CellJob = SleeveTask & { sets: string[]; folderName: string; key: string | null };

export interface CellExecutor {
  /**
   * Runs the jobs, at most `threads` at once, and returns one ChildRun per job, in order. A cell that fails
   * (its run fails, or its worker cannot run it) comes back failed with its error; it never stops the others.
   */
  run(jobs: CellJob[], opts: { threads: number; onDone?: (done: number) => void }): Promise<ChildRun[]>;
}
