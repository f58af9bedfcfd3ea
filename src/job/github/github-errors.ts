/**
 * How GitHub's GraphQL API fails, as pure functions over one plain shape: which failures are worth a retry
 * and how long GitHub asks to wait, and what a failed mutation may already have done. Every rule is a row
 * of a table test; the client only converts @octokit errors into `GitHubFailure`.
 */
import { GitHubError, RetryableError } from '../errors';

export interface GraphqlErrorEntry {
  readonly type?: string;
  readonly message: string;
  readonly path?: ReadonlyArray<string | number>;
}

/** One failed request, whatever its shape on the wire. */
export interface GitHubFailure {
  /** HTTP status; @octokit/request reports no answer at all (network error, client timeout) as 500. */
  readonly status: number;
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The `errors` of an answer that had them, on HTTP 200 or otherwise. */
  readonly errors?: readonly GraphqlErrorEntry[];
  /** The `data` that came with `errors`: the root fields that ran, null where one failed. */
  readonly data?: Readonly<Record<string, unknown>> | null;
  readonly message: string;
}

/** Secondary rate limits without retry-after: GitHub asks for at least a minute. */
export const SECONDARY_DEFAULT_MS = 60_000;

/** GitHub's answer when its 10 s limit stopped a request: no `type`, and the work may be done. */
const TIMEOUT = /something went wrong while executing your query|\btimeout\b/i;
/** As @octokit/plugin-throttling recognises a secondary limit. */
const SECONDARY = /\bsecondary rate\b/i;

/** From what @octokit/graphql throws; by name, since this module stays free of its ESM-only code. */
export function failureOf(e: any): GitHubFailure {
  if (e?.name === 'GraphqlResponseError') {
    return { status: 200, headers: e.headers ?? {}, errors: e.errors, data: e.data ?? null, message: e.message };
  }
  const body = e?.response?.data;
  return {
    status: typeof e?.status === 'number' ? e.status : 500,
    headers: e?.response?.headers ?? {},
    errors: Array.isArray(body?.errors) ? body.errors : undefined,
    message: String(e?.message ?? e),
  };
}

/** A secondary limit's refusal, as GitHub words it: the request did nothing, and GitHub asks for a slower pace. */
export function isSecondaryLimit(f: GitHubFailure): boolean {
  return [f.message, ...(f.errors ?? []).map((x) => x.message)].some((m) => SECONDARY.test(m));
}

const isTimeout = (x: GraphqlErrorEntry) => !x.type && TIMEOUT.test(x.message);

function waitUntilReset(f: GitHubFailure, now: number): number {
  const reset = Number(f.headers['x-ratelimit-reset']);
  return Number.isFinite(reset) && reset > 0 ? Math.max(0, reset * 1000 - now) : SECONDARY_DEFAULT_MS;
}

/** Retryable (with the wait GitHub asks for) or final: NOT_FOUND, FORBIDDEN, bad credentials, bad documents. */
export function classify(f: GitHubFailure, now: number): RetryableError | GitHubError {
  const retryAfter = Number(f.headers['retry-after']);
  const after = f.headers['retry-after'] !== undefined && Number.isFinite(retryAfter) ? retryAfter * 1000 : undefined;
  const messages = [f.message, ...(f.errors ?? []).map((x) => x.message)];
  const where = f.status === 200 ? 'GraphQL errors' : `HTTP ${f.status}`;
  const detail = f.errors?.length ? f.errors.map((x) => (x.type ? `${x.type}: ${x.message}` : x.message)).join('; ') : f.message;

  if (f.errors?.some((x) => x.type === 'RATE_LIMITED')) return new RetryableError(`${where}: primary rate limit`, waitUntilReset(f, now));
  if (messages.some((m) => SECONDARY.test(m))) return new RetryableError(`${where}: secondary rate limit`, after ?? SECONDARY_DEFAULT_MS);
  if ((f.status === 200 || f.status === 403 || f.status === 429) && f.headers['x-ratelimit-remaining'] === '0') {
    return new RetryableError(`${where}: rate limit exhausted (x-ratelimit-remaining 0)`, after ?? waitUntilReset(f, now));
  }
  if (f.status === 429) return new RetryableError(`HTTP 429: ${f.message}`, after ?? SECONDARY_DEFAULT_MS);
  if (f.status >= 500) return new RetryableError(`HTTP ${f.status}: ${f.message}`, after);
  if (f.status === 200 && f.errors?.length && f.errors.every(isTimeout)) return new RetryableError(`${where}: GitHub timed out: ${detail}`);
  return new GitHubError(`${where}: ${detail}`);
}

/** What a failed mutation did, by root field: true applied, false not applied, undefined unknown. */
export type Applied = Record<string, boolean | undefined>;

/**
 * Reads a failed mutation's answer. GitHub runs root fields in order and answers the ones that ran in `data`;
 * a lost answer (5xx, connection dropped, client timeout) or its own timeout leaves every field unknown,
 * because GitHub may have done the work before it gave up.
 */
export function appliedFields(f: GitHubFailure, fields: readonly string[]): Applied {
  const unknown = f.status >= 500 || (f.status === 200 && !f.data && !!f.errors?.some(isTimeout));
  return Object.fromEntries(
    fields.map((field) => {
      if (unknown) return [field, undefined];
      if (f.data?.[field] != null) return [field, true];
      const own = f.errors?.find((x) => x.path?.[0] === field);
      return [field, own && isTimeout(own) ? undefined : false];
    }),
  );
}

/**
 * After a mutation that may have done part of its work: can reading the PR again show the way on? Yes when
 * the outcome is unknown, when the failure is transient, or when every error is NOT_FOUND (an id read before
 * the mutation went stale, such as a label deleted meanwhile). FORBIDDEN and the like stay final.
 */
export function rereadHelps(f: GitHubFailure, applied: Applied, error: RetryableError | GitHubError): boolean {
  return (
    Object.values(applied).includes(undefined) || error.retryable || (!!f.errors?.length && f.errors.every((x) => x.type === 'NOT_FOUND'))
  );
}

/**
 * Is every error a NOT_FOUND of one survey alias, a repository (`r<i>`) or a PR under one (`r<i>.p<j>`), with
 * `data` for the rest? GitHub answers a missing PR or repository that way; the others in the request are good.
 */
export function onlyMissingAliases(f: GitHubFailure): boolean {
  const alias = (path: ReadonlyArray<string | number> | undefined) =>
    !!path && /^r\d+$/.test(String(path[0])) && (path.length === 1 || (path.length === 2 && /^p\d+$/.test(String(path[1]))));
  return !!f.data && !!f.errors?.length && f.errors.every((x) => x.type === 'NOT_FOUND' && alias(x.path));
}

/** `createLabel` for a name the repository already has (in any case): the label exists, which is all we need. */
export function isNameTaken(f: GitHubFailure): boolean {
  return !!f.errors?.some((x) => x.type === 'UNPROCESSABLE' && /already been taken/i.test(x.message));
}
