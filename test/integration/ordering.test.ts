/**
 * Happens-before ordering against the real kube-apiserver (its creationTimestamps) and the GitHub test server
 * (its timeline of label events and pushes): a push cancels only the QA runs that started before it, never
 * the platform's next QA cycle, and never undoes a ready-for-qa added after it.
 */
import { EXIT } from '../../src/contract/env';
import { leaseName } from '../../src/job/kube/lease';
import { PrState } from '../../src/job/kube/pr-state';
import { admin, codeRun, PRESETS } from '../harness/cluster';
import { REPO, remediationWorld, RemediationWorld, untilPast } from '../fixtures/remediation-env';
import { runJob } from '../fixtures/run-job';

jest.setTimeout(120_000);

const BOT = { name: 'rex', login: '5dlabs-rex[bot]' };
const MARGIN_SECONDS = 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number) => Math.floor(ms / 1000);

/** One CodeRun of `agent` for `task`, as the platform creates it, with extra labels; returns its name. */
async function createRun(
  w: RemediationWorld,
  task: number,
  agent: 'rex' | 'cleo' | 'tess',
  labels: Record<string, string> = {},
): Promise<string> {
  return (await admin().create(codeRun(w.namespace, PRESETS[w.preset], task, agent, labels))).metadata.name;
}

async function stateOf(w: RemediationWorld, pr: number): Promise<PrState> {
  const r = await admin().request('GET', `/apis/coordination.k8s.io/v1/namespaces/${w.namespace}/leases/${leaseName(REPO, pr)}`);
  return JSON.parse(r.body.metadata.annotations['agent-cancellation.5dlabs.io/state']);
}

/** Sets up task `t`'s previous QA cycle (its runs and its PR), then waits past the clock-skew margin. */
async function previousCycle(w: RemediationWorld, t: number): Promise<{ pr: number; stale: string[]; rex: string }> {
  w.gh.setBranch(REPO, `feature/task-${t}-implementation`, w.shaOf(t));
  const pr = w.gh.openPullRequest(REPO, `feature/task-${t}-implementation`, ['ready-for-qa']);
  const rex = await createRun(w, t, 'rex');
  const stale = [await createRun(w, t, 'cleo'), await createRun(w, t, 'tess')];
  await untilPast(seconds(Date.now()) + MARGIN_SECONDS);
  return { pr, stale, rex };
}

/** The bot's push to task `t`'s branch; returns the Job env for it (push time from the GitHub server). */
function botPush(w: RemediationWorld, t: number, head: string, extra: Record<string, string> = {}) {
  const pushedAtMs = w.gh.push(REPO, `feature/task-${t}-implementation`, head, BOT);
  return w.env(
    { taskId: String(t), headSha: head, deliveryId: `push-${t}-${head.slice(0, 6)}`, pushedAt: seconds(pushedAtMs), beforeSha: w.shaOf(t) },
    undefined,
    extra,
  );
}

describe.each(['card', 'cto'] as const)('preset %s', (preset) => {
  let w: RemediationWorld;
  beforeAll(async () => {
    w = await remediationWorld(`order-${preset}`, preset);
  });
  afterAll(() => w.stop());

  test('a QA run created after the push survives its Job; the runs created before it are cancelled', async () => {
    const { pr, stale, rex } = await previousCycle(w, 1);
    const env = botPush(w, 1, 'a1'.repeat(20));
    await sleep(1100);
    const fresh = await createRun(w, 1, 'cleo');
    const run = await runJob(env);
    expect([run.code, run.stderr]).toEqual([EXIT.done, '']);
    const names = await w.names();
    expect(stale.filter((n) => names.includes(n))).toEqual([]);
    expect(names).toEqual(expect.arrayContaining([fresh, rex]));
    expect(w.gh.prLabels(REPO, pr)).toEqual(['remediation-in-progress']);
    expect((await stateOf(w, pr)).steps.cancel).toMatchObject({
      deleted: expect.arrayContaining(stale),
      kept: [{ name: fresh, why: 'created-at-or-after-push' }],
    });
    expect(run.logs.find((l) => l.step === 'cancel')!.kept).toEqual([{ name: fresh, why: 'created-at-or-after-push' }]);
  });

  test("the race as on the platform: the bot's last push, within 1 s new QA runs and ready-for-qa again, then the Job: the new cycle is untouched", async () => {
    const { pr, stale, rex } = await previousCycle(w, 2);
    // Remediation under way: an earlier Job had removed ready-for-qa.
    w.gh.unlabelPullRequest(REPO, pr, 'ready-for-qa');
    w.gh.labelPullRequest(REPO, pr, 'remediation-in-progress');
    const env = botPush(w, 2, 'b2'.repeat(20));
    // The platform's next QA cycle for the new head, within a second of the push.
    const fresh = await Promise.all([createRun(w, 2, 'cleo'), createRun(w, 2, 'tess')]);
    w.gh.unlabelPullRequest(REPO, pr, 'remediation-in-progress');
    w.gh.labelPullRequest(REPO, pr, 'ready-for-qa');
    const transitions = w.gh.count('Transition');

    const run = await runJob(env);
    expect([run.code, run.stderr]).toEqual([EXIT.done, '']);
    const names = await w.names();
    // The Job's own account of what it cancelled and kept, should a stale run survive.
    expect({ left: stale.filter((n) => names.includes(n)), cancel: run.logs.find((l) => l.step === 'cancel') }).toMatchObject({ left: [] });
    expect(names).toEqual(expect.arrayContaining([...fresh, rex]));
    expect(w.gh.prLabels(REPO, pr)).toEqual(['ready-for-qa']);
    expect(w.gh.count('Transition')).toBe(transitions);
    expect(w.gh.prComments(REPO, pr)).toEqual([]);
    const state = await stateOf(w, pr);
    expect(state.steps.relabel).toMatchObject({ result: 'qa-restarted-after-push' });
    expect(state.steps.cancel!.kept.map((k) => k.name).sort()).toEqual([...fresh].sort());
  });
});

