/** The reconciler CronJob: the Job's bundle, identity and settings, run with `reconcile` on a schedule. */
import { Cron, Duration, Testing } from 'cdk8s';
import { AgentCancellation, ReconcilerCronJob } from '../../../src';
import { RECONCILE_ENV, STATIC_ENV } from '../../../src/contract/env';
import { find, synth } from './synth-helpers';

const objects = synth();
const cron = find(objects, 'CronJob');
const pod = cron.spec.jobTemplate.spec.template.spec;
const job = find(objects, 'Sensor').spec.triggers[0].template.k8s.source.resource.spec.template.spec;
const envOf = (p: any) => Object.fromEntries(p.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]));

test('runs the same bundle, image and ServiceAccount as the Job, with the reconcile command', () => {
  expect(pod.serviceAccountName).toBe(job.serviceAccountName);
  expect(pod.containers[0].image).toBe(job.containers[0].image);
  expect(pod.containers[0].command).toEqual([...job.containers[0].command.slice(0, -1), 'reconcile']);
  expect(pod.volumes).toEqual(job.volumes);
  expect(pod.containers[0].securityContext).toEqual(job.containers[0].securityContext);
});

test('carries every installation setting of the Job, and its own defaults', () => {
  const env = envOf(pod);
  const jobEnv = envOf(job);
  for (const name of Object.values(STATIC_ENV)) expect([name, env[name]]).toEqual([name, jobEnv[name]]);
  expect(env).toMatchObject({
    [RECONCILE_ENV.pendingSeconds]: '300',
    [RECONCILE_ENV.maxFailures]: '3',
    [RECONCILE_ENV.attentionSeconds]: '3600',
    [RECONCILE_ENV.retentionSeconds]: '604800',
    [RECONCILE_ENV.compensateForeignCommits]: 'false',
    // Optional: without the Secret the pod still starts, and alerts are the Event and the Lease label.
    [RECONCILE_ENV.alertWebhookUrl]: { secretKeyRef: { name: 'agent-cancellation-alert-webhook', key: 'url', optional: true } },
  });
});

test('passes never overlap, a failed pass is not retried, history stays short', () => {
  expect(cron.spec).toMatchObject({ schedule: '*/5 * * * *', concurrencyPolicy: 'Forbid', suspend: false, successfulJobsHistoryLimit: 1 });
  expect(cron.spec.jobTemplate.spec.backoffLimit).toBe(0);
  expect(pod.restartPolicy).toBe('Never');
});

test('configuration reaches the CronJob; disabled means no CronJob', () => {
  const custom = find(synth({ reconciler: { schedule: '@hourly', maxFailures: 5, retentionSeconds: 60 } }), 'CronJob');
  // A macro becomes its 5 fields: the construct takes a cdk8s Cron.
  expect(custom.spec.schedule).toBe('0 * * * *');
  expect(envOf(custom.spec.jobTemplate.spec.template.spec)).toMatchObject({
    [RECONCILE_ENV.maxFailures]: '5',
    [RECONCILE_ENV.retentionSeconds]: '60',
  });
  expect(synth({ reconciler: { enabled: false } }).some((o) => o.kind === 'CronJob')).toBe(false);
});

test.each([
  [{ schedule: 'every five minutes' }, 'reconciler.schedule: "every five minutes"'],
  [{ maxFailures: 0 }, 'reconciler.maxFailures: 0'],
  [{ compensateForeignCommits: 'yes' }, 'reconciler.compensateForeignCommits: "yes"'],
  [{ redelivery: { hook: 'org:5dlabs' } }, 'reconciler.redelivery.hook: "org:5dlabs"'],
])('bad configuration %j is rejected naming the field and value', (reconciler, message) => {
  expect(() => new AgentCancellation(Testing.app(), 'bad', { config: { reconciler } as any })).toThrow(message);
});

test.each([
  [{ schedule: Cron.schedule({ minute: '*/5', hour: '* *' }) }, 'schedule: "*/5 * * * * *" must be a cron expression of 5 fields'],
  [{ attentionAfter: Duration.seconds(0) }, 'attentionAfter: 0 seconds must be a whole number of seconds, at least 1'],
  [{ retention: Duration.millis(1500) }, 'retention: 1 second 500 millis must be a whole number of seconds, at least 0'],
  [{ bots: [] }, 'bots: [] must name the implementation bot'],
  [{ branchPattern: 'feature/task' }, 'branchPattern: "feature/task" must contain {id} exactly once'],
  [
    { redelivery: { hook: 'org:5dlabs/x', credentialSecret: { name: 's', key: 'k' }, restUrl: 'https://api.github.com' } },
    'redelivery.hook: "org:5dlabs/x" is not org:<org>/<hook id> or app:<app id>',
  ],
])('the construct checks its own props eagerly: %j', (props, message) => {
  const chart = new AgentCancellation(Testing.app(), 'lib', { config: { reconciler: { enabled: false } } });
  expect(() => new ReconcilerCronJob(chart, 'Reconciler', { job: chart.job, bots: ['rex[bot]'], ...props })).toThrow(message);
});

test('the resync knows the bots and the task branch', () => {
  expect(envOf(pod)).toMatchObject({
    [RECONCILE_ENV.bots]: '5DLabs-Rex[bot],5DLabs-Rex',
    [RECONCILE_ENV.botCommitAuthors]: '',
    [RECONCILE_ENV.branchPattern]: 'feature/task-{id}-implementation',
  });
});

test("GitHub's redelivery: off by default; an organization's hook brings its identity, token and the REST API", () => {
  expect(Object.keys(envOf(pod))).not.toContain(RECONCILE_ENV.redeliveryHook);
  const hook = { hook: 'org:5dlabs/123', credentialSecret: { name: 'hook-reader', key: 'token' } };
  const custom = find(synth({ reconciler: { redelivery: hook } }), 'CronJob');
  expect(envOf(custom.spec.jobTemplate.spec.template.spec)).toMatchObject({
    [RECONCILE_ENV.redeliveryHook]: 'org:5dlabs/123',
    [RECONCILE_ENV.redeliveryToken]: { secretKeyRef: { name: 'hook-reader', key: 'token' } },
    [RECONCILE_ENV.githubRestUrl]: 'https://api.github.com',
    [RECONCILE_ENV.redeliveryCursorLease]: 'agent-cancellation-redelivery',
  });
  // Each installation keeps its own cursor: the Lease follows the name prefix.
  const named = find(synth({ name: 'ac-two', reconciler: { redelivery: hook } }), 'CronJob');
  expect(envOf(named.spec.jobTemplate.spec.template.spec)[RECONCILE_ENV.redeliveryCursorLease]).toBe('ac-two-redelivery');
});
