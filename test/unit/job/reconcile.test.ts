/** Every transition of the reconciler's state machine (docs/reconciler.md), as a table over `decide`. */
import { MANAGED_BY } from '../../../src/contract/labels';
import { RemediationMode, TriggerEvent } from '../../../src/contract/env';
import { PullRequestView, SurveyAsk } from '../../../src/job/github/github';
import { ReconcileInput } from '../../../src/job/input';
import { KubeObject, Lease } from '../../../src/job/kube/kube';
import { microTime, STATE_ANNOTATION } from '../../../src/job/kube/lease';
import { PrState } from '../../../src/job/kube/pr-state';
import { Action, decide, escalate, lostPrEvent, lostPush, Observed } from '../../../src/job/reconcile/decide';
import { reconcile } from '../../../src/job/reconcile/pass';
import { syncAttentionMarkers } from '../../../src/job/reconcile/attention-markers';
import { ATTENTION_LEASE_PREFIX } from '../../../src/contract/attention';
import { FakeGitHub, FakeKube, fakeClock, RECONCILE_SETTINGS } from './fakes';

const NOW = Date.parse('2026-11-24T12:00:00Z');
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();
const PUSHED = ago(900);
const cfg = RECONCILE_SETTINGS;

function observe(o: {
  phase?: PrState['phase'];
  updated?: number;
  holder?: string;
  renewed?: number;
  pr?: Partial<PullRequestView> | null | 'down';
  labels?: string[];
  relabel?: PrState['steps']['relabel'];
  stale?: number;
  commit?: { name: string; login: string | null };
  compensate?: boolean;
  /** When ready-for-qa was last added, in seconds before now; the push was 900 s ago. */
  readyAdded?: number;
  event?: TriggerEvent;
}): [Observed, ReconcileInput] {
  const lease: Lease = {
    metadata: { name: 'ac-pr-x-1', resourceVersion: '1' },
    spec: {
      holderIdentity: o.holder,
      leaseDurationSeconds: 60,
      renewTime: o.holder ? microTime(NOW - (o.renewed ?? 0) * 1000) : undefined,
    },
  };
  const state = {
    phase: o.phase ?? 'done',
    updatedAt: ago(o.updated ?? 600),
    startedAt: ago(o.updated ?? 600),
    pushedAt: PUSHED,
    event: o.event,
    steps: o.relabel ? { relabel: o.relabel } : {},
  } as PrState;
  const pr =
    o.pr === 'down' || o.pr === null
      ? o.pr
      : ({
          id: 'PR',
          number: 1,
          state: 'OPEN',
          labels: (o.labels ?? ['remediation-in-progress']).map((name) => ({ id: name, name })),
          markers: [],
          readyLabeledAt: ago(o.readyAdded ?? 3600),
          ...o.pr,
        } as PullRequestView);
  const observed: Observed = {
    lease,
    state,
    pr: pr === 'down' ? undefined : pr,
    viewError: 'HTTP 502',
    staleRuns: Array.from({ length: o.stale ?? 0 }, (_, i) => ({ metadata: { name: `tess-${i}`, uid: `u${i}` } })),
    commit: o.commit,
  };
  return [observed, { ...cfg, compensateForeignCommits: o.compensate ?? false }];
}

const changed = { at: ago(900), result: 'transitioned' as const, removed: 'ready-for-qa', added: 'remediation-in-progress' };

