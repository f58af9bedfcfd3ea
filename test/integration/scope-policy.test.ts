/**
 * The admission policy (src/constructs/scope-admission-policy.ts) against a real kube-apiserver, with the Job's real
 * ServiceAccount token. Each refusal has its negative control: the same request in a namespace installed with
 * `admissionPolicy.enabled: false` succeeds, so only the policy stops it.
 */
import { Testing } from 'cdk8s';
import { AgentCancellation } from '../../src';
import { EXIT } from '../../src/contract/env';
import { MANAGED_BY } from '../../src/contract/labels';
import { admin, asToken, Client, codeRun, createNamespace, PRESETS, serviceAccountKubeconfig } from '../harness/cluster';
import { remediationWorld } from '../fixtures/remediation-env';
import { runJob } from '../fixtures/run-job';

jest.setTimeout(120_000);

const GUARDED = 'scope-guarded';
const OPEN = 'scope-open';
const SA = 'agent-cancellation-job';
const card = PRESETS.card;
const coderuns = (ns: string) => `/apis/${card.group}/v1/namespaces/${ns}/coderuns`;
const leases = (ns: string) => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`;
const policyName = (ns: string) => `agent-cancellation-job-scope.${ns}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Installs the default (card) bundle in `namespace`; returns the Job's real token as a client. */
async function install(namespace: string, admissionPolicy: boolean): Promise<Client> {
  await createNamespace(namespace);
  const config = { namespace, admissionPolicy: { enabled: admissionPolicy } };
  for (const o of Testing.synth(new AgentCancellation(Testing.app(), 'test', { config, disableResourceNameHashes: true })))
    await admin().apply(o);
  return asToken((await serviceAccountKubeconfig(namespace, SA)).token);
}

/** A Lease of another controller (no managed-by label), or one of ours with `MANAGED_BY`. */
function lease(namespace: string, name: string, labels: Record<string, string> = {}): Record<string, any> {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace, labels },
    spec: { holderIdentity: 'someone-else' },
  };
}

/**
 * Resolves once the apiserver enforces the policy of `namespace` (its informer loads a new policy shortly after
 * it is created; it compiled the CEL when it accepted it) and the controller-manager has type-checked the CEL
 * against the CodeRun and Lease schemas, without a warning.
 */
async function untilEnforced(job: Client, namespace: string): Promise<void> {
  await admin().apply(lease(namespace, 'probe'));
  for (let i = 0; ; i++) {
    const probe = await job.request('DELETE', `${leases(namespace)}/probe?dryRun=All`);
    const policy = (
      await admin().request('GET', `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/${policyName(namespace)}`)
    ).body;
    if (probe.status === 403 && policy.status?.observedGeneration === policy.metadata.generation) {
      expect(policy.status.typeChecking?.expressionWarnings ?? []).toEqual([]);
      return;
    }
    if (i >= 120)
      throw new Error(
        `policy ${policyName(namespace)} not enforced and type-checked after 60 s: probe HTTP ${probe.status}, status ${JSON.stringify(policy.status)}`,
      );
    await sleep(500);
  }
}

/** Creates CodeRuns named exactly `name` with the card preset's agent labels for task 9 (none for `null`). */
async function codeRuns(namespace: string, runs: Array<[string, 'rex' | 'cleo' | 'tess' | null]>): Promise<Record<string, string>> {
  const uids: Record<string, string> = {};
  for (const [name, agent] of runs) {
    const o = codeRun(namespace, card, 9, agent ?? 'rex');
    o.metadata = { name, namespace, labels: agent ? o.metadata.labels : { 'task-id': '9' } };
    uids[name] = (await admin().create(o)).metadata.uid;
  }
  return uids;
}

async function names(namespace: string): Promise<string[]> {
  return (await admin().request('GET', coderuns(namespace))).body.items.map((i: any) => i.metadata.name).sort();
}

