import { RemediationMode } from '../../../src/contract/env';
import { JobInput } from '../../../src/job/input';
import { leaseName, readState } from '../../../src/job/kube/lease';
import { remediate } from '../../../src/job/event/remediate';
import { planRelabel, RelabelPlan } from '../../../src/job/event/steps';
import { FakeGitHub, FakeKube, fakeClock } from './fakes';
import { GitHubError, RetryableError, TransitionError } from '../../../src/job/errors';

const SHA = 'a'.repeat(40);
const input: JobInput = {
  repository: '5dlabs/cto',
  owner: '5dlabs',
  name: 'cto',
  branch: 'feature/task-7-implementation',
  headSha: SHA,
  deliveryId: 'd1',
  taskId: '7',
  namespace: 'ns',
  runId: 'run-1',
  codeRun: { group: 'platform.5dlabs.com', version: 'v1', plural: 'coderuns' },
  selector: 'agent-type in (cleo,tess),agent-type!=rex,task-id=7',
  qaSelector: 'agent-type in (cleo,tess),agent-type!=rex',
  taskIdLabel: 'task-id',
  repositories: ['5dlabs/cto'],
  scope: { format: '{name}', host: 'github.com' },
  labels: { ready: 'ready-for-qa', remediation: 'remediation-in-progress', color: 'd93f0b', description: '' },
  graphqlUrl: 'http://x',
  token: 't',
  deadlineSeconds: 5,
  requestTimeoutMs: 1000,
  leaseDurationSeconds: 60,
  lockWaitSeconds: 0,
  skipExitCode: 3,
  // The push came a minute ago; the fake's runs were created an hour ago.
  pushedAtMs: Math.floor(Date.now() / 1000 - 60) * 1000,
  beforeSha: 'b'.repeat(40),
  source: 'webhook',
  ordering: { clockSkewMs: 5000 },
  event: 'push',
  mode: RemediationMode.ENFORCE,
  optOutLabel: 'agent-cancellation/skip',
};
const LEASE = leaseName('5dlabs/cto', 1);

function world(labels?: string[]) {
  const kube = new FakeKube();
  for (const task of ['7', '8'])
    for (const agent of ['rex', 'cleo', 'tess'])
      kube.codeRuns.push({ name: `${agent}-${task}`, labels: { 'agent-type': agent, 'task-id': task } });
  return { kube, gh: new FakeGitHub(SHA, labels), logs: [] as any[] };
}
const run = (w: ReturnType<typeof world>, i: Partial<JobInput> = {}) =>
  remediate(
    { ...input, ...i },
    { kube: w.kube, github: w.gh, log: (step, f) => w.logs.push({ step, ...f }), verifyTimeoutMs: 2000, clock: fakeClock() },
  );

test('normal transition: deletes only the task QA runs, one query, one mutation, state done, lease released', async () => {
  const w = world();
  expect(await run(w)).toEqual({ kind: 'done', pr: 1, deleted: ['cleo-7', 'tess-7'], relabel: 'transitioned' });
  expect(w.kube.codeRuns.map((c) => c.name)).toEqual(['rex-7', 'rex-8', 'cleo-8', 'tess-8']);
  expect(w.gh.calls).toEqual(['resolve', 'transition']);
  expect(w.gh.transitions[0]).toMatchObject({ remove: 'LA_ready-for-qa', add: 'LA_rem' });
  const lease = w.kube.leases.get(LEASE)!;
  expect(lease.spec.holderIdentity).toBeNull();
  expect(readState(lease)).toMatchObject({ phase: 'done', deliveries: ['d1'], steps: { cancel: { deleted: ['cleo-7', 'tess-7'] } } });
  expect(w.kube.events.map((e) => `${e.type}/${e.reason}`)).toEqual(['Normal/RemediationDone']);
});