test.each<[string, Parameters<typeof observe>[0], Action['kind'] | Partial<Action>]>([
  ['a live holder is never overridden', { phase: 'running', holder: 'job-1', renewed: 10 }, { kind: 'busy', holder: 'job-1' }],
  ['pending, recently written: its Job may still retry', { phase: 'failed', updated: 60 }, 'none'],
  ['pending past the deadline, free: resume', { phase: 'failed', updated: 600 }, 'resume'],
  ['pending, the holder died long ago: resume (taking the Lease over)', { phase: 'running', holder: 'dead', renewed: 600 }, 'resume'],
  ['pending, the holder died recently: release only', { phase: 'running', updated: 100, holder: 'dead', renewed: 100 }, 'release'],
  ['pending, GitHub down: a counted failure', { phase: 'running', pr: 'down' }, { kind: 'fail', error: 'GitHub unavailable: HTTP 502' }],
  [
    'pending, PR closed: compensate, never resume',
    { phase: 'running', pr: { state: 'CLOSED' } },
    { kind: 'compensate', reason: 'pr-closed' },
  ],
  ['pending, PR gone: compensate', { phase: 'failed', pr: null }, { kind: 'compensate', reason: 'pr-missing' }],
  [
    'done, ready-for-qa still on from before the push: repair',
    { labels: ['ready-for-qa', 'remediation-in-progress'] },
    { kind: 'repair', removeReady: true },
  ],
  [
    'done, ready-for-qa added after the push: the platform restarted QA, left alone',
    { labels: ['ready-for-qa', 'remediation-in-progress'], readyAdded: 60, stale: 1 },
    'none',
  ],
  [
    "done, ready-for-qa added in the push's own second: counts as after it",
    { labels: ['ready-for-qa', 'remediation-in-progress'], readyAdded: 900 },
    'none',
  ],
  [
    'done, ready-for-qa (any case) from before the push: repair',
    { labels: ['Ready-For-QA', 'remediation-in-progress'] },
    { kind: 'repair', removeReady: true },
  ],
  ['done, a QA run came back: repair', { stale: 1 }, { kind: 'repair', removeReady: false }],
  ['done and converged', {}, 'none'],
  ['done, converged, dead holder: release', { holder: 'dead', renewed: 120 }, 'release'],
  ['done, remediation label removed by the platform: remediation is over, runs left alone', { labels: ['ready-for-qa'], stale: 2 }, 'none'],
  ['done, GitHub down: nothing known to be wrong', { pr: 'down' }, 'none'],
  [
    'done, PR closed, labels changed by us: compensate',
    { pr: { state: 'CLOSED' }, relabel: changed },
    { kind: 'compensate', reason: 'pr-closed' },
  ],
  [
    'done, PR merged, labels changed by us: compensate',
    { pr: { state: 'MERGED' }, relabel: changed },
    { kind: 'compensate', reason: 'pr-merged' },
  ],
  [
    'done, PR closed, labels were already so: nothing to restore',
    { pr: { state: 'CLOSED' }, relabel: { at: ago(900), result: 'already' } },
    'none',
  ],
  [
    'done, foreign head commit, compensation on: compensate',
    { commit: { name: 'Octo Cat', login: 'octocat' }, compensate: true },
    { kind: 'compensate', reason: 'not-from-bot' },
  ],
  ["done, the bot's commit (any case): no compensation", { commit: { name: '5dlabs-rex[bot]', login: null }, compensate: true }, 'none'],
  ['done, commit unknown to GitHub: never compensated on a guess', { commit: undefined, compensate: true }, 'none'],
  ['done, past retention: collect', { updated: 90000, labels: ['ready-for-qa', 'remediation-in-progress'] }, 'gc'],
  ['compensated, past retention: collect', { phase: 'compensated', updated: 90000 }, 'gc'],
  ['compensated: final', { phase: 'compensated', labels: ['ready-for-qa', 'remediation-in-progress'] }, 'none'],
  ['pending is never collected, however old', { phase: 'failed', updated: 90000, pr: 'down' }, 'fail'],
  [
    'done, ready back in another case: repair (GitHub label names are case-insensitive)',
    { labels: ['Ready-For-QA', 'REMEDIATION-IN-PROGRESS'] },
    { kind: 'repair', removeReady: true },
  ],
  [
    'done, the remediation label in another case: still remediating',
    { labels: ['Remediation-In-Progress'] },
    { kind: 'none', why: 'converged' },
  ],
  [
    'opted out: a pending push is left alone',
    { phase: 'failed', labels: ['remediation-in-progress', 'agent-cancellation/skip'] },
    { kind: 'skip', skipped: 'opted-out' },
  ],
  [
    'opted out (any case): a stale run and ready-for-qa are left alone',
    { labels: ['ready-for-qa', 'remediation-in-progress', 'Agent-Cancellation/Skip'], stale: 1 },
    { kind: 'skip', skipped: 'opted-out' },
  ],
  [
    'opted out, PR closed after we changed its labels: not compensated',
    { pr: { state: 'CLOSED' }, relabel: changed, labels: ['agent-cancellation/skip'] },
    { kind: 'skip', skipped: 'opted-out' },
  ],
  ['GitHub down: the opt-out label cannot be read, a pending push is a counted failure', { phase: 'failed', pr: 'down' }, 'fail'],
  [
    'observed (observe mode): nothing was changed, nothing to finish',
    { phase: 'observed', stale: 2, labels: ['ready-for-qa', 'remediation-in-progress'] },
    { kind: 'none', why: 'observed' },
  ],
  ['observed, past retention: collect', { phase: 'observed', updated: 90000 }, 'gc'],
  ['skipped (opted out then): nothing to finish', { phase: 'skipped', stale: 1 }, { kind: 'none', why: 'skipped' }],
  [
    'a PR close pending, PR closed: resume its cancellation, never compensate',
    { phase: 'failed', event: 'closed', pr: { state: 'CLOSED' } },
    'resume',
  ],
  ['a PR close pending, PR merged: resume', { phase: 'running', event: 'closed', pr: { state: 'MERGED' } }, 'resume'],
  [
    'a PR close done, an earlier push changed the labels: compensate',
    { event: 'closed', pr: { state: 'CLOSED' }, relabel: { ...changed, result: 'not-applicable' } },
    { kind: 'compensate', reason: 'pr-closed' },
  ],
  [
    'a PR close done, no label changed: final',
    { event: 'closed', pr: { state: 'CLOSED' }, relabel: { at: ago(900), result: 'not-applicable' } },
    'none',
  ],
  [
    'a draft conversion done, ready-for-qa on: not ours to remove',
    { event: 'converted_to_draft', labels: ['ready-for-qa', 'remediation-in-progress'] },
    { kind: 'none', why: 'converged' },
  ],
  [
    'a draft conversion done, a QA run from before it came back: repair, runs only',
    { event: 'converted_to_draft', labels: ['ready-for-qa'], stale: 1 },
    { kind: 'repair', removeReady: false },
  ],
])('%s', (_name, o, expected) => {
  const [observed, c] = observe(o);
  const action = decide(observed, c, NOW);
  if (typeof expected === 'string') expect(action.kind).toBe(expected);
  else expect(action).toMatchObject(expected);
});

