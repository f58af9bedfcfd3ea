/**
 * Argo Events as it fails, on its own processes: the bus down, the Sensor killed between creating a Job and
 * acknowledging the message, the Sensor edited while deliveries stream in, a trigger exhausted by a lost
 * permission, GitHub's redelivery of a lost PR close, and odd deliveries. Each ends with what GitHub saw, how
 * many Jobs were created, how many changes took effect, and how many reconciler passes repaired what Argo lost
 * (docs/reliability.md).
 */
import { DEFAULTS } from '../../src';
import { argoWorld, ArgoWorld, BOT, SECRET, sensorMayCreateJobs, sha } from '../fixtures/argo-world';
import { pullRequestEndedDelivery } from '../fixtures/github-deliveries';
import { qaRunsOf, REPO, untilPast } from '../fixtures/remediation-env';
import { admin } from '../harness/cluster';

jest.setTimeout(240_000);

const NS = 'argo-faults';
let w: ArgoWorld;
let gh: ArgoWorld['gh'];
let stack: ArgoWorld['stack'];
const until = <T>(what: string, f: () => Promise<T | undefined | false>, ms?: number) => w.until(what, f, ms);
const branch = (t: number) => `feature/task-${t}-implementation`;
/** A head for task `t` that no seeded branch has. */
const head = (t: number) => t.toString(16).padStart(2, '0').repeat(20);

/** One PR per task, numbered in this order from 1. */
const TASKS = [7, 11, 12, 13, 14, 15, 16, 17, 18, 20, 21, 22, 23, 24, 25];
const prOf = (t: number) => TASKS.indexOf(t) + 1;
/** Task 7's branch as a zero-padded id names it; its PR is opened after the others. */
const PADDED = 'feature/task-007-implementation';
let paddedPr: number;

beforeAll(async () => {
  // Each pass also redelivers the test server's failed webhook deliveries, as GitHub's API lets it.
  w = await argoWorld(NS, TASKS, (server) => ({
    reconciler: {
      ...DEFAULTS.reconciler,
      redelivery: {
        hook: `org:${server.hook.orgHook.org}/${server.hook.orgHook.id}`,
        credentialSecret: { name: 'agent-cancellation-github', key: 'token' },
        restUrl: server.url.replace(/\/graphql$/, ''),
      },
    },
  }));
  ({ gh, stack } = w);
  gh.setBranch(REPO, PADDED, sha(7));
  paddedPr = gh.openPullRequest(REPO, PADDED, ['ready-for-qa']);
  // The resync trusts commits after the QA runs: every push below comes after the seeding.
  await untilPast(w.pushedAt);
});

afterAll(() => w?.stop());

/** Rex pushes `head(t)` to task t's branch on GitHub; returns its delivery, not yet sent. */
function rexPushes(t: number, id: string) {
  const pushedAtMs = gh.push(REPO, branch(t), head(t), { name: 'rex', login: BOT });
  return w.push(t, id, { after: head(t), pushedAt: Math.floor(pushedAtMs / 1000) });
}

/** What GitHub sees of a delivery: the status, or why there was none. */
const send = (d: ReturnType<typeof rexPushes>) => stack.deliver('push', d.id, d.payload, SECRET).catch((e: Error) => e.message);

/** Remediation Jobs by the delivery in their env. */
async function jobsByDelivery(): Promise<Record<string, number>> {
  const jobs = (
    await admin().request('GET', `/apis/batch/v1/namespaces/${NS}/jobs?labelSelector=app.kubernetes.io%2Fcomponent%3Dremediation-job`)
  ).body.items;
  const count: Record<string, number> = {};
  for (const j of jobs) {
    const id = j.spec.template.spec.containers[0].env.find((e: any) => e.name === 'AC_DELIVERY_ID').value;
    count[id] = (count[id] ?? 0) + 1;
  }
  return count;
}

