/**
 * The reconciler against the real kube-apiserver and the GitHub test server: each half-handled state is
 * made for real (the Job SIGKILLed mid-way, a GitHub outage past its deadline, a terminating agent putting
 * ready-for-qa back, a closed PR, a foreign commit), then one pass must converge with nothing else touched.
 * The pass runs the bundle with the env of the synthesized CronJob.
 */
import * as http from 'http';
import { AddressInfo } from 'net';
import { EXIT } from '../../src/contract/env';
import { leaseName, microTime } from '../../src/job/kube/lease';
import { PrState } from '../../src/job/kube/pr-state';
import { admin, codeRun, PRESETS, seedCodeRuns } from '../harness/cluster';
import { qaRunsOf, REPO, remediationWorld, RemediationWorld, untilPast } from '../fixtures/remediation-env';
import { JobRun, runJob } from '../fixtures/run-job';

jest.setTimeout(300_000);

const TASKS = [1, 2, 3, 4, 5, 6, 7, 8];
/** Reconciler settings for tests: resume at once, give GitHub 2 s. */
const FAST = { AC_RECONCILE_PENDING_SECONDS: '0', AC_DEADLINE_SECONDS: '2' };

async function lease(w: RemediationWorld, pr: number): Promise<any> {
  const r = await admin().request('GET', `/apis/coordination.k8s.io/v1/namespaces/${w.namespace}/leases/${leaseName(REPO, pr)}`);
  return r.status === 200 ? r.body : undefined;
}

/** The dead holder's Lease as it is once its duration has run out: renewed longer ago than it lasts, with no waiting. */
async function expire(w: RemediationWorld, pr: number): Promise<void> {
  const l = await lease(w, pr);
  const renewTime = microTime(Date.now() - (l.spec.leaseDurationSeconds + 1) * 1000);
  const path = `/apis/coordination.k8s.io/v1/namespaces/${w.namespace}/leases/${l.metadata.name}`;
  expect((await admin().request('PUT', path, { ...l, spec: { ...l.spec, renewTime } })).status).toBe(200);
}

async function stateOf(w: RemediationWorld, pr: number): Promise<PrState> {
  return JSON.parse((await lease(w, pr)).metadata.annotations['agent-cancellation.5dlabs.io/state']);
}

async function events(w: RemediationWorld, reason: string): Promise<any[]> {
  const r = await admin().request('GET', `/api/v1/namespaces/${w.namespace}/events`);
  return r.body.items.filter((e: any) => e.reason === reason);
}

/** Everything a pass could touch: every CodeRun and every PR's labels and comment count. */
async function snapshot(w: RemediationWorld) {
  return {
    runs: await w.names(),
    prs: Object.fromEntries(TASKS.map((t) => [t, { labels: w.gh.prLabels(REPO, t), comments: w.gh.prComments(REPO, t).length }])),
  };
}

/** Asserts that between `before` and now only PR `task` changed, its QA runs are gone and it is in remediation. */
async function convergedOnly(w: RemediationWorld, before: Awaited<ReturnType<typeof snapshot>>, task: number, gone: string[]) {
  const after = await snapshot(w);
  expect(before.runs.filter((n) => !after.runs.includes(n)).sort()).toEqual(gone.sort());
  expect(after.runs.filter((n) => !before.runs.includes(n))).toEqual([]);
  expect(after.runs.filter((n) => qaRunsOf([n], task).length)).toEqual([]);
  for (const t of TASKS.filter((x) => x !== task)) expect([t, after.prs[t]]).toEqual([t, before.prs[t]]);
  expect(after.prs[task].labels).toEqual(['remediation-in-progress']);
  expect(after.prs[task].comments).toBe(1);
}

const mutations = (w: RemediationWorld) =>
  w.gh.requests.filter((r) => /^(Transition|CreateLabel)$/.test(r.operation) && r.status === 200).length;

/** A pass that must find nothing to do: no GitHub mutation, no CodeRun change. */
async function quietPass(w: RemediationWorld, extra: Record<string, string> = FAST): Promise<JobRun> {
  const [runs, writes] = [await w.names(), mutations(w)];
  const pass = await w.reconcile(extra);
  expect([pass.code, pass.stderr]).toEqual([EXIT.done, '']);
  expect(await w.names()).toEqual(runs);
  expect(mutations(w)).toBe(writes);
  return pass;
}