const MANAGED = MANAGED_BY;

/** The record of PR 1's push (task 7, head a…) that failed, started at `at`. */
function failedPush(at: string, o: Record<string, unknown> = {}) {
  const times = { pushedAt: at, resolvedAt: at, startedAt: at, updatedAt: at };
  return {
    phase: 'failed',
    repository: '5dlabs/cto',
    pr: 1,
    taskId: '7',
    sha: 'a'.repeat(40),
    delivery: 'd1',
    ...times,
    attempts: 1,
    steps: {},
    deliveries: [],
    ...o,
  };
}

/** A released Lease of PR 1 (`ac-pr-x-1`) recording `state`. */
function seedState(kube: FakeKube, state: Record<string, unknown>) {
  return kube.createLease({
    metadata: { name: 'ac-pr-x-1', namespace: 'ns', labels: MANAGED, annotations: { [STATE_ANNOTATION]: JSON.stringify(state) } },
    spec: { leaseDurationSeconds: 60 },
  });
}
const passInput = {
  ...cfg,
  namespace: 'ns',
  repositories: ['5dlabs/cto'],
  qaSelector: 'agent-type in (cleo,tess)',
  taskIdLabel: 'task-id',
};
/** A pass that repairs: it holds Leases as `reconciler`, resumes at once and alerts as configured by default. */
const repairInput = {
  ...passInput,
  runId: 'reconciler',
  leaseDurationSeconds: 60,
  maxFailures: 3,
  attentionSeconds: 3600,
  pendingSeconds: 0,
};

