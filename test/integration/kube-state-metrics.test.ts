/**
 * The monitoring's kube-state-metrics series, from the real exporter: kube-state-metrics (built from its Go module)
 * runs against the test apiserver as a ServiceAccount allowed to list and watch Jobs, CronJobs and Leases, while the
 * Job controller and the test node run remediation Jobs to success and to failure, beside the synthesized (suspended)
 * reconciler CronJob with a recorded success and a needs-attention Lease. Every metric name and label matcher an
 * alert or a panel uses on kube-state-metrics must match a series it serves.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { AgentCancellation, Monitoring } from '../../src';
import { ATTENTION_LEASE_PREFIX } from '../../src/contract/attention';
import { parseExposition, scrape, Series, unmatched } from '../fixtures/scrape';
import { binaries } from '../harness/binaries';
import { freePort } from '../harness/control-plane';
import { admin, createNamespace, serviceAccountKubeconfig, until } from '../harness/cluster';
import { startNode, TestNode } from '../harness/node';
import { ownChild } from '../harness/owned';

jest.setTimeout(240_000);

const NS = 'kube-state-metrics';
const KSM = 'kube-state-metrics';
let node: TestNode;
let monitoring: Monitoring;
let url: string;
let stopExporter: (() => Promise<void>) | undefined;

/** A Job named as the Sensor's are (`<name>-` and 5 characters) whose one Pod exits with `code`. */
const remediationJob = (code: number) => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { generateName: 'agent-cancellation-', namespace: NS },
  spec: {
    backoffLimit: 0,
    template: {
      spec: {
        restartPolicy: 'Never',
        serviceAccountName: 'default',
        automountServiceAccountToken: false,
        containers: [{ name: 'remediation', image: 'node', command: ['node', '-e', `process.exit(${code})`] }],
      },
    },
  },
});

beforeAll(async () => {
  await createNamespace(NS);
  node = await startNode([NS]);
  const chart = new AgentCancellation(Testing.app(), 'ksm', {
    config: { namespace: NS, eventsNamespace: NS, monitoring: { enabled: true } },
    disableResourceNameHashes: true,
  });
  monitoring = chart.monitoring!;
  const cron = Testing.synth(chart).find((o) => o.kind === 'CronJob')!;
  // Passes never run here; the success is recorded as the CronJob controller records one.
  await admin().apply({ ...cron, spec: { ...cron.spec, suspend: true } });
  const cronPath = `/apis/batch/v1/namespaces/${NS}/cronjobs/${cron.metadata.name}/status`;
  const recorded = await admin().request(
    'PATCH',
    cronPath,
    { status: { lastSuccessfulTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') } },
    'application/merge-patch+json',
  );
  expect(recorded.status).toBe(200);
  for (const name of [`${ATTENTION_LEASE_PREFIX}0a1b2c3d4e-7`, 'ac-pr-0a1b2c3d4e-7']) {
    await admin().create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: NS }, spec: {} });
  }
  const jobs = [await admin().create(remediationJob(0)), await admin().create(remediationJob(1))];
  await until(
    'both Jobs finished',
    async () => {
      const done = await Promise.all(
        jobs.map(async (j) =>
          (await admin().request('GET', `/apis/batch/v1/namespaces/${NS}/jobs/${j.metadata.name}`)).body.status?.conditions?.some(
            (c: any) => ['Complete', 'Failed'].includes(c.type) && c.status === 'True',
          ),
        ),
      );
      return done.every(Boolean) || undefined;
    },
    90_000,
  ).catch(async (e) => {
    const pods = (await admin().request('GET', `/api/v1/namespaces/${NS}/pods`)).body.items.map((p: any) => [
      p.metadata.name,
      p.spec.nodeName,
      p.status,
    ]);
    const js = (await admin().request('GET', `/apis/batch/v1/namespaces/${NS}/jobs`)).body.items.map((j: any) => [
      j.metadata.name,
      j.status,
    ]);
    throw new Error(`${e.message}\n${JSON.stringify({ pods, js, runs: node.runs }, null, 1).slice(0, 6000)}`);
  });

  // kube-state-metrics as its own ServiceAccount, allowed what its Helm chart grants for these three resources.
  await admin().apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: KSM, namespace: NS } });
  await admin().apply({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: KSM, namespace: NS },
    rules: [
      { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: ['list', 'watch'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['list', 'watch'] },
    ],
  });
  await admin().apply({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: KSM, namespace: NS },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: KSM },
    subjects: [{ kind: 'ServiceAccount', name: KSM, namespace: NS }],
  });
  const { path: kubeconfig } = await serviceAccountKubeconfig(NS, KSM);
  const [port, telemetry] = [await freePort(), await freePort()];
  const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ac-ksm-')), 'kube-state-metrics.log');
  const child = spawn(
    binaries().kubeStateMetrics,
    [
      `--kubeconfig=${kubeconfig}`,
      `--namespaces=${NS}`,
      '--resources=jobs,cronjobs,leases',
      '--host=127.0.0.1',
      `--port=${port}`,
      '--telemetry-host=127.0.0.1',
      `--telemetry-port=${telemetry}`,
    ],
    { stdio: ['ignore', fs.openSync(log, 'a'), fs.openSync(log, 'a')] },
  );
  stopExporter = ownChild('kube-state-metrics', child);
  url = `http://127.0.0.1:${port}/metrics`;
  await until(
    'kube-state-metrics serving',
    async () => (await scrape(url).catch(() => '')).includes('kube_job_failed') || undefined,
    60_000,
  ).catch((e) => {
    throw new Error(`${e.message}\n${fs.readFileSync(log, 'utf8').slice(-3000)}`);
  });
});

afterAll(async () => {
  await stopExporter?.();
  await node?.stop();
});

test('kube-state-metrics serves every series the alerts and the dashboard use', async () => {
  const selectors = monitoring.selectors.filter((s) => s.metric.startsWith('kube_'));
  expect(selectors.length).toBeGreaterThan(5);
  // Its informers fill in as they sync: wait until nothing is missing, then check once more.
  let scraped: Series[] = [];
  await until(
    'every selector met',
    async () => {
      scraped = parseExposition(await scrape(url));
      return unmatched(selectors, scraped).length === 0 || undefined;
    },
    60_000,
  ).catch(() => undefined);
  expect(unmatched(selectors, scraped)).toEqual([]);
  const failed = scraped.filter((s) => s.name === 'kube_job_failed' && s.labels.condition === 'true' && s.value === 1);
  expect(failed.map((s) => s.labels.namespace)).toEqual([NS]);
  // The check can fail: a Lease label kube-state-metrics does not export.
  expect(unmatched([{ metric: 'kube_lease_labels', matchers: [['namespace', '=', NS]] }], scraped)).toHaveLength(1);
  console.log(`kube-state-metrics: ${scraped.length} samples; ${selectors.length} selectors of the alerts and panels all met`);
});
