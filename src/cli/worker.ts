/**
 * `pipeline-run worker --redis URL`: a long-lived worker for `--executor bullmq` runs (src/exec/queue-worker.ts);
 * `pipeline-run queue status --redis URL`: waiting, active, failed and stalled jobs per submitted run.
 */
import type { Command } from 'commander';
import { inputError } from '../core/errors.js';
import { formatQueueStatus, queueStatus, startWorker } from '../api/queue.js';
import { lakehousePath, writeJson } from './shared.js';

interface WorkerCliOptions {
  redis?: string;
  concurrency: string;
  lakehouse?: string;
  out: string;
  queue: string;
  lockMs: string;
  drainMs: string;
  quiet?: boolean;
}

const positive = (name: string, value: string, min = 1): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw inputError('CLI_BAD_OPTION', `${name} must be an integer >= ${min}, got '${value}'`);
  return n;
};

export function registerWorkerCommands(program: Command): void {
  program
    .command('worker')
    .description("run a meta's sleeves and a tournament's cells submitted with --executor bullmq (until SIGTERM/SIGINT, which drain it)")
    .option('--redis <url>', 'Redis URL (default: FRACTAL_REDIS_URL)')
    .option('--concurrency <n>', 'jobs run at once by this worker', '1')
    .option('--lakehouse <dir>', "this worker's lakehouse (default: FRACTAL_LAKEHOUSE or ./lakehouse); a job whose data differs is refused")
    .option('--out <dir>', 'runs root shared with the submitter and the other workers (child runs are written under it)', 'runs')
    .option('--queue <name>', 'BullMQ queue name', 'fractal')
    .option('--lock-ms <ms>', "a job's lock; a dead worker's job is taken over after about this long", '30000')
    .option('--drain-ms <ms>', 'SIGTERM: how long running jobs may take before they are put back in the queue', '60000')
    .option('--quiet', 'print nothing but errors')
    .action(async (opts: WorkerCliOptions) => {
      const log = opts.quiet ? () => {} : (m: string) => process.stderr.write(`${new Date().toISOString()} ${m}\n`);
      process.exitCode = await startWorker({
        redis: opts.redis,
        queue: opts.queue,
        warn: (m) => process.stderr.write(`warning: ${m}\n`),
        concurrency: positive('--concurrency', opts.concurrency),
        lakehouse: lakehousePath(opts.lakehouse),
        out: opts.out,
        lockMs: positive('--lock-ms', opts.lockMs, 1000),
        drainMs: positive('--drain-ms', opts.drainMs, 0),
        log,
      });
    });

  program
    .command('queue')
    .description('the distributed queue (--executor bullmq)')
    .command('status')
    .description('waiting, active, failed and stalled jobs per submitted run')
    .option('--redis <url>', 'Redis URL (default: FRACTAL_REDIS_URL)')
    .option('--queue <name>', 'BullMQ queue name', 'fractal')
    .option('--json', 'print one JSON object')
    .action(async (opts: { redis?: string; queue: string; json?: boolean }) => {
      const status = await queueStatus({ redis: opts.redis, queue: opts.queue });
      if (opts.json) writeJson(status);
      else process.stdout.write(await formatQueueStatus(status));
    });
}
