/**
 * The distributed-run entry points of the API (src/api/queue.ts) check Redis before anything else and fail with the
 * catalogue's codes; the working paths (workers, flows, status) are exercised against a real redis-server by
 * test/distributed/*, whose CLI commands are shells over these functions.
 */
import { createServer } from 'node:net';
import { bullmqExecutors, FractalError, queueStatus, startWorker } from '../../src/api/index.js';

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
});