test.each([
  [
    'a PR without a Lease: the create is the lock and carries the state',
    false,
    0,
    ['createLease', 'list', 'deleteNamed', 'deleteNamed', 'updateLease'],
  ],
  [
    'a PR whose Lease exists: the failed create, a read, and a take that carries the state',
    true,
    0,
    ['createLease', 'getLease', 'updateLease', 'list', 'deleteNamed', 'deleteNamed', 'updateLease'],
  ],
  [
    'a finalizer holds the deleted runs: lists until they are gone, then records the cancel',
    false,
    2,
    ['createLease', 'list', 'deleteNamed', 'deleteNamed', 'list', 'list', 'updateLease', 'updateLease'],
  ],
])('Kubernetes calls per cancellation, %s', async (_case, leaseExists, lingering, calls) => {
  const w = world();
  const head = 'd'.repeat(40);
  if (leaseExists) {
    await run(w, { deliveryId: 'd0' });
    w.kube.codeRuns.push(...['cleo', 'tess'].map((agent) => ({ name: `${agent}-7`, labels: { 'agent-type': agent, 'task-id': '7' } })));
  }
  w.gh.branchHead = head;
  w.kube.calls = [];
  w.kube.lingering = lingering;
  const states: Array<string | undefined> = [];
  const deleteNamed = w.kube.deleteNamed.bind(w.kube);
  // Write-ahead: every delete finds this push recorded, running, on the Lease.
  w.kube.deleteNamed = (...a) => (states.push(readState(w.kube.leases.get(LEASE)!)?.phase), deleteNamed(...a));
  expect(await run(w, { headSha: head })).toMatchObject({ kind: 'done', deleted: ['cleo-7', 'tess-7'] });
  expect(w.kube.calls).toEqual(calls);
  expect(states.every((p) => p === 'running')).toBe(true);
});

test('no open PR: nothing touched', async () => {
  const w = world();
  w.gh.pr = undefined;
  expect(await run(w)).toEqual({ kind: 'nothing-to-do', reason: 'no-open-pr' });
  expect(w.kube.calls).toEqual([]);
});

test('superseded by a newer push on the branch: nothing touched', async () => {
  const w = world();
  w.gh.branchHead = 'b'.repeat(40);
  expect(await run(w)).toMatchObject({ kind: 'nothing-to-do', reason: 'superseded' });
  expect(w.kube.calls).toEqual([]);
});

test('duplicate delivery: no delete, no mutation', async () => {
  const w = world();
  await run(w);
  w.kube.calls = [];
  w.gh.calls = [];
  expect(await run(w, { runId: 'run-2' })).toMatchObject({ kind: 'nothing-to-do', reason: 'duplicate' });
  expect(w.kube.calls).not.toContain('deleteNamed');
  expect(w.gh.calls).toEqual(['resolve']);
});

test('an older push whose run comes after a newer run recorded the PR: exits without acting', async () => {
  const w = world();
  await run(w, { deliveryId: 'newer' });
  const newerResolvedAt = Date.parse(readState(w.kube.leases.get(LEASE)!)!.resolvedAt);
  // The older run read the branch when it still pointed at its own SHA, a minute before the newer run did.
  w.gh.branchHead = 'c'.repeat(40);
  const older = await remediate(
    { ...input, deliveryId: 'older', headSha: 'c'.repeat(40), runId: 'r2' },
    {
      kube: w.kube,
      github: w.gh,
      log: () => undefined,
      clock: fakeClock(newerResolvedAt - 60_000),
    },
  );
  expect(older).toMatchObject({ kind: 'nothing-to-do', reason: 'superseded' });
  expect(w.gh.transitions).toHaveLength(1);
});

test.each([
  [['ready-for-qa'], { remove: 'LA_ready-for-qa', add: 'LA_rem' }, 'transitioned'],
  [['ready-for-qa', 'remediation-in-progress'], { remove: 'LA_ready-for-qa' }, 'transitioned'],
  [['bug'], { add: 'LA_rem' }, 'transitioned'],
  [['remediation-in-progress'], undefined, 'already'],
])('labels %j -> mutation %j (%s)', async (labels, change, result) => {
  const w = world(labels);
  expect(await run(w)).toMatchObject({ relabel: result });
  expect(w.gh.transitions[0] && { remove: w.gh.transitions[0].remove, add: w.gh.transitions[0].add }).toEqual(
    change && { remove: undefined, add: undefined, ...change },
  );
});

test('the remediation label missing from the repository is created once', async () => {
  const w = world();
  w.gh.remediationLabelId = undefined;
  await run(w);
  expect(w.gh.calls).toEqual(['resolve', 'createLabel', 'transition']);
  expect(w.gh.transitions[0].add).toBe('LA_created');
});