const did = (pass: JobRun, pr: number) => pass.logs.find((l) => l.step === 'reconcile' && l.saw?.pr === pr);

describe('half-handled pushes converge in one pass', () => {
  let w: RemediationWorld;
  let initial: string[];
  beforeAll(async () => {
    w = await remediationWorld('reconcile', 'cto');
    await w.seed(TASKS);
    w.gh.addLabel(REPO, 'remediation-in-progress');
    initial = await w.names();
  });
  afterAll(() => w.stop());

  test.each([
    [1, 'cancel'],
    [2, 'verify'],
  ])('task %i: Job SIGKILLed after %s, its Lease held by the dead: one pass resumes and releases', async (task, step) => {
    const before = await snapshot(w);
    // The kill follows the step's log line; holding GitHub's next answer keeps the run from getting further first.
    const killed = await runJob(w.env({ taskId: String(task) }, `dead-${task}`, { AC_LEASE_DURATION_SECONDS: '2' }), {
      killAtStep: step,
      onLog: (l) => l.step === 'lock' && w.gh.inject({ kind: 'slow', delayMs: 3000 }),
    });
    expect(killed.signal).toBe('SIGKILL');
    w.gh.clearFaults();
    expect((await lease(w, task)).spec.holderIdentity).toBe(`dead-${task}`);
    expect((await stateOf(w, task)).phase).toBe('running');
    expect(w.gh.prLabels(REPO, task)).toEqual(['ready-for-qa']);

    // While the dead holder's Lease is unexpired, the reconciler keeps off.
    const early = await w.reconcile(FAST);
    expect(did(early, task)).toMatchObject({ did: 'busy' });
    await expire(w, task);
    const pass = await w.reconcile(FAST);
    expect([pass.code, pass.stderr]).toEqual([EXIT.done, '']);
    expect(did(pass, task)).toMatchObject({ did: 'resume', relabel: 'transitioned', saw: { phase: 'running', holder: `dead-${task}` } });
    expect(did(pass, task)?.completed).toContain('relabel');
    await convergedOnly(w, before, task, qaRunsOf(initial, task));
    expect((await lease(w, task)).spec.holderIdentity).toBeUndefined();
    expect(await stateOf(w, task)).toMatchObject({ phase: 'done', deliveries: [`d-${task}`] });
    expect(await events(w, 'RemediationResumed')).toHaveLength(task);

    await quietPass(w);
    // The Job's own retry of the same delivery now finds it handled.
    const retry = await runJob(w.env({ taskId: String(task) }));
    expect(retry.logs.at(-1)).toMatchObject({ step: 'finish', reason: 'duplicate delivery' });
  });

  test('task 3: GitHub down past the Job deadline after the cancel: one pass relabels', async () => {
    const before = await snapshot(w);
    const job = await runJob(w.env({ taskId: '3' }, undefined, { AC_DEADLINE_SECONDS: '2' }), {
      onLog: (l) => l.step === 'verify' && w.gh.outage(true),
    });
    w.gh.outage(false);
    expect(job.code).toBe(EXIT.retryable);
    expect(await stateOf(w, 3)).toMatchObject({ phase: 'failed', steps: { cancel: { deleted: expect.any(Array) } } });
    expect(w.gh.prLabels(REPO, 3)).toEqual(['ready-for-qa']);

    const pass = await w.reconcile(FAST);
    expect(pass.code).toBe(EXIT.done);
    expect(did(pass, 3)).toMatchObject({ did: 'resume', completed: ['relabel'], relabel: 'transitioned' });
    await convergedOnly(w, before, 3, qaRunsOf(initial, 3));
    await quietPass(w);
  });

  test('task 4: the platform restarts QA after the push (ready-for-qa again, a new QA run): one pass leaves the new cycle alone', async () => {
    expect((await runJob(w.env({ taskId: '4' }))).code).toBe(EXIT.done);
    // The platform acts after the push: a new QA cycle for the new head.
    await untilPast(w.defaultPushedAt());
    w.gh.labelPullRequest(REPO, 4, 'ready-for-qa');
    await seedCodeRuns(w.namespace, PRESETS.cto, [4], ['tess']);
    const before = await snapshot(w);
    expect(qaRunsOf(before.runs, 4)).toHaveLength(1);
    expect(before.prs[4].labels).toEqual(['ready-for-qa', 'remediation-in-progress']);

    const pass = await quietPass(w);
    expect(did(pass, 4)).toMatchObject({ did: 'none', why: 'qa restarted after the push' });
    expect(await snapshot(w)).toEqual(before);
    expect(await events(w, 'InvariantRestored')).toHaveLength(0);
  });

  test('task 8: with revision tracking, a lagging controller recreates a QA run of the old revision after the Job: one pass cancels it', async () => {
    const revision = { AC_REVISION_FROM: 'label:agents.platform/revision' };
    expect((await runJob(w.env({ taskId: '8' }, undefined, revision))).code).toBe(EXIT.done);
    const old = await admin().create(codeRun(w.namespace, PRESETS.cto, 8, 'tess', { 'agents.platform/revision': 'e'.repeat(40) }));
    const before = await snapshot(w);
    // By time this run is new; by revision it reviews a commit the push replaced.
    const pass = await w.reconcile({ ...FAST, ...revision });
    expect(pass.code).toBe(EXIT.done);
    expect(did(pass, 8)).toMatchObject({ did: 'repair', deleted: [old.metadata.name] });
    await convergedOnly(w, before, 8, [old.metadata.name]);
    await quietPass(w, { ...FAST, ...revision });
  });

  test('task 5: a Lease held by a live run is never taken, whatever its state says', async () => {
    const stamp = new Date(Date.now() - 3_600_000).toISOString();
    const state = {
      phase: 'running',
      repository: REPO,
      pr: 5,
      taskId: '5',
      sha: w.shaOf(5),
      delivery: 'd-live',
      resolvedAt: stamp,
      startedAt: stamp,
      updatedAt: stamp,
      attempts: 1,
      steps: {},
      deliveries: [],
    };
    const now = microTime(Date.now());
    await admin().create({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: leaseName(REPO, 5),
        namespace: w.namespace,
        labels: { 'app.kubernetes.io/managed-by': 'agent-cancellation', 'agent-cancellation.5dlabs.io/pr': '5' },
        annotations: { 'agent-cancellation.5dlabs.io/state': JSON.stringify(state) },
      },
      spec: { holderIdentity: 'alive', leaseDurationSeconds: 600, acquireTime: now, renewTime: now },
    });
    const pass = await quietPass(w);
    expect(did(pass, 5)).toMatchObject({ did: 'busy' });
    expect(w.gh.prLabels(REPO, 5)).toEqual(['ready-for-qa']);
    expect((await lease(w, 5)).spec.holderIdentity).toBe('alive');
  });

  test('task 6: the PR is closed after remediation: labels restored from the recorded prior state, once', async () => {
    expect((await runJob(w.env({ taskId: '6' }))).code).toBe(EXIT.done);
    expect(await stateOf(w, 6)).toMatchObject({ steps: { relabel: { removed: 'ready-for-qa', added: 'remediation-in-progress' } } });
    w.gh.closePullRequest(REPO, 6);
    const runs = await w.names();

    const pass = await w.reconcile(FAST);
    expect(pass.code).toBe(EXIT.done);
    expect(did(pass, 6)).toMatchObject({
      did: 'compensate',
      reason: 'pr-closed',
      restored: ['removed remediation-in-progress', 're-added ready-for-qa'],
    });
    expect(w.gh.prLabels(REPO, 6)).toEqual(['ready-for-qa']);
    // Forward-only for agents: the cancelled runs stay cancelled.
    expect(await w.names()).toEqual(runs);
    expect(await stateOf(w, 6)).toMatchObject({ phase: 'compensated', compensation: { reason: 'pr-closed' } });
    expect(await events(w, 'RemediationCompensated')).toHaveLength(1);
    await quietPass(w);
  });

  test("task 7: the remediated commit is not the bot's: with compensation on, labels restored; off, left alone", async () => {
    w.gh.setCommitAuthor(REPO, w.shaOf(7), { name: 'Octo Cat', login: 'octocat' });
    expect((await runJob(w.env({ taskId: '7' }))).code).toBe(EXIT.done);
    await quietPass(w);
    expect(w.gh.prLabels(REPO, 7)).toEqual(['remediation-in-progress']);

    const pass = await w.reconcile({ ...FAST, AC_COMPENSATE_FOREIGN_COMMITS: 'true' });
    expect(did(pass, 7)).toMatchObject({ did: 'compensate', reason: 'not-from-bot' });
    expect(w.gh.prLabels(REPO, 7)).toEqual(['ready-for-qa']);
    // Commits of the other remediated PRs are unknown to GitHub here: never compensated on a guess.
    for (const t of [1, 2, 3, 8]) expect(w.gh.prLabels(REPO, t)).toEqual(['remediation-in-progress']);
    await quietPass(w, { ...FAST, AC_COMPENSATE_FOREIGN_COMMITS: 'true' });
  });

  test('retention: finished state Leases are collected, pending and held ones kept', async () => {
    const pass = await w.reconcile({ ...FAST, AC_RETENTION_SECONDS: '0' });
    expect(pass.code).toBe(EXIT.done);
    const left = (await admin().request('GET', `/apis/coordination.k8s.io/v1/namespaces/${w.namespace}/leases`)).body.items;
    expect(left.map((l: any) => l.metadata.name)).toEqual([leaseName(REPO, 5)]);
    expect(pass.logs.filter((l) => l.did === 'gc')).toHaveLength(7);
  });
});

