/**
 * The bundled Job script, run as a child process with the Job's real ServiceAccount against a real
 * kube-apiserver and the schema-validating GitHub test server.
 */
import { EXIT } from '../../src/contract/env';
import { admin } from '../harness/cluster';
import { qaRunsOf, REPO, remediationWorld, RemediationWorld } from '../fixtures/remediation-env';
import { runJob } from '../fixtures/run-job';

jest.setTimeout(120_000);

describe.each(['card', 'cto'] as const)('preset %s: one push cancels exactly its task', (preset) => {
  let w: RemediationWorld;
  beforeAll(async () => {
    w = await remediationWorld(`job-${preset}`, preset);
  });
  afterAll(() => w.stop());

  test('only task 7 Cleo and Tess go; Rex and other tasks stay; labels flip in 2 GitHub requests', async () => {
    const seeded = await w.seed([5, 6, 7, 8, 17, 70]);
    w.gh.addLabel(REPO, 'remediation-in-progress');
    const before = await w.names();
    const run = await runJob(w.env({ taskId: '7' }));
    expect([run.code, run.stderr, run.logs.at(-1)?.error]).toEqual([EXIT.done, '', undefined]);
    const after = await w.names();
    const gone = before.filter((n) => !after.includes(n));
    expect(gone.sort()).toEqual(qaRunsOf(before, 7).sort());
    expect(gone).toHaveLength(2);
    expect(after.some((n) => n.startsWith('cto-t7-implementation-'))).toBe(true);
    expect(w.gh.prLabels(REPO, 3)).toEqual(['remediation-in-progress']);
    expect(w.gh.count()).toBe(2);
    const marker = w.gh.prComments(REPO, 3);
    expect(marker).toHaveLength(1);
    expect(marker[0]).toContain('"delivery":"d-7"');
    console.log(`${preset}: seeded ${seeded} CodeRuns, deleted ${gone.length}, untouched ${after.length}, GitHub requests ${w.gh.count()}`);
  });

  test('the same delivery again is a no-op: nothing deleted, 1 GitHub request (the query)', async () => {
    const requests = w.gh.requests.length;
    const before = await w.names();
    const run = await runJob(w.env({ taskId: '7' }));
    expect(run.code).toBe(EXIT.nothingToDo);
    expect(run.logs.at(-1)).toMatchObject({ step: 'finish', reason: 'duplicate delivery' });
    expect(await w.names()).toEqual(before);
    expect(w.gh.requests.length - requests).toBe(1);
    expect(w.gh.prComments(REPO, 3)).toHaveLength(1);
  });

  test('a later push after QA restarted edits the one marker comment in place: newest first, 2 GitHub requests', async () => {
    w.gh.unlabelPullRequest(REPO, 3, 'remediation-in-progress');
    w.gh.labelPullRequest(REPO, 3, 'ready-for-qa');
    const sha = 'f'.repeat(40);
    w.gh.setBranch(REPO, 'feature/task-7-implementation', sha);
    const requests = w.gh.requests.length;
    const pushedAt = Math.floor(w.gh.now() / 1000) + 1;
    const run = await runJob(w.env({ taskId: '7', headSha: sha, deliveryId: 'd-7-again', pushedAt }));
    expect([run.code, run.stderr]).toEqual([EXIT.done, '']);
    expect(w.gh.prLabels(REPO, 3)).toEqual(['remediation-in-progress']);
    expect(w.gh.requests.slice(requests).map((r) => [r.operation, r.status])).toEqual([
      ['Resolve', 200],
      ['Transition', 200],
    ]);
    const comments = w.gh.prComments(REPO, 3);
    expect(comments).toHaveLength(1);
    const at = (delivery: string) => comments[0].indexOf(`"delivery":"${delivery}"`);
    expect(at('d-7-again')).toBeGreaterThanOrEqual(0);
    expect(at('d-7-again')).toBeLessThan(at('d-7'));
  });
});

