/**
 * The distributed-run entry points of the API (src/api/queue.ts) check Redis before anything else and fail with the
 * catalogue's codes; the working paths (workers, flows, status) are exercised against a real redis-server by
 * test/distributed/*, whose CLI commands are shells over these functions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bullmqExecutors, FractalError, queueStatus, startWorker } from '../../src/api/index.js';
import { RedisServer } from '../distributed/harness.js';

/** A port nothing listens on: bind an ephemeral one and close it. */
async function deadPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('distributed runs from code', () => {
  const saved = process.env.FRACTAL_REDIS_URL;
  beforeEach(() => delete process.env.FRACTAL_REDIS_URL);
  afterAll(() => (saved === undefined ? delete process.env.FRACTAL_REDIS_URL : (process.env.FRACTAL_REDIS_URL = saved)));

  it('needs a Redis URL (option or FRACTAL_REDIS_URL)', async () => {
    for (const call of [() => queueStatus(), () => bullmqExecutors(), () => startWorker({ lakehouse: 'lakehouse' })]) {
      const err = await call().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(FractalError);
      expect((err as FractalError).code).toBe('QUEUE_NO_REDIS');
      expect((err as FractalError).exitCode).toBe(2);
    }
  });

  it('says so when Redis does not answer', async () => {
    const redis = `redis://127.0.0.1:${await deadPort()}`;
    const err = await bullmqExecutors({ redis, timeoutMs: 1000 }).then(() => undefined, (e: unknown) => e);
    expect((err as FractalError).code).toBe('QUEUE_UNREACHABLE');
    expect((err as FractalError).message).toContain(redis);
  });

  it('a worker a program starts stops when its signal is aborted, and leaves the process\'s signals alone when asked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fractal-api-worker-'));
    const server = new RedisServer(dir);
    try {
      await server.start();
      const listeners = [process.listenerCount('SIGTERM'), process.listenerCount('SIGINT')];
      const stop = new AbortController();
      const lines: string[] = [];
      let started!: () => void;
      const ready = new Promise<void>((r) => (started = r));
      const worker = startWorker({ redis: server.url, lakehouse: join(dir, 'lh'), out: join(dir, 'runs'), signal: stop.signal, handleSignals: false, log: (m) => (lines.push(m), /^worker /.test(m) && started()) });
      await ready;
      expect([process.listenerCount('SIGTERM'), process.listenerCount('SIGINT')]).toEqual(listeners);
      stop.abort();
      await expect(worker).resolves.toBe(0);
      expect(lines.slice(-2)).toEqual(['stop requested: draining (0 running; at most 60 s)', 'worker stopped']);
    } finally {
      await server.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
