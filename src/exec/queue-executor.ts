/**
 * `--executor bullmq`: a meta's sleeves and a tournament's cells as BullMQ flows. One batch is one flow: a parent
 * ("gather") job, its children the sleeves or cells (a nested meta's own sleeves are that sleeve's children, a flow
 * subtree). Job ids are content identities (queue-common.ts), so submitting the same work again (the submitter was
 * killed and started again) attaches to the jobs already queued, running or done instead of adding new ones.
 *
 * The submitter waits for the parent (woken by queue events, and checking every 2 s so a Redis restart cannot leave
 * it waiting for an event that was lost; a parent Redis lost is added again), counts finished children for the
 * progress bar, then adopts every child's run folder into its own run folder, exactly where a local run writes it.
 * A sleeve whose job failed fails the meta with that sleeve's error; a cell whose job failed is recorded with its
 * error. When the run has its results, the jobs and their folders under <runs root>/.jobs are removed.
 */
import { existsSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { FlowProducer, Queue, QueueEvents, type FlowJob, type Job } from 'bullmq';
import { FractalError, runError } from '../core/errors.js';
import type { ChildRun } from '../core/plugin.js';
import type { CellExecutor, SleeveExecutor, SleeveTask } from '../pipeline/executor.js';
import { fractalVersion } from '../runs/manifest.js';
import { adopt, childJobId, childJobOptions, connect, rateLimitedErrors, EVENTS_MAX_LEN, derivedJobId, gatherJobOptions, jobDir, oneOffJobId, parentJobId, parseReason, portable, runsRootId, type ChildJobData, type ChildPointer, type GatherJobData } from './queue-common.js';

export interface QueueExecutorOptions {
  url: string;
  queue: string;
  log: (m: string) => void;
}

export interface QueueExecutors {
  sleeves: SleeveExecutor;
  cells: CellExecutor;
  close(): Promise<void>;
}

/** A task and its job id, its nested children too. */
interface Planned {
  task: SleeveTask;
  id: string;
  children: Planned[];
}

/** Failures of a worker's set-up, not of the child it was given (queue-worker.ts checks them before running it). */
const WORKER_SETUP_CODES = new Set(['QUEUE_CONFIG_MISMATCH', 'QUEUE_DATA_MISMATCH', 'QUEUE_ENGINE_MISMATCH', 'QUEUE_OUT_MISMATCH', 'QUEUE_RESULT_MISSING']);
/** `message` without a leading `prefix` (the worker's messages already name their child: once is enough). */
const without = (message: string, prefix: string) => (message.startsWith(prefix) ? message.slice(prefix.length) : message);

export function queueExecutors(o: QueueExecutorOptions): QueueExecutors {
  const connection = connect(o.url);
  const eventsConnection = connect(o.url);
  const queue = new Queue(o.queue, { connection, streams: { events: { maxLen: EVENTS_MAX_LEN } } });
  const flows = new FlowProducer({ connection });
  // Redis away: the waits retry on their own; say so now and then, not several times a second.
  const trouble = rateLimitedErrors(o.log, 'queue: redis');
  queue.on('error', trouble);
  flows.on('error', trouble);
  let events: QueueEvents | undefined;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of [...waiters]) w();
  };
  const listen = () => {
    if (events) return;
    events = new QueueEvents(o.queue, { connection: eventsConnection });
    events.on('error', trouble);
    for (const e of ['completed', 'failed', 'stalled', 'active'] as const) events.on(e, wake);
    // A worker that stopped renewing its lock (killed, a lost machine): its job goes back to the queue. Said here, or
    // the run just waits the lock's length in silence.
    events.on('stalled', ({ jobId }) => o.log(`queue: job ${jobId} stalled (its worker stopped answering); it goes back to the queue for another worker`));
  };
  const pause = (ms: number) =>
    new Promise<void>((r) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        waiters.delete(done);
        r();
      }
      waiters.add(done);
    });

  /**
   * Job ids for the tasks: content keys in their batch (childJobId). A key met again in one flow (the same sleeve
   * under several meta cells) gets a derived id, the same on every submission of the flow (`<key>#<n>` hashed), so a
   * resubmission still attaches.
   */
  const plan = (tasks: SleeveTask[], role: 'sleeve' | 'cell', seen: Map<string, number>): Planned[] =>
    tasks.map((task) => {
      const key = task.key ? childJobId(task.key, role, task.name) : oneOffJobId(task.expectHash);
      const n = seen.get(key) ?? 0;
      seen.set(key, n + 1);
      const id = n === 0 ? key : derivedJobId(key, n);
      // A nested meta's own sleeves are sleeves, whatever its role.
      return { task, id, children: plan(task.children ?? [], 'sleeve', seen) };
    });

  const roots = new Map<string, string | undefined>();
  const rootOf = (runsRoot: string) => (roots.has(runsRoot) ? roots.get(runsRoot) : roots.set(runsRoot, runsRootId(runsRoot, true)).get(runsRoot));
  const flowChild = (p: Planned, role: 'sleeve' | 'cell', runsRoot: string): FlowJob => {
    const t = p.task;
    const root = rootOf(runsRoot);
    const rel = (x: string) => relative(runsRoot, x);
    const data: ChildJobData = {
      role, name: t.name, kind: t.kind, file: portable(t.file), ...(t.profile ? { profile: t.profile } : {}), ...(t.sets?.length ? { sets: t.sets } : {}),
      ...(t.dataRoots?.length ? { dataRoots: t.dataRoots.map(portable) } : {}), expectHash: t.expectHash, dataHash: t.dataHash ?? null, engine: fractalVersion(),
      ...(t.noCache ? { noCache: true } : {}), ...(t.folderName ? { folderName: t.folderName } : {}), ...(t.outRoot ? { adoptRel: rel(t.outRoot) } : {}),
      finalPrefixes: (t.finalPrefixes ?? []).map((x) => ({ from: rel(x.from), to: rel(x.to) })), ...(p.children.length ? { nested: true } : {}),
      // A traced submitter's context (src/util/tracing.ts): the worker's span of this job joins its trace.
      ...(t.trace && Object.keys(t.trace).length ? { trace: t.trace } : {}),
      ...(t.git !== undefined ? { git: t.git } : {}),
      ...(root ? { root } : {}),
    };
    // A nested meta's sleeves are required by it as a meta's are.
    return { name: 'child', queueName: o.queue, data, opts: childJobOptions(role, p.id), ...(p.children.length ? { children: p.children.map((c) => flowChild(c, 'sleeve', runsRoot)) } : {}) };
  };

  const every = (ps: Planned[]): Planned[] => ps.flatMap((p) => [p, ...every(p.children)]);

  /** Submits (or attaches to) one batch and waits for it; returns each child's pointer or failure reason by job id. */
  async function submit(role: 'sleeves' | 'cells', tasks: SleeveTask[], onDone?: (n: number) => void): Promise<{ planned: Planned[]; runsRoot: string; processed: Map<string, ChildPointer>; failed: Map<string, string>; parent: string }> {
    listen();
    const runsRoot = tasks[0].cacheRoot;
    const planned = plan(tasks, role === 'sleeves' ? 'sleeve' : 'cell', new Map());
    const parent = parentJobId(role, planned.map((p) => p.id));
    const folder = relative(runsRoot, tasks[0].outRoot);
    const root = rootOf(runsRoot);
    const gather: GatherJobData = { role, run: folder.split('/')[0] ?? '', folder, children: tasks.length, submitted_at: new Date().toISOString(), ...(root ? { root } : {}) };
    const tree: FlowJob = { name: 'gather', queueName: o.queue, data: gather, opts: gatherJobOptions(parent), children: planned.map((p) => flowChild(p, role === 'sleeves' ? 'sleeve' : 'cell', runsRoot)) };
    const existing = await queue.getJob(parent);
    const state = existing ? await existing.getState() : 'unknown';
    if (existing && (existing.data as GatherJobData).root !== undefined && (existing.data as GatherJobData).root !== root) {
      // Submitted into a runs root that is gone (deleted and made again, so another identity): its jobs would be
      // refused by every worker on this one. Submitted again.
      o.log(`queue: job ${parent} was submitted into another runs root; submitting it again`);
      await existing.remove({ removeChildren: true }).catch(() => {});
      await flows.add(tree);
    } else if (existing && (state === 'completed' || state === 'failed')) {
      // Done before (this submitter died before collecting): usable only if every child's files are still there.
      const values = await existing.getChildrenValues<ChildPointer>();
      const whole = Object.keys(values).length === tasks.length && Object.values(values).every((p) => existsSync(join(runsRoot, p.result)));
      if (!whole || state === 'failed') {
        await existing.remove({ removeChildren: true }).catch(() => {});
        await flows.add(tree);
      } else o.log(`queue: ${tasks.length} ${role} already done as job ${parent}; collecting them`);
    } else if (existing) {
      // The batch is now this run's: queue status must name the folder that will collect it, not the killed
      // submitter's (marked failed by this run's start).
      await existing.updateData({ ...(existing.data as GatherJobData), run: gather.run, folder, attached_at: new Date().toISOString() }).catch(() => {});
      o.log(`queue: attached to ${role} job ${parent} (${state}), submitted earlier`);
    }
    else await flows.add(tree);
    let job: Job | undefined;
    for (;;) {
      job = await queue.getJob(parent);
      if (!job) {
        // Redis lost the flow (restarted without it): add it again; children already done stay done or rerun.
        o.log(`queue: job ${parent} is gone from Redis; submitting it again`);
        await flows.add(tree);
        continue;
      }
      const counts = await job.getDependenciesCount();
      onDone?.((counts.processed ?? 0) + (counts.ignored ?? 0) + (counts.failed ?? 0));
      const s = await job.getState();
      if (s === 'completed' || s === 'failed') break;
      await pause(2000);
    }
    const processed = new Map<string, ChildPointer>();
    // Keys are "<prefix>:<queue>:<job id>"; job ids have no ':'.
    const idOf = (k: string) => k.slice(k.lastIndexOf(':') + 1);
    for (const [k, v] of Object.entries(await job.getChildrenValues<ChildPointer>())) processed.set(idOf(k), v);
    const failed = new Map<string, string>();
    for (const [k, v] of Object.entries(await job.getIgnoredChildrenFailures())) failed.set(idOf(k), String(v));
    return { planned, runsRoot, processed, failed, parent };
  }

  /** Removes a collected batch: its jobs from Redis, its job folders from the runs root. */
  async function release(parent: string, planned: Planned[], runsRoot: string): Promise<void> {
    const job = await queue.getJob(parent);
    await job?.remove({ removeChildren: true }).catch(() => {});
    for (const p of every(planned)) rmSync(jobDir(runsRoot, p.id), { recursive: true, force: true });
  }

  /** A child that failed: its run (when it left one), else its job's reason. */
  const failedChild = async (p: Planned, reason: string | undefined, runsRoot: string): Promise<ChildRun> => {
    const result = join(jobDir(runsRoot, p.id), 'result.json');
    if (existsSync(result)) return adopt(relative(runsRoot, result), runsRoot, p.task.outRoot);
    const { code, message } = parseReason(reason);
    return { name: p.task.name, outcome: 'failed', run_id: '', folder: '', config_hash: p.task.expectHash, data_hash: null, error: { code, message, stage: null } };
  };

  const cells: CellExecutor = {
    identities: true,
    async run(jobs, opts) {
      if (!jobs.length) return [];
      const { planned, runsRoot, processed, failed, parent } = await submit('cells', jobs, opts.onDone);
      const out: ChildRun[] = [];
      for (const p of planned) {
        const pointer = processed.get(p.id);
        if (pointer) out.push({ ...adopt(pointer.result, runsRoot, p.task.outRoot), name: p.task.name });
        else out.push(await failedChild(p, failed.get(p.id) ?? (await reasonOf(p.id)), runsRoot));
      }
      await release(parent, planned, runsRoot);
      // A worker set up unlike the submitter (other files, data, version or runs root) fails whatever cells it takes,
      // and fast, so it takes most of them: that is the set-up's failure, not the cells'. The tournament fails with
      // it, as a meta does, instead of comparing the few cells the good workers ran.
      const setup = out.find((r) => r.error && WORKER_SETUP_CODES.has(r.error.code));
      if (setup) throw new FractalError(setup.error!.code as never, `cell ${setup.name}: ${without(setup.error!.message, `cell ${setup.name}: `)}`, { exitCode: 1 });
      return out;
    },
  };

  /** A child's failure reason from its own job (when its parent does not hold it). */
  const reasonOf = async (id: string): Promise<string | undefined> => (await queue.getJob(id))?.failedReason;

  const sleeves: SleeveExecutor = {
    identities: true,
    async run(tasks, opts) {
      if (!tasks.length) return [];
      const { planned, runsRoot, processed, parent } = await submit('sleeves', tasks, opts.onDone);
      if (processed.size < planned.length) {
        // A sleeve's job failed, and with it the meta (as the local pool stops at a sleeve it cannot run).
        for (const p of planned) {
          if (processed.has(p.id)) continue;
          const job = await queue.getJob(p.id);
          if (job && (await job.getState()) !== 'failed') continue;
          const deep = job ? await failedLeaf(job) : undefined;
          const { code, message } = parseReason(deep ?? job?.failedReason);
          await release(parent, planned, runsRoot);
          throw new FractalError(code as never, `sleeve ${p.task.name}: ${without(message, `sleeve ${p.task.name}: `)}`, { exitCode: 1 });
        }
        await release(parent, planned, runsRoot);
        throw runError('QUEUE_JOB_FAILED', `the sleeves' job ${parent} failed without a failed sleeve job (removed from Redis?)`);
      }
      const out = planned.map((p) => ({ ...adopt(processed.get(p.id)!.result, runsRoot, p.task.outRoot), name: p.task.name }));
      await release(parent, planned, runsRoot);
      return out;
    },
  };

  /** The reason of the deepest failed job under `job` (a nested meta fails because one of its sleeves did). */
  async function failedLeaf(job: Job): Promise<string | undefined> {
    const deps = await job.getDependencies({ unprocessed: { count: 1000 }, failed: { count: 1000 } }).catch(() => ({ unprocessed: [] as string[], failed: [] as string[] }));
    for (const key of [...(deps.failed ?? []), ...(deps.unprocessed ?? [])]) {
      const child = await queue.getJob(key.split(':').pop()!);
      if (child && (await child.getState()) === 'failed') return (await failedLeaf(child)) ?? child.failedReason;
    }
    return undefined;
  }

  return {
    sleeves,
    cells,
    async close() {
      wake();
      await events?.close().catch(() => {});
      await flows.close().catch(() => {});
      await queue.close().catch(() => {});
      connection.disconnect();
      eventsConnection.disconnect();
    },
  };
}
