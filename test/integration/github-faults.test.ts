/**
 * GitHub as it really fails, one fault of the test server at a time: the bundled Job (or a reconcile pass)
 * against the real kube-apiserver must end with the labels exactly as intended, at most one marker comment,
 * the documented exit code, and never a state `done` without the remediation label on the PR.
 */
import { EXIT } from '../../src/contract/env';
import { leaseName } from '../../src/job/kube/lease';
import { PrState } from '../../src/job/kube/pr-state';
import { admin } from '../harness/cluster';
import { REPO, remediationWorld, RemediationWorld } from '../fixtures/remediation-env';
import { runJob } from '../fixtures/run-job';
import { Fault } from '../github-server/server';

jest.setTimeout(120_000);

const READY = 'ready-for-qa';
const REMEDIATION = 'remediation-in-progress';

async function stateOf(w: RemediationWorld, pr: number): Promise<PrState | undefined> {
  const r = await admin().request('GET', `/apis/coordination.k8s.io/v1/namespaces/${w.namespace}/leases/${leaseName(REPO, pr)}`);
  return r.status === 200 ? JSON.parse(r.body.metadata.annotations['agent-cancellation.5dlabs.io/state']) : undefined;
}

const markers = (w: RemediationWorld, pr: number) => w.gh.prComments(REPO, pr).filter((c) => c.includes('<!-- agent-cancellation '));

/** What every test ends with: at most one marker, and `done` only with the remediation label on the PR. */
async function invariant(w: RemediationWorld, pr: number): Promise<PrState | undefined> {
  expect(markers(w, pr).length).toBeLessThanOrEqual(1);
  const state = await stateOf(w, pr);
  if (state?.phase === 'done') expect(w.gh.prLabels(REPO, pr)).toContain(REMEDIATION);
  return state;
}

/** The whole transition, done once: the labels swapped, one marker, recorded as done. */
async function transitionedOnce(w: RemediationWorld, pr: number) {
  expect(w.gh.prLabels(REPO, pr)).toEqual([REMEDIATION]);
  expect(markers(w, pr)).toHaveLength(1);
  expect(await invariant(w, pr)).toMatchObject({
    phase: 'done',
    steps: { relabel: { result: 'transitioned', removed: READY, added: REMEDIATION } },
  });
}

/** Runs `f` in a world of its own, stopped afterwards. */
async function inWorld(namespace: string, f: (w: RemediationWorld) => Promise<void>): Promise<void> {
  const w = await remediationWorld(namespace, 'card');
  try {
    await f(w);
  } finally {
    await w.stop();
  }
}

/** The operations a run sent from `start` on, each shown as its fault when it met one. */
const sent = (w: RemediationWorld, start: number) =>
  w.gh.requests.slice(start).map((r) => (r.fault ? `${r.operation}:${r.fault}` : r.operation));

