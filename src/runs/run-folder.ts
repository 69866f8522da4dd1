/**
 * A run folder is built in a hidden temporary folder and renamed into place when the run ends:
 *   <out>/<name>/<run_id>/          a completed run (manifest.json outcome "succeeded")
 *   <out>/<name>/<run_id>.failed/   a failed run: FAILED (the error), manifest.json outcome "failed", the audit up to the failure
 *   <out>/<name>/.<run_id>.partial/ only while running (RUNNING names the process), or after a crash: `runs` lists
 *                                   it as interrupted, a later run of the pipeline marks it failed, `runs --prune`
 *                                   removes it; made as .<run_id>.starting/ until RUNNING is in it (a crash in that
 *                                   instant leaves that name, which nothing reads)
 * Every file is written whole or not at all (a temporary name, then a rename). When the disk is full the failure is
 * still marked: the folder is renamed to <run_id>.failed even if FAILED or manifest.json could not be written.
 */
import { accessSync, closeSync, constants, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { jsonText } from './artifacts.js';
import { writeWhole } from './write-whole.js';

export { writeWhole };
import { inputError, isSystemError, runError, systemError } from '../core/errors.js';
import { codeOf, messageOf } from '../util/thrown.js';

export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

export const partialName = (runId: string) => `.${runId}.partial`;
/** Where a run folder is made before it is a `.partial` one: RUNNING goes in first (see RunFolder). */
const startingName = (runId: string) => `.${runId}.starting`;
const PARTIAL_RE = /^\.(.+)\.partial$/;
export const RUNNING_FILE = 'RUNNING';

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not every filesystem lets a directory be fsynced; the rename is still atomic.
  }
}

/** Which process is writing a run (RUNNING): enough to tell a live run from one whose process is gone. */
export interface RunningInfo {
  pid: number;
  host: string;
  /** Linux: the process start time (clock ticks after boot), so a reused pid is not taken for the run's. */
  proc_start?: string;
  started_at: string;
}

function procStart(pid: number | 'self'): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Whether the process that wrote RUNNING is still this run's process (on this host). */
export function processAlive(info: RunningInfo): boolean | 'unknown' {
  if (info.host !== hostname()) return 'unknown';
  try {
    process.kill(info.pid, 0);
  } catch (err) {
    if (codeOf(err) !== 'EPERM') return false;
  }
  const now = procStart(info.pid);
  return info.proc_start === undefined || now === undefined ? true : now === info.proc_start;
}

/**
 * The reason a folder could not be made: a recursive mkdir on a read-only disk says ENOENT, so ask the nearest
 * folder that exists whether it can be written (EROFS, EACCES).
 */
function whyNotCreated(dir: string, err: NodeJS.ErrnoException): string | undefined {
  if (err.code !== 'ENOENT') return err.code;
  let up = dir;
  while (!existsSync(up) && dirname(up) !== up) up = dirname(up);
  try {
    accessSync(up, constants.W_OK);
  } catch (e) {
    const code = codeOf(e);
    return typeof code === 'string' ? code : err.code;
  }
  return err.code;
}

export class RunFolder {
  readonly parent: string;
  readonly dir: string;
  private done = false;

  constructor(outRoot: string, readonly name: string, readonly runId: string, startedAt = new Date()) {
    this.parent = join(outRoot, name);
    this.dir = join(this.parent, partialName(runId));
    // Made under another name with RUNNING in it, then renamed: a concurrent run of the pipeline marks failed every
    // `.partial` folder without a live RUNNING (markInterrupted), and it once took a folder made and not yet recorded,
    // which its run then lost (RUN_NOT_MARKED, two runs of one pipeline at a time).
    const starting = join(this.parent, startingName(runId));
    try {
      mkdirSync(this.parent, { recursive: true });
      mkdirSync(starting);
    } catch (err) {
      const code = whyNotCreated(this.parent, err as NodeJS.ErrnoException);
      // A full disk or too many open files is the machine's state, not a wrong --out.
      if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EMFILE' || code === 'ENFILE') throw systemError(err, `creating the run folder under ${this.parent}`);
      throw inputError('OUT_NOT_WRITABLE', `cannot create the run folder under ${outRoot}: ${code ?? messageOf(err)}`, undefined, { cause: err });
    }
    try {
      const info: RunningInfo = { pid: process.pid, host: hostname(), ...(procStart('self') ? { proc_start: procStart('self') } : {}), started_at: startedAt.toISOString() };
      writeWhole(join(starting, RUNNING_FILE), `${JSON.stringify(info)}\n`);
      renameSync(starting, this.dir);
    } catch (err) {
      // Nothing of the run exists yet: leave nothing behind.
      rmSync(starting, { recursive: true, force: true });
      const e = systemError(err, `creating the run folder ${this.dir} (nothing was written)`);
      throw e;
    }
  }