describe('GitHub stays down: one alert, then recovery', () => {
  let w: RemediationWorld;
  let hook: http.Server;
  const calls: any[] = [];
  let hookUrl: string;
  beforeAll(async () => {
    w = await remediationWorld('reconcile-alert', 'card');
    await w.seed(TASKS);
    w.gh.addLabel(REPO, 'remediation-in-progress');
    hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        calls.push(JSON.parse(body));
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    await w.stop();
    hook.close();
  });

  test('Warning Event, needs-attention mark and one webhook call over many failing passes; cleared on recovery', async () => {
    const job = await runJob(w.env({ taskId: '1' }, undefined, { AC_DEADLINE_SECONDS: '2' }), {
      onLog: (l) => l.step === 'verify' && w.gh.outage(true),
    });
    expect(job.code).toBe(EXIT.retryable);
    const settings = { ...FAST, AC_RECONCILE_MAX_FAILURES: '2', AC_ALERT_WEBHOOK_URL: hookUrl };

    const first = await w.reconcile(settings);
    expect(first.code).toBe(EXIT.retryable);
    expect(did(first, 1)).toMatchObject({ did: 'fail', failures: 1, alerted: false });
    expect(calls).toHaveLength(0);

    for (let pass = 2; pass <= 5; pass++) {
      const p = await w.reconcile(settings);
      expect([pass, p.code, did(p, 1)?.alerted]).toEqual([pass, EXIT.retryable, pass === 2]);
    }
    const warnings = await events(w, 'RemediationNeedsAttention');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ type: 'Warning', involvedObject: { kind: 'Lease', name: leaseName(REPO, 1) } });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ reason: 'repairs-failing', repository: REPO, pr: 1, taskId: '1', failures: 2 });
    expect(calls[0].text).toContain('needs attention');
    const marked = await lease(w, 1);
    expect(marked.metadata.labels['agent-cancellation.5dlabs.io/needs-attention']).toBe('true');
    expect(await stateOf(w, 1)).toMatchObject({ attention: { reason: 'repairs-failing', webhook: 'sent' }, repair: { failures: 5 } });
    expect(w.gh.prLabels(REPO, 1)).toEqual(['ready-for-qa']);

    w.gh.outage(false);
    const recovered = await w.reconcile(settings);
    expect(recovered.code).toBe(EXIT.done);
    expect(w.gh.prLabels(REPO, 1)).toEqual(['remediation-in-progress']);
    const cleared = await lease(w, 1);
    expect(cleared.metadata.labels['agent-cancellation.5dlabs.io/needs-attention']).toBeUndefined();
    const state = await stateOf(w, 1);
    expect([state.phase, state.attention, state.repair]).toEqual(['done', undefined, undefined]);
    expect(await events(w, 'RemediationRecovered')).toHaveLength(1);
    expect(calls).toHaveLength(1);
  });
});