test('a marker for this delivery does not stand in for labels that did not change: the labels are flipped, no second marker', async () => {
  const w = world();
  w.gh.pr!.markers.push({ delivery: 'd1', sha: SHA, startedAt: 'x' });
  expect(await run(w)).toMatchObject({ relabel: 'transitioned' });
  expect(w.gh.transitions).toEqual([{ remove: 'LA_ready-for-qa', add: 'LA_rem', comment: undefined }]);
  expect(w.gh.pr!.labels.map((l) => l.name)).toEqual(['remediation-in-progress']);
  expect(w.gh.pr!.markers).toHaveLength(1);
});

test('label names compare case-insensitively, as GitHub does', async () => {
  const w = world(['Ready-For-QA', 'Remediation-In-Progress']);
  expect(await run(w)).toMatchObject({ relabel: 'transitioned' });
  expect(w.gh.transitions).toEqual([{ remove: 'LA_Ready-For-QA', add: undefined, comment: undefined }]);
});

const NOT_FOUND = new GitHubError('GraphQL errors: NOT_FOUND: Could not resolve to a node');
const FORBIDDEN = new GitHubError('GraphQL errors: FORBIDDEN: Resource not accessible by integration');
const LOST = new RetryableError('HTTP 502: Server Error');

test('the remediation label deleted between the query and the mutation: the rest ran; read again, create, add; one marker', async () => {
  const w = world();
  const deleted = () => (w.gh.remediationLabelId = undefined);
  w.gh.failures.push({
    error: new TransitionError({ remove: true, add: false, comment: true }, NOT_FOUND, true),
    did: ['remove', 'comment'],
    meanwhile: deleted,
  });
  expect(await run(w)).toMatchObject({ kind: 'done', relabel: 'transitioned' });
  expect(w.gh.calls).toEqual(['resolve', 'transition', 'view', 'createLabel', 'transition']);
  expect(w.gh.transitions[1]).toEqual({ remove: undefined, add: 'LA_created', comment: undefined });
  expect(w.gh.pr!.labels.map((l) => l.name)).toEqual(['remediation-in-progress']);
  expect(w.gh.pr!.markers).toHaveLength(1);
  expect(readState(w.kube.leases.get(LEASE)!)!.steps.relabel).toMatchObject({
    result: 'transitioned',
    removed: 'ready-for-qa',
    added: 'remediation-in-progress',
  });
});

test.each([
  ['applied', ['remove', 'add', 'comment'] as const, ['resolve', 'transition', 'view'], 1],
  ['not applied', [] as const, ['resolve', 'transition', 'view', 'transition'], 2],
])('a lost answer (%s): read again, finish from what is seen, one marker', async (_name, did, calls, transitions) => {
  const w = world();
  w.gh.failures.push({ error: new TransitionError({ remove: undefined, add: undefined, comment: undefined }, LOST, true), did });
  expect(await run(w)).toMatchObject({ kind: 'done', relabel: 'transitioned' });
  expect(w.gh.calls).toEqual(calls);
  expect(w.gh.transitions).toHaveLength(transitions);
  expect(w.gh.pr!.labels.map((l) => l.name)).toEqual(['remediation-in-progress']);
  expect(w.gh.pr!.markers).toHaveLength(1);
  expect(readState(w.kube.leases.get(LEASE)!)).toMatchObject({
    phase: 'done',
    steps: { relabel: { removed: 'ready-for-qa', added: 'remediation-in-progress' } },
  });
});

test('FORBIDDEN on the remove, the add and marker applied: recorded exactly, final; a later run removes only, no second marker', async () => {
  const w = world();
  w.gh.failures.push({
    error: new TransitionError({ remove: false, add: true, comment: true }, FORBIDDEN, false),
    did: ['add', 'comment'],
  });
  await expect(run(w)).rejects.toBe(FORBIDDEN);
  expect(w.gh.calls).toEqual(['resolve', 'transition']);
  const failed = readState(w.kube.leases.get(LEASE)!)!;
  expect(failed).toMatchObject({ phase: 'failed', steps: { relabel: { result: 'partial', added: 'remediation-in-progress' } } });
  expect(failed.steps.relabel!.removed).toBeUndefined();

  expect(await run(w, { runId: 'run-2' })).toMatchObject({ kind: 'done', relabel: 'transitioned' });
  expect(w.gh.transitions[1]).toEqual({ remove: 'LA_ready-for-qa', add: undefined, comment: undefined });
  expect(w.gh.pr!.markers).toHaveLength(1);
  expect(readState(w.kube.leases.get(LEASE)!)!.steps.relabel).toMatchObject({
    result: 'transitioned',
    removed: 'ready-for-qa',
    added: 'remediation-in-progress',
  });
});