/** CodeRun deletions the Job runs logged, by run name, for deliveries `ids`. */
function deletions(ids: string[]): Record<string, number> {
  const count: Record<string, number> = {};
  for (const j of stack.jobs) {
    for (const line of j.logs.split('\n')) {
      if (!line.startsWith('{')) continue;
      const l = JSON.parse(line);
      if (l.step === 'cancel' && ids.includes(l.delivery)) for (const n of l.deleted) count[n] = (count[n] ?? 0) + 1;
    }
  }
  return count;
}

/** One reconciler pass; returns the PRs it resynced, as `repo#n@sha12 event`. */
async function pass(): Promise<string[]> {
  const run = await w.reconcile();
  expect([run.code, run.stderr]).toEqual([0, '']);
  return run.logs.find((l) => l.step === 'reconcile-done')!.resynced;
}
const resynced = (...tasks: number[]) => tasks.map((t) => `${REPO}#${prOf(t)}@${head(t).slice(0, 12)} push`);

/** The PR of task t shows one remediation: the label flipped, one marker comment, its QA runs gone. */
async function remediatedOnce(t: number, before: string[]) {
  expect(gh.prLabels(REPO, prOf(t))).toEqual(['remediation-in-progress']);
  expect(gh.prComments(REPO, prOf(t))).toHaveLength(1);
  expect(qaRunsOf(await w.names(), t)).toEqual([]);
  expect(qaRunsOf(before, t).length).toBeGreaterThan(0);
}

async function untouched(t: number) {
  expect(gh.prLabels(REPO, prOf(t))).toEqual(['ready-for-qa']);
  expect(gh.prComments(REPO, prOf(t))).toHaveLength(0);
  expect(qaRunsOf(await w.names(), t).length).toBeGreaterThan(0);
}

test('bus down: GitHub sees 500, nothing is created; once nats is back the next reconciler pass repairs', async () => {
  const before = await w.names();
  await stack.stopBus();
  const lost = rexPushes(11, 'bus-down-11');
  const seen = await send(lost);
  // The EventSource answers 200 only once JetStream has the event.
  expect(seen).toBe(500);
  await stack.startBus();
  // A control through the same pipeline: GitHub's retry of it (same delivery id) succeeds once the EventSource reconnected.
  const control = rexPushes(12, 'bus-back-12');
  const statuses: Array<number | string> = [];
  await until('the EventSource publishing again', async () => {
    statuses.push(await send(control));
    return statuses.at(-1) === 200 || (await new Promise((r) => setTimeout(r, 500)), false);
  });
  await until('the control remediated', async () => gh.prLabels(REPO, prOf(12)).join() === 'remediation-in-progress');
  // JetStream keeps order: had the lost delivery been published, its Job would be there before the control's.
  expect(await jobsByDelivery()).toEqual({ 'bus-back-12': 1 });
  await untouched(11);

  expect(await pass()).toEqual(resynced(11));
  await remediatedOnce(11, before);
  expect(await pass()).toEqual([]);
  expect(gh.prComments(REPO, prOf(11))).toHaveLength(1);
  console.log(`bus down: 1 delivery, GitHub saw ${seen}; 0 Jobs; repaired in 1 pass; the control took ${statuses.length} attempt(s)`);
});

test('Sensor SIGKILLed after its Job exists, before the ack: the message comes again, one effective cancellation', async () => {
  const before = await w.names();
  const transitions = gh.count('Transition');
  // Everything the Sensor sends to the bus (its acknowledgement too) arrives 3 s late: the kill lands in between.
  stack.sensorBus.delay(3000);
  expect(await send(rexPushes(13, 'crash-13'))).toBe(200);
  await until('the first Job', async () => (await jobsByDelivery())['crash-13'] === 1);
  await stack.killSensor();
  stack.sensorBus.delay(0);
  await stack.startSensor();
  // Redelivered once the consumer's ack wait runs out.
  await until('the redelivered Job', async () => (await jobsByDelivery())['crash-13'] === 2, 120_000);
  await until('both Jobs ran', async () => stack.jobs.filter((j) => j.logs.includes('"delivery":"crash-13"')).length === 2);
  expect(stack.jobs.filter((j) => j.logs.includes('"delivery":"crash-13"')).map((j) => j.code)).toEqual([0, 0]);
  await remediatedOnce(13, before);
  expect(gh.count('Transition') - transitions).toBe(1);
  expect(deletions(['crash-13'])).toEqual(Object.fromEntries(qaRunsOf(before, 13).map((n) => [n, 1])));
  console.log(`sensor killed before ack: 1 delivery, 2 Jobs, 1 label flip, ${qaRunsOf(before, 13).length} runs deleted once each`);
});

