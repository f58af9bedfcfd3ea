/**
 * End to end through Argo Events' own services: a signed GitHub delivery reaches the real EventSource,
 * crosses a JetStream bus to the real Sensor, whose k8s trigger creates the Job in the real kube-apiserver;
 * the Job runs (the harness stands in for the kubelet) and the PR's labels flip on the GitHub test server.
 */
import { pullRequestDelivery, pullRequestEndedDelivery, tagPushDelivery } from '../fixtures/github-deliveries';
import { argoWorld, ArgoWorld, BOT, ref, SECRET, sha } from '../fixtures/argo-world';
import { envByName } from '../fixtures/container-env';
import { qaRunsOf, REPO, untilPast } from '../fixtures/remediation-env';
import { admin } from '../harness/cluster';

jest.setTimeout(240_000);

const NS = 'argo-e2e';
let w: ArgoWorld;
let gh: ArgoWorld['gh'];
let stack: ArgoWorld['stack'];
const names = () => w.names();
const push = (t: number, id: string, extra: Parameters<ArgoWorld['push']>[2] = {}) => w.push(t, id, extra);
const until = <T>(what: string, f: () => Promise<T | undefined | false>) => w.until(what, f);

beforeAll(async () => {
  w = await argoWorld(NS, [1, 2, 3, 4, 5, 6]);
  ({ gh, stack } = w);
});

afterAll(() => w?.stop());

test('Rex pushes to task 1: the real Sensor creates a Job, task 1 QA runs go, labels flip', async () => {
  const before = await names();
  const t0 = Date.now();
  expect(await stack.deliver('push', 'e2e-task-1', push(1, 'e2e-task-1').payload, SECRET)).toBe(200);
  await until('labels of PR 1', async () => gh.prLabels(REPO, 1).join() === 'remediation-in-progress');
  const latency = Date.now() - t0;
  const after = await names();
  expect(before.filter((n) => !after.includes(n)).sort()).toEqual(qaRunsOf(before, 1).sort());
  const jobs = await stack.createdJobs();
  expect(jobs).toHaveLength(1);
  const job = (await admin().request('GET', `/apis/batch/v1/namespaces/${NS}/jobs/${jobs[0]}`)).body;
  expect(job.metadata.labels['agent-cancellation.5dlabs.io/task-id']).toBe('1');
  expect(envByName(job.spec.template.spec.containers[0])).toMatchObject({
    AC_REPOSITORY: REPO,
    AC_BRANCH: 'feature/task-1-implementation',
    AC_HEAD_SHA: sha(1),
    AC_DELIVERY_ID: 'e2e-task-1',
    AC_TASK_ID: '1',
  });
  await until("the Job's Pod run", async () => stack.jobs.length === 1);
  expect(stack.jobs[0].code).toBe(0);
  // The Job controller reads the Pod's status, written by the test node.
  await until('the Job complete', async () =>
    (await admin().request('GET', `/apis/batch/v1/namespaces/${NS}/jobs/${jobs[0]}`)).body.status?.conditions?.some(
      (c: any) => c.type === 'Complete' && c.status === 'True',
    ),
  );
  console.log(`webhook POST -> labels flipped and 2 QA CodeRuns deleted in ${latency} ms (real EventSource, JetStream, Sensor, apiserver)`);
});

