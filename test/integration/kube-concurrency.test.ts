/**
 * Many pushes at once, with duplicates and out-of-order deliveries, against the real apiserver:
 * every PR ends with exactly one effective transition and only its task's QA runs gone.
 */
import { EXIT } from '../../src/contract/env';
import { admin } from '../harness/cluster';
import { qaRunsOf, REPO, remediationWorld, RemediationWorld } from '../fixtures/remediation-env';
import { JobRun, runJob } from '../fixtures/run-job';

jest.setTimeout(300_000);

let w: RemediationWorld;
beforeAll(async () => {
  w = await remediationWorld('concurrency', 'card');
});
afterAll(() => w.stop());

test('100 tasks x 3 agents; 20 simultaneous pushes, each delivered twice, plus 5 stale deliveries', async () => {
  const tasks = Array.from({ length: 100 }, (_, i) => i + 1);
  const seeded = await w.seed(tasks);
  w.gh.addLabel(REPO, 'remediation-in-progress');
  const before = await w.names();
  const pushed = tasks.slice(0, 20);
  // Five PRs moved on: their stale push arrives after the newer one.
  const stale = pushed.slice(0, 5);
  const newer = (t: number) => `${t.toString(16).padStart(38, '0')}ff`;
  for (const t of stale) w.gh.setBranch(REPO, `feature/task-${t}-implementation`, newer(t));
  const shaFor = (t: number) => (stale.includes(t) ? newer(t) : w.shaOf(t));

  const t0 = Date.now();
  const runs: Array<Promise<JobRun>> = [];
  for (const t of pushed) {
    const env = w.env({ taskId: String(t), headSha: shaFor(t), deliveryId: `push-${t}` });
    runs.push(runJob(env), runJob({ ...env, AC_RUN_ID: `${env.AC_RUN_ID}-dup` }));
  }
  const results = await Promise.all(runs);
  const late = await Promise.all(stale.map((t) => runJob(w.env({ taskId: String(t), deliveryId: `stale-${t}` }))));
  const seconds = (Date.now() - t0) / 1000;

  expect(results.map((r) => r.code).filter((c) => c !== EXIT.done && c !== EXIT.nothingToDo)).toEqual([]);
  expect(results.filter((r) => r.code === EXIT.done)).toHaveLength(20);
  expect(late.map((r) => r.code)).toEqual(stale.map(() => EXIT.nothingToDo));

  const after = await w.names();
  const gone = before.filter((n) => !after.includes(n)).sort();
  expect(gone).toEqual(pushed.flatMap((t) => qaRunsOf(before, t)).sort());
  for (const t of tasks) {
    expect([t, w.gh.prLabels(REPO, t)]).toEqual([t, pushed.includes(t) ? ['remediation-in-progress'] : ['ready-for-qa']]);
    expect([t, w.gh.prComments(REPO, t).length]).toEqual([t, pushed.includes(t) ? 1 : 0]);
  }
  const mutations = w.gh.count('Transition');
  expect(mutations).toBe(20);

  const leases = (await admin().request('GET', `/apis/coordination.k8s.io/v1/namespaces/${w.namespace}/leases`)).body.items;
  expect(leases).toHaveLength(20);
  expect(leases.filter((l: any) => l.spec.holderIdentity)).toEqual([]);
  console.log(
    `seeded ${seeded} CodeRuns; ${runs.length + late.length} runs for ${pushed.length} PRs in ${seconds.toFixed(1)} s; ` +
      `deleted ${gone.length}, untouched ${after.length}; GitHub requests ${w.gh.count()} (${mutations} mutations); ` +
      `${leases.length} Leases, all released`,
  );
});