/** A delete by name as the Job sends it: uid precondition, background propagation. */
const deleteAsJob = (job: Client, namespace: string, name: string, uid: string) =>
  job.request('DELETE', `${coderuns(namespace)}/${name}`, { preconditions: { uid }, propagationPolicy: 'Background' });

let guarded: Client;
let open: Client;
beforeAll(async () => {
  [guarded, open] = await Promise.all([install(GUARDED, true), install(OPEN, false)]);
  await untilEnforced(guarded, GUARDED);
});

test('the policy and its binding ship only when enabled', async () => {
  expect(
    (await admin().request('GET', `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/${policyName(GUARDED)}`)).status,
  ).toBe(200);
  expect(
    (await admin().request('GET', `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/${policyName(OPEN)}`)).status,
  ).toBe(404);
});

describe('CodeRuns by name', () => {
  test("the implementation agent's run and an unlabelled run are refused, a QA run goes", async () => {
    const uids = await codeRuns(GUARDED, [
      ['n-rex', 'rex'],
      ['n-bare', null],
      ['n-cleo', 'cleo'],
    ]);
    const rex = await deleteAsJob(guarded, GUARDED, 'n-rex', uids['n-rex']);
    expect([rex.status, rex.body.message]).toEqual([
      403,
      expect.stringContaining('may delete only QA CodeRuns (agent-type in (cleo,tess)), never agent-type=rex'),
    ]);
    expect((await deleteAsJob(guarded, GUARDED, 'n-bare', uids['n-bare'])).status).toBe(403);
    expect((await deleteAsJob(guarded, GUARDED, 'n-cleo', uids['n-cleo'])).status).toBe(200);
    expect(await names(GUARDED)).toEqual(expect.arrayContaining(['n-bare', 'n-rex']));
    expect(await names(GUARDED)).not.toContain('n-cleo');
    // Only the Job's identity is confined.
    expect((await admin().request('DELETE', `${coderuns(GUARDED)}/n-bare`)).status).toBe(200);
  });

  test("control: without the policy the same token deletes the implementation agent's run (RBAC cannot select by label)", async () => {
    const uids = await codeRuns(OPEN, [['n-rex', 'rex']]);
    expect((await deleteAsJob(open, OPEN, 'n-rex', uids['n-rex'])).status).toBe(200);
    expect(await names(OPEN)).not.toContain('n-rex');
  });
});

describe('CodeRuns by collection, with a Role granting deletecollection (the shipped Role does not)', () => {
  async function grantDeleteCollection(namespace: string): Promise<void> {
    const metadata = { name: 'test-deletecollection', namespace };
    await admin().apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata,
      rules: [{ apiGroups: [card.group], resources: ['coderuns'], verbs: ['deletecollection'] }],
    });
    await admin().apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: metadata.name },
      subjects: [{ kind: 'ServiceAccount', name: SA, namespace }],
    });
  }
  const runs: Array<[string, 'rex' | 'cleo' | 'tess']> = [
    ['c-1-cleo', 'cleo'],
    ['c-2-rex', 'rex'],
    ['c-3-tess', 'tess'],
  ];
  const everyRunOfTask9 = (ns: string) => `${coderuns(ns)}?labelSelector=${encodeURIComponent('task-id=9')}`;

  test("a too-broad selector is refused object by object: deletes stop at the implementation agent's run", async () => {
    await grantDeleteCollection(GUARDED);
    await codeRuns(GUARDED, runs);
    const r = await guarded.request('DELETE', everyRunOfTask9(GUARDED));
    expect([r.status, r.body.message]).toEqual([403, expect.stringContaining('never agent-type=rex')]);
    // The apiserver admits each listed object as a DELETE of that object, in name order with its default one
    // delete-collection worker, and stops at the first refusal: the run before it is gone, the rest stay.
    const left = await names(GUARDED);
    expect(left).toEqual(expect.arrayContaining(['c-2-rex', 'c-3-tess']));
    expect(left).not.toContain('c-1-cleo');
  });

  test("control: without the policy the same request deletes every run of the task, the implementation agent's too", async () => {
    await grantDeleteCollection(OPEN);
    await codeRuns(OPEN, runs);
    expect((await open.request('DELETE', everyRunOfTask9(OPEN))).status).toBe(200);
    expect((await names(OPEN)).filter((n) => n.startsWith('c-'))).toEqual([]);
  });
});