test('Sensor edited while deliveries stream: deliveries published during the rollout are skipped; one reconciler pass repairs them', async () => {
  const before = await w.names();
  const sent: Record<string, number | string> = {};
  const deliver = async (t: number, id: string) => (sent[id] = await send(rexPushes(t, id)));
  await deliver(14, 'stream-14');
  await until('Job of stream-14', async () => (await jobsByDelivery())['stream-14'] === 1);
  // Killed before its ack, the Sensor would get stream-14 again (the test above): this test is about the rollout.
  await until('stream-14 acknowledged', () => stack.settled());

  // A restart with the same spec keeps the durable consumer: what was published meanwhile still comes.
  await stack.killSensor();
  await deliver(15, 'stream-15');
  await stack.startSensor();
  await until('Job of stream-15', async () => (await jobsByDelivery())['stream-15'] === 1);
  await until('stream-15 acknowledged', () => stack.settled());

  // The edit: another bot. The push dependency's filters changed, so its consumer is deleted and made anew,
  // delivering only what is published after it.
  const edited = structuredClone(w.sensor);
  const botFilter = edited.spec.dependencies[0].filters.data.find((f: any) => f.path === 'body.sender.login');
  botFilter.value = [botFilter.value[0].replace('^(?:', '^(?:5DLabs-Morgan\\[bot\\]|')];
  await stack.killSensor();
  await deliver(16, 'stream-16');
  await deliver(17, 'stream-17');
  await stack.startSensor(edited);
  await deliver(18, 'stream-18');
  await until('Job of stream-18', async () => (await jobsByDelivery())['stream-18'] === 1);
  await until('the Jobs ran', async () => [14, 15, 18].every((t) => gh.prLabels(REPO, prOf(t)).join() === 'remediation-in-progress'));

  expect(Object.values(sent)).toEqual([200, 200, 200, 200, 200]);
  const jobs = await jobsByDelivery();
  expect(['stream-14', 'stream-15', 'stream-16', 'stream-17', 'stream-18'].map((id) => jobs[id] ?? 0)).toEqual([1, 1, 0, 0, 1]);
  for (const t of [16, 17]) await untouched(t);

  expect((await pass()).sort()).toEqual(resynced(16, 17).sort());
  for (const t of [14, 15, 16, 17, 18]) await remediatedOnce(t, before);
  expect(await pass()).toEqual([]);
  console.log('sensor edit: 5 deliveries (GitHub saw 200 for all), 3 Jobs; the 2 published during the rollout repaired in 1 pass');
});

test('exhausted trigger: without create on Jobs the dead-letter trigger records a Warning Event naming the delivery; the reconciler repairs', async () => {
  const before = await w.names();
  const rolePath = `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/roles/agent-cancellation-launch-job`;
  const role = (await admin().request('GET', rolePath)).body;
  await admin().request('PUT', rolePath, { ...role, rules: [] });
  await until('the Sensor denied', async () => !(await sensorMayCreateJobs(NS)));
  const seen = await send(rexPushes(20, 'denied-20'));
  expect(seen).toBe(200);
  const event = await until(
    'the dead-letter Event',
    async () =>
      (await admin().request('GET', `/api/v1/namespaces/${NS}/events?fieldSelector=reason%3DRemediationJobNotCreated`)).body.items.find(
        (e: any) => e.message.includes('denied-20'),
      ),
    120_000,
  );
  expect(event).toMatchObject({
    type: 'Warning',
    involvedObject: { kind: 'Sensor', name: 'agent-cancellation-sensor', namespace: NS },
    message: expect.stringContaining(`delivery denied-20 (push, ${REPO})`),
  });
  expect(Date.parse(event.firstTimestamp)).toBeGreaterThan(w.pushedAt * 1000);
  expect((await jobsByDelivery())['denied-20']).toBeUndefined();
  await untouched(20);

  await admin().request('PUT', rolePath, { ...(await admin().request('GET', rolePath)).body, rules: role.rules });
  await until('the Sensor allowed again', () => sensorMayCreateJobs(NS));
  expect(await pass()).toEqual(resynced(20));
  await remediatedOnce(20, before);
  expect(await pass()).toEqual([]);
  console.log(`exhausted trigger: 1 delivery, GitHub saw ${seen}; 0 Jobs, 1 Warning Event; repaired in 1 pass`);
});