test('a Lease without state whose holder expired is deleted: its run died before changing anything', async () => {
  const kube = new FakeKube();
  const stale = microTime(Date.now() - 120_000);
  await kube.createLease({
    metadata: { name: 'ac-pr-dead-1', namespace: 'ns', labels: MANAGED },
    spec: { holderIdentity: 'dead', leaseDurationSeconds: 60, renewTime: stale },
  });
  await kube.createLease({
    metadata: { name: 'ac-pr-live-2', namespace: 'ns', labels: MANAGED },
    spec: { holderIdentity: 'live', leaseDurationSeconds: 60, renewTime: microTime(Date.now()) },
  });
  // Another controller's Lease, expired too: not this program's, so never listed.
  await kube.createLease({
    metadata: { name: 'other-controller', namespace: 'ns' },
    spec: { holderIdentity: 'dead', leaseDurationSeconds: 60, renewTime: stale },
  });
  const logs: any[] = [];
  const report = await reconcile(passInput, {
    kube,
    github: new FakeGitHub('a'.repeat(40)),
    log: (step, f) => logs.push({ step, ...f }),
    clock: fakeClock(),
  });
  expect([...kube.leases.keys()].sort()).toEqual(['ac-pr-live-2', 'other-controller']);
  expect(report).toMatchObject({ scanned: 0, failed: 0 });
  expect(logs.at(-1)).toMatchObject({ step: 'reconcile-done' });
});

describe('collection deletes a finished Lease only if it is still the version the pass read', () => {
  /** A done push of PR 1, finished two days ago: past the one-day retention of `cfg`. */
  async function finishedWorld() {
    const kube = new FakeKube();
    const at = new Date(Date.now() - 2 * 86400_000).toISOString();
    const state = { phase: 'done', repository: '5dlabs/cto', pr: 1, taskId: '7', sha: 'a'.repeat(40), pushedAt: at, delivery: 'd1' };
    await seedState(kube, { ...state, startedAt: at, updatedAt: at, steps: {} });
    const logs: any[] = [];
    const pass = () =>
      reconcile(passInput, {
        kube,
        github: new FakeGitHub('a'.repeat(40)),
        log: (step, f) => logs.push({ step, ...f }),
        clock: fakeClock(),
      });
    return { kube, logs, pass };
  }

  test('unchanged since the read: collected', async () => {
    const w = await finishedWorld();
    const report = await w.pass();
    expect(report).toMatchObject({ actions: { gc: 1 }, failed: 0 });
    expect(w.kube.leases.has('ac-pr-x-1')).toBe(false);
  });

  test('changed between the read and the delete (a new push of that PR took it): kept, and the pass goes on', async () => {
    const w = await finishedWorld();
    w.kube.afterListLeases = async () => {
      w.kube.afterListLeases = undefined;
      const read = w.kube.leases.get('ac-pr-x-1')!;
      await w.kube.updateLease({ ...read, spec: { ...read.spec, holderIdentity: 'agent-cancellation-new-push' } });
    };
    const report = await w.pass();
    expect(w.kube.calls).toContain('deleteLease');
    expect(w.kube.leases.get('ac-pr-x-1')!.spec.holderIdentity).toBe('agent-cancellation-new-push');
    expect(w.logs.find((l) => l.step === 'reconcile')).toMatchObject({ did: 'none', why: 'state changed since it was read' });
    expect(report).toMatchObject({ failed: 0 });
  });
});

/** One failed push two hours old, and GitHub down: every pass is a failed repair. */
async function failingWorld() {
  const kube = new FakeKube();
  await seedState(kube, failedPush(new Date(Date.now() - 2 * 3600_000).toISOString(), { attempts: 3 }));
  const github = new FakeGitHub('a'.repeat(40));
  github.view = async () => {
    throw new Error('HTTP 502');
  };
  const stateOf = () => JSON.parse(kube.leases.get('ac-pr-x-1')!.metadata.annotations!['agent-cancellation.5dlabs.io/state']);
  const pass = (alert: (a: any) => Promise<void>) =>
    reconcile(repairInput, { kube, github, log: () => undefined, alert, clock: fakeClock() });
  return { kube, stateOf, pass };
}