describe('one fault at a time', () => {
  let w: RemediationWorld;
  let task = 0;
  /** A fresh PR for each test: task n, labelled ready-for-qa, with its QA CodeRuns. */
  const fresh = async () => {
    task++;
    await w.seed([task]);
    return task;
  };
  beforeAll(async () => {
    w = await remediationWorld('github-faults', 'card');
    w.gh.addLabel(REPO, REMEDIATION);
  });
  afterAll(() => w.stop());

  test.each<[string, Fault]>([
    ["GitHub's timeout on HTTP 200 (no type)", { kind: 'timeout' }],
    ['a secondary rate limit on HTTP 200', { kind: 'secondary', status: 200, retryAfter: 1 }],
    ['a secondary rate limit on HTTP 403', { kind: 'secondary', status: 403, retryAfter: 1 }],
    ['x-ratelimit-remaining 0 on HTTP 403', { kind: 'primary', status: 403, retryAfter: 1 }],
  ])('%s on the query is retried: exit 0, one mutation', async (_name, fault) => {
    const pr = await fresh();
    const start = w.gh.requests.length;
    w.gh.inject({ ...fault, operation: 'Resolve' });
    const run = await runJob(w.env({ taskId: String(pr) }));
    expect([run.code, run.logs.filter((l) => l.step === 'github-retry').length]).toEqual([EXIT.done, 1]);
    expect(sent(w, start)).toEqual([`Resolve:${fault.kind}`, 'Resolve', 'Transition']);
    expect(w.gh.prLabels(REPO, pr)).toEqual([REMEDIATION]);
    expect(markers(w, pr)).toHaveLength(1);
    await invariant(w, pr);
  });

  test("GitHub's timeout on HTTP 200 past the deadline: exit 75 (retryable), not 78", async () => {
    const pr = await fresh();
    w.gh.inject({ kind: 'timeout', operation: 'Resolve', times: 1000 });
    try {
      const run = await runJob(w.env({ taskId: String(pr) }, undefined, { AC_DEADLINE_SECONDS: '3' }));
      expect(run.code).toBe(EXIT.retryable);
      expect(run.logs.at(-1)!.error).toContain('GitHub timed out');
      expect(run.logs.filter((l) => l.step === 'github-retry').length).toBeGreaterThan(0);
    } finally {
      w.gh.clearFaults();
    }
  });

  test.each<[string, Fault, string[]]>([
    ["applied, then 502 after GitHub's 10 s limit", { kind: 'applied-502', status: 502 }, ['Resolve', 'Transition:applied-502', 'Survey']],
    ['applied, then 504', { kind: 'applied-502', status: 504 }, ['Resolve', 'Transition:applied-502', 'Survey']],
    ['applied, then the connection dropped', { kind: 'applied-drop' }, ['Resolve', 'Transition:applied-drop', 'Survey']],
    ["applied, then GitHub's timeout on HTTP 200", { kind: 'timeout', applied: true }, ['Resolve', 'Transition:timeout', 'Survey']],
    ["GitHub's timeout on HTTP 200, not applied", { kind: 'timeout' }, ['Resolve', 'Transition:timeout', 'Survey', 'Transition']],
  ])('the transition %s: read again, never sent twice once done; one marker, exit 0', async (_name, fault, ops) => {
    const pr = await fresh();
    const start = w.gh.requests.length;
    w.gh.inject({ ...fault, operation: 'Transition' });
    const run = await runJob(w.env({ taskId: String(pr) }));
    expect(run.code).toBe(EXIT.done);
    expect(sent(w, start)).toEqual(ops);
    await transitionedOnce(w, pr);
  });

  test('a secondary rate limit on HTTP 200 for the transition: nothing was applied, so the same mutation is sent again', async () => {
    const pr = await fresh();
    const start = w.gh.requests.length;
    w.gh.inject({ kind: 'secondary', status: 200, retryAfter: 1, operation: 'Transition' });
    const t0 = Date.now();
    const run = await runJob(w.env({ taskId: String(pr) }));
    expect(run.code).toBe(EXIT.done);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(sent(w, start)).toEqual(['Resolve', 'Transition:secondary', 'Transition']);
    expect(markers(w, pr)).toHaveLength(1);
    await invariant(w, pr);
  });

  test('FORBIDDEN on the remove while the add and the marker ran: exactly that recorded, exit 78; once allowed, finished without a second marker', async () => {
    const pr = await fresh();
    w.gh.inject({ kind: 'forbidden', field: 'removeLabelsFromLabelable', operation: 'Transition' });
    const run = await runJob(w.env({ taskId: String(pr) }));
    expect(run.code).toBe(EXIT.needsAttention);
    expect(run.logs.at(-1)!.error).toContain('FORBIDDEN');
    expect(w.gh.prLabels(REPO, pr)).toEqual([READY, REMEDIATION]);
    expect(markers(w, pr)).toHaveLength(1);
    const failed = await invariant(w, pr);
    expect(failed).toMatchObject({ phase: 'failed', steps: { relabel: { result: 'partial', added: REMEDIATION } } });
    expect(failed!.steps.relabel!.removed).toBeUndefined();

    // The Job's retry once the token may remove labels: the rest only.
    const start = w.gh.requests.length;
    const retry = await runJob(w.env({ taskId: String(pr) }));
    expect(retry.code).toBe(EXIT.done);
    expect(sent(w, start)).toEqual(['Resolve', 'Transition']);
    await transitionedOnce(w, pr);
  });

  test('the remediation label deleted between the query and the mutation: created again and added; one marker, exit 0', async () => {
    const pr = await fresh();
    const start = w.gh.requests.length;
    w.gh.inject({ kind: 'delete-label', label: REMEDIATION, operation: 'Transition' });
    const run = await runJob(w.env({ taskId: String(pr) }));
    expect(run.code).toBe(EXIT.done);
    expect(sent(w, start)).toEqual(['Resolve', 'Transition:delete-label', 'Survey', 'CreateLabel', 'Transition']);
    expect(w.gh.prLabels(REPO, pr)).toEqual([REMEDIATION]);
    expect(markers(w, pr)).toHaveLength(1);
    expect(await invariant(w, pr)).toMatchObject({ phase: 'done', steps: { relabel: { removed: READY, added: REMEDIATION } } });
  });

  test('the ready label deleted between the query and the mutation: nothing left to remove; exit 0', async () => {
    const pr = await fresh();
    const start = w.gh.requests.length;
    w.gh.inject({ kind: 'delete-label', label: READY, operation: 'Transition' });
    const run = await runJob(w.env({ taskId: String(pr) }));
    expect(run.code).toBe(EXIT.done);
    expect(sent(w, start)).toEqual(['Resolve', 'Transition:delete-label', 'Survey']);
    expect(w.gh.prLabels(REPO, pr)).toEqual([REMEDIATION]);
    expect(markers(w, pr)).toHaveLength(1);
    const state = await invariant(w, pr);
    expect(state).toMatchObject({ phase: 'done', steps: { relabel: { result: 'transitioned', added: REMEDIATION } } });
    expect(state!.steps.relabel!.removed).toBeUndefined();
    w.gh.addLabel(REPO, READY);
  });

  test('the ready label deleted meanwhile when removing it was the only change: read again, nothing left; exit 0', async () => {
    const pr = await fresh();
    w.gh.labelPullRequest(REPO, pr, REMEDIATION);
    const start = w.gh.requests.length;
    w.gh.inject({ kind: 'delete-label', label: READY, operation: 'Transition' });
    const run = await runJob(w.env({ taskId: String(pr) }));
    expect(run.code).toBe(EXIT.done);
    expect(sent(w, start)).toEqual(['Resolve', 'Transition:delete-label', 'Survey']);
    expect(w.gh.prLabels(REPO, pr)).toEqual([REMEDIATION]);
    expect(markers(w, pr)).toHaveLength(0);
    expect(await invariant(w, pr)).toMatchObject({ phase: 'done', steps: { relabel: { result: 'already' } } });
    w.gh.addLabel(REPO, READY);
  });

  test('labels in another case are the same labels: Ready-For-QA removed, no second remediation label', async () => {
    const pr = await fresh();
    w.gh.deleteLabel(REPO, READY);
    w.gh.labelPullRequest(REPO, pr, 'Ready-For-QA');
    const run = await runJob(w.env({ taskId: String(pr) }));
    expect(run.code).toBe(EXIT.done);
    expect(w.gh.prLabels(REPO, pr)).toEqual([REMEDIATION]);
    w.gh.deleteLabel(REPO, 'Ready-For-QA');
    w.gh.addLabel(REPO, READY);
    await invariant(w, pr);
  });
});

