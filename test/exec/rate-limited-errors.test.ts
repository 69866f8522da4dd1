/** What a worker or submitter says while Redis is away (src/exec/queue-common.ts rateLimitedErrors). */
import { jest } from '@jest/globals';
import { rateLimitedErrors } from '../../src/exec/queue-common.js';

test('the same error once per interval, with how many were held back; another error at once', () => {
  let now = 1_000_000;
  const clock = jest.spyOn(Date, 'now').mockImplementation(() => now);
  try {
    const said: string[] = [];
    const on = rateLimitedErrors((m) => said.push(m), 'redis', 30_000);
    const refused = new Error('connect ECONNREFUSED 127.0.0.1:6392');
    for (let i = 0; i < 50; i++, now += 200) on(refused); // 10 s of retries every 200 ms
    expect(said).toEqual(['redis: connect ECONNREFUSED 127.0.0.1:6392; retrying']);
    on(new Error('Connection is closed.'));
    expect(said[1]).toBe('redis: Connection is closed.; retrying');
    now += 30_000;
    on(refused);
    expect(said[2]).toBe('redis: connect ECONNREFUSED 127.0.0.1:6392 (and 49 more since the last such line); retrying');
  } finally {
    clock.mockRestore();
  }
});