test('a push pending past attentionSeconds alerts on its first failed repair, once; later passes stay quiet', async () => {
  const w = await failingWorld();
  const alerts: any[] = [];
  for (let i = 0; i < 3; i++) await w.pass(async (a) => void alerts.push(a));
  expect(alerts).toEqual([
    expect.objectContaining({ reason: 'pending-too-long', pr: 1, failures: 1, lastError: 'GitHub unavailable: HTTP 502' }),
  ]);
  expect(w.kube.events.filter((e) => e.reason === 'RemediationNeedsAttention')).toHaveLength(1);
  expect(w.kube.leases.get('ac-pr-x-1')!.metadata.labels).toMatchObject({ 'agent-cancellation.5dlabs.io/needs-attention': 'true' });
  expect(w.stateOf()).toMatchObject({ attention: { reason: 'pending-too-long', webhook: 'sent' }, repair: { failures: 3 } });
});

test('the mark has a marker Lease beside it, which kube-state-metrics can count; without the mark, the marker goes', async () => {
  const w = await failingWorld();
  await w.pass(async () => undefined);
  const marker = `${ATTENTION_LEASE_PREFIX}ac-pr-x-1`;
  expect(w.kube.leases.get(marker)?.metadata.labels).toEqual(MANAGED_BY);
  const creates = () => w.kube.calls.filter((c) => c === 'createLease').length;
  const first = creates();
  await w.pass(async () => undefined);
  expect(creates()).toBe(first);
  // A later push or repair clears the mark: the next pass removes the marker.
  const state = w.kube.leases.get('ac-pr-x-1')!;
  w.kube.leases.set('ac-pr-x-1', { ...state, metadata: { ...state.metadata, labels: { ...MANAGED_BY } } });
  expect(await syncAttentionMarkers(w.kube, 'ns', 'app.kubernetes.io/managed-by=agent-cancellation')).toEqual({
    created: [],
    deleted: [marker],
  });
  expect(w.kube.leases.has(marker)).toBe(false);
});

test('a webhook that failed is retried on the next pass until delivered, without a second Event', async () => {
  const w = await failingWorld();
  const tries: string[] = [];
  const sender = (ok: boolean) => async () => {
    tries.push(ok ? 'sent' : 'refused');
    if (!ok) throw new Error('HTTP 500');
  };
  await w.pass(sender(false));
  expect(w.stateOf().attention.webhook).toBe('failed');
  await w.pass(sender(true));
  await w.pass(sender(true));
  expect(tries).toEqual(['refused', 'sent']);
  expect(w.stateOf().attention.webhook).toBe('sent');
  expect(w.kube.events.filter((e) => e.reason === 'RemediationNeedsAttention')).toHaveLength(1);
});

/** lostPush for task 42 of 5dlabs/cto. */
const lostPushOf = (c: ReconcileInput, pr: PullRequestView, state: PrState | undefined, runs: readonly KubeObject[]) =>
  lostPush(c, { repository: '5dlabs/cto', taskId: '42', pr, state, runs });

