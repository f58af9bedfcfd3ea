/**
 * One organization, many repositories, against the real kube-apiserver and the GitHub test server: every
 * project numbers its tasks from 1, so a push, a PR event or a reconciler pass for a task of one repository
 * must touch that repository's runs only. Both presets scope by `spec.repositoryUrl`, and the Job filters what
 * it lists: the platform's reads any GitHub spelling (its runs of both repositories share the workspace's
 * `service` label, and name the repository `owner/name`), the card's a URL template.
 */
import { AgentCancellationConfig } from '../../src';
import { EXIT } from '../../src/contract/env';
import { MANAGED_BY } from '../../src/contract/labels';
import { leaseName, PR_LABEL, REPOSITORY_ANNOTATION, STATE_ANNOTATION } from '../../src/job/kube/lease';
import { admin, codeRun, PRESETS, seedRepositoryRuns, setPhase } from '../harness/cluster';
import { later, REPO, remediationWorld, RemediationWorld } from '../fixtures/remediation-env';
import { JobRun, runJob } from '../fixtures/run-job';

jest.setTimeout(300_000);

const OTHER = '5dlabs/web';
const BOT = { name: 'rex', login: 'rex-5dlabs[bot]' };
/** Reconciler settings for tests: resume at once, give GitHub 2 s. */
const FAST = { AC_RECONCILE_PENDING_SECONDS: '0', AC_DEADLINE_SECONDS: '2', AC_BOTS: BOT.login };

const SCOPES: Record<'card' | 'cto', AgentCancellationConfig> = {
  // The card's CodeRuns carry no repository label; their spec names the repository by URL.
  card: {
    github: { organizations: ['5dlabs'], repositories: [REPO, OTHER] },
    repositoryScope: { from: 'field:spec.repositoryUrl', format: 'https://github.com/{owner}/{name}' },
  },
  cto: {},
};

/** The QA runs of a task of a repository, by name. */
const qa = (names: string[], repository: string, task: number) =>
  names.filter((n) => new RegExp(`^${repository.split('/')[1]}-t${task}-(quality|testing)-`).test(n));
const ok = (run: JobRun) => expect([run.code, run.stderr]).toEqual([EXIT.done, '']);

