/** Worker thread of the walk-forward benchmark: decides a contiguous block of windows over shared returns. */
import { parentPort, workerData } from 'node:worker_threads';
import { decide, type Job } from './walk-forward-core.js';

const { job, from, to } = workerData as { job: Job; from: number; to: number };
parentPort!.postMessage(decide(job, from, to));
