import { Clock } from './clock';
import { RetryableError } from './errors';

export interface RetryOptions {
  /** Absolute time (ms since epoch) after which no new attempt starts. */
  readonly deadline: number;
  readonly baseMs?: number;
  readonly maxMs?: number;
  readonly onRetry?: (error: RetryableError, attempt: number, waitMs: number) => void;
  /** Time for the deadline, sleep for the waits, random for their jitter. */
  readonly clock: Clock;
}

/** Calls `fn` until it succeeds, fails with a non-retryable error, or the next wait would pass the deadline. */
export async function withRetry<T>(fn: () => Promise<T>, o: RetryOptions): Promise<T> {
  const { now, sleep, random } = o.clock;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof RetryableError)) throw e;
      const backoff = Math.min(o.maxMs ?? 30_000, (o.baseMs ?? 500) * 2 ** (attempt - 1));
      // Full jitter spreads out runs that failed together; a server's retry-after is a floor.
      const ms = Math.max(e.retryAfterMs ?? 0, Math.round(random() * backoff));
      if (now() + ms > o.deadline) throw e;
      o.onRetry?.(e, attempt, ms);
      await sleep(ms);
    }
  }
}