test('the labels changed but the marker failed: the marker follows on the read-again round', async () => {
  const w = world();
  w.gh.failures.push({ error: new TransitionError({ remove: true, add: true, comment: undefined }, LOST, true), did: ['remove', 'add'] });
  expect(await run(w)).toMatchObject({ kind: 'done' });
  expect(w.gh.transitions[1]).toEqual({ remove: undefined, add: undefined, comment: expect.stringContaining('"delivery":"d1"') });
  expect(w.gh.pr!.markers).toHaveLength(1);
});

test('a transition that keeps failing part-way gives up after 3 rounds with the last error, state not done', async () => {
  const w = world();
  for (let i = 0; i < 3; i++)
    w.gh.failures.push({ error: new TransitionError({ remove: undefined, add: undefined, comment: undefined }, LOST, true) });
  await expect(run(w)).rejects.toBe(LOST);
  expect(w.gh.calls.filter((c) => c === 'transition')).toHaveLength(3);
  expect(readState(w.kube.leases.get(LEASE)!)).toMatchObject({ phase: 'failed', steps: { relabel: { result: 'partial' } } });
});

test.each<[string, string[], { delivery?: string; added?: string }, RelabelPlan]>([
  ['ready only', ['ready-for-qa'], {}, { remove: 'ready-for-qa', add: true, comment: true }],
  ['both', ['ready-for-qa', 'remediation-in-progress'], {}, { remove: 'ready-for-qa', add: false, comment: false }],
  [
    'remediation only: nothing, no marker for a label we did not add',
    ['remediation-in-progress'],
    {},
    { remove: undefined, add: false, comment: false },
  ],
  ['neither', [], {}, { remove: undefined, add: true, comment: true }],
  [
    'our marker there, labels not flipped: labels only',
    ['ready-for-qa'],
    { delivery: 'd1' },
    { remove: 'ready-for-qa', add: true, comment: false },
  ],
  ["another push's marker there: ours too", ['ready-for-qa'], { delivery: 'd0' }, { remove: 'ready-for-qa', add: true, comment: true }],
  [
    'we added the label, the marker got lost: the marker',
    ['remediation-in-progress'],
    { added: 'remediation-in-progress' },
    { remove: undefined, add: false, comment: true },
  ],
  ['any case', ['READY-FOR-QA', 'Remediation-In-Progress'], {}, { remove: 'READY-FOR-QA', add: false, comment: false }],
])('plan: %s', (_name, labels, o, plan) => {
  const pr = {
    id: 'PR',
    number: 1,
    labels: labels.map((name) => ({ id: name, name })),
    markers: o.delivery ? [{ delivery: o.delivery, sha: SHA, startedAt: 'x' }] : [],
    readyLabeledAt: null,
  };
  expect(planRelabel(pr, input.labels, 'd1', { added: o.added })).toEqual(plan);
});

test('crash after cancel: the rerun resumes at relabel and deletes nothing twice', async () => {
  const w = world();
  w.gh.failTransition = new RetryableError('github down');
  await expect(run(w)).rejects.toThrow('github down');
  expect(readState(w.kube.leases.get(LEASE)!)).toMatchObject({ phase: 'failed', lastError: 'github down', steps: { cancel: {} } });
  expect(w.kube.events.map((e) => e.reason)).toEqual(['RemediationFailed']);
  w.gh.failTransition = undefined;
  w.kube.calls = [];
  expect(await run(w, { runId: 'run-2' })).toMatchObject({ kind: 'done', deleted: ['cleo-7', 'tess-7'] });
  expect(w.kube.calls).not.toContain('deleteNamed');
  expect(readState(w.kube.leases.get(LEASE)!)!.attempts).toBe(2);
});