describe('resync: the push a PR shows when its webhook was lost', () => {
  const HEAD = 'f'.repeat(40);
  const committed = ago(120);
  const view = (o: Partial<PullRequestView> & { author?: Partial<PullRequestView['head'] & object>['author'] } = {}): PullRequestView => ({
    id: 'PR',
    number: 3,
    state: 'OPEN',
    isDraft: false,
    closedAt: null,
    updatedAt: ago(30),
    headRefName: 'feature/task-42-implementation',
    labels: [{ id: 'r', name: 'ready-for-qa' }],
    markers: [],
    readyLabeledAt: ago(3600),
    head: { oid: HEAD, committedAt: committed, author: o.author ?? { name: 'rex', login: '5dlabs-rex[bot]' } },
    ...o,
  });
  const runs = (ageSeconds: number[]) =>
    ageSeconds.map((s, i) => ({ metadata: { name: `tess-${i}`, uid: `u${i}`, creationTimestamp: ago(s) } }));
  const c = { ...cfg, repositories: ['5dlabs/cto'], qaSelector: 'agent-type in (cleo,tess)', taskIdLabel: 'task-id' } as ReconcileInput;

  test.each<[string, PullRequestView, ReturnType<typeof runs>, PrState | undefined, boolean]>([
    ['a bot commit after the last ready-for-qa, with QA runs older than it', view(), runs([600]), undefined, true],
    [
      'the bot known by its git email only',
      view({ author: { name: 'Rex', email: 'rex@5dlabs.ai', login: null } }),
      runs([600]),
      undefined,
      false,
    ],
    ['the PR is closed: that is a PR event, not a push', view({ state: 'CLOSED', closedAt: ago(60) }), runs([600]), undefined, false],
    ['the PR is a draft', view({ isDraft: true }), runs([600]), undefined, false],
    ["a person's commit", view({ author: { name: 'Octo Cat', login: 'octocat' } }), runs([600]), undefined, false],
    ['ready-for-qa added after the commit: QA already restarted', view({ readyLabeledAt: ago(60) }), runs([600]), undefined, false],
    ['only QA runs newer than the commit', view(), runs([60]), undefined, false],
    ['no QA runs at all', view(), runs([]), undefined, false],
    ['the head is the one the state already handled', view(), runs([600]), { sha: HEAD } as PrState, false],
    ['a state for an older head', view(), runs([600]), { sha: 'e'.repeat(40) } as PrState, true],
    ['no head commit visible', view({ head: null }), runs([600]), undefined, false],
    [
      'opted out',
      view({
        labels: [
          { id: 'r', name: 'ready-for-qa' },
          { id: 's', name: 'agent-cancellation/skip' },
        ],
      }),
      runs([600]),
      undefined,
      false,
    ],
    ['the head only observed (observe mode), now enforcing', view(), runs([600]), { sha: HEAD, phase: 'observed' } as PrState, true],
    ['the head skipped while opted out', view(), runs([600]), { sha: HEAD, phase: 'skipped' } as PrState, true],
  ])('%s -> %s', (_name, pr, runsOf, state, expected) => {
    const push = lostPushOf(c, pr, state, runsOf);
    expect(!!push).toBe(expected);
    if (push) {
      expect(push).toMatchObject({
        taskId: '42',
        headSha: HEAD,
        source: 'resync',
        deliveryId: 'resync-ffffffffffff',
        pushedAtMs: Date.parse(committed),
        branch: 'feature/task-42-implementation',
      });
      expect(push.selector).toBe('agent-type in (cleo,tess),task-id=42');
    }
  });

  test('observe mode: a head already observed is not observed again each pass', () => {
    expect(
      lostPushOf({ ...c, mode: RemediationMode.OBSERVE }, view(), { sha: HEAD, phase: 'observed' } as PrState, runs([600])),
    ).toBeUndefined();
  });

  test("git identities configured as commitAuthors make a commit the bot's", () => {
    const withEmail = { ...c, bots: { ...c.bots, commitAuthors: ['REX@5dlabs.ai'] } };
    expect(
      lostPushOf(withEmail, view({ author: { name: 'Rex', email: 'rex@5dlabs.ai', login: null } }), undefined, runs([600])),
    ).toBeDefined();
  });
});