describe('edge cases', () => {
  let w: RemediationWorld;
  beforeAll(async () => {
    w = await remediationWorld('job-edges', 'card');
    await w.seed([1, 2, 3, 4, 5, 6]);
  });
  afterAll(() => w.stop());

  test('a superseded push (branch moved on) changes nothing: 1 GitHub request, exit 3', async () => {
    const before = await w.names();
    const start = w.gh.requests.length;
    const run = await runJob(w.env({ taskId: '1', headSha: 'e'.repeat(40), deliveryId: 'old-push' }));
    expect(run.code).toBe(EXIT.nothingToDo);
    expect(run.logs.find((l) => l.step === 'resolve')).toMatchObject({ reason: 'superseded' });
    expect(await w.names()).toEqual(before);
    expect(w.gh.requests.length - start).toBe(1);
    expect(w.gh.prLabels(REPO, 1)).toEqual(['ready-for-qa']);
  });

  test('no open PR for the branch: exit 3, nothing changed', async () => {
    w.gh.setBranch(REPO, 'feature/task-99-implementation', w.shaOf(99));
    const before = await w.names();
    const run = await runJob(w.env({ taskId: '99' }));
    expect(run.code).toBe(EXIT.nothingToDo);
    expect(await w.names()).toEqual(before);
  });

  test('AC_SKIP_EXIT_CODE=0, as in the Job, makes a skip a success', async () => {
    const run = await runJob(w.env({ taskId: '99' }, undefined, { AC_SKIP_EXIT_CODE: '0' }));
    expect(run.code).toBe(0);
  });

  test('the remediation label missing from the repository is created once: 3 GitHub requests', async () => {
    const fresh = await remediationWorld('job-nolabel', 'card');
    try {
      await fresh.seed([1]);
      expect(fresh.gh.repoLabels(REPO).map((l) => l.name)).toEqual(['ready-for-qa']);
      const run = await runJob(fresh.env({ taskId: '1' }));
      expect(run.code).toBe(EXIT.done);
      expect(fresh.gh.requests.map((r) => r.operation)).toEqual(['Resolve', 'CreateLabel', 'Transition']);
      expect(fresh.gh.repoLabels(REPO).find((l) => l.name === 'remediation-in-progress')).toMatchObject({ color: 'd93f0b' });
      expect(fresh.gh.prLabels(REPO, 1)).toEqual(['remediation-in-progress']);
    } finally {
      await fresh.stop();
    }
  });

  test.each([
    ['a 502', { kind: '502' as const }],
    ['a 403 secondary rate limit with retry-after', { kind: 'secondary' as const, retryAfter: 1 }],
    ['a primary RATE_LIMITED with x-ratelimit-reset', { kind: 'primary' as const, retryAfter: 1 }],
    ['a dropped connection', { kind: 'drop' as const }],
  ])('recovers from %s on the query: 3 requests, 1 faulted', async (_name, fault) => {
    const task = { '502': 2, secondary: 3, primary: 4, drop: 5 }[fault.kind];
    w.gh.addLabel(REPO, 'remediation-in-progress');
    const start = w.gh.requests.length;
    w.gh.inject(fault);
    const t0 = Date.now();
    const run = await runJob(w.env({ taskId: String(task) }));
    expect([run.code, run.logs.filter((l) => l.step === 'github-retry').length]).toEqual([EXIT.done, 1]);
    const made = w.gh.requests.slice(start);
    expect(made.map((r) => r.fault ?? r.operation)).toEqual([fault.kind, 'Resolve', 'Transition']);
    if (fault.kind === 'secondary' || fault.kind === 'primary') expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(w.gh.prLabels(REPO, task)).toEqual(['remediation-in-progress']);
  });

  test('a slow response times out and is retried', async () => {
    const start = w.gh.requests.length;
    w.gh.inject({ kind: 'slow', delayMs: 4000 });
    const run = await runJob(w.env({ taskId: '6' }, undefined, { AC_GITHUB_REQUEST_TIMEOUT_MS: '1000' }));
    expect(run.code).toBe(EXIT.done);
    expect(run.logs.filter((l) => l.step === 'github-retry')).toHaveLength(1);
    expect(
      w.gh.requests
        .slice(start)
        .filter((r) => !r.fault)
        .map((r) => r.operation),
    ).toEqual(['Resolve', 'Transition']);
    // The server records the abandoned slow request only once its delay is over.
    while (!w.gh.requests.slice(start).some((r) => r.fault === 'slow')) await new Promise((r) => setTimeout(r, 100));
  });

  test('GitHub down past the deadline: exit 75 (retryable), Warning Event, CodeRuns already cancelled stay cancelled', async () => {
    const fresh = await remediationWorld('job-down', 'card');
    try {
      await fresh.seed([1]);
      fresh.gh.inject({ kind: '502', times: 1 });
      fresh.gh.inject({ kind: '502', times: 1000 });
      const query = await runJob(fresh.env({ taskId: '1' }, undefined, { AC_DEADLINE_SECONDS: '2' }));
      expect(query.code).toBe(EXIT.retryable);
      expect(fresh.gh.prLabels(REPO, 1)).toEqual(['ready-for-qa']);
      // The query failed before the lock: nothing was touched, so a retry of the Job starts clean.
      const before = await fresh.names();
      expect(before).toHaveLength(3);
    } finally {
      await fresh.stop();
    }
  });

  test('bad token: exit 78 (needs attention), nothing deleted', async () => {
    const before = await w.names();
    const run = await runJob(w.env({ taskId: '1', deliveryId: 'bad-token' }, undefined, { GITHUB_TOKEN: 'wrong' }));
    expect(run.code).toBe(EXIT.needsAttention);
    expect(JSON.stringify(run.logs)).not.toContain('wrong');
    expect(await w.names()).toEqual(before);
  });

  test.each([
    ['AC_TASK_ID', 'abc', 'AC_TASK_ID="abc" is not a number'],
    ['AC_REPOSITORY', 'evil/repo', 'AC_REPOSITORY="evil/repo" is not one of AC_ALLOWED_REPOSITORIES'],
    ['AC_HEAD_SHA', 'xyz', 'AC_HEAD_SHA="xyz" is not a commit SHA'],
    ['AC_DELIVERY_ID', '', 'AC_DELIVERY_ID is missing or empty'],
    ['AC_PUSHED_AT', '2026-11-26T12:00:00Z', 'AC_PUSHED_AT="2026-11-26T12:00:00Z" is not epoch seconds'],
    ['AC_BEFORE_SHA', 'main', 'AC_BEFORE_SHA="main" is not a commit SHA'],
  ])('bad input %s=%j: exit 64, clear message, no request made, nothing touched', async (name, value, message) => {
    const start = w.gh.requests.length;
    const before = await w.names();
    const env = w.env({ taskId: '1' });
    env[name] = value;
    if (name === 'AC_REPOSITORY') env.AC_ALLOWED_REPOSITORIES = REPO;
    const run = await runJob(env);
    expect(run.code).toBe(EXIT.badInput);
    expect(run.logs.at(-1)!.error).toContain(message);
    expect(w.gh.requests.length).toBe(start);
    expect(await w.names()).toEqual(before);
  });

  test('--dry-run reports what it would cancel and changes nothing', async () => {
    const before = await w.names();
    const run = await runJob(w.env({ taskId: '3', deliveryId: 'dry' }), { args: ['--dry-run'] });
    expect(run.code).toBe(0);
    expect(run.logs.at(-1)).toMatchObject({ step: 'dry-run', pr: 3 });
    expect(run.logs.at(-1)!.wouldDelete.sort()).toEqual(qaRunsOf(before, 3).sort());
    expect(await w.names()).toEqual(before);
  });

  test('a Normal Event is recorded on the PR Lease', async () => {
    const r = await admin().request('GET', `/api/v1/namespaces/${w.namespace}/events`);
    const reasons = r.body.items.map((e: any) => `${e.type}/${e.reason}/${e.involvedObject.kind}`);
    expect(reasons).toContain('Normal/RemediationDone/Lease');
  });
});