describe('the remediation label missing from the repository', () => {
  test('createLabel applied, then its answer lost: the retry finds the name taken, reads the label, goes on; exit 0', () =>
    inWorld('github-label-lost', async (w) => {
      await w.seed([1]);
      w.gh.inject({ kind: 'applied-502', operation: 'CreateLabel' });
      const run = await runJob(w.env({ taskId: '1' }));
      expect(run.code).toBe(EXIT.done);
      expect(sent(w, 0)).toEqual(['Resolve', 'CreateLabel:applied-502', 'CreateLabel', 'Label', 'Transition']);
      expect(w.gh.repoLabels(REPO).filter((l) => l.name === REMEDIATION)).toHaveLength(1);
      expect(w.gh.prLabels(REPO, 1)).toEqual([REMEDIATION]);
      await invariant(w, 1);
    }));

  test('two Jobs racing to create it: both done, one label', () =>
    inWorld('github-label-race', async (w) => {
      await w.seed([1, 2]);
      // Both have read the repository without the label before either creates it.
      w.gh.inject({ kind: 'slow', delayMs: 3000, operation: 'CreateLabel' });
      const runs = await Promise.all([1, 2].map((t) => runJob(w.env({ taskId: String(t) }))));
      expect(runs.map((r) => r.code)).toEqual([EXIT.done, EXIT.done]);
      const ops = w.gh.requests.map((r) => r.operation);
      expect(ops.filter((o) => o === 'CreateLabel')).toHaveLength(2);
      expect(ops.filter((o) => o === 'Label')).toHaveLength(1);
      expect(w.gh.repoLabels(REPO).filter((l) => l.name === REMEDIATION)).toHaveLength(1);
      for (const pr of [1, 2]) {
        expect(w.gh.prLabels(REPO, pr)).toEqual([REMEDIATION]);
        await invariant(w, pr);
      }
    }));
});