  /** Writes the manifest and moves the folder into place; returns the final path. Throws (coded) when it cannot. */
  complete(manifest: unknown): string {
    try {
      writeWhole(join(this.dir, 'manifest.json'), jsonText(manifest), true);
    } catch (err) {
      throw systemError(err, `writing manifest.json in ${this.dir}`);
    }
    return this.finish(join(this.parent, this.runId));
  }

  /**
   * Marks the folder failed (FAILED with the error, manifest.json) and moves it to <run_id>.failed; returns the path.
   * What cannot be written (a full disk) is left out, never left torn; the rename marks the failure regardless.
   */
  fail(manifest: unknown, error: string): { path: string; unwritten: string[] } {
    const unwritten: string[] = [];
    const failedFile = join(this.dir, 'FAILED');
    try {
      writeWhole(failedFile, `${error}\n`, true);
    } catch (err) {
      unwritten.push(`FAILED (${codeOf(err) ?? messageOf(err)})`);
      try {
        // An empty marker needs no data blocks; the folder's name says the rest.
        closeSync(openSync(failedFile, 'w'));
      } catch {
        /* the rename below still marks it */
      }
    }
    try {
      writeWhole(join(this.dir, 'manifest.json'), jsonText(manifest), true);
    } catch (err) {
      unwritten.push(`manifest.json (${codeOf(err) ?? messageOf(err)})`);
    }
    const target = join(this.parent, `${this.runId}.failed`);
    try {
      return { path: this.finish(target), unwritten };
    } catch (err) {
      throw runError('RUN_NOT_MARKED', `the failed run could not be renamed to ${target} (${codeOf(err) ?? messageOf(err)}); it is left in ${this.dir}`, undefined, { cause: err });
    }
  }

  private finish(target: string): string {
    if (this.done) throw new Error('run folder already finished');
    fsyncDir(this.dir);
    renameSync(this.dir, target);
    // RUNNING goes once the folder has its final name: a `.partial` folder without it would be taken by a concurrent
    // run of the pipeline for an interrupted one (markInterrupted) and renamed from under this run.
    try {
      unlinkSync(join(target, RUNNING_FILE));
    } catch {
      /* gone already: the folder's name says whether it ran to the end */
    }
    fsyncDir(this.parent);
    this.done = true;
    return target;
  }
}

// ------------------------------------------------------------------------------------------------ interrupted runs

export interface PartialRun {
  run_id: string;
  folder: string;
  /** 'running': its process is alive; 'interrupted': the process is gone (killed, crashed, the machine stopped). */
  state: 'running' | 'interrupted' | 'unknown';
  running?: RunningInfo;
  /** The last whole line of its audit ledger. */
  last_event?: { time?: string; stage: string | null; event: string };
}

