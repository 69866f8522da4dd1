/**
 * For the distributed tests: a real redis-server of the test's own (a free port, AOF on, a temporary folder; never the
 * machine's shared instance) and the built CLI as processes (workers, submitters) whose stderr lines can be awaited.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { repo } from '../cli/helpers.js';

export const BIN = join(repo, 'bin', 'pipeline-run.js');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A process whose output lines are kept and can be waited for. */
export class Proc {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  stdout = '';
  private waiters: { re: RegExp; from: number; resolve: (l: string) => void }[] = [];
  readonly exited: Promise<number | null>;

  constructor(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
    this.child = spawn(cmd, args, { cwd: opts.cwd ?? repo, env: { ...process.env, CI: '1', ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    const onText = (t: string) => {
      buf += t;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        this.lines.push(line);
        for (const w of [...this.waiters]) {
          if (w.re.test(line)) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve(line);
          }
        }
      }
    };
    this.child.stderr!.setEncoding('utf8').on('data', onText);
    this.child.stdout!.setEncoding('utf8').on('data', (t: string) => {
      this.stdout += t;
      onText(t);
    });
    this.exited = new Promise((r) => this.child.once('exit', (code) => r(code)));
  }

  /** Resolves with the first line (already seen or to come) matching `re`. */
  waitFor(re: RegExp, timeoutMs = 120_000): Promise<string> {
    const seen = this.lines.find((l) => re.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no line matching ${re} within ${timeoutMs} ms; last lines:\n${this.lines.slice(-15).join('\n')}`)), timeoutMs);
      this.waiters.push({ re, from: this.lines.length, resolve: (l) => (clearTimeout(t), resolve(l)) });
    });
  }

  count(re: RegExp): number {
    return this.lines.filter((l) => re.test(l)).length;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}

/** A redis-server on a free port with AOF in `dir`; `kill` and `start` again keep the same port and data. */
export class RedisServer {
  port = 0;
  proc?: Proc;
  constructor(readonly dir: string) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort();
    this.proc = new Proc('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', this.dir, '--save', '', '--maxmemory-policy', 'noeviction'], { cwd: this.dir });
    await this.proc.waitFor(/Ready to accept connections/, 30_000);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    this.proc?.kill(signal);
    await this.proc?.exited;
  }
}

/** The built CLI as a process. */
export const pipelineRun = (args: string[], cwd?: string) => new Proc(process.execPath, [BIN, ...args], { cwd });

/** A worker on `redis` with the given runs root and lakehouse (short locks, so a dead worker's job moves on fast). */
export function startWorker(redis: RedisServer, out: string, lakehouse: string, extra: string[] = []): Proc {
  return pipelineRun(['worker', '--redis', redis.url, '--out', out, '--lakehouse', lakehouse, '--lock-ms', '4000', '--drain-ms', '5000', ...extra]);
}

export async function stopAll(procs: Proc[]): Promise<void> {
  for (const p of procs) p.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
}