describe('revision tracking (label agents.platform/revision)', () => {
  const REVISION = 'agents.platform/revision';
  let w: RemediationWorld;
  beforeAll(async () => {
    w = await remediationWorld('order-revision', 'card');
  });
  afterAll(() => w.stop());

  test("the head's runs are never cancelled, even created before the push; runs of older revisions are, whatever their age", async () => {
    const head = 'c3'.repeat(20);
    w.gh.setBranch(REPO, 'feature/task-1-implementation', w.shaOf(1));
    w.gh.openPullRequest(REPO, 'feature/task-1-implementation', ['ready-for-qa']);
    // The platform started QA of the head before GitHub stamped the push (its clock, or a CI-driven start).
    const headRun = await createRun(w, 1, 'cleo', { [REVISION]: head });
    const unrecorded = await createRun(w, 1, 'tess');
    await untilPast(seconds(Date.now()) + MARGIN_SECONDS);
    const env = botPush(w, 1, head, { AC_REVISION_FROM: `label:${REVISION}` });
    await sleep(1100);
    // A lagging controller starts QA of the old revision after the push.
    const oldRun = await createRun(w, 1, 'tess', { [REVISION]: w.shaOf(1) });
    const shortHead = await createRun(w, 1, 'tess', { [REVISION]: head.slice(0, 7) });

    const run = await runJob(env);
    expect([run.code, run.stderr]).toEqual([EXIT.done, '']);
    const names = await w.names();
    expect(names).toEqual(expect.arrayContaining([headRun, shortHead]));
    expect([oldRun, unrecorded].filter((n) => names.includes(n))).toEqual([]);
    expect((await stateOf(w, 1)).steps.cancel!.kept).toEqual(
      expect.arrayContaining([
        { name: headRun, why: 'head-revision' },
        { name: shortHead, why: 'head-revision' },
      ]),
    );
  });
});

describe('clock skew between GitHub and the cluster (margin 5 s)', () => {
  let w: RemediationWorld;
  beforeAll(async () => {
    w = await remediationWorld('order-skew', 'cto');
  });
  afterAll(() => {
    w.gh.clockSkewMs = 0;
    return w.stop();
  });

  test.each([
    ['3 s ahead', 3000, 1],
    ['3 s behind', -3000, 2],
  ])('GitHub %s: the run started after the push is kept, the runs of the previous cycle are cancelled', async (_name, skew, t) => {
    const { pr, stale } = await previousCycle(w, t);
    // Past the margin plus the skew, so that the previous cycle is older than the push on either clock.
    await untilPast(seconds(Date.now()) + 3);
    w.gh.clockSkewMs = skew;
    const env = botPush(w, t, `d${t}`.repeat(20));
    await sleep(1100);
    const fresh = await createRun(w, t, 'tess');
    const run = await runJob(env);
    expect(run.code).toBe(EXIT.done);
    const names = await w.names();
    expect(names).toContain(fresh);
    expect(stale.filter((n) => names.includes(n))).toEqual([]);
    expect((await stateOf(w, pr)).steps.cancel!.kept).toEqual([
      { name: fresh, why: skew > 0 ? 'within-clock-skew' : 'created-at-or-after-push' },
    ]);
  });
});