describe('Leases', () => {
  const ours = { ...MANAGED_BY };
  const update = (job: Client, ns: string, o: Record<string, any>) => job.request('PUT', `${leases(ns)}/${o.metadata.name}`, o);
  const mergePatch = (job: Client, ns: string, name: string, patch: unknown) =>
    job.request('PATCH', `${leases(ns)}/${name}`, patch, 'application/merge-patch+json');

  test("another controller's Lease can be read but not updated, patched, relabelled or deleted", async () => {
    const foreign = await admin().create(lease(GUARDED, 'other-controller'));
    expect((await guarded.request('GET', `${leases(GUARDED)}/other-controller`)).status).toBe(200);
    const put = await update(guarded, GUARDED, { ...foreign, spec: { holderIdentity: 'agent-cancellation' } });
    expect([put.status, put.body.message]).toEqual([
      403,
      expect.stringContaining('may update or delete only Leases labelled app.kubernetes.io/managed-by=agent-cancellation'),
    ]);
    expect((await mergePatch(guarded, GUARDED, 'other-controller', { metadata: { labels: ours } })).status).toBe(403);
    expect((await guarded.request('DELETE', `${leases(GUARDED)}/other-controller`)).status).toBe(403);
    expect((await admin().request('GET', `${leases(GUARDED)}/other-controller`)).body.spec.holderIdentity).toBe('someone-else');
  });

  test('it creates, updates and deletes its own Leases, but cannot create an unlabelled one or drop the label', async () => {
    expect((await guarded.create(lease(GUARDED, 'ours', ours))).metadata.labels).toEqual(ours);
    expect((await guarded.request('POST', leases(GUARDED), lease(GUARDED, 'unlabelled'))).status).toBe(403);
    expect((await mergePatch(guarded, GUARDED, 'ours', { spec: { holderIdentity: 'run-2' } })).status).toBe(200);
    const drop = await mergePatch(guarded, GUARDED, 'ours', { metadata: { labels: { 'app.kubernetes.io/managed-by': null } } });
    expect([drop.status, drop.body.message]).toEqual([
      403,
      expect.stringContaining('may create or update only Leases that keep the label'),
    ]);
    expect((await guarded.request('DELETE', `${leases(GUARDED)}/ours`)).status).toBe(200);
  });

  test("control: without the policy the same token updates and deletes another controller's Lease", async () => {
    const foreign = await admin().create(lease(OPEN, 'other-controller'));
    expect((await update(open, OPEN, { ...foreign, spec: { holderIdentity: 'agent-cancellation' } })).status).toBe(200);
    expect((await open.request('POST', leases(OPEN), lease(OPEN, 'unlabelled'))).status).toBe(201);
    expect((await open.request('DELETE', `${leases(OPEN)}/other-controller`)).status).toBe(200);
  });
});

test("the normal flow works under the policy: the bundled Job cancels the task's QA runs (5dlabs-cto preset)", async () => {
  const w = await remediationWorld('scope-flow', 'cto');
  try {
    await untilEnforced(asToken((await serviceAccountKubeconfig(w.namespace, SA)).token), w.namespace);
    await w.seed([4, 5]);
    w.gh.addLabel('5dlabs/cto', 'remediation-in-progress');
    const before = await w.names();
    const run = await runJob(w.env({ taskId: '4' }));
    expect([run.code, run.stderr, run.logs.at(-1)?.error]).toEqual([EXIT.done, '', undefined]);
    const after = await w.names();
    expect(before.filter((n) => !after.includes(n)).sort()).toEqual(before.filter((n) => /^cto-t4-(quality|testing)-/.test(n)).sort());
  } finally {
    await w.stop();
  }
});