test('a lock held by a live run: waits, then gives up as retryable', async () => {
  const w = world();
  await run(w);
  const lease = w.kube.leases.get(LEASE)!;
  w.kube.leases.set(LEASE, {
    ...lease,
    spec: { ...lease.spec, holderIdentity: 'other', renewTime: new Date().toISOString(), leaseDurationSeconds: 60 },
  });
  await expect(run(w, { deliveryId: 'd2', runId: 'run-2', lockWaitSeconds: 1 })).rejects.toThrow('held by another run');
  expect(w.logs.some((l) => l.step === 'lock-wait' && l.holder === 'other')).toBe(true);
});

test('a dead holder (expired lease) is taken over', async () => {
  const w = world();
  await run(w);
  const lease = w.kube.leases.get(LEASE)!;
  w.kube.leases.set(LEASE, {
    ...lease,
    spec: { ...lease.spec, holderIdentity: 'dead', renewTime: new Date(Date.now() - 120_000).toISOString(), leaseDurationSeconds: 60 },
  });
  w.gh.branchHead = 'd'.repeat(40);
  expect(await run(w, { deliveryId: 'd2', runId: 'run-2', headSha: 'd'.repeat(40) })).toMatchObject({ kind: 'done' });
  expect(w.kube.leases.get(LEASE)!.spec.leaseTransitions).toBe(1);
});

test('CodeRuns still terminating past the bound: retryable, cancel not recorded', async () => {
  const w = world();
  w.kube.lingering = 100;
  await expect(
    remediate(input, { kube: w.kube, github: w.gh, log: () => undefined, verifyTimeoutMs: 600, clock: fakeClock() }),
  ).rejects.toThrow('still present');
  expect(readState(w.kube.leases.get(LEASE)!)!.steps.cancel).toBeUndefined();
});

test('a GitHub error that retrying will not fix propagates as is', async () => {
  const w = world();
  w.gh.failTransition = new GitHubError('HTTP 401: Bad credentials');
  await expect(run(w)).rejects.toBeInstanceOf(GitHubError);
});

