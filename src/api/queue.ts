/**
 * Distributed runs from code (docs/distributed.md): a BullMQ worker, the queue's status, and the executors that send a
 * meta's sleeves and a tournament's cells to workers (`run(file, { ...await bullmqExecutors() })`). BullMQ and
 * ioredis load only when one of these is called.
 */
import type { QueueStatus } from './types.js';
import type { CellExecutor, SleeveExecutor } from '../pipeline/executor.js';

export interface QueueConnectionOptions {
  /** Redis URL; FRACTAL_REDIS_URL when omitted (QUEUE_NO_REDIS when neither is set). */
  redis?: string;
  /** BullMQ queue name ('fractal'). */
  queue?: string;
  /** How long to wait for Redis before QUEUE_UNREACHABLE (ms). */
  timeoutMs?: number;
  /** Redis settings BullMQ needs that the server lacks (eviction policy, persistence) are reported here. */
  warn?: (message: string) => void;
}

export interface WorkerStartOptions extends QueueConnectionOptions {
  /** Jobs run at once (1). */
  concurrency?: number;
  /** This worker's lakehouse; a job whose data identity differs is refused (QUEUE_DATA_MISMATCH). */
  lakehouse: string;
  /** The runs root shared with the submitter and the other workers ('runs'). */
  out?: string;
  /** A job's lock: a dead worker's job is taken over after about this long (30000 ms). */
  lockMs?: number;
  /**
   * On SIGTERM (or `signal`), how long running jobs may take before they go back to the queue (60000 ms). Past it the
   * process exits: the runs still going in it cannot be stopped otherwise, and must not write on while another
   * worker takes their jobs.
   */
  drainMs?: number;
  log?: (message: string) => void;
  /** Aborting it drains the worker as SIGTERM does; the promise then resolves (0) once it has stopped. */
  signal?: AbortSignal;
  /** Whether SIGTERM and SIGINT drain the worker (true); false leaves the process's signals to the program. */
  handleSignals?: boolean;
}

async function connected(o: QueueConnectionOptions): Promise<string> {
  const { checkRedis, redisUrl } = await import('../exec/queue-common.js');
  const url = redisUrl(o.redis);
  await checkRedis(url, o.timeoutMs ?? 5000, o.warn ?? (() => {}));
  return url;
}

/**
 * Runs a worker until SIGTERM or SIGINT (unless `handleSignals: false`) or until `signal` is aborted, which drain it;
 * resolves to the process exit code once it has stopped.
 */
export async function startWorker(o: WorkerStartOptions): Promise<number> {
  const url = await connected(o);
  const { runWorker } = await import('../exec/queue-worker.js');
  return runWorker({
    url,
    queue: o.queue ?? 'fractal',
    concurrency: o.concurrency ?? 1,
    lakehousePath: o.lakehouse,
    outRoot: o.out ?? 'runs',
    lockMs: o.lockMs ?? 30_000,
    drainMs: o.drainMs ?? 60_000,
    log: o.log ?? (() => {}),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.handleSignals !== undefined ? { handleSignals: o.handleSignals } : {}),
  });
}

/** Waiting, active, failed and stalled jobs per submitted run, and the queue's totals. */
export async function queueStatus(o: QueueConnectionOptions = {}): Promise<QueueStatus> {
  const url = await connected(o);
  const { queueStatus: read } = await import('../exec/queue-status.js');
  return read(url, o.queue ?? 'fractal');
}

/** The text `pipeline-run queue status` prints. */
export async function formatQueueStatus(status: QueueStatus): Promise<string> {
  const { formatQueueStatus: format } = await import('../exec/queue-status.js');
  return format(status);
}

export interface BullmqExecutors {
  cellExecutor: CellExecutor;
  sleeveExecutor: SleeveExecutor;
  /** Closes the executors' Redis connections (after the run). */
  close(): Promise<void>;
}

/**
 * Executors for `run()` that send sleeves and cells to BullMQ workers (Redis is checked first):
 * `const q = await bullmqExecutors(); try { await run(file, { ...q }) } finally { await q.close() }`.
 */
export async function bullmqExecutors(o: QueueConnectionOptions & { log?: (message: string) => void } = {}): Promise<BullmqExecutors> {
  const url = await connected(o);
  const { queueExecutors } = await import('../exec/queue-executor.js');
  const remote = queueExecutors({ url, queue: o.queue ?? 'fractal', log: o.log ?? (() => {}) });
  return { cellExecutor: remote.cells, sleeveExecutor: remote.sleeves, close: () => remote.close() };
}
