/**
 * `pipeline-run queue status`: per submitted batch (a run's sleeves or cells: one parent job), how many children
 * wait, run, are done or failed, and how many were taken over from a worker that stalled (died or hung: BullMQ
 * counts them per job); plus the queue's totals and the workers connected.
 */
import { Queue, type Job } from 'bullmq';
import { connect, type ChildJobData, type GatherJobData } from './queue-common.js';

export interface BatchStatus {
  job: string;
  role: string;
  run: string;
  folder: string;
  state: string;
  submitted_at: string | null;
  /** When a restarted submitter took the batch over (`folder` is its run's). */
  attached_at: string | null;
  children: number;
  done: number;
  waiting: number;
  active: number;
  failed: number;
  stalled: number;
  failures: { name: string; reason: string }[];
}

export interface QueueStatus {
  queue: string;
  workers: number;
  counts: Record<string, number>;
  runs: BatchStatus[];
}

export async function queueStatus(url: string, name: string): Promise<QueueStatus> {
  const connection = connect(url);
  const queue = new Queue(name, { connection });
  try {
    const counts = await queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized', 'waiting-children');
    const workers = (await queue.getWorkers()).length;
    const parents = ((await queue.getJobs(['waiting-children', 'waiting', 'active', 'completed', 'failed', 'prioritized'])) as Job[]).filter((j) => j?.name === 'gather');
    const runs: BatchStatus[] = [];
    for (const p of parents) {
      const d = p.data as GatherJobData;
      const deps = await p.getDependencies({ unprocessed: { count: 100000 }, processed: { count: 100000 }, ignored: { count: 100000 }, failed: { count: 100000 } });
      const b: BatchStatus = { job: p.id!, role: d.role, run: d.run, folder: d.folder, state: await p.getState(), submitted_at: d.submitted_at ?? null, attached_at: d.attached_at ?? null, children: d.children, done: Object.keys(deps.processed ?? {}).length, waiting: 0, active: 0, failed: 0, stalled: 0, failures: [] };
      for (const [k, reason] of Object.entries(deps.ignored ?? {})) {
        b.failed++;
        const child = await queue.getJob(k.slice(k.lastIndexOf(':') + 1));
        b.failures.push({ name: (child?.data as ChildJobData | undefined)?.name ?? k, reason: String(reason) });
      }
      for (const k of [...(deps.unprocessed ?? []), ...(deps.failed ?? [])]) {
        const child = await queue.getJob(k.slice(k.lastIndexOf(':') + 1));
        // Finished since the dependencies were read (and perhaps already removed): done.
        if (!child) {
          b.done++;
          continue;
        }
        const s = await child.getState();
        if (child.stalledCounter > 0 && s !== 'completed' && s !== 'failed') b.stalled++;
        if (s === 'active') b.active++;
        else if (s === 'failed') {
          b.failed++;
          b.failures.push({ name: (child.data as ChildJobData).name, reason: child.failedReason });
        } else if (s === 'completed') b.done++;
        else b.waiting++;
      }
      runs.push(b);
    }
    return { queue: name, workers, counts: counts as Record<string, number>, runs };
  } finally {
    await queue.close().catch(() => {});
    connection.disconnect();
  }
}

export function formatQueueStatus(s: QueueStatus): string {
  const lines = [`queue '${s.queue}': ${s.workers} worker connection(s); jobs ${Object.entries(s.counts).map(([k, n]) => `${k} ${n}`).join(', ')}`];
  if (!s.runs.length) lines.push('no submitted runs in the queue');
  for (const r of s.runs) {
    lines.push(`${r.folder} (${r.role}, job ${r.job}, ${r.state}${r.submitted_at ? `, submitted ${r.submitted_at}` : ''}${r.attached_at ? `, taken over ${r.attached_at}` : ''}): ${r.children} children: ${r.done} done, ${r.waiting} waiting, ${r.active} active, ${r.failed} failed, ${r.stalled} stalled`);
    for (const f of r.failures) lines.push(`  failed ${f.name}: ${f.reason}`);
  }
  return `${lines.join('\n')}\n`;
}