describe('ordering', () => {
  test('a QA run created after the push survives it; the ones before it are cancelled, and the kept run is recorded', async () => {
    const w = world();
    w.kube.codeRuns.push({
      name: 'cleo-7-fresh',
      labels: { 'agent-type': 'cleo', 'task-id': '7' },
      created: new Date(input.pushedAtMs + 2000).toISOString(),
    });
    expect(await run(w)).toMatchObject({ kind: 'done', deleted: ['cleo-7', 'tess-7'] });
    expect(w.kube.codeRuns.map((c) => c.name)).toContain('cleo-7-fresh');
    expect(readState(w.kube.leases.get(LEASE)!)!.steps.cancel!.kept).toEqual([{ name: 'cleo-7-fresh', why: 'created-at-or-after-push' }]);
    expect(w.logs.find((l) => l.step === 'cancel').kept).toEqual([{ name: 'cleo-7-fresh', why: 'created-at-or-after-push' }]);
  });

  test('a finished QA run is history: kept with reason finished, named in the state, the log and the Event', async () => {
    const w = world();
    w.kube.codeRuns.push({ name: 'tess-7-done', labels: { 'agent-type': 'tess', 'task-id': '7' }, phase: 'Succeeded' });
    w.kube.codeRuns.push({ name: 'cleo-7-failed', labels: { 'agent-type': 'cleo', 'task-id': '7' }, phase: 'Failed' });
    w.kube.codeRuns.push({ name: 'cleo-7-running', labels: { 'agent-type': 'cleo', 'task-id': '7' }, phase: 'Running' });
    const phase = { from: { kind: 'field', key: 'status.phase' }, finished: ['Succeeded', 'Failed'] } as const;
    expect(await run(w, { ordering: { ...input.ordering, phase } })).toMatchObject({
      kind: 'done',
      deleted: ['cleo-7', 'tess-7', 'cleo-7-running'],
    });
    expect(w.kube.codeRuns.map((c) => c.name)).toEqual(expect.arrayContaining(['tess-7-done', 'cleo-7-failed']));
    expect(w.kube.codeRuns.map((c) => c.name)).not.toContain('cleo-7-running');
    const finished = [
      { name: 'tess-7-done', why: 'finished' },
      { name: 'cleo-7-failed', why: 'finished' },
    ];
    expect(readState(w.kube.leases.get(LEASE)!)!.steps.cancel!.kept).toEqual(finished);
    expect(w.logs.find((l) => l.step === 'cancel').kept).toEqual(finished);
    expect(w.kube.events.at(-1)!.message).toContain('cancelled, 2 (finished: tess-7-done, cleo-7-failed) kept');
  });

  test('ready-for-qa added after the push: the stale runs go, no label changes, the state says why', async () => {
    const w = world();
    w.gh.pr = { ...w.gh.pr!, readyLabeledAt: new Date(input.pushedAtMs + 1000).toISOString() };
    expect(await run(w)).toMatchObject({ kind: 'done', deleted: ['cleo-7', 'tess-7'], relabel: 'qa-restarted-after-push' });
    expect(w.gh.calls).toEqual(['resolve']);
    expect(readState(w.kube.leases.get(LEASE)!)).toMatchObject({
      phase: 'done',
      steps: { relabel: { result: 'qa-restarted-after-push' } },
    });
  });

  test('ready-for-qa added before the push: the flip goes ahead', async () => {
    const w = world();
    w.gh.pr = { ...w.gh.pr!, readyLabeledAt: new Date(input.pushedAtMs - 1000).toISOString() };
    expect(await run(w)).toMatchObject({ relabel: 'transitioned' });
  });

  test('the push time, previous head and source are recorded for provenance', async () => {
    const w = world();
    await run(w);
    expect(readState(w.kube.leases.get(LEASE)!)).toMatchObject({
      pushedAt: new Date(input.pushedAtMs).toISOString(),
      before: 'b'.repeat(40),
      source: 'webhook',
    });
    expect(w.kube.events[0].message).toContain(`at ${new Date(input.pushedAtMs).toISOString()} (webhook d1)`);
  });

  test('a second delivery for a head already handled (the resync got there first) changes nothing', async () => {
    const w = world();
    await run(w, { deliveryId: 'resync-aaaaaaaaaaaa', source: 'resync' });
    w.gh.calls = [];
    w.kube.calls = [];
    expect(await run(w, { deliveryId: 'late-webhook', runId: 'run-2' })).toMatchObject({ kind: 'nothing-to-do', reason: 'duplicate' });
    expect(w.logs.at(-1)).toMatchObject({ reason: 'head already handled', by: 'resync-aaaaaaaaaaaa', source: 'resync' });
    expect(w.kube.calls).not.toContain('deleteNamed');
    expect(w.gh.calls).toEqual(['resolve']);
  });

  test('a run replaced between the list and the delete (same name, new uid) is never hit', async () => {
    const w = world();
    const list = w.kube.list.bind(w.kube);
    w.kube.list = async (...a) => {
      const seen = await list(...a);
      // The platform recreates tess-7 under the same name right after the Job listed it.
      const i = w.kube.codeRuns.findIndex((c) => c.name === 'tess-7');
      if (i >= 0) w.kube.codeRuns[i] = { ...w.kube.codeRuns[i], name: 'tess-7', created: new Date().toISOString() };
      w.kube.list = list;
      return seen.map((r) => (r.metadata.name === 'tess-7' ? { ...r, metadata: { ...r.metadata, uid: 'uid-of-the-old-tess-7' } } : r));
    };
    expect(await run(w)).toMatchObject({ deleted: ['cleo-7'] });
    expect(w.kube.codeRuns.map((c) => c.name)).toContain('tess-7');
  });
});

