/** One errors module: each class says whether a new attempt may succeed, and the exit code follows from that alone. */
import { EXIT } from '../../../src/contract/env';
import {
  BadInputError,
  ConflictError,
  exitCodeOf,
  GitHubError,
  KubeError,
  LockTimeoutError,
  RepositoryRefusedError,
  RetryableError,
  TransitionError,
  transientStatus,
} from '../../../src/job/errors';

test.each<[Error | string, boolean | undefined, number]>([
  [new RetryableError('GitHub down'), true, EXIT.retryable],
  [new LockTimeoutError('lease held'), true, EXIT.retryable],
  [new ConflictError('lease taken'), true, EXIT.retryable],
  [new KubeError(409, 'conflict outside a Lease write'), true, EXIT.retryable],
  [new BadInputError('AC_REPOSITORY="x"'), false, EXIT.badInput],
  [new GitHubError('bad credentials'), false, EXIT.needsAttention],
  [new RepositoryRefusedError('not installed'), false, EXIT.needsAttention],
  [new KubeError(403, 'forbidden'), false, EXIT.needsAttention],
  [new TransitionError({ add: false }, new GitHubError('FORBIDDEN'), false), false, EXIT.needsAttention],
  [new TransitionError({ add: undefined }, new RetryableError('lost'), true), true, EXIT.retryable],
  // Anything unforeseen may be transient: a new pod tries again.
  [new Error('socket hang up'), undefined, EXIT.retryable],
  ['a thrown string', undefined, EXIT.retryable],
])('%s: retryable %s, exit %i', (e, retryable, code) => {
  expect((e as { retryable?: boolean }).retryable).toBe(retryable);
  expect(exitCodeOf(e)).toBe(code);
});

test('each class keeps its name in the minified bundle, where class names are not kept', () => {
  expect([new LockTimeoutError('x'), new RepositoryRefusedError('x'), new KubeError(1, 'x')].map((e) => e.name)).toEqual([
    'LockTimeoutError',
    'RepositoryRefusedError',
    'KubeError',
  ]);
});

test.each([
  [429, true],
  [500, true],
  [503, true],
  [404, false],
  [409, false],
  [422, false],
])('HTTP %i is transient: %s', (status, transient) => expect(transientStatus(status)).toBe(transient));