test('negatives create nothing and delete nothing; a positive control afterwards does', async () => {
  const before = await names();
  const jobsBefore = (await stack.createdJobs()).length;
  const negatives: Array<[string, Promise<number>, number]> = [
    ['bad signature', stack.deliver('push', 'n1', push(2, 'n1').payload, 'not-the-secret'), 400],
    ['no signature', stack.deliver('push', 'n2', push(2, 'n2').payload, undefined), 400],
    ['pusher evil-5DLabs-Rex', stack.deliver('push', 'n3', push(2, 'n3', { login: 'evil-5DLabs-Rex' }).payload, SECRET), 200],
    ['pusher 5DLabs-Rexbot', stack.deliver('push', 'n4', push(2, 'n4', { login: '5DLabs-Rexbot' }).payload, SECRET), 200],
    ['a human', stack.deliver('push', 'n5', push(2, 'n5', { login: 'Codertocat' }).payload, SECRET), 200],
    ['another repository', stack.deliver('push', 'n6', push(2, 'n6', { repository: '5dlabs/other' }).payload, SECRET), 200],
    ['a non-task branch', stack.deliver('push', 'n7', push(2, 'n7', { ref: 'refs/heads/main' }).payload, SECRET), 200],
    ['a tag push', stack.deliver('push', 'n8', tagPushDelivery(BOT, REPO).payload, SECRET), 200],
    [
      'a non-push event',
      stack.deliver(
        'pull_request',
        'n9',
        pullRequestDelivery({ login: BOT, repository: REPO, ref: ref(2), after: sha(2) }).payload,
        SECRET,
      ),
      200,
    ],
  ];
  for (const [name, status, expected] of negatives) expect([name, await status]).toEqual([name, expected]);
  // The control goes through the same pipeline after every negative: once it has acted, they had their chance.
  expect(await stack.deliver('push', 'control-4', push(4, 'control-4').payload, SECRET)).toBe(200);
  await until('control labels', async () => gh.prLabels(REPO, 4).join() === 'remediation-in-progress');
  const after = await names();
  expect(before.filter((n) => !after.includes(n)).sort()).toEqual(qaRunsOf(before, 4).sort());
  expect((await stack.createdJobs()).length - jobsBefore).toBe(1);
  expect(gh.prLabels(REPO, 2)).toEqual(['ready-for-qa']);
  console.log(`${negatives.length} negative deliveries: 0 Jobs, 0 deletions; the control after them: 1 Job, 2 deletions`);
});

test('the same delivery posted twice: one effective transition', async () => {
  const delivery = push(3, 'dup-3');
  const transitions = gh.count('Transition');
  expect(await stack.deliver('push', 'dup-3', delivery.payload, SECRET)).toBe(200);
  expect(await stack.deliver('push', 'dup-3', delivery.payload, SECRET)).toBe(200);
  await until('both Jobs ran', async () => stack.jobs.filter((j) => j.logs.includes('"delivery":"dup-3"')).length === 2);
  expect(gh.prLabels(REPO, 3)).toEqual(['remediation-in-progress']);
  expect(gh.count('Transition') - transitions).toBe(1);
  expect(gh.prComments(REPO, 3)).toHaveLength(1);
  expect(stack.jobs.filter((j) => j.logs.includes('"delivery":"dup-3"')).map((j) => j.code)).toEqual([0, 0]);
});

