/**
 * Jobs at once against a GitHub allowing one mutation a second on their one token: each Job refused sends its
 * mutation again in a slot of the namespace's shared pace (a Lease), so they do not retry into each other.
 */
import { EXIT } from '../../src/contract/env';
import { NEXT_SLOT_ANNOTATION, PACE_LEASE } from '../../src/job/kube/pace';
import { admin } from '../harness/cluster';
import { REPO, remediationWorld, RemediationWorld } from '../fixtures/remediation-env';
import { runJob } from '../fixtures/run-job';

jest.setTimeout(180_000);

let w: RemediationWorld;
beforeAll(async () => {
  w = await remediationWorld('mutation-pace', 'card', { mutationIntervalMs: 1000 });
});
afterAll(() => w.stop());

test('6 Jobs at once, 1 mutation a second: all done, each mutation refused at most about once, accepted ones 1 s apart', async () => {
  const tasks = [1, 2, 3, 4, 5, 6];
  await w.seed(tasks);
  w.gh.addLabel(REPO, 'remediation-in-progress');
  const from = w.gh.requests.length;
  const runs = await Promise.all(tasks.map((t) => runJob(w.env({ taskId: String(t) }))));
  expect(runs.map((r) => [r.code, r.stderr])).toEqual(tasks.map(() => [EXIT.done, '']));
  for (const t of tasks) expect([t, w.gh.prLabels(REPO, t)]).toEqual([t, ['remediation-in-progress']]);

  const sent = w.gh.requests.slice(from).filter((r) => r.operation === 'Transition');
  const accepted = sent.filter((r) => !r.fault).map((r) => r.at);
  const refused = sent.filter((r) => r.fault === 'secondary');
  expect(accepted).toHaveLength(tasks.length);
  accepted.slice(1).forEach((at, i) => expect(at - accepted[i]).toBeGreaterThanOrEqual(1000));
  // All but the first are refused once; a Job whose first try lands between two slots may cost one more.
  expect(refused.length).toBeGreaterThanOrEqual(1);
  expect(refused.length).toBeLessThanOrEqual(tasks.length);

  const pace = (await admin().request('GET', `/apis/coordination.k8s.io/v1/namespaces/${w.namespace}/leases/${PACE_LEASE}`)).body;
  expect(Date.parse(pace.metadata.annotations[NEXT_SLOT_ANNOTATION])).toBeGreaterThan(accepted[accepted.length - 1]);
  expect(pace.spec.holderIdentity ?? undefined).toBeUndefined();
  console.log(`${tasks.length} Jobs: ${refused.length} mutations refused, accepted ${accepted.map((a) => a - accepted[0]).join(', ')} ms`);
});
