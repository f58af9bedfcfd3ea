/**
 * The remediation Job as the cluster runs it: created from the synthesized template, its Pod made by the real
 * Job controller, bound to and run by the test node (test/harness/node.ts) with in-cluster credentials (the
 * projected ServiceAccount token, KUBERNETES_SERVICE_HOST/PORT, no kubeconfig), its exit code written to the Pod
 * status; the Job controller then decides success, retry (backoffLimit) or failure (podFailurePolicy), and the
 * TTL controller removes finished Jobs. The reconciler CronJob on a one-minute schedule runs a real pass.
 */
import * as path from 'path';
import { Testing } from 'cdk8s';
import { AgentCancellation, EXIT, loadConfigFile } from '../../src';
import { EVENT_ENV, STATIC_ENV } from '../../src/contract/env';
import { admin, codeRunNames, createNamespace, PRESETS, repoRoot, seedCodeRuns, until } from '../harness/cluster';
import { startNode, TestNode } from '../harness/node';
import { GitHubTestServer } from '../github-server/server';

jest.setTimeout(300_000);

const NS = 'node-jobs';
const CRON_NS = 'node-cron';
const REPO = '5dlabs/cto';
const TTL_SECONDS = 5;
const shaOf = (taskId: number) => taskId.toString(16).padStart(40, 'c');
const jobPath = (ns: string, name = '') => `/apis/batch/v1/namespaces/${ns}/jobs${name ? `/${name}` : ''}`;

let gh: GitHubTestServer;
let node: TestNode;
let objects: Record<string, any>[];
let seededAt = 0;

/** The card installation pointed at the GitHub test server, with its token Secret; returns the objects. */
async function install(namespace: string, extra: Record<string, any> = {}): Promise<Record<string, any>[]> {
  await createNamespace(namespace);
  const config = { ...loadConfigFile(path.join(repoRoot, 'presets', 'card.yaml')), namespace, eventsNamespace: namespace, ...extra };
  config.github = { ...config.github, graphqlUrl: gh.url };
  config.job = { ...config.job, ttlSecondsAfterFinished: TTL_SECONDS, backoffLimit: 1 };
  const synthesized = Testing.synth(new AgentCancellation(Testing.app(), 'test', { config, disableResourceNameHashes: true }));
  for (const o of synthesized) await admin().apply(o);
  await admin().apply({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: config.github.tokenSecret!.name, namespace },
    stringData: { [config.github.tokenSecret!.key]: gh.token },
  });
  return synthesized;
}

/** A Job as the Sensor creates it for a push of `taskId`, with `env` overriding the template's values by name. */
async function createJob(taskId: number, env: Record<string, string> = {}): Promise<string> {
  const job = structuredClone(objects.find((o) => o.kind === 'Sensor')!.spec.triggers[0].template.k8s.source.resource);
  const values: Record<string, string> = {
    [EVENT_ENV.repository]: REPO,
    [EVENT_ENV.branch]: `feature/task-${taskId}-implementation`,
    [EVENT_ENV.headSha]: shaOf(taskId),
    [EVENT_ENV.deliveryId]: `node-${taskId}-${Date.now()}`,
    [EVENT_ENV.taskId]: String(taskId),
    [EVENT_ENV.pushedAtMs]: String(seededAt + 6),
    [EVENT_ENV.beforeSha]: '0'.repeat(40),
    [EVENT_ENV.event]: 'push',
    ...env,
  };
  for (const e of job.spec.template.spec.containers[0].env) if (e.name in values) e.value = values[e.name];
  return (await admin().create(job)).metadata.name;
}

async function finished(name: string): Promise<any> {
  return until(`Job ${name} finished`, async () => {
    const job = (await admin().request('GET', jobPath(NS, name))).body;
    return job.status?.conditions?.some((c: any) => ['Complete', 'Failed'].includes(c.type) && c.status === 'True') ? job : undefined;
  });
}

const runsOf = (job: string) => node.runs.filter((r) => r.job === job);

