/** The worker-thread executors a run is handed (src/pipeline/executor.ts): backtest replays, meta sleeves, tournament cells. */
import type { Executors } from '../pipeline/executor.js';
import { localCellExecutor } from './cell-pool.js';
import { poolAvailable, startReplayWorkers } from './replay-pool.js';
import { runSleevesInPool, sleevePoolAvailable } from './sleeve-pool.js';

export const workerExecutors: Executors = {
  replay: { available: poolAvailable, start: startReplayWorkers },
  sleeves: { available: sleevePoolAvailable, run: (tasks, threads, onDone) => runSleevesInPool(tasks, threads, onDone) },
  cells: { available: sleevePoolAvailable, run: localCellExecutor.run },
};