describe('observe mode (shadow): the whole decision, nothing changed', () => {
  const observeThenEnforce = async (labels: string[], setup: (w: ReturnType<typeof world>) => void = () => undefined) => {
    const w = world(labels);
    setup(w);
    const runsBefore = w.kube.codeRuns.map((c) => c.name);
    const observed = await run(w, { mode: RemediationMode.OBSERVE });
    const seen = readState(w.kube.leases.get(LEASE)!)!;
    // Nothing changed: no delete, no GitHub write, and the delivery is not marked handled.
    expect([w.kube.codeRuns.map((c) => c.name), w.gh.transitions, w.gh.calls, w.kube.calls.includes('deleteNamed')]).toEqual([
      runsBefore,
      [],
      ['resolve'],
      false,
    ]);
    expect(seen).toMatchObject({ phase: 'observed', deliveries: [] });
    const done = await run(w);
    const after = readState(w.kube.leases.get(LEASE)!)!;
    return { w, observed, done, seen, after };
  };

  test.each([[['ready-for-qa']], [['ready-for-qa', 'remediation-in-progress']], [['remediation-in-progress']], [['bug']]])(
    'labels %j: the observation records exactly what enforce then does with the same input',
    async (labels) => {
      const { observed, done, seen, after } = await observeThenEnforce(labels);
      expect(observed).toEqual({ ...done, kind: 'observed' });
      expect(after.phase).toBe('done');
      const decision = (s: typeof seen) => ({
        deleted: s.steps.cancel!.deleted,
        kept: s.steps.cancel!.kept,
        ...s.steps.relabel,
        at: undefined,
      });
      expect(decision(seen)).toEqual(decision(after));
    },
  );

  test('ready-for-qa added after the push: observed as qa-restarted-after-push, which enforce then does', async () => {
    const { seen, after } = await observeThenEnforce(['ready-for-qa'], (w) => {
      w.gh.pr = { ...w.gh.pr!, readyLabeledAt: new Date(input.pushedAtMs + 1000).toISOString() };
    });
    expect([seen.steps.relabel!.result, after.steps.relabel!.result]).toEqual(['qa-restarted-after-push', 'qa-restarted-after-push']);
  });

  test('a Normal RemediationObserved Event names what would go; the marker of the later enforce run lists the cancelled runs', async () => {
    const { w } = await observeThenEnforce(['ready-for-qa']);
    const [observedEvent, doneEvent] = w.kube.events;
    expect(observedEvent).toMatchObject({ type: 'Normal', reason: 'RemediationObserved' });
    expect(observedEvent.message).toContain(`push ${SHA.slice(0, 12)} at ${new Date(input.pushedAtMs).toISOString()} (webhook d1)`);
    expect(observedEvent.message).toContain(
      'nothing changed: would cancel 2 QA CodeRun(s) (cleo-7, tess-7), keep 0, labels transitioned -ready-for-qa +remediation-in-progress',
    );
    expect(doneEvent).toMatchObject({ reason: 'RemediationDone' });
    expect(doneEvent.message).toContain('2 QA CodeRun(s) (cleo-7, tess-7) cancelled');
    expect(w.gh.transitions[0].comment).toContain('2 QA run(s) cancelled (cleo-7, tess-7)');
  });
});

describe('opt-out label', () => {
  test('the PR carries it: runs and labels left alone, recorded as skipped: opted-out; without it, the same delivery acts', async () => {
    const w = world(['ready-for-qa', 'Agent-Cancellation/Skip']);
    expect(await run(w)).toEqual({ kind: 'nothing-to-do', reason: 'opted-out', pr: 1 });
    expect([w.kube.codeRuns.length, w.gh.transitions.length, w.kube.calls.includes('deleteNamed')]).toEqual([6, 0, false]);
    expect(readState(w.kube.leases.get(LEASE)!)).toMatchObject({ phase: 'skipped', skipped: 'opted-out', delivery: 'd1', deliveries: [] });
    expect(w.kube.events).toEqual([expect.objectContaining({ type: 'Normal', reason: 'RemediationSkipped' })]);
    w.gh.pr!.labels = w.gh.pr!.labels.filter((l) => l.name !== 'Agent-Cancellation/Skip');
    expect(await run(w)).toMatchObject({ kind: 'done', deleted: ['cleo-7', 'tess-7'] });
  });

  test('no opt-out label configured: a PR with that name is handled', async () => {
    const w = world(['ready-for-qa', 'agent-cancellation/skip']);
    expect(await run(w, { optOutLabel: '' })).toMatchObject({ kind: 'done' });
  });
});