describe('resync: the PR event a task PR shows when its webhook was lost', () => {
  const HEAD = 'f'.repeat(40);
  const pr = (o: Partial<PullRequestView> = {}): PullRequestView => ({
    id: 'PR',
    number: 3,
    state: 'CLOSED',
    isDraft: false,
    closedAt: ago(120),
    updatedAt: ago(100),
    headRefName: 'feature/task-42-implementation',
    labels: [{ id: 'r', name: 'ready-for-qa' }],
    markers: [],
    readyLabeledAt: ago(3600),
    head: { oid: HEAD, committedAt: ago(900), author: { name: 'Octo Cat', login: 'octocat' } },
    ...o,
  });
  const runs = (ageSeconds: number[]) =>
    ageSeconds.map((s, i) => ({ metadata: { name: `tess-${i}`, uid: `u${i}`, creationTimestamp: ago(s) } }));
  const c = { ...cfg, repositories: ['5dlabs/cto'], qaSelector: 'agent-type in (cleo,tess)', taskIdLabel: 'task-id' } as ReconcileInput;
  const handled = (o: Partial<PrState>) => ({ sha: HEAD, phase: 'done', event: 'closed', pushedAt: ago(120), ...o }) as PrState;

  test.each<[string, PullRequestView, number[], PrState | undefined, string | undefined]>([
    ['closed, a QA run from before', pr(), [600], undefined, 'closed'],
    ['merged (GitHub closes it too)', pr({ state: 'MERGED' }), [600], undefined, 'closed'],
    ['turned to draft', pr({ state: 'OPEN', isDraft: true, closedAt: null }), [600], undefined, 'converted_to_draft'],
    ['open and ready: a push matter, not a PR event', pr({ state: 'OPEN', closedAt: null }), [600], undefined, undefined],
    ['only runs created after the close', pr(), [60], undefined, undefined],
    ['the close already handled', pr(), [600], handled({}), undefined],
    ['the last push handled, not the close', pr(), [600], handled({ event: 'push', pushedAt: ago(900) }), 'closed'],
    ['the close only observed, now enforcing', pr(), [600], handled({ phase: 'observed' }), 'closed'],
    ['opted out', pr({ labels: [{ id: 's', name: 'agent-cancellation/skip' }] }), [600], undefined, undefined],
    ['no head commit visible', pr({ head: null }), [600], undefined, undefined],
  ])('%s -> %s', (_name, p, ages, state, expected) => {
    const input = lostPrEvent(c, { repository: '5dlabs/cto', taskId: '42', pr: p, state, runs: runs(ages) });
    expect(input?.event).toBe(expected);
    if (input) {
      const at = Date.parse(p.state === 'OPEN' ? p.updatedAt : p.closedAt!);
      expect(input).toMatchObject({ prNumber: 3, headSha: HEAD, pushedAtMs: at, source: 'resync', taskId: '42' });
      expect(input.deliveryId).toBe(`resync-${expected}-3-${at / 1000}`);
    }
  });
});

test('a task whose QA runs all finished is not surveyed: history costs GitHub nothing', async () => {
  const kube = new FakeKube();
  for (const agent of ['cleo', 'tess']) {
    kube.codeRuns.push({ name: `${agent}-7`, labels: { 'agent-type': agent, 'task-id': '7' }, phase: 'Succeeded' });
    kube.codeRuns.push({
      name: `${agent}-8`,
      labels: { 'agent-type': agent, 'task-id': '8' },
      phase: agent === 'cleo' ? 'Failed' : 'Running',
    });
  }
  const github = new FakeGitHub('a'.repeat(40));
  const asked: SurveyAsk[][] = [];
  const survey = github.survey.bind(github);
  github.survey = (asks) => (asked.push([...asks]), survey(asks));
  const phase = { from: { kind: 'field', key: 'status.phase' }, finished: ['Succeeded', 'Failed'] } as const;
  await reconcile(
    { ...repairInput, ordering: { ...repairInput.ordering, phase } },
    { kube, github, log: () => undefined, clock: fakeClock() },
  );
  expect(asked.flat().flatMap((a) => a.branches)).toEqual(['feature/task-8-implementation']);
});