describe('the fork network', () => {
  test('a PR from the pushed branch into another repository of the network, listed first, is left alone', () =>
    inWorld('github-fork', async (w) => {
      w.gh.addRepository('upstream/cto');
      w.gh.addLabel('upstream/cto', READY);
      w.gh.setBranch(REPO, 'feature/task-1-implementation', w.shaOf(1));
      const upstream = w.gh.openPullRequest('upstream/cto', 'feature/task-1-implementation', [READY], { head: REPO });
      await w.seed([1]);
      w.gh.addLabel(REPO, REMEDIATION);
      const run = await runJob(w.env({ taskId: '1' }));
      expect(run.code).toBe(EXIT.done);
      expect(run.logs.find((l) => l.step === 'resolve')).toMatchObject({ pr: 1 });
      expect(w.gh.prLabels(REPO, 1)).toEqual([REMEDIATION]);
      expect(w.gh.prLabels('upstream/cto', upstream)).toEqual([READY]);
      expect(w.gh.prComments('upstream/cto', upstream)).toEqual([]);
      await invariant(w, 1);
    }));

  test('only a fork PR for the branch: no open PR in this repository, exit 3, nothing changed', () =>
    inWorld('github-fork-only', async (w) => {
      w.gh.addRepository('upstream/cto');
      w.gh.setBranch(REPO, 'feature/task-1-implementation', w.shaOf(1));
      const upstream = w.gh.openPullRequest('upstream/cto', 'feature/task-1-implementation', [READY], { head: REPO });
      const run = await runJob(w.env({ taskId: '1' }));
      expect(run.code).toBe(EXIT.nothingToDo);
      expect(w.gh.prLabels('upstream/cto', upstream)).toEqual([READY]);
    }));
});

describe('the reconciler', () => {
  test('a state whose PR no longer exists does not fail the view of its repository: the other PR is resumed', () =>
    inWorld('github-missing-pr', async (w) => {
      await w.seed([1, 2]);
      w.gh.addLabel(REPO, REMEDIATION);
      expect((await runJob(w.env({ taskId: '1' }))).code).toBe(EXIT.done);
      w.gh.deletePullRequest(REPO, 1);
      // PR 2's Job cancels, then meets GitHub down past its deadline: pending, for the reconciler.
      const job = await runJob(w.env({ taskId: '2' }, undefined, { AC_DEADLINE_SECONDS: '2' }), {
        onLog: (l) => l.step === 'verify' && w.gh.outage(true),
      });
      w.gh.outage(false);
      expect(job.code).toBe(EXIT.retryable);

      const pass = await w.reconcile({ AC_RECONCILE_PENDING_SECONDS: '0', AC_DEADLINE_SECONDS: '5' });
      expect([pass.code, pass.stderr]).toEqual([EXIT.done, '']);
      expect(pass.logs.filter((l) => l.step === 'github-view-failed')).toEqual([]);
      const did = (pr: number) => pass.logs.find((l) => l.step === 'reconcile' && l.saw?.pr === pr);
      expect(did(1)).toMatchObject({ did: 'compensate', reason: 'pr-missing' });
      expect(did(2)).toMatchObject({ did: 'resume', relabel: 'transitioned' });
      expect(w.gh.prLabels(REPO, 2)).toEqual([REMEDIATION]);
      expect(await stateOf(w, 1)).toMatchObject({ phase: 'compensated', compensation: { reason: 'pr-missing' } });
      await invariant(w, 2);
    }));
});