describe('a PR closed, merged or converted to draft', () => {
  const closedAt = input.pushedAtMs;
  const prEvent = (event: 'closed' | 'converted_to_draft', i: Partial<JobInput> = {}): Partial<JobInput> => ({
    event,
    prNumber: 1,
    deliveryId: `pr-${event}`,
    pushedAtMs: closedAt,
    ...i,
  });

  test.each<['closed' | 'converted_to_draft', 'OPEN' | 'CLOSED' | 'MERGED']>([
    ['closed', 'CLOSED'],
    ['closed', 'MERGED'],
    ['converted_to_draft', 'OPEN'],
  ])("%s (PR %s now): the task's QA runs from before it go, other tasks untouched, no label changed", async (event, state) => {
    const w = world(['ready-for-qa']);
    w.gh.prState = state;
    w.kube.codeRuns.push({
      name: 'tess-7-fresh',
      labels: { 'agent-type': 'tess', 'task-id': '7' },
      created: new Date(closedAt + 1000).toISOString(),
    });
    expect(await run(w, prEvent(event))).toEqual({ kind: 'done', pr: 1, deleted: ['cleo-7', 'tess-7'], relabel: 'not-applicable' });
    expect(w.kube.codeRuns.map((c) => c.name)).toEqual(['rex-7', 'rex-8', 'cleo-8', 'tess-8', 'tess-7-fresh']);
    expect(w.gh.calls).toEqual(['view']);
    expect(w.gh.pr!.labels.map((l) => l.name)).toEqual(['ready-for-qa']);
    expect(readState(w.kube.leases.get(LEASE)!)).toMatchObject({
      phase: 'done',
      event,
      delivery: `pr-${event}`,
      pushedAt: new Date(closedAt).toISOString(),
    });
    expect(w.kube.events[0].message).toContain(
      `${event} ${SHA.slice(0, 12)} at ${new Date(closedAt).toISOString()} (webhook pr-${event}): 2 QA CodeRun(s) (cleo-7, tess-7) cancelled`,
    );
  });

  test("the revision rule does not spare the head's runs: the PR no longer awaits their review", async () => {
    const w = world();
    w.gh.prState = 'CLOSED';
    for (const c of w.kube.codeRuns) c.labels = { ...c.labels, rev: SHA };
    expect(await run(w, prEvent('closed', { ordering: { clockSkewMs: 5000, revision: { kind: 'label', key: 'rev' } } }))).toMatchObject({
      deleted: ['cleo-7', 'tess-7'],
    });
  });

  test('after a push that flipped the labels: its changes stay on record, so compensation can restore them', async () => {
    const w = world();
    await run(w);
    w.gh.prState = 'CLOSED';
    await run(w, prEvent('closed', { pushedAtMs: closedAt + 30_000 }));
    expect(readState(w.kube.leases.get(LEASE)!)!.steps.relabel).toMatchObject({
      result: 'not-applicable',
      removed: 'ready-for-qa',
      added: 'remediation-in-progress',
    });
  });

  test('observe mode: recorded, nothing deleted', async () => {
    const w = world();
    w.gh.prState = 'CLOSED';
    expect(await run(w, prEvent('closed', { mode: RemediationMode.OBSERVE }))).toMatchObject({
      kind: 'observed',
      deleted: ['cleo-7', 'tess-7'],
    });
    expect(w.kube.codeRuns).toHaveLength(6);
  });

  test('the number names a PR of another branch: nothing touched', async () => {
    const w = world();
    expect(await run(w, prEvent('closed', { branch: 'feature/task-8-implementation' }))).toEqual({
      kind: 'nothing-to-do',
      reason: 'no-open-pr',
    });
    expect(w.kube.calls).toEqual([]);
  });
});

test('every time the Job records comes from its injected clock', async () => {
  const w = world();
  const at = Date.parse('2030-01-02T03:04:05.678Z');
  await remediate(input, { kube: w.kube, github: w.gh, log: () => undefined, verifyTimeoutMs: 2000, clock: fakeClock(at) });
  const lease = w.kube.leases.get(LEASE)!;
  const state = readState(lease)!;
  expect([state.resolvedAt, state.startedAt, state.steps.cancel!.at, state.steps.relabel!.at]).toEqual(
    Array(4).fill('2030-01-02T03:04:05.678Z'),
  );
  expect(state.updatedAt).toBe('2030-01-02T03:04:05.678000Z');
});
