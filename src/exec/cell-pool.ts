/**
 * The local cell executor: a tournament's cells on the worker pool of child runs (sleeve-pool.ts), each in its own
 * thread, a failing cell recorded rather than stopping the others.
 */
import type { CellExecutor } from '../pipeline/executor.js';
import { runSleevesInPool } from './sleeve-pool.js';

export const localCellExecutor: CellExecutor = {
  run: (jobs, opts) => runSleevesInPool(jobs, opts.threads, (done) => opts.onDone?.(done), 'record'),
};