test("task 6's PR closed while QA runs: look-alike pull_request deliveries create nothing; the close cancels exactly its QA runs, no label changes", async () => {
  const before = await names();
  const jobsBefore = (await stack.createdJobs()).length;
  const transitions = gh.count('Transition');
  const labels = Object.fromEntries([1, 2, 3, 4, 5, 6].map((t) => [t, gh.prLabels(REPO, t)]));
  gh.closePullRequest(REPO, 6);
  const at = new Date(w.pushedAt * 1000).toISOString().replace('.000Z', 'Z');
  const ended = (id: string, o: Partial<Parameters<typeof pullRequestEndedDelivery>[0]> = {}) =>
    pullRequestEndedDelivery({
      action: 'closed',
      repository: REPO,
      branch: 'feature/task-6-implementation',
      number: 6,
      headSha: sha(6),
      at,
      id,
      ...o,
    });
  const lookAlikes: Array<[string, ReturnType<typeof ended>]> = [
    ['reopened', ended('p1', { action: 'reopened' })],
    ['ready for review', ended('p2', { action: 'ready_for_review' })],
    ["a fork's PR with the task branch name", ended('p3', { headRepository: 'evil/cto' })],
    ['another repository', ended('p4', { repository: '5dlabs/other', headRepository: '5dlabs/other' })],
    ['a non-task branch', ended('p5', { branch: 'main' })],
    ['an issue closed', { ...ended('p6'), event: 'issues' }],
  ];
  for (const [name, d] of lookAlikes) expect([name, await stack.deliver(d.event, d.id, d.payload, SECRET)]).toEqual([name, 200]);
  // Closed by a person: no sender filter on this dependency.
  expect(await stack.deliver('pull_request', 'close-6', ended('close-6', { login: 'Codertocat' }).payload, SECRET)).toBe(200);
  await until('task 6 QA runs gone', async () => qaRunsOf(await names(), 6).length === 0);
  await until('the close Job finished', async () => stack.jobs.some((j) => j.logs.includes('"delivery":"close-6"')));
  const after = await names();
  expect(before.filter((n) => !after.includes(n)).sort()).toEqual(qaRunsOf(before, 6).sort());
  const jobs = await stack.createdJobs();
  expect(jobs.length - jobsBefore).toBe(1);
  const all = (await admin().request('GET', `/apis/batch/v1/namespaces/${NS}/jobs`)).body.items;
  const job = all.find((j: any) =>
    j.spec.template.spec.containers[0].env.some((e: any) => e.name === 'AC_DELIVERY_ID' && e.value === 'close-6'),
  );
  expect(job.metadata.labels['agent-cancellation.5dlabs.io/task-id']).toBe('6');
  expect(envByName(job.spec.template.spec.containers[0])).toMatchObject({
    AC_REPOSITORY: REPO,
    AC_BRANCH: 'feature/task-6-implementation',
    AC_HEAD_SHA: sha(6),
    AC_DELIVERY_ID: 'close-6',
    AC_TASK_ID: '6',
    AC_PUSHED_AT: String(w.pushedAt),
    AC_BEFORE_SHA: sha(6),
    AC_EVENT: 'closed',
    AC_PR_NUMBER: '6',
  });
  expect(stack.jobs.find((j) => j.logs.includes('"delivery":"close-6"'))!.code).toBe(0);
  expect(gh.count('Transition')).toBe(transitions);
  expect(Object.fromEntries([1, 2, 3, 4, 5, 6].map((t) => [t, gh.prLabels(REPO, t)]))).toEqual(labels);
  const lease = (await admin().request('GET', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`)).body.items.find(
    (l: any) => l.metadata.labels['agent-cancellation.5dlabs.io/pr'] === '6',
  );
  expect(JSON.parse(lease.metadata.annotations['agent-cancellation.5dlabs.io/state'])).toMatchObject({
    phase: 'done',
    event: 'closed',
    delivery: 'close-6',
    pushedAt: new Date(w.pushedAt * 1000).toISOString(),
    steps: { relabel: { result: 'not-applicable' } },
  });
  console.log(`${lookAlikes.length} look-alike pull_request deliveries: 0 Jobs; the close: 1 Job, ${qaRunsOf(before, 6).length} deletions`);
});

// Last: it stops the EventSource.
test('a bot push lost while the EventSource is down: the next reconciler pass cancels exactly its stale runs and flips the labels; a second pass does nothing', async () => {
  await untilPast(w.pushedAt);
  await stack.stopEventSource();
  const head = 'f5'.repeat(20);
  const pushedAtMs = gh.push(REPO, 'feature/task-5-implementation', head, { name: 'rex', login: BOT });
  // GitHub's delivery fails, and GitHub never redelivers on its own.
  await expect(
    stack.deliver('push', 'lost-5', push(5, 'lost-5', { after: head, pushedAt: Math.floor(pushedAtMs / 1000) }).payload, SECRET),
  ).rejects.toThrow();
  const jobs = (await stack.createdJobs()).length;
  const before = await names();
  const labels = Object.fromEntries([1, 2, 3, 4, 6].map((t) => [t, gh.prLabels(REPO, t)]));

  const pass = await w.reconcile();
  expect([pass.code, pass.stderr]).toEqual([0, '']);
  const summary = pass.logs.find((l) => l.step === 'reconcile-done')!;
  expect(summary.resynced).toEqual([`${REPO}#5@${head.slice(0, 12)} push`]);
  const after = await names();
  expect(before.filter((n) => !after.includes(n)).sort()).toEqual(qaRunsOf(before, 5).sort());
  expect(gh.prLabels(REPO, 5)).toEqual(['remediation-in-progress']);
  expect(gh.prComments(REPO, 5)).toHaveLength(1);
  expect(Object.fromEntries([1, 2, 3, 4, 6].map((t) => [t, gh.prLabels(REPO, t)]))).toEqual(labels);
  const lease = (await admin().request('GET', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`)).body.items.find(
    (l: any) => l.metadata.labels['agent-cancellation.5dlabs.io/pr'] === '5',
  );
  expect(JSON.parse(lease.metadata.annotations['agent-cancellation.5dlabs.io/state'])).toMatchObject({
    phase: 'done',
    source: 'resync',
    sha: head,
    delivery: `resync-${head.slice(0, 12)}`,
  });
  expect((await stack.createdJobs()).length).toBe(jobs);
  console.log(`resync pass: ${summary.github.requests} GitHub read request(s), ${summary.github.points} point(s)`);

  const again = await w.reconcile();
  expect(again.code).toBe(0);
  expect(again.logs.find((l) => l.step === 'reconcile-done')!.resynced).toEqual([]);
  expect(await names()).toEqual(after);
  expect(gh.prComments(REPO, 5)).toHaveLength(1);
});
