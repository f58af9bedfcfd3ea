/**
 * Every error the runtime ends a call or a run with. Each class says whether a new attempt may succeed; the exit
 * code follows from that alone (exitCodeOf). Where a status becomes one of them (GitHub's classify, the
 * Kubernetes client), transientStatus is the one rule for HTTP.
 */
import { EXIT } from '../contract/env';

export abstract class JobError extends Error {
  /** True: a new attempt (of the call, or of the run: exit 75) may succeed. False: it will not (exit 64 or 78). */
  abstract readonly retryable: boolean;
}

/** Transient failures: retried with backoff until a deadline (withRetry), then the run ends retryable. */
export class RetryableError extends JobError {
  // Set by hand: the bundle is minified, class names are not kept.
  override readonly name: string = 'RetryableError';

  readonly retryable = true;

  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** The lock could not be had in time: another run is working on this PR. */
export class LockTimeoutError extends RetryableError {
  override readonly name: string = 'LockTimeoutError';
}

/** A write lost an optimistic-concurrency race (HTTP 409): re-read and decide again. */
export class ConflictError extends JobError {
  override readonly name: string = 'ConflictError';

  readonly retryable = true;

  constructor(what: string) {
    super(`conflict: ${what}`);
  }
}

/** Bad input: never retried, nothing changed. */
export class BadInputError extends JobError {
  override readonly name: string = 'BadInputError';

  readonly retryable = false;
}

/** A state this release cannot read (a newer release wrote it): refused, so that it is never overwritten; a person decides. */
export class StateSchemaError extends JobError {
  override readonly name: string = 'StateSchemaError';

  readonly retryable = false;
}

/** GitHub said no in a way retrying will not fix (401, schema errors, missing repository). */
export class GitHubError extends JobError {
  override readonly name: string = 'GitHubError';

  readonly retryable = false;
}

/** GitHub gives no token for one of the repositories asked (the App is not installed there); others may be fine. */
export class RepositoryRefusedError extends GitHubError {
  override readonly name: string = 'RepositoryRefusedError';
}

/**
 * A transition that failed after GitHub may have applied part of it. `applied` says, per part sent, whether
 * GitHub did it (undefined: unknown, its answer was lost); `reread` whether reading the PR again can show the
 * way on (a lost answer, a label id gone stale, a transient error); `error` is what to end with otherwise.
 */
export class TransitionError extends JobError {
  override readonly name: string = 'TransitionError';

  readonly retryable: boolean;

  constructor(
    readonly applied: { readonly remove?: boolean; readonly add?: boolean; readonly comment?: boolean },
    readonly error: RetryableError | GitHubError,
    readonly reread: boolean,
  ) {
    super(`transition failed: ${error.message}`);
    this.retryable = error.retryable;
  }
}

/** A Kubernetes answer no retry of the call fixes (403, 404, 422…); a 409 outside a Lease write ends the run retryable. */
export class KubeError extends JobError {
  override readonly name: string = 'KubeError';

  readonly retryable: boolean;

  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.retryable = status === 409;
  }
}

/** An HTTP status that says "later": rate limited, or the server failed. */
export function transientStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/** The exit code of a run that ended with `e`: bad input 64, final 78, anything else (retryable, unknown) 75. */
export function exitCodeOf(e: unknown): number {
  if (e instanceof BadInputError) return EXIT.badInput;
  if (e instanceof JobError && !e.retryable) return EXIT.needsAttention;
  return EXIT.retryable;
}