/** The last complete JSON line of an audit ledger (a torn last line, from a crash mid-write, is skipped). */
export function lastAuditEvent(auditFile: string): PartialRun['last_event'] {
  let text: string;
  try {
    text = readFileSync(auditFile, 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    if (!lines[i].trim() || (i === lines.length - 1 && !text.endsWith('\n'))) continue;
    try {
      const e = JSON.parse(lines[i]) as { time?: string; stage?: string | null; event?: string };
      if (typeof e.event === 'string') return { time: e.time, stage: e.stage ?? null, event: e.event };
    } catch {
      /* not a whole event */
    }
  }
  return undefined;
}

/** `.<run_id>.partial` folders under one pipeline's runs folder, with whether their process is still alive. */
export function partialRuns(pipelineDir: string): PartialRun[] {
  let names: string[];
  try {
    names = readdirSync(pipelineDir);
  } catch {
    return [];
  }
  const out: PartialRun[] = [];
  for (const n of names.sort()) {
    const m = PARTIAL_RE.exec(n);
    const folder = join(pipelineDir, n);
    if (!m || !statSync(folder, { throwIfNoEntry: false })?.isDirectory()) continue;
    let running: RunningInfo | undefined;
    try {
      running = JSON.parse(readFileSync(join(folder, RUNNING_FILE), 'utf8')) as RunningInfo;
    } catch {
      running = undefined;
    }
    const alive = running ? processAlive(running) : false;
    out.push({
      run_id: m[1],
      folder,
      state: alive === 'unknown' ? 'unknown' : alive ? 'running' : 'interrupted',
      ...(running ? { running } : {}),
      ...(existsSync(join(folder, 'audit.jsonl')) ? { last_event: lastAuditEvent(join(folder, 'audit.jsonl')) } : {}),
    });
  }
  return out;
}

const describeEvent = (e: PartialRun['last_event']) => (e ? `${e.stage ? `${e.stage}: ` : ''}${e.event}${e.time ? ` at ${e.time}` : ''}` : 'none');

/**
 * Marks the interrupted runs of one pipeline failed: each `.<run_id>.partial` whose process is gone becomes
 * `<run_id>.failed` with a FAILED that says so (and its last audit event). Nothing is deleted; returns what it did.
 */
export function markInterrupted(pipelineDir: string): { from: string; to: string; last_event?: PartialRun['last_event'] }[] {
  const done: { from: string; to: string; last_event?: PartialRun['last_event'] }[] = [];
  for (const p of partialRuns(pipelineDir)) {
    if (p.state !== 'interrupted') continue;
    const to = join(pipelineDir, `${p.run_id}.failed`);
    if (existsSync(to)) continue;
    try {
      const who = p.running ? `its process (pid ${p.running.pid}) ended without finishing it` : 'it never recorded its process';
      writeWhole(join(p.folder, 'FAILED'), `[RUN_INTERRUPTED] the run was interrupted: ${who}; last audit event: ${describeEvent(p.last_event)}\n`);
      try {
        unlinkSync(join(p.folder, RUNNING_FILE));
      } catch {
        /* none */
      }
      renameSync(p.folder, to);
      done.push({ from: p.folder, to, ...(p.last_event ? { last_event: p.last_event } : {}) });
    } catch (err) {
      // Marking is a courtesy of a later run: a disk that refuses it, or a folder gone meanwhile (its own run or
      // another marking it), must not stop that run.
      if (!isSystemError(err) && codeOf(err) !== 'ENOENT') throw err;
    }
  }
  return done;
}

/**
 * Marks the child runs still unfinished inside a run folder (a meta's sleeves, a tournament's cells, run by worker
 * threads that end with the process) failed with `why`: each `.<run_id>.partial` under `<dir>/sleeves|cells/<name>/`,
 * at any depth, becomes `<run_id>.failed` with a FAILED that says so. Best effort: the caller is ending the process.
 */
export function markChildRunsInterrupted(dir: string, why: string): number {
  let marked = 0;
  const visit = (runDir: string, depth: number) => {
    if (depth > 8) return;
    for (const group of ['sleeves', 'cells']) {
      let names: string[];
      try {
        names = readdirSync(join(runDir, group));
      } catch {
        continue;
      }
      for (const name of names) {
        const parent = join(runDir, group, name);
        let runs: string[];
        try {
          runs = readdirSync(parent);
        } catch {
          continue;
        }
        for (const r of runs) {
          const m = PARTIAL_RE.exec(r);
          const child = join(parent, r);
          if (!m) {
            visit(child, depth + 1);
            continue;
          }
          visit(child, depth + 1);
          try {
            writeWhole(join(child, 'FAILED'), `[RUN_INTERRUPTED] ${why}\n`);
            try {
              unlinkSync(join(child, RUNNING_FILE));
            } catch {
              /* none */
            }
            renameSync(child, join(parent, `${m[1]}.failed`));
            marked++;
          } catch {
            /* left as it is: a later run or `runs` finds it */
          }
        }
      }
    }
  };
  visit(dir, 0);
  return marked;
}

export { describeEvent };
