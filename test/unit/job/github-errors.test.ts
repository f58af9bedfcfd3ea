/** How GitHub fails, as tables: retry or not and how long to wait; what a failed mutation did. */
import {
  appliedFields,
  classify,
  failureOf,
  GitHubFailure,
  isNameTaken,
  onlyMissingAliases,
  rereadHelps,
  SECONDARY_DEFAULT_MS,
} from '../../../src/job/github/github-errors';
import { GitHubError, RetryableError } from '../../../src/job/errors';

const NOW = Date.parse('2026-11-24T12:00:00Z');
const resetIn = (s: number) => String(NOW / 1000 + s);
const TIMEOUT_MESSAGE =
  'Something went wrong while executing your query. This may be the result of a timeout, or it could be a GitHub bug. Please include `ABCD:1234` when reporting this issue.';
const SECONDARY_MESSAGE = 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.';

const on200 = (
  errors: GitHubFailure['errors'],
  headers: Record<string, string> = {},
  data: GitHubFailure['data'] = null,
): GitHubFailure => ({ status: 200, headers, errors, data, message: 'Request failed due to following response errors' });
const http = (status: number, message: string, headers: Record<string, string> = {}): GitHubFailure => ({ status, headers, message });

test.each<[string, GitHubFailure, 'retry' | 'final', number | undefined]>([
  ["GitHub's own timeout on HTTP 200, no type", on200([{ message: TIMEOUT_MESSAGE }]), 'retry', undefined],
  [
    'primary limit: RATE_LIMITED on HTTP 200, wait until x-ratelimit-reset',
    on200([{ type: 'RATE_LIMITED', message: 'API rate limit exceeded' }], {
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': resetIn(30),
    }),
    'retry',
    30_000,
  ],
  [
    'primary limit without a reset header: a minute',
    on200([{ type: 'RATE_LIMITED', message: 'API rate limit exceeded' }]),
    'retry',
    SECONDARY_DEFAULT_MS,
  ],
  ['secondary limit on HTTP 200 with retry-after', on200([{ message: SECONDARY_MESSAGE }], { 'retry-after': '7' }), 'retry', 7000],
  ['secondary limit on HTTP 200 without retry-after: a minute', on200([{ message: SECONDARY_MESSAGE }]), 'retry', SECONDARY_DEFAULT_MS],
  ['secondary limit on HTTP 403 with retry-after', http(403, SECONDARY_MESSAGE, { 'retry-after': '3' }), 'retry', 3000],
  ['secondary limit on HTTP 403 without retry-after: a minute', http(403, SECONDARY_MESSAGE), 'retry', SECONDARY_DEFAULT_MS],
  [
    'x-ratelimit-remaining 0 on HTTP 403: until reset',
    http(403, 'API rate limit exceeded for installation', { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': resetIn(90) }),
    'retry',
    90_000,
  ],
  [
    'x-ratelimit-remaining 0 on HTTP 200 with any error: until reset',
    on200([{ type: 'FORBIDDEN', message: 'quota' }], { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': resetIn(5) }),
    'retry',
    5000,
  ],
  [
    'x-ratelimit-remaining 0 with retry-after: retry-after wins',
    http(403, 'limit', { 'x-ratelimit-remaining': '0', 'retry-after': '2' }),
    'retry',
    2000,
  ],
  ['a reset in the past: at once', http(403, 'limit', { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': resetIn(-10) }), 'retry', 0],
  ['HTTP 429 with retry-after', http(429, 'Too Many Requests', { 'retry-after': '4' }), 'retry', 4000],
  ["HTTP 502 after GitHub's 10 s limit", http(502, 'Server Error'), 'retry', undefined],
  ['HTTP 504', http(504, 'Gateway Timeout'), 'retry', undefined],
  ['HTTP 503 with retry-after', http(503, 'Unavailable', { 'retry-after': '9' }), 'retry', 9000],
  ['no answer (connection dropped, client timeout): 500 from @octokit/request', http(500, 'other side closed'), 'retry', undefined],
  [
    'NOT_FOUND stays final',
    on200([{ type: 'NOT_FOUND', message: "Could not resolve to a Repository with the name 'o/r'." }]),
    'final',
    undefined,
  ],
  ['FORBIDDEN stays final', on200([{ type: 'FORBIDDEN', message: 'Resource not accessible by integration' }]), 'final', undefined],
  ['bad credentials stay final', http(401, 'Bad credentials'), 'final', undefined],
  ['HTTP 403 without any limit sign stays final', http(403, 'Resource not accessible by integration'), 'final', undefined],
  [
    'a schema error (no type, not a timeout) stays final',
    on200([{ message: "Field 'x' doesn't exist on type 'Repository'" }]),
    'final',
    undefined,
  ],
  [
    'a timeout together with NOT_FOUND: the NOT_FOUND is definite',
    on200([{ message: TIMEOUT_MESSAGE }, { type: 'NOT_FOUND', message: 'gone' }]),
    'final',
    undefined,
  ],
  [
    'a typed error whose message mentions a timeout stays final',
    on200([{ type: 'UNPROCESSABLE', message: 'timeout must be positive' }]),
    'final',
    undefined,
  ],
])('%s -> %s', (_name, failure, kind, waitMs) => {
  const e = classify(failure, NOW);
  expect(e).toBeInstanceOf(kind === 'retry' ? RetryableError : GitHubError);
  if (e instanceof RetryableError) expect(e.retryAfterMs).toBe(waitMs);
});

test('final errors show the type and message GitHub gave', () => {
  expect(classify(on200([{ type: 'FORBIDDEN', message: 'Resource not accessible by integration' }]), NOW).message).toBe(
    'GraphQL errors: FORBIDDEN: Resource not accessible by integration',
  );
});

const FIELDS = ['removeLabelsFromLabelable', 'addLabelsToLabelable', 'addComment'];
const ok = { clientMutationId: null };
test.each<[string, GitHubFailure, Array<boolean | undefined>]>([
  [
    'the middle field failed: the others ran',
    on200(
      [{ type: 'NOT_FOUND', message: 'x', path: ['addLabelsToLabelable'] }],
      {},
      { removeLabelsFromLabelable: ok, addLabelsToLabelable: null, addComment: ok },
    ),
    [true, false, true],
  ],
  [
    'the first field FORBIDDEN',
    on200(
      [{ type: 'FORBIDDEN', message: 'x', path: ['removeLabelsFromLabelable'] }],
      {},
      { removeLabelsFromLabelable: null, addLabelsToLabelable: ok, addComment: ok },
    ),
    [false, true, true],
  ],
  ["502 after GitHub's limit: anything may have happened", http(502, 'Server Error'), [undefined, undefined, undefined]],
  ['connection dropped: anything may have happened', http(500, 'other side closed'), [undefined, undefined, undefined]],
  [
    "GitHub's timeout on HTTP 200, data null: anything may have happened",
    on200([{ message: TIMEOUT_MESSAGE }]),
    [undefined, undefined, undefined],
  ],
  [
    'one field timed out, the one before ran',
    on200(
      [{ message: TIMEOUT_MESSAGE, path: ['addLabelsToLabelable'] }],
      {},
      { removeLabelsFromLabelable: ok, addLabelsToLabelable: null, addComment: null },
    ),
    [true, undefined, false],
  ],
  ['a secondary limit on HTTP 403: nothing ran', http(403, SECONDARY_MESSAGE), [false, false, false]],
  ['a secondary limit on HTTP 200, data null: nothing ran', on200([{ message: SECONDARY_MESSAGE }]), [false, false, false]],
  ['RATE_LIMITED: nothing ran', on200([{ type: 'RATE_LIMITED', message: 'x' }]), [false, false, false]],
  ['bad credentials: nothing ran', http(401, 'Bad credentials'), [false, false, false]],
])('mutation: %s', (_name, failure, expected) => {
  expect(appliedFields(failure, FIELDS)).toEqual(Object.fromEntries(FIELDS.map((f, i) => [f, expected[i]])));
});

test.each<[string, GitHubFailure, Array<boolean | undefined>, boolean]>([
  ['a lost answer', http(502, 'x'), [undefined], true],
  [
    'a label deleted meanwhile: NOT_FOUND on its field',
    on200([{ type: 'NOT_FOUND', message: 'x', path: ['addLabelsToLabelable'] }], {}, {}),
    [true, false],
    true,
  ],
  [
    'FORBIDDEN on one field',
    on200([{ type: 'FORBIDDEN', message: 'x', path: ['removeLabelsFromLabelable'] }], {}, {}),
    [false, true],
    false,
  ],
  [
    'FORBIDDEN next to a NOT_FOUND',
    on200(
      [
        { type: 'FORBIDDEN', message: 'x' },
        { type: 'NOT_FOUND', message: 'y' },
      ],
      {},
      {},
    ),
    [false, false, true],
    false,
  ],
])('reread after a failed transition: %s -> %s', (_name, failure, applied, expected) => {
  expect(rereadHelps(failure, Object.fromEntries(applied.map((v, i) => [FIELDS[i], v])), classify(failure, NOW))).toBe(expected);
});

test.each<[string, GitHubFailure, boolean]>([
  [
    'one missing PR alias',
    on200(
      [{ type: 'NOT_FOUND', message: 'Could not resolve to a PullRequest with the number of 9.', path: ['r0', 'p1'] }],
      {},
      { repository: { p0: {}, p1: null } },
    ),
    true,
  ],
  [
    'two missing PR aliases',
    on200(
      [
        { type: 'NOT_FOUND', message: 'a', path: ['r0', 'p0'] },
        { type: 'NOT_FOUND', message: 'b', path: ['r1', 'p3'] },
      ],
      {},
      { r0: {}, r1: {} },
    ),
    true,
  ],
  ['a repository missing, the others answered', on200([{ type: 'NOT_FOUND', message: 'a', path: ['r1'] }], {}, { r0: {}, r1: null }), true],
  ['an alias under a missing PR', on200([{ type: 'NOT_FOUND', message: 'a', path: ['r0', 'p0', 'labels'] }], {}, { r0: {} }), false],
  [
    'a missing PR and a FORBIDDEN',
    on200(
      [
        { type: 'NOT_FOUND', message: 'a', path: ['r0', 'p0'] },
        { type: 'FORBIDDEN', message: 'b', path: ['r0', 'p1'] },
      ],
      {},
      { r0: {}, r1: {} },
    ),
    false,
  ],
  ['NOT_FOUND on another alias', on200([{ type: 'NOT_FOUND', message: 'a', path: ['r0', 'c0'] }], {}, { r0: {}, r1: {} }), false],
  ['NOT_FOUND without data', on200([{ type: 'NOT_FOUND', message: 'a', path: ['r0', 'p0'] }]), false],
])('survey: %s is a missing alias, not a failed request: %s', (_name, failure, expected) => {
  expect(onlyMissingAliases(failure)).toBe(expected);
});

test.each<[GitHubFailure, boolean]>([
  [on200([{ type: 'UNPROCESSABLE', message: 'Name has already been taken' }]), true],
  [on200([{ type: 'UNPROCESSABLE', message: 'Color is invalid' }]), false],
  [on200([{ type: 'NOT_FOUND', message: 'Name has already been taken' }]), false],
])('createLabel %j: the name is taken: %s', (failure, expected) => {
  expect(isNameTaken(failure)).toBe(expected);
});

test.each<[string, unknown, Partial<GitHubFailure>]>([
  [
    "@octokit/graphql's GraphqlResponseError: HTTP 200 with errors, data and headers",
    Object.assign(new Error('Request failed due to following response errors'), {
      name: 'GraphqlResponseError',
      headers: { 'retry-after': '3' },
      errors: [{ message: SECONDARY_MESSAGE }],
      data: { a: 1 },
    }),
    { status: 200, headers: { 'retry-after': '3' }, errors: [{ message: SECONDARY_MESSAGE }], data: { a: 1 } },
  ],
  [
    "@octokit/request's RequestError for an HTTP 403",
    Object.assign(new Error(SECONDARY_MESSAGE), {
      name: 'HttpError',
      status: 403,
      response: { headers: { 'retry-after': '5' }, data: { message: SECONDARY_MESSAGE } },
    }),
    { status: 403, headers: { 'retry-after': '5' }, errors: undefined },
  ],
  [
    'no answer: @octokit/request says 500',
    Object.assign(new Error('other side closed'), { name: 'HttpError', status: 500 }),
    { status: 500, headers: {} },
  ],
  ['anything else: as no answer', new TypeError('fetch failed'), { status: 500, headers: {}, message: 'fetch failed' }],
])('failureOf %s', (_name, error, expected) => {
  expect(failureOf(error)).toMatchObject(expected);
});
