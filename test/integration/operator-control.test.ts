/**
 * Operator control against the real kube-apiserver and the GitHub test server, with the bundled Job and the
 * reconciler pass: observe mode changes nothing and records what enforce mode then does with the same input;
 * the opt-out label keeps the Job and the reconciler away from a PR.
 */
import { EXIT } from '../../src/contract/env';
import { admin } from '../harness/cluster';
import { decision, qaRunsOf, REPO, remediationWorld, RemediationWorld, untilPast } from '../fixtures/remediation-env';
import { runJob } from '../fixtures/run-job';

jest.setTimeout(180_000);

const OPT_OUT = 'agent-cancellation/skip';
let w: RemediationWorld;

beforeAll(async () => {
  w = await remediationWorld('opctl', 'card');
  await w.seed([1, 2, 3, 4]);
  w.gh.addLabel(REPO, 'remediation-in-progress');
});
afterAll(() => w.stop());

const stateOf = async (pr: number) => {
  const lease = (await admin().request('GET', `/apis/coordination.k8s.io/v1/namespaces/${w.namespace}/leases`)).body.items.find(
    (l: any) => l.metadata.labels['agent-cancellation.5dlabs.io/pr'] === String(pr),
  );
  return lease && JSON.parse(lease.metadata.annotations['agent-cancellation.5dlabs.io/state']);
};
const reasons = async () => (await admin().request('GET', `/api/v1/namespaces/${w.namespace}/events`)).body.items.map((e: any) => e.reason);
const labelsOf = () => Object.fromEntries([1, 2, 3, 4].map((t) => [t, w.gh.prLabels(REPO, t)]));
const writes = () => w.gh.count('Transition') + w.gh.count('CreateLabel');

test('a push in observe mode changes no CodeRun and nothing on GitHub, and records exactly what enforce mode then does with the same input', async () => {
  const before = await w.names();
  const labels = labelsOf();
  const observe = await runJob(w.env({ taskId: '1' }, undefined, { AC_MODE: 'observe' }));
  expect([observe.code, observe.stderr]).toEqual([EXIT.done, '']);
  expect(await w.names()).toEqual(before);
  expect([labelsOf(), writes(), w.gh.prComments(REPO, 1)]).toEqual([labels, 0, []]);
  const observed = await stateOf(1);
  expect(observed).toMatchObject({ phase: 'observed', deliveries: [] });
  expect(observed.steps.cancel.deleted.sort()).toEqual(qaRunsOf(before, 1).sort());
  expect(await reasons()).toEqual(['RemediationObserved']);

  const enforce = await runJob(w.env({ taskId: '1' }));
  expect([enforce.code, enforce.stderr]).toEqual([EXIT.done, '']);
  const after = await w.names();
  const gone = before.filter((n) => !after.includes(n));
  const done = await stateOf(1);
  expect(done.phase).toBe('done');
  expect(decision(done)).toEqual(decision(observed));
  expect(gone.sort()).toEqual(decision(observed).deleted);
  expect(w.gh.prLabels(REPO, 1)).toEqual(['remediation-in-progress']);
  expect({ ...labelsOf(), 1: labels[1] }).toEqual(labels);
  expect(w.gh.prComments(REPO, 1)[0]).toContain(`(${done.steps.cancel.deleted.join(', ')})`);
});

test("the opt-out label: the Job leaves the PR's runs and labels alone and records skipped: opted-out", async () => {
  w.gh.labelPullRequest(REPO, 2, OPT_OUT);
  const before = await w.names();
  const writesBefore = writes();
  const run = await runJob(w.env({ taskId: '2' }, undefined, { AC_OPT_OUT_LABEL: OPT_OUT }));
  expect(run.code).toBe(EXIT.nothingToDo);
  expect(run.logs.at(-1)).toMatchObject({ step: 'finish', reason: 'opted-out' });
  expect(await w.names()).toEqual(before);
  expect(writes()).toBe(writesBefore);
  expect(await stateOf(2)).toMatchObject({ phase: 'skipped', skipped: 'opted-out', delivery: 'd-2' });
});

test('lost pushes: a reconciler pass in observe mode reports and changes nothing; in enforce mode it resyncs, except the opted-out PR', async () => {
  await untilPast(w.defaultPushedAt());
  const heads = { 3: '3a'.repeat(20), 4: '4a'.repeat(20) };
  for (const t of [3, 4] as const) w.gh.push(REPO, `feature/task-${t}-implementation`, heads[t], { name: 'rex', login: '5DLabs-Rex[bot]' });
  w.gh.labelPullRequest(REPO, 4, OPT_OUT);
  const before = await w.names();
  const labels = labelsOf();
  const writesBefore = writes();

  const observe = await w.reconcile({ AC_MODE: 'observe' });
  expect([observe.code, observe.stderr]).toEqual([0, '']);
  expect(observe.logs.find((l) => l.step === 'reconcile-done')).toMatchObject({
    mode: 'observe',
    resynced: [`${REPO}#3@${heads[3].slice(0, 12)} push`],
    failed: 0,
  });
  expect([await w.names(), labelsOf(), writes()]).toEqual([before, labels, writesBefore]);
  expect(await stateOf(3)).toMatchObject({ phase: 'observed', source: 'resync', sha: heads[3] });

  const enforce = await w.reconcile();
  expect([enforce.code, enforce.stderr]).toEqual([0, '']);
  expect(enforce.logs.find((l) => l.step === 'reconcile-done')).toMatchObject({
    mode: 'enforce',
    resynced: [`${REPO}#3@${heads[3].slice(0, 12)} push`],
  });
  const after = await w.names();
  expect(before.filter((n) => !after.includes(n)).sort()).toEqual(qaRunsOf(before, 3).sort());
  expect(w.gh.prLabels(REPO, 3)).toEqual(['remediation-in-progress']);
  expect({ ...labelsOf(), 3: labels[3] }).toEqual(labels);
  // PR 2's record says skipped, which leaves nothing to finish; the opted-out PR 4 is not resynced.
  expect(enforce.logs.filter((l) => l.step === 'reconcile' && l.saw.pr === 2).map((l) => [l.did, l.why])).toEqual([['none', 'skipped']]);
  expect(qaRunsOf(after, 4).sort()).toEqual(qaRunsOf(before, 4).sort());
});
