import { RetryableError, withRetry } from '../../../src/job/retry';

function clock() {
  let t = 0;
  const waits: number[] = [];
  return { now: () => t, wait: async (ms: number) => void (waits.push(ms), (t += ms)), waits };
}

test('retries retryable errors and honours retry-after as a floor', async () => {
  const c = clock();
  let calls = 0;
  const result = await withRetry(
    async () => {
      if (++calls < 3) throw new RetryableError('busy', 5000);
      return 'ok';
    },
    { deadline: 60_000, ...c },
  );
  expect([result, calls]).toEqual(['ok', 3]);
  expect(c.waits.every((w) => w >= 5000)).toBe(true);
});

test('stops at the deadline with the last error', async () => {
  const c = clock();
  await expect(
    withRetry(
      async () => {
        throw new RetryableError('down', 4000);
      },
      { deadline: 10_000, ...c },
    ),
  ).rejects.toThrow('down');
  expect(c.waits.length).toBe(2);
});

test('does not retry other errors', async () => {
  let calls = 0;
  await expect(
    withRetry(
      async () => {
        calls++;
        throw new Error('bad');
      },
      { deadline: 60_000 },
    ),
  ).rejects.toThrow('bad');
  expect(calls).toBe(1);
});
