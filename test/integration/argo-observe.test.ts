/**
 * Shadow mode end to end: with `mode: observe` synthesized, a signed push goes through the real EventSource,
 * bus and Sensor, whose Job decides and changes nothing; the same Job then run with the mode switched to
 * enforce does exactly what was recorded.
 */
import { argoWorld, ArgoWorld, SECRET } from '../fixtures/argo-world';
import { decision, qaRunsOf, REPO } from '../fixtures/remediation-env';
import { runJob } from '../fixtures/run-job';
import { admin, clusterSecrets, kubeletEnv, serviceAccountKubeconfig } from '../harness/cluster';

jest.setTimeout(240_000);

const NS = 'argo-observe';
let w: ArgoWorld;

beforeAll(async () => {
  w = await argoWorld(NS, [1, 2], { mode: 'observe' });
});
afterAll(() => w?.stop());

async function stateOf(pr: number): Promise<any> {
  const lease = (await admin().request('GET', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`)).body.items.find(
    (l: any) => l.metadata.labels['agent-cancellation.5dlabs.io/pr'] === String(pr),
  );
  return lease && JSON.parse(lease.metadata.annotations['agent-cancellation.5dlabs.io/state']);
}

test('a push through the real Sensor in observe mode changes nothing; the same input in enforce mode does what was observed', async () => {
  const before = await w.names();
  const labels = [1, 2].map((t) => w.gh.prLabels(REPO, t));
  expect(await w.stack.deliver('push', 'observe-1', w.push(1, 'observe-1').payload, SECRET)).toBe(200);
  const observed = await w.until('the observation', async () => (await stateOf(1))?.phase === 'observed' && stateOf(1));
  expect(await w.names()).toEqual(before);
  expect([1, 2].map((t) => w.gh.prLabels(REPO, t))).toEqual(labels);
  expect(w.gh.prComments(REPO, 1)).toEqual([]);
  expect(w.gh.requests.filter((r) => /^(Transition|CreateLabel)$/.test(r.operation))).toEqual([]);
  expect(observed.steps.cancel.deleted.sort()).toEqual(qaRunsOf(before, 1).sort());
  const events = (await admin().request('GET', `/api/v1/namespaces/${NS}/events`)).body.items.map((e: any) => e.reason);
  expect(events).toContain('RemediationObserved');

  // The same Job the Sensor created, with the mode switched as a config change would switch it.
  const [name] = await w.stack.createdJobs();
  const job = (await admin().request('GET', `/apis/batch/v1/namespaces/${NS}/jobs/${name}`)).body;
  const env = await kubeletEnv(job.spec.template.spec.containers[0], `${name}-enforce`, clusterSecrets(NS));
  const { path: kubeconfig } = await serviceAccountKubeconfig(NS, job.spec.template.spec.serviceAccountName);
  const enforce = await runJob({ ...env, AC_MODE: 'enforce', KUBECONFIG: kubeconfig });
  expect([enforce.code, enforce.stderr]).toEqual([0, '']);
  const done = await stateOf(1);
  expect(done.phase).toBe('done');
  expect(decision(done)).toEqual(decision(observed));
  const after = await w.names();
  expect(before.filter((n) => !after.includes(n)).sort()).toEqual(decision(observed).deleted);
  expect(w.gh.prLabels(REPO, 1)).toEqual(['remediation-in-progress']);
  expect(w.gh.prLabels(REPO, 2)).toEqual(labels[1]);
});
