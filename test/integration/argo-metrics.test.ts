/**
 * The monitoring's Argo Events series, from the real processes: with monitoring synthesized (its PodMonitors and
 * PrometheusRule accepted by the apiserver under prometheus-operator's CRDs), the Sensor's and the EventSource's
 * /metrics are scraped after a push whose Job is created, and again after a push and a PR close whose triggers
 * fail (the Sensor may not create Jobs). Every metric name and label matcher an alert or a panel uses on these
 * exporters must then match a scraped series.
 */
import { argoWorld, ArgoWorld, SECRET, sensorMayCreateJobs, sha } from '../fixtures/argo-world';
import { pullRequestEndedDelivery } from '../fixtures/github-deliveries';
import { REPO } from '../fixtures/remediation-env';
import { parseExposition, Series, unmatched } from '../fixtures/scrape';
import { admin } from '../harness/cluster';
import { Testing } from 'cdk8s';
import { AgentCancellation, Monitoring } from '../../src';

jest.setTimeout(300_000);

const NS = 'argo-metrics';
let w: ArgoWorld;

beforeAll(async () => {
  w = await argoWorld(NS, [1, 2, 3], { monitoring: { enabled: true, labels: { release: 'kube-prometheus-stack' } } });
});
afterAll(() => w?.stop());

/** The Monitoring of the installation the stack runs, as argoWorld synthesized it. */
function monitoring(): Monitoring {
  const config = { namespace: NS, eventsNamespace: NS, monitoring: { enabled: true } };
  return new AgentCancellation(Testing.app(), 'm', { config, disableResourceNameHashes: true }).monitoring!;
}

async function scrapeBoth(): Promise<{ sensor: Series[]; eventSource: Series[] }> {
  return {
    sensor: parseExposition(await w.stack.metrics('sensor')),
    eventSource: parseExposition(await w.stack.metrics('eventsource')),
  };
}

const value = (series: Series[], name: string, labels: Record<string, string>) =>
  series.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);

test('the Sensor and the EventSource serve every series the alerts and the dashboard use', async () => {
  const m = monitoring();
  expect(m.alerts.length).toBeGreaterThan(0);
  for (const kind of ['PodMonitor', 'PrometheusRule']) {
    const plural = kind === 'PodMonitor' ? 'podmonitors' : 'prometheusrules';
    const listed = (await admin().request('GET', `/apis/monitoring.coreos.com/v1/namespaces/${NS}/${plural}`)).body.items;
    expect(listed.length).toBeGreaterThan(0);
  }
  const sensor = { namespace: NS, sensor_name: 'agent-cancellation-sensor' };

  // A push whose Job the Sensor creates.
  expect(await w.stack.deliver('push', 'metrics-ok-1', w.push(1, 'metrics-ok-1').payload, SECRET)).toBe(200);
  await w.until('the Job created', async () => (await w.stack.createdJobs()).length === 1);
  const ok = await w.until('the trigger counted', async () => {
    const s = await scrapeBoth();
    return value(s.sensor, 'argo_events_action_triggered_total', { ...sensor, trigger_name: 'launch-remediation-job' }) === 1 && s;
  });
  expect(value(ok.sensor, 'argo_events_action_duration_milliseconds_count', { ...sensor, trigger_name: 'launch-remediation-job' })).toBe(1);
  expect(value(ok.eventSource, 'argo_events_events_sent_total', { namespace: NS, eventsource_name: 'agent-cancellation-github' })).toBe(1);

  // The Sensor loses create on Jobs: a push and a PR close exhaust their triggers' retries.
  const rolePath = `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/roles/agent-cancellation-launch-job`;
  const role = (await admin().request('GET', rolePath)).body;
  await admin().request('PUT', rolePath, { ...role, rules: [] });
  await w.until('the Sensor denied', async () => !(await sensorMayCreateJobs(NS)));
  expect(await w.stack.deliver('push', 'metrics-denied-2', w.push(2, 'metrics-denied-2').payload, SECRET)).toBe(200);
  w.gh.closePullRequest(REPO, 3);
  const close = pullRequestEndedDelivery({
    action: 'closed',
    repository: REPO,
    branch: 'feature/task-3-implementation',
    number: 3,
    headSha: sha(3),
    at: new Date(w.gh.now()).toISOString().replace(/\.[0-9]+Z$/, 'Z'),
    id: 'metrics-close-3',
  });
  expect(await w.stack.deliver('pull_request', close.id, close.payload, SECRET)).toBe(200);
  const failed = await w.until(
    'both dead-letter triggers counted',
    async () => {
      const s = await scrapeBoth();
      const fired = ['launch-remediation-job-dropped', 'launch-pr-ended-job-dropped'].every(
        (t) => value(s.sensor, 'argo_events_action_triggered_total', { ...sensor, trigger_name: t }) === 1,
      );
      return fired && s;
    },
    180_000,
  );
  for (const trigger of ['launch-remediation-job', 'launch-pr-ended-job']) {
    expect(value(failed.sensor, 'argo_events_action_retries_failed_total', { ...sensor, trigger_name: trigger })).toBe(1);
    expect(value(failed.sensor, 'argo_events_action_failed_total', { ...sensor, trigger_name: trigger })).toBeGreaterThan(1);
  }
  await admin().request('PUT', rolePath, { ...(await admin().request('GET', rolePath)).body, rules: role.rules });

  const argoSelectors = m.selectors.filter((s) => s.metric.startsWith('argo_events_'));
  expect(argoSelectors.length).toBeGreaterThan(5);
  const scraped = [...ok.sensor, ...ok.eventSource, ...failed.sensor, ...failed.eventSource];
  expect(unmatched(argoSelectors, scraped)).toEqual([]);
  // The check can fail: a name Argo does not export, and a trigger the Sensor does not have.
  expect(unmatched([{ metric: 'argo_events_action_failures_total', matchers: [] }], scraped)).toHaveLength(1);
  expect(
    unmatched([{ metric: 'argo_events_action_failed_total', matchers: [['trigger_name', '=~', 'launch-remediation-job|x']] }], scraped),
  ).toEqual(['argo_events_action_failed_total{trigger_name=~"x"}']);
  console.log(`scraped ${scraped.length} samples; ${argoSelectors.length} Argo selectors of the alerts and panels all met`);
});