describe.each(['cto', 'card'] as const)('preset %s: the same task id in two repositories', (preset) => {
  let w: RemediationWorld;
  beforeAll(async () => {
    w = await remediationWorld(`scope-${preset}`, preset, {}, SCOPES[preset]);
    w.gh.addRepository(OTHER);
    w.gh.addLabel(REPO, 'remediation-in-progress');
    w.gh.addLabel(OTHER, 'remediation-in-progress');
  });
  afterAll(() => w.stop());

  /** Task `t` in both repositories: Rex's push, then an open PR labelled ready-for-qa, Rex's run and two QA runs. */
  async function bothRepositories(t: number): Promise<{ pr: number; otherPr: number }> {
    // Rex's last push came before QA started: ready-for-qa is added after it, so nothing is stale yet.
    for (const repo of [REPO, OTHER]) w.gh.push(repo, `feature/task-${t}-implementation`, w.shaOf(t), BOT);
    const pr = w.gh.openPullRequest(REPO, `feature/task-${t}-implementation`, ['ready-for-qa']);
    const otherPr = w.gh.openPullRequest(OTHER, `feature/task-${t}-implementation`, ['ready-for-qa']);
    await seedRepositoryRuns(w.namespace, w.preset, REPO, [t]);
    await seedRepositoryRuns(w.namespace, w.preset, OTHER, [t]);
    return { pr, otherPr };
  }

  /** What happened to both repositories' runs of task `t` since `before`. */
  async function gone(before: string[], t: number) {
    const after = await w.names();
    const deleted = before.filter((n) => !after.includes(n)).sort();
    return { deleted, pushed: qa(before, REPO, t).sort(), other: qa(before, OTHER, t) };
  }

  test('a push cancels its own repository’s stale QA runs; the other repository’s survive', async () => {
    await bothRepositories(1);
    const before = await w.names();
    ok(await runJob(w.env({ taskId: '1', pushedAt: Math.ceil(Date.now() / 1000) + 6 })));
    const g = await gone(before, 1);
    expect(g.pushed).toHaveLength(2);
    expect(g.deleted).toEqual(g.pushed);
    expect(w.gh.prLabels(OTHER, 1)).toEqual(['ready-for-qa']);
  });

  test('observe mode records only the pushed repository’s runs, and changes nothing', async () => {
    await bothRepositories(2);
    const before = await w.names();
    const run = await runJob(w.env({ taskId: '2', pushedAt: Math.ceil(Date.now() / 1000) + 6 }, undefined, { AC_MODE: 'observe' }));
    ok(run);
    expect(await w.names()).toEqual(before);
    expect(run.logs.find((l) => l.step === 'cancel')?.deleted.sort()).toEqual(qa(before, REPO, 2).sort());
  });

  test('--dry-run lists only the pushed repository’s runs', async () => {
    await bothRepositories(3);
    const before = await w.names();
    const run = await runJob(w.env({ taskId: '3', pushedAt: Math.ceil(Date.now() / 1000) + 6 }), { args: ['--dry-run'] });
    ok(run);
    expect(run.logs.find((l) => l.step === 'dry-run')?.wouldDelete.sort()).toEqual(qa(before, REPO, 3).sort());
  });

  test('the reconciler’s resync of a lost bot push: only that repository’s runs, and a second pass does nothing', async () => {
    const { otherPr } = await bothRepositories(4);
    const before = await w.names();
    // Rex pushes to the other repository's task 4; its webhook never arrives.
    later(w.gh, () => w.gh.push(OTHER, 'feature/task-4-implementation', 'd'.repeat(40), BOT));
    const pass = await w.reconcile(FAST);
    ok(pass);
    const g = await gone(before, 4);
    expect(g.deleted).toEqual(g.other.sort());
    expect(w.gh.prLabels(OTHER, otherPr)).toEqual(['remediation-in-progress']);
    const again = await w.reconcile(FAST);
    ok(again);
    expect(again.logs.find((l) => l.step === 'reconcile-done')).toMatchObject({ resynced: [] });
  });

  test('the reconciler’s repair of a recorded push: only that repository’s stale runs', async () => {
    const { pr } = await bothRepositories(5);
    const before = await w.names();
    // A push of task 5 recorded as done, newer than every run seeded, whose cancel left runs behind.
    const pushedAt = new Date(Math.ceil(Date.now() / 1000) * 1000 + 6000).toISOString();
    w.gh.unlabelPullRequest(REPO, pr, 'ready-for-qa');
    w.gh.labelPullRequest(REPO, pr, 'remediation-in-progress');
    await admin().create(doneState(w.namespace, REPO, pr, '5', pushedAt));
    const pass = await w.reconcile(FAST);
    ok(pass);
    expect(pass.logs.find((l) => l.step === 'reconcile' && l.saw?.pr === pr)).toMatchObject({ did: 'repair' });
    const g = await gone(before, 5);
    expect(g.deleted).toEqual(g.pushed);
  });

  test.each([
    ['closed', (repo: string, n: number) => w.gh.closePullRequest(repo, n)],
    ['merged', (repo: string, n: number) => w.gh.mergePullRequest(repo, n)],
    ['turned to draft', (repo: string, n: number) => w.gh.convertToDraft(repo, n)],
  ])('a PR %s while its webhook was lost: the next pass cancels exactly that task’s runs, a second does nothing', async (what, end) => {
    const t = 10 + ['closed', 'merged', 'turned to draft'].indexOf(what);
    const { pr } = await bothRepositories(t);
    const before = await w.names();
    later(w.gh, () => end(REPO, pr));
    const pass = await w.reconcile(FAST);
    ok(pass);
    const g = await gone(before, t);
    expect(g.deleted).toEqual(g.pushed);
    expect(pass.logs.find((l) => l.step === 'reconcile-done')?.resynced).toHaveLength(1);
    const again = await w.reconcile(FAST);
    ok(again);
    expect(await w.names()).toEqual(before.filter((n) => !g.deleted.includes(n)));
    expect(again.logs.find((l) => l.step === 'reconcile-done')).toMatchObject({ resynced: [] });
  });

  test('observe mode: a lost close is reported, not acted on; enforce then acts', async () => {
    const { pr } = await bothRepositories(20);
    const before = await w.names();
    later(w.gh, () => w.gh.closePullRequest(REPO, pr));
    const observed = await w.reconcile({ ...FAST, AC_MODE: 'observe' });
    ok(observed);
    expect(await w.names()).toEqual(before);
    expect(observed.logs.find((l) => l.step === 'resync')).toMatchObject({ event: 'closed', outcome: { kind: 'observed' } });
    ok(await w.reconcile(FAST));
    const g = await gone(before, 20);
    expect(g.deleted).toEqual(g.pushed);
  });

  test('a finished QA run is history: observe mode, the Job and the reconciler’s resync keep it, and say why', async () => {
    await bothRepositories(30);
    await bothRepositories(31);
    const names = await w.names();
    const finished = [qa(names, REPO, 30)[0], qa(names, OTHER, 31)[0]];
    await setPhase(w.namespace, w.group, finished[0], 'Succeeded');
    await setPhase(w.namespace, w.group, finished[1], 'Failed');
    const running = qa(names, REPO, 30)[1];
    await setPhase(w.namespace, w.group, running, 'Running');
    const push = { taskId: '30', pushedAt: Math.ceil(Date.now() / 1000) + 6 };
    const observed = await runJob(w.env(push, undefined, { AC_MODE: 'observe' }));
    ok(observed);
    expect(observed.logs.find((l) => l.step === 'cancel')).toMatchObject({
      deleted: [running],
      kept: [{ name: finished[0], why: 'finished' }],
    });

    ok(await runJob(w.env(push)));
    // Rex pushes to the other repository's task 31; its webhook never arrives.
    later(w.gh, () => w.gh.push(OTHER, 'feature/task-31-implementation', 'd'.repeat(40), BOT));
    ok(await w.reconcile(FAST));
    const after = await w.names();
    expect(names.filter((n) => !after.includes(n)).sort()).toEqual([running, qa(names, OTHER, 31)[1]].sort());
    expect(after).toEqual(expect.arrayContaining(finished));
  });
});

