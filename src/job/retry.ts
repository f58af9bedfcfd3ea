/** Transient failures: retried with backoff until a deadline. */
export class RetryableError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'RetryableError';
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface RetryOptions {
  /** Absolute time (ms since epoch) after which no new attempt starts. */
  readonly deadline: number;
  readonly baseMs?: number;
  readonly maxMs?: number;
  readonly onRetry?: (error: RetryableError, attempt: number, waitMs: number) => void;
  readonly now?: () => number;
  readonly wait?: (ms: number) => Promise<void>;
}

/** Calls `fn` until it succeeds, fails with a non-retryable error, or the next wait would pass the deadline. */
export async function withRetry<T>(fn: () => Promise<T>, o: RetryOptions): Promise<T> {
  const now = o.now ?? Date.now;
  const wait = o.wait ?? sleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof RetryableError)) throw e;
      const backoff = Math.min(o.maxMs ?? 30_000, (o.baseMs ?? 500) * 2 ** (attempt - 1));
      // Full jitter spreads out runs that failed together; a server's retry-after is a floor.
      const ms = Math.max(e.retryAfterMs ?? 0, Math.round(Math.random() * backoff));
      if (now() + ms > o.deadline) throw e;
      o.onRetry?.(e, attempt, ms);
      await wait(ms);
    }
  }
}
