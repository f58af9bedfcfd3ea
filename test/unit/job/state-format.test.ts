/**
 * The state Leases persist across releases (docs/versioning.md): Leases recorded by an earlier release, kept as
 * fixtures in test/fixtures/state-v1, must be found, resumed and repaired by this one. A change that would orphan
 * an in-flight Lease (its name, its labels, or the schema of its state annotation) fails here.
 */
import * as fs from 'fs';
import * as path from 'path';
import { MANAGED_BY } from '../../../src/contract/labels';
import { JobInput, ReconcileInput } from '../../../src/job/input';
import { Lease } from '../../../src/job/kube/kube';
import { leaseName, PR_LABEL, readState, STATE_ANNOTATION, STATE_SCHEMA_VERSION } from '../../../src/job/kube/lease';
import { StateSchemaError } from '../../../src/job/errors';
import { remediate } from '../../../src/job/event/remediate';
import { reconcile } from '../../../src/job/reconcile/pass';
import { fakeClock, FakeGitHub, FakeKube, RECONCILE_SETTINGS } from './fakes';

const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'state-v1');
/** When the fixtures were recorded; the push came 20 s before. */
const RECORDED = Date.parse('2026-12-05T12:00:00.000Z');
const SHA = 'a'.repeat(40);
const DELIVERY = '9f1c2e00-d2a1-11f1-8a6e-5e1b2c3d4e5f';
const NAMESPACE = 'agent-platform';

const fixture = (name: string): Lease => JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8'));
const rawState = (lease: Lease) => JSON.parse(lease.metadata.annotations![STATE_ANNOTATION]);

const reconcileInput = {
  ...RECONCILE_SETTINGS,
  namespace: NAMESPACE,
  repositories: ['5dlabs/cto'],
  qaSelector: 'agent-type in (cleo,tess)',
  taskIdLabel: 'task-id',
  runId: 'agent-cancellation-reconciler-new',
  leaseDurationSeconds: 60,
  maxFailures: 3,
  attentionSeconds: 3600,
} as ReconcileInput;

const jobInput = {
  ...reconcileInput,
  repository: '5dlabs/cto',
  owner: '5dlabs',
  name: 'cto',
  branch: 'feature/task-7-implementation',
  headSha: SHA,
  beforeSha: 'b'.repeat(40),
  deliveryId: DELIVERY,
  taskId: '7',
  runId: 'agent-cancellation-remediation-new',
  selector: 'agent-type in (cleo,tess),task-id=7',
  graphqlUrl: 'http://x',
  token: 't',
  deadlineSeconds: 5,
  requestTimeoutMs: 1000,
  lockWaitSeconds: 0,
  skipExitCode: 3,
  pushedAtMs: RECORDED - 20_000,
  source: 'webhook',
  event: 'push',
} as unknown as JobInput;

/** The cluster and GitHub as the fixture's run left them, this release's code, and a clock `later` ms on. */
async function world(name: string, o: { labels: string[]; runsLeft: boolean; later: number }) {
  const kube = new FakeKube();
  await kube.createLease(fixture(name));
  kube.codeRuns.push({ name: 'rex-7', labels: { 'agent-type': 'rex', 'task-id': '7' } });
  if (o.runsLeft)
    for (const agent of ['cleo', 'tess']) kube.codeRuns.push({ name: `${agent}-7`, labels: { 'agent-type': agent, 'task-id': '7' } });
  for (const run of kube.codeRuns) run.created = new Date(RECORDED - 3_600_000).toISOString();
  const github = new FakeGitHub(SHA, o.labels);
  const logs: any[] = [];
  const deps = {
    kube,
    github,
    log: (step: string, f?: object) => void logs.push({ step, ...f }),
    verifyTimeoutMs: 2000,
    clock: fakeClock(RECORDED + o.later),
  };
  const lease = () => kube.leases.get(leaseName('5dlabs/cto', 1))!;
  return { kube, github, logs, deps, lease, pass: () => reconcile(reconcileInput, { ...deps, alert: async () => undefined }) };
}
const HOURS = 3_600_000;
const runsOf = (kube: FakeKube) => kube.codeRuns.map((r) => r.name);

test.each(['failed-after-cancel', 'running-killed', 'done', 'needs-attention'])(
  '%s: the recorded Lease keeps the name and labels this release looks it up by, and its state reads',
  (name) => {
    const lease = fixture(name);
    expect(lease.metadata.name).toBe(leaseName('5dlabs/cto', 1));
    expect(lease.metadata.labels).toMatchObject({ ...MANAGED_BY, [PR_LABEL]: '1' });
    // Recorded before the schema carried its version: read as version 1.
    expect(rawState(lease).schemaVersion).toBeUndefined();
    expect(readState(lease)).toMatchObject({ repository: '5dlabs/cto', pr: 1, taskId: '7', sha: SHA, delivery: DELIVERY });
  },
);

test('failed after its cancel (GitHub down at the relabel): the reconciler resumes at the relabel and finishes', async () => {
  const w = await world('failed-after-cancel', { labels: ['ready-for-qa'], runsLeft: false, later: 2 * HOURS });
  expect(await w.pass()).toMatchObject({ scanned: 1, actions: { resume: 1 }, failed: 0 });
  expect(w.github.transitions).toEqual([expect.objectContaining({ remove: 'LA_ready-for-qa', add: 'LA_rem' })]);
  const state = rawState(w.lease());
  expect(state).toMatchObject({
    schemaVersion: STATE_SCHEMA_VERSION,
    phase: 'done',
    delivery: DELIVERY,
    startedAt: '2026-12-05T12:00:00.000Z',
    attempts: 1,
    deliveries: [DELIVERY],
    steps: { cancel: { deleted: ['cleo-7', 'tess-7'] }, relabel: { result: 'transitioned', removed: 'ready-for-qa' } },
  });
  expect(state.lastError).toBeUndefined();
  expect(w.lease().spec.holderIdentity).toBeNull();
});