test('the CodeRun schema is enforced: a run without the githubApp the platform requires is refused', async () => {
  const run = codeRun('default', PRESETS.cto, 1, 'tess');
  delete run.spec.githubApp;
  const r = await admin().request('POST', `/apis/${PRESETS.cto.group}/v1/namespaces/default/coderuns`, run);
  expect([r.status, r.body.message]).toEqual([422, expect.stringContaining('spec.githubApp: Required value')]);
  const bad = codeRun('default', PRESETS.cto, 1, 'tess');
  bad.spec.runType = 'qa';
  const r2 = await admin().request('POST', `/apis/${PRESETS.cto.group}/v1/namespaces/default/coderuns`, bad);
  expect([r2.status, r2.body.message]).toEqual([422, expect.stringContaining('spec.runType: Unsupported value: "qa"')]);
});

/** A state Lease recording a finished push of `task`, as the Job leaves one. */
function doneState(namespace: string, repository: string, pr: number, task: string, pushedAt: string) {
  const at = new Date().toISOString();
  const state = {
    phase: 'done',
    event: 'push',
    repository,
    pr,
    taskId: task,
    sha: 'e'.repeat(40),
    before: '0'.repeat(40),
    pushedAt,
    source: 'webhook',
    delivery: `d-${task}`,
    resolvedAt: at,
    startedAt: at,
    updatedAt: at,
    attempts: 1,
    steps: {
      cancel: { at, deleted: [], kept: [] },
      relabel: { at, result: 'transitioned', removed: 'ready-for-qa', added: 'remediation-in-progress' },
    },
    deliveries: [`d-${task}`],
  };
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: leaseName(repository, pr),
      namespace,
      labels: { ...MANAGED_BY, [PR_LABEL]: String(pr) },
      annotations: { [REPOSITORY_ANNOTATION]: repository, [STATE_ANNOTATION]: JSON.stringify(state) },
    },
    spec: { leaseDurationSeconds: 60 },
  };
}