test("GitHub's redelivery: a PR close lost while the bus was down is redelivered by the next pass, keeping its delivery id", async () => {
  const t = 21;
  const before = await w.names();
  const labels = gh.prLabels(REPO, prOf(t));
  await stack.stopBus();
  gh.closePullRequest(REPO, prOf(t));
  const at = new Date(gh.now()).toISOString().replace(/\.[0-9]+Z$/, 'Z');
  const close = pullRequestEndedDelivery({
    action: 'closed',
    repository: REPO,
    branch: branch(t),
    number: prOf(t),
    headSha: sha(t),
    at,
    id: 'close-21',
  });
  expect(await gh.hook.deliver('pull_request', close.id, close.payload)).toBe(500);
  await stack.startBus();
  // A ping is published like any event and matches no dependency: it tells when the EventSource publishes again.
  let pings = 0;
  await until(
    'the EventSource publishing again',
    async () => (await gh.hook.deliver('ping', `ping-${++pings}`, { zen: 'Keep it logically awesome.', hook_id: 1 })) === 200,
  );

  // The resync cannot see a closed PR: only the redelivery brings this event back.
  const first = await w.reconcile();
  expect(first.code).toBe(0);
  expect(first.logs.find((l) => l.step === 'redelivery')).toMatchObject({ redelivered: ['close-21'], gaveUp: [] });
  await gh.hook.settled();
  expect(gh.hook.attempts.filter((a) => a.guid === 'close-21').map((a) => [a.status_code, a.redelivery])).toEqual([
    [500, false],
    [200, true],
  ]);
  await until('task 21 QA runs gone', async () => qaRunsOf(await w.names(), t).length === 0);
  await until('the redelivered Job ran', async () => stack.jobs.some((j) => j.logs.includes('"delivery":"close-21"')));
  expect((await jobsByDelivery())['close-21']).toBe(1);
  expect(deletions(['close-21'])).toEqual(Object.fromEntries(qaRunsOf(before, t).map((n) => [n, 1])));
  expect(gh.prLabels(REPO, prOf(t))).toEqual(labels);

  const second = await w.reconcile();
  expect(second.logs.find((l) => l.step === 'redelivery')).toMatchObject({ redelivered: [], gaveUp: [] });
  const cursor = (await admin().request('GET', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/agent-cancellation-redelivery`)).body;
  expect(JSON.parse(cursor.metadata.annotations['agent-cancellation.5dlabs.io/redelivery-cursor']).lastId).toBe(
    gh.hook.attempts.at(-1)!.id,
  );
  console.log(
    `redelivery: 1 lost PR close (GitHub saw 500), redelivered in 1 pass (200), 1 Job, ${qaRunsOf(before, t).length} runs deleted once; ${pings} ping(s)`,
  );
});

test('odd deliveries: ping, SHA-1 only, form-encoded, around 1 MiB, head_commit null, zeros as head, a zero-padded task id', async () => {
  const before = await w.names();
  const deliver = (d: ReturnType<typeof rexPushes>, options?: Parameters<typeof gh.hook.deliver>[3]) =>
    gh.hook.deliver('push', d.id, d.payload, options);
  /** `d` with a padding field making its JSON body exactly `bytes` long. */
  const sized = (d: ReturnType<typeof rexPushes>, bytes: number) => {
    const base = Buffer.byteLength(JSON.stringify({ ...d.payload, padding: '' }));
    return { ...d, payload: { ...d.payload, padding: 'x'.repeat(bytes - base) } };
  };
  const MiB = 1 << 20;
  const lost = rexPushes(24, 'big-24');
  const outcomes: Record<string, number> = {};
  // Negatives first, positives after: JetStream delivers in order, so once the last positive has its Job every
  // negative has had its chance.
  outcomes.ping = await gh.hook.deliver('ping', 'odd-ping', { zen: 'Design for failure.', hook_id: 1 });
  outcomes['over 1 MiB'] = await deliver(sized(lost, MiB + 1));
  outcomes['just under 1 MiB'] = await deliver(sized({ ...lost, id: 'big-24-b' }, MiB - 64));
  outcomes['zeros as head, deleted false'] = await deliver(w.push(24, 'zeros-24', { after: '0'.repeat(40) }));
  outcomes['SHA-1 only'] = await deliver(rexPushes(22, 'sha1-22'), { signature: 'sha1' });
  outcomes['form-encoded'] = await deliver(rexPushes(23, 'form-23'), { contentType: 'form' });
  const headless = rexPushes(25, 'headless-25');
  outcomes['head_commit null'] = await deliver({ ...headless, payload: { ...headless.payload, head_commit: null } });
  const paddedAt = Math.floor(gh.push(REPO, PADDED, head(7), { name: 'rex', login: BOT }) / 1000);
  outcomes['task-007'] = await deliver(w.push(7, 'padded-7', { ref: `refs/heads/${PADDED}`, after: head(7), pushedAt: paddedAt }));

  expect(outcomes).toEqual({
    ping: 200,
    // The EventSource's maxPayloadSize (1 MiB): refused before reading the rest.
    'over 1 MiB': 400,
    // Read, but the event is larger than nats-server's max_payload (1 MiB): never published.
    'just under 1 MiB': 500,
    'zeros as head, deleted false': 200,
    // go-github checks X-Hub-Signature-256 when sent, else X-Hub-Signature (SHA-1).
    'SHA-1 only': 200,
    // go-github takes the form's `payload` field.
    'form-encoded': 200,
    'head_commit null': 200,
    'task-007': 200,
  });
  const positives = ['sha1-22', 'form-23', 'headless-25', 'padded-7'];
  const runOf = (id: string) => stack.jobs.find((j) => j.logs.includes(`"delivery":"${id}"`));
  await until('the positives ran', async () => positives.every(runOf), 120_000);
  expect(Object.fromEntries(positives.map((id) => [id, runOf(id)!.code]))).toEqual(Object.fromEntries(positives.map((id) => [id, 0])));
  expect([prOf(22), prOf(23), prOf(25), paddedPr].map((n) => gh.prLabels(REPO, n).join())).toEqual(
    Array(4).fill('remediation-in-progress'),
  );
  const jobs = await jobsByDelivery();
  expect(
    ['odd-ping', 'big-24', 'big-24-b', 'zeros-24', 'sha1-22', 'form-23', 'headless-25', 'padded-7'].map((id) => jobs[id] ?? 0),
  ).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
  // task-007 is task 7: the Job selected the runs labelled 7.
  const job = (await admin().request('GET', `/apis/batch/v1/namespaces/${NS}/jobs`)).body.items.find((j: any) =>
    j.spec.template.spec.containers[0].env.some((e: any) => e.name === 'AC_DELIVERY_ID' && e.value === 'padded-7'),
  );
  expect(job.metadata.labels['agent-cancellation.5dlabs.io/task-id']).toBe('7');
  expect(job.spec.template.spec.containers[0].env.find((e: any) => e.name === 'AC_TASK_ID').value).toBe('7');
  await until('task 7 QA runs gone', async () => qaRunsOf(await w.names(), 7).length === 0);
  expect(deletions(['padded-7'])).toEqual(Object.fromEntries(qaRunsOf(before, 7).map((n) => [n, 1])));
  for (const t of [22, 23, 25]) await remediatedOnce(t, before);
  await untouched(24);

  // The push too big for the bus: the resync repairs it.
  expect(await pass()).toEqual(resynced(24));
  await remediatedOnce(24, before);
  console.log(`odd deliveries: ${JSON.stringify(outcomes)}; the lost big push repaired in 1 pass`);
});