test('failed after its cancel: a redelivery of the same push resumes it in the Job, deleting nothing twice', async () => {
  const w = await world('failed-after-cancel', { labels: ['ready-for-qa'], runsLeft: false, later: 60_000 });
  expect(await remediate(jobInput, w.deps)).toMatchObject({ kind: 'done', deleted: ['cleo-7', 'tess-7'], relabel: 'transitioned' });
  expect(w.kube.calls).not.toContain('deleteNamed');
  expect(rawState(w.lease())).toMatchObject({ schemaVersion: STATE_SCHEMA_VERSION, phase: 'done', attempts: 2 });
});

test('the write-ahead of a Job killed before its first delete: the reconciler takes the expired Lease over and does both steps', async () => {
  const w = await world('running-killed', { labels: ['ready-for-qa'], runsLeft: true, later: 2 * HOURS });
  expect(w.lease().spec.holderIdentity).toBe('agent-cancellation-remediation-x7k2p');
  expect(await w.pass()).toMatchObject({ actions: { resume: 1 }, failed: 0 });
  expect(runsOf(w.kube)).toEqual(['rex-7']);
  expect(rawState(w.lease())).toMatchObject({
    schemaVersion: STATE_SCHEMA_VERSION,
    phase: 'done',
    steps: { cancel: { deleted: ['cleo-7', 'tess-7'] }, relabel: { result: 'transitioned' } },
  });
  expect(w.lease().spec).toMatchObject({ holderIdentity: null, leaseTransitions: 1 });
});

test('done and converged: left as it is, then collected once past its retention', async () => {
  const w = await world('done', { labels: ['remediation-in-progress'], runsLeft: false, later: 2 * HOURS });
  const before = w.lease();
  expect(await w.pass()).toMatchObject({ actions: { none: 1 }, failed: 0 });
  expect(w.lease()).toBe(before);
  const late = await world('done', { labels: ['remediation-in-progress'], runsLeft: false, later: 2 * 86_400_000 });
  expect(await late.pass()).toMatchObject({ actions: { gc: 1 } });
  expect(late.kube.leases.size).toBe(0);
});

test('done: a new push of the PR starts afresh on the same Lease, keeping its handled deliveries', async () => {
  const w = await world('done', { labels: ['remediation-in-progress'], runsLeft: true, later: 60_000 });
  w.github.branchHead = 'c'.repeat(40);
  const push = { ...jobInput, headSha: 'c'.repeat(40), deliveryId: 'd2', pushedAtMs: RECORDED + 30_000 };
  expect(await remediate(push, w.deps)).toMatchObject({ kind: 'done', deleted: ['cleo-7', 'tess-7'] });
  expect(rawState(w.lease())).toMatchObject({
    schemaVersion: STATE_SCHEMA_VERSION,
    phase: 'done',
    delivery: 'd2',
    deliveries: [DELIVERY, 'd2'],
  });
});

test('needing attention: once GitHub answers, the repair finishes, the attention and its label are cleared', async () => {
  const w = await world('needs-attention', { labels: ['ready-for-qa'], runsLeft: false, later: 3 * HOURS });
  expect(w.lease().metadata.labels).toHaveProperty(['agent-cancellation.5dlabs.io/needs-attention'], 'true');
  expect(await w.pass()).toMatchObject({ actions: { resume: 1 }, failed: 0 });
  const state = rawState(w.lease());
  expect(state).toMatchObject({ schemaVersion: STATE_SCHEMA_VERSION, phase: 'done' });
  expect(state.attention).toBeUndefined();
  expect(w.lease().metadata.labels).not.toHaveProperty(['agent-cancellation.5dlabs.io/needs-attention']);
});

describe('a state of a schema version this release does not read (a newer release wrote it) is refused, never overwritten', () => {
  async function newer() {
    const w = await world('failed-after-cancel', { labels: ['ready-for-qa'], runsLeft: false, later: 2 * HOURS });
    const lease = w.lease();
    const state = { ...rawState(lease), schemaVersion: STATE_SCHEMA_VERSION + 1 };
    w.kube.leases.set(lease.metadata.name, {
      ...lease,
      metadata: { ...lease.metadata, annotations: { [STATE_ANNOTATION]: JSON.stringify(state) } },
    });
    return { ...w, written: w.lease() };
  }

  test('readState names the Lease and the version', async () => {
    const w = await newer();
    expect(() => readState(w.written)).toThrow(StateSchemaError);
    expect(() => readState(w.written)).toThrow(`lease ac-pr-aa6277c046-1: state schemaVersion 2 is not one this release reads (1)`);
  });

  test('the Job fails without writing', async () => {
    const w = await newer();
    await expect(remediate(jobInput, w.deps)).rejects.toThrow(StateSchemaError);
    expect(w.lease()).toBe(w.written);
    expect(w.github.transitions).toEqual([]);
  });

  test('the reconciler logs it and leaves it alone', async () => {
    const w = await newer();
    expect(await w.pass()).toMatchObject({ scanned: 0, failed: 0 });
    expect(w.lease()).toBe(w.written);
    expect(w.logs.find((l) => l.step === 'state-unreadable')).toMatchObject({ lease: 'ac-pr-aa6277c046-1' });
  });
});