describe('a pass in observe mode', () => {
  /** A failed push of task 7 ten minutes old, its PR open with ready-for-qa: enforce would resume it. */
  async function pendingWorld() {
    const kube = new FakeKube();
    for (const agent of ['rex', 'cleo', 'tess'])
      for (const task of ['7', '8']) kube.codeRuns.push({ name: `${agent}-${task}`, labels: { 'agent-type': agent, 'task-id': task } });
    await seedState(kube, failedPush(new Date(Date.now() - 600_000).toISOString(), { before: 'b'.repeat(40), source: 'webhook' }));
    const github = new FakeGitHub('a'.repeat(40));
    const logs: any[] = [];
    const pass = (mode: RemediationMode) =>
      reconcile(
        { ...repairInput, mode },
        { kube, github, log: (step, f) => logs.push({ step, ...f }), verifyTimeoutMs: 2000, clock: fakeClock() },
      );
    return { kube, github, logs, pass };
  }

  test('reports the resume it would do and changes nothing; the enforce pass then does it', async () => {
    const w = await pendingWorld();
    const lease = structuredClone(w.kube.leases.get('ac-pr-x-1'));
    const report = await w.pass(RemediationMode.OBSERVE);
    expect(report).toMatchObject({ mode: 'observe', actions: { resume: 1 }, failed: 0 });
    expect(w.logs.find((l) => l.step === 'reconcile')).toMatchObject({ did: 'observe', would: 'resume' });
    expect([w.kube.codeRuns.length, w.github.transitions, w.kube.leases.get('ac-pr-x-1'), w.kube.events]).toEqual([6, [], lease, []]);
    await w.pass(RemediationMode.ENFORCE);
    expect(w.kube.codeRuns.map((r) => r.name).sort()).toEqual(['cleo-8', 'rex-7', 'rex-8', 'tess-8']);
    expect(w.github.transitions).toHaveLength(1);
  });

  test('an opted-out PR: the enforce pass skips it too', async () => {
    const w = await pendingWorld();
    w.github.pr!.labels.push({ id: 'LA_skip', name: 'agent-cancellation/skip' });
    const report = await w.pass(RemediationMode.ENFORCE);
    expect(report.actions).toMatchObject({ skip: 1, resume: 0 });
    expect(w.logs.find((l) => l.step === 'reconcile')).toMatchObject({ did: 'skip', skipped: 'opted-out' });
    expect([w.kube.codeRuns.length, w.github.transitions]).toEqual([6, []]);
  });
});

describe('escalation of a failed repair, as a table', () => {
  const thresholds = { maxFailures: 3, attentionSeconds: 3600 };
  const state = (o: { phase?: PrState['phase']; failures: number; startedAgo: number; attention?: PrState['attention'] }) =>
    ({
      phase: o.phase ?? 'failed',
      startedAt: ago(o.startedAgo),
      repair: { failures: o.failures, lastAt: ago(0), lastError: 'x' },
      attention: o.attention,
    }) as PrState;
  test.each<[string, Parameters<typeof state>[0], ReturnType<typeof escalate>]>([
    ['first failure of a young push', { failures: 1, startedAgo: 60 }, { kind: 'none' }],
    ['the third failure', { failures: 3, startedAgo: 60 }, { kind: 'raise', reason: 'repairs-failing' }],
    [
      'a pending push older than attentionSeconds, first failure',
      { failures: 1, startedAgo: 3600 },
      { kind: 'raise', reason: 'pending-too-long' },
    ],
    ['both: the failures name it', { failures: 3, startedAgo: 7200 }, { kind: 'raise', reason: 'repairs-failing' }],
    ['a finished push is never too long, only failing', { phase: 'done', failures: 1, startedAgo: 7200 }, { kind: 'none' }],
    [
      'already raised, webhook sent: nothing more',
      { failures: 5, startedAgo: 60, attention: { since: ago(60), reason: 'repairs-failing', webhook: 'sent' } },
      { kind: 'none' },
    ],
    [
      'already raised, webhook failed: try it again',
      { failures: 5, startedAgo: 60, attention: { since: ago(60), reason: 'repairs-failing', webhook: 'failed' } },
      { kind: 'retry-webhook' },
    ],
  ])('%s', (_name, o, expected) => {
    expect(escalate(state(o), thresholds, NOW)).toEqual(expected);
  });
});
