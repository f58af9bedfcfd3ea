/** Every branch of the event decision, as a table: before the lock (PR, head) and under it (the recorded state, the opt-out label). */
import { PullRequestState } from '../../../src/job/github/github';
import { PrState } from '../../../src/job/kube/pr-state';
import { decideEvent, EventDecision, EventObserved } from '../../../src/job/event/remediate';

const HEAD = 'a'.repeat(40);
const OTHER = 'c'.repeat(40);
const RESOLVED_AT = '2026-11-26T12:00:10.000Z';
const pr: PullRequestState = { id: 'PR_1', number: 7, labels: [], markers: [], readyLabeledAt: null };
const push = { event: 'push' as const, prNumber: undefined, headSha: HEAD, deliveryId: 'd-2', optOutLabel: 'no-auto-cancel' };
const closed = { ...push, event: 'closed' as const, prNumber: 7 };

function state(o: Partial<PrState> = {}): PrState {
  const at = '2026-11-26T12:00:00.000Z';
  return {
    phase: 'done',
    repository: '5dlabs/cto',
    pr: 7,
    taskId: '7',
    sha: OTHER,
    before: '0'.repeat(40),
    pushedAt: at,
    source: 'webhook',
    delivery: 'd-1',
    resolvedAt: at,
    startedAt: at,
    updatedAt: at,
    attempts: 1,
    steps: {},
    deliveries: ['d-1'],
    ...o,
  };
}
const locked = (previous?: PrState, labels = pr.labels): EventObserved => ({
  resolved: { branchHead: HEAD, pr: { ...pr, labels } },
  previous: { state: previous },
});
const OPTED_OUT = [{ id: 'L_1', name: 'No-Auto-Cancel' }];

const cases: Array<[string, typeof push | typeof closed, EventObserved, EventDecision]> = [
  [
    'push, no open PR',
    push,
    { resolved: { branchHead: HEAD, pr: undefined } },
    { kind: 'skip', reason: 'no-open-pr', log: { reason: 'no open pull request for the branch' } },
  ],
  [
    'PR event, its PR not on the branch',
    closed,
    { resolved: { branchHead: HEAD, pr: undefined } },
    { kind: 'skip', reason: 'no-open-pr', log: { reason: 'no pull request #7 for the branch' } },
  ],
  [
    'push, the branch moved on',
    push,
    { resolved: { branchHead: OTHER, pr } },
    { kind: 'skip', reason: 'superseded', log: { reason: 'superseded', branchHead: OTHER } },
  ],
  [
    'push, the branch is gone',
    push,
    { resolved: { branchHead: null, pr } },
    { kind: 'skip', reason: 'superseded', log: { reason: 'superseded', branchHead: null } },
  ],
  ['PR event: the head is not compared', closed, { resolved: { branchHead: OTHER, pr } }, { kind: 'lock' }],
  ['push, still the head: take the lock', push, { resolved: { branchHead: HEAD, pr } }, { kind: 'lock' }],
  ['locked, nothing recorded', push, locked(undefined), { kind: 'start' }],
  ['locked, an older push done', push, locked(state()), { kind: 'start' }],
  [
    'this delivery already handled',
    push,
    locked(state({ deliveries: ['d-1', 'd-2'] })),
    { kind: 'skip', reason: 'duplicate', log: { reason: 'duplicate delivery' } },
  ],
  [
    'this head done by another delivery (the resync)',
    push,
    locked(state({ sha: HEAD, source: 'resync', delivery: 'resync-1' })),
    { kind: 'skip', reason: 'duplicate', log: { reason: 'head already handled', by: 'resync-1', source: 'resync' } },
  ],
  ['this head done by a push, now a PR event: acts', closed, locked(state({ sha: HEAD })), { kind: 'start' }],
  ['this head still running under another delivery: acts', push, locked(state({ sha: HEAD, phase: 'running' })), { kind: 'start' }],
  [
    'a newer head resolved after this run',
    push,
    locked(state({ resolvedAt: '2026-11-26T12:00:11.000Z' })),
    { kind: 'skip', reason: 'superseded', log: { reason: 'superseded by a newer run', newerSha: OTHER } },
  ],
  ['an older head resolved before this run', push, locked(state({ resolvedAt: '2026-11-26T12:00:09.000Z' })), { kind: 'start' }],
  [
    'this delivery failed half way: resume',
    push,
    locked(state({ sha: HEAD, delivery: 'd-2', phase: 'failed', deliveries: [] })),
    { kind: 'resume' },
  ],
  [
    'this delivery observed: start afresh',
    push,
    locked(state({ sha: HEAD, delivery: 'd-2', phase: 'observed', deliveries: [] })),
    { kind: 'start' },
  ],
  [
    'this delivery skipped (opted out): start afresh',
    push,
    locked(state({ sha: HEAD, delivery: 'd-2', phase: 'skipped', deliveries: [] })),
    { kind: 'start' },
  ],
  ['opted out, nothing recorded: recorded as skipped', push, locked(undefined, OPTED_OUT), { kind: 'start', optedOut: true }],
  [
    'opted out, this delivery failed half way: recorded as skipped',
    push,
    locked(state({ sha: HEAD, delivery: 'd-2', phase: 'failed', deliveries: [] }), OPTED_OUT),
    { kind: 'resume', optedOut: true },
  ],
  [
    'opted out, this delivery already handled: a duplicate first',
    push,
    locked(state({ deliveries: ['d-2'] }), OPTED_OUT),
    { kind: 'skip', reason: 'duplicate', log: { reason: 'duplicate delivery' } },
  ],
  [
    'opted out, not yet locked: the lock is taken to record it',
    push,
    { resolved: { branchHead: HEAD, pr: { ...pr, labels: OPTED_OUT } } },
    { kind: 'lock' },
  ],
  ['no opt-out label configured', { ...push, optOutLabel: '' }, locked(undefined, OPTED_OUT), { kind: 'start' }],
];

test.each(cases)('%s', (_name, input, observed, expected) => {
  expect(decideEvent(input, observed, RESOLVED_AT)).toEqual(expected);
});
