import { withRetry } from '../../../src/job/retry';
import { fakeClock } from './fakes';
import { RetryableError } from '../../../src/job/errors';

test('retries retryable errors and honours retry-after as a floor', async () => {
  const clock = fakeClock(0);
  let calls = 0;
  const result = await withRetry(
    async () => {
      if (++calls < 3) throw new RetryableError('busy', 5000);
      return 'ok';
    },
    { deadline: 60_000, clock },
  );
  expect([result, calls]).toEqual(['ok', 3]);
  expect(clock.slept.every((w) => w >= 5000)).toBe(true);
});

test('stops at the deadline with the last error', async () => {
  const clock = fakeClock(0);
  await expect(
    withRetry(
      async () => {
        throw new RetryableError('down', 4000);
      },
      { deadline: 10_000, clock },
    ),
  ).rejects.toThrow('down');
  expect(clock.slept.length).toBe(2);
});

test('does not retry other errors', async () => {
  let calls = 0;
  await expect(
    withRetry(
      async () => {
        calls++;
        throw new Error('bad');
      },
      { deadline: 60_000, clock: fakeClock(0) },
    ),
  ).rejects.toThrow('bad');
  expect(calls).toBe(1);
});

test("full jitter: each wait is the clock's random share of the doubling backoff, capped", async () => {
  const clock = fakeClock(0, 0.5);
  let calls = 0;
  await withRetry(
    async () => {
      if (++calls < 5) throw new RetryableError('busy');
      return 'ok';
    },
    { deadline: 60_000, baseMs: 1000, maxMs: 4000, clock },
  );
  expect(clock.slept).toEqual([500, 1000, 2000, 2000]);
});
