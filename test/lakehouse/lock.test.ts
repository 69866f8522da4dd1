import { spawn } from 'node:child_process';
import { readFile, writeFile, readdir, symlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { acquireLock, LOCK_FILE, pidAlive } from '../../src/lakehouse/lock.js';
import { tempDir } from './helpers.js';

/** A pid that certainly belonged to a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  const pid = child.pid!;
  await new Promise((r) => child.on('exit', r));
  return pid;
}

describe('writer lock', () => {
  test('a stale lock left by a dead pid is detected and cleared', async () => {
    const dir = await tempDir();
    const pid = await deadPid();
    expect(pidAlive(pid)).toBe(false);
    await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid, host: hostname(), token: 'dead', since: '2020-01-01T00:00:00Z' }));
    // Cleared at once: the writer never waits on it as it would on a live holder (no wall-clock bound: one fsync on a
    // busy CI disk can take a second).
    const waited: unknown[] = [];
    const lock = await acquireLock(dir, { timeoutMs: 2000, onWait: (who) => waited.push(who) });
    expect(waited).toEqual([]);
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    await lock.release();
    expect(await readdir(dir)).toEqual([]); // lock removed, no `.stale-` leftovers
  });

  test('a lock held by a live process makes a writer wait, then fail naming the holder', async () => {
    const dir = await tempDir();
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: holder.pid, host: hostname(), token: 'live', since: '2026-01-01T00:00:00Z', command: 'import x' }));
      let waitedFor: number | undefined;
      await expect(acquireLock(dir, { timeoutMs: 300, onWait: (h) => (waitedFor = h?.pid) })).rejects.toMatchObject({
        code: 'LAKEHOUSE_LOCKED',
        message: expect.stringContaining(`pid ${holder.pid}`),
      });
      expect(waitedFor).toBe(holder.pid);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  test('two writers in one process are serialised', async () => {
    const dir = await tempDir();
    const events: string[] = [];
    const work = async (name: string) => {
      const lock = await acquireLock(dir, { pollMs: 5 });
      events.push(`${name}+`);
      await new Promise((r) => setTimeout(r, 50));
      events.push(`${name}-`);
      await lock.release();
    };
    await Promise.all([work('a'), work('b')]);
    // never interleaved: each writer leaves before the other enters
    expect([events.join(''), events.join('')]).toContain(events[0] === 'a+' ? 'a+a-b+b-' : 'b+b-a+a-');
    expect(events.join('')).toMatch(/^(a\+a-b\+b-|b\+b-a\+a-)$/);
  });
});

describe('a lock a writer cannot leave behind, and one it cannot judge (found operating a nightly job)', () => {
  const cli = (args: string[], env: Record<string, string> = {}) =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((res) => {
      const p = spawn(process.execPath, [join(new URL('../..', import.meta.url).pathname, 'bin', 'pipeline-run.js'), ...args], { env: { ...process.env, CI: '1', ...env } });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (b) => (stdout += b));
      p.stderr.on('data', (b) => (stderr += b));
      p.on('close', (code, signal) => res({ code, signal, stdout, stderr }));
    });

  test('a process that exits holding the lock removes it', async () => {
    const dir = await tempDir();
    const lockModule = join(new URL('../..', import.meta.url).pathname, 'dist', 'src', 'lakehouse', 'lock.js');
    const p = spawn(process.execPath, ['--input-type=module', '-e', `const { acquireLock } = await import(${JSON.stringify(lockModule)}); await acquireLock(${JSON.stringify(dir)}); process.exit(143);`]);
    await new Promise((r) => p.on('exit', r));
    expect(await readdir(dir)).toEqual([]);
  });

  test("another host's lock: a writer says whom it waits for, status shows it, and the wait is set by FRACTAL_LAKEHOUSE_LOCK_WAIT", async () => {
    const dir = await tempDir();
    const seeded = await cli(['lakehouse', 'seed', '--synthetic', '--symbols', '8', '--days', '60', '--lakehouse', dir]);
    expect(seeded.code).toBe(0);
    await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: 999999, host: 'ci-runner-7', token: 'elsewhere', since: '2026-11-30T01:00:00Z', command: 'pipeline-run lakehouse ingest' }));
    const st = await cli(['lakehouse', 'status', '--lakehouse', dir]);
    expect(st.stdout).toContain(`locked by pid 999999 on ci-runner-7 since 2026-11-30T01:00:00Z (pipeline-run lakehouse ingest): another host's; if that writer is gone, remove ${dir}/LOCK`);
    const json = JSON.parse((await cli(['lakehouse', 'status', '--json', '--lakehouse', dir])).stdout);
    expect(json.lock).toMatchObject({ pid: 999999, host: 'ci-runner-7', stale_here: false });
    // A writer (verify takes the lock only to finish an interrupted commit: this lock alone does not stop it).
    const v = await cli(['lakehouse', 'seed', '--synthetic', '--symbols', '8', '--days', '60', '--lakehouse', dir], { FRACTAL_LAKEHOUSE_LOCK_WAIT: '1' });
    expect(v.code).toBe(1);
    expect(v.stderr).toContain('waiting for the lakehouse lock, held by pid 999999 on ci-runner-7');
    expect(v.stderr).toContain('error LAKEHOUSE_LOCKED');
    expect(v.stderr).toContain('gave up after 1 s');
  }, 60_000);
});

test('many writers contending: a lock released and taken again between a waiter\'s two looks is waited for, not taken for a link to nothing', async () => {
  // A waiter that found no LOCK, then found one (another writer's, a file) was told LAKEHOUSE_LOCKED "a link to
  // nothing" (seen once as a failed import among three running at once).
  const dir = await tempDir();
  let inside = 0;
  const work = async () => {
    for (let i = 0; i < 5; i++) {
      const lock = await acquireLock(dir, { pollMs: 1, timeoutMs: 60_000 });
      expect(++inside).toBe(1);
      await new Promise((r) => setImmediate(r));
      inside--;
      await lock.release();
    }
  };
  await Promise.all(Array.from({ length: 12 }, work));
  expect(await readdir(dir)).toEqual([]);
}, 60_000);

test('LOCK a link to nothing: LAKEHOUSE_LOCKED naming it at once (a writer spun on it without end)', async () => {
  const dir = await tempDir();
  await symlink(join(dir, 'nowhere'), join(dir, LOCK_FILE));
  await expect(acquireLock(dir, { timeoutMs: 60_000 })).rejects.toMatchObject({ code: 'LAKEHOUSE_LOCKED', message: `${join(dir, LOCK_FILE)} is a link to nothing, not a lock file: no writer can take the lakehouse lock` });
});