beforeAll(async () => {
  gh = await GitHubTestServer.start();
  gh.addRepository(REPO);
  // No reconciler here: its passes would share the node with the Jobs under test.
  objects = await install(NS, { reconciler: { enabled: false } });
  node = await startNode([NS, CRON_NS]);
  for (const t of [7, 8, 9]) {
    gh.setBranch(REPO, `feature/task-${t}-implementation`, shaOf(t));
    gh.openPullRequest(REPO, `feature/task-${t}-implementation`, ['ready-for-qa']);
  }
  gh.addLabel(REPO, 'remediation-in-progress');
  await seedCodeRuns(NS, PRESETS.card, [7, 8, 9]);
  seededAt = Math.ceil(Date.now() / 1000);
});
afterAll(async () => {
  await node?.stop();
  await gh?.stop();
});

test("a push's Job runs in a Pod with in-cluster credentials, cancels its task's QA runs, completes, and is removed after its TTL", async () => {
  const before = await codeRunNames(NS, PRESETS.card.group);
  const name = await createJob(7);
  const job = await finished(name);
  const [run] = runsOf(name);
  expect([
    job.status.conditions.find((c: any) => c.status === 'True' && ['Complete', 'Failed'].includes(c.type)).type,
    run.code,
    run.stdout,
    run.stderr,
  ]).toEqual(['Complete', EXIT.done, expect.stringContaining('"outcome":"done"'), '']);
  // The Pod's status carries the exit code and the termination log, as a kubelet writes them.
  expect(JSON.parse(run.message)).toMatchObject({ kind: 'done' });
  const after = await codeRunNames(NS, PRESETS.card.group);
  expect(before.filter((n) => !after.includes(n)).sort()).toEqual(before.filter((n) => /^cto-t7-(quality|testing)-/.test(n)).sort());
  expect(gh.prLabels(REPO, 1)).toEqual(['remediation-in-progress']);
  await until(
    'the TTL controller removing the Job',
    async () => ((await admin().request('GET', jobPath(NS, name))).status === 404 ? true : undefined),
    120_000,
  );
});

test.each([
  ['64 (bad input)', EXIT.badInput, { [EVENT_ENV.headSha]: 'not-a-sha' }],
  [
    '78 (needs attention)',
    EXIT.needsAttention,
    { [EVENT_ENV.repository]: '5dlabs/unknown', [STATIC_ENV.allowedRepositories]: '5dlabs/unknown' },
  ],
])('exit %s fails the Job at once through podFailurePolicy: one Pod, no retry', async (_, code, env) => {
  const name = await createJob(8, env);
  const job = await finished(name);
  const failed = job.status.conditions.find((c: any) => c.type === 'Failed');
  expect([failed?.reason, job.status.failed, runsOf(name).map((r) => r.code)]).toEqual(['PodFailurePolicy', 1, [code]]);
  expect(runsOf(name)[0].message).toContain(`exit ${code}:`);
});

test('exit 75 (GitHub down past the deadline) is retried: backoffLimit 1 gives two Pods, then BackoffLimitExceeded', async () => {
  gh.outage(true);
  try {
    const name = await createJob(9, { [STATIC_ENV.deadlineSeconds]: '2' });
    const job = await finished(name);
    const failed = job.status.conditions.find((c: any) => c.type === 'Failed');
    expect([failed?.reason, job.status.failed, runsOf(name).map((r) => r.code)]).toEqual([
      'BackoffLimitExceeded',
      2,
      [EXIT.retryable, EXIT.retryable],
    ]);
  } finally {
    gh.outage(false);
  }
});

test('the reconciler CronJob on a one-minute schedule runs a real pass in a Pod', async () => {
  await install(CRON_NS, { reconciler: { schedule: '* * * * *' } });
  const run = await until('a reconciler pass', async () => node.runs.find((r) => r.namespace === CRON_NS));
  expect([run.code, run.stdout, run.stderr]).toEqual([EXIT.done, expect.stringContaining('"step":"reconcile-done"'), '']);
  // The CronJob controller names its Jobs after the CronJob.
  expect(run.job).toMatch(/^agent-cancellation-reconciler-\d+$/);
});
