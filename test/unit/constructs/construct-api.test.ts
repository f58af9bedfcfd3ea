/**
 * The constructs used on their own, as another repository composes them: built directly from typed props, with
 * the synthesized values checked.
 */
import { Cron, Duration, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { BotLoginCase, GitHubPushEventSource, ReconcilerCronJob, RemediationJob } from '../../../src';
import { RECONCILE_ENV, STATIC_ENV } from '../../../src/contract/env';
import { find, JOB_PROPS, sensorFor } from './synth-helpers';

const jobProps = { ...JOB_PROPS, namespace: 'cto' };

describe('RemediationSensor and grantLaunch', () => {
  const chart = Testing.chart();
  const job = new RemediationJob(chart, 'Job', jobProps);
  const { sensor } = sensorFor(chart, job, { eventSource: { name: 'org-hook' } });
  const extra = new kplus.ServiceAccount(chart, 'Operator', { metadata: { name: 'operator', namespace: 'ops' } });
  const binding = job.grantLaunch(extra);
  const objects = Testing.synth(chart);

  test('each dependency names the EventSource construct and its event', () => {
    const deps = find(objects, 'Sensor').spec.dependencies;
    expect(deps.map((d: any) => [d.eventSourceName, d.eventName])).toEqual([
      ['org-hook', 'push'],
      ['org-hook', 'push'],
    ]);
  });

  test('grantLaunch returns the one launch binding, and a later call adds its subjects to it', () => {
    expect(binding).toBeInstanceOf(kplus.RoleBinding);
    expect(binding.subjects).toEqual([sensor.serviceAccount, extra]);
    const launch = objects.filter((o) => o.kind === 'RoleBinding' && o.metadata.name === 'agent-cancellation-launch-job');
    expect(launch).toHaveLength(1);
    expect(launch[0].subjects.map((s: any) => `${s.namespace}/${s.name}`)).toEqual(['events/sensor', 'ops/operator']);
    expect(objects.filter((o) => o.kind === 'Role' && o.metadata.name === 'agent-cancellation-launch-job')).toHaveLength(1);
  });
});

describe('typed props reach the manifests', () => {
  const chart = Testing.chart();
  const job = new RemediationJob(chart, 'Job', {
    ...jobProps,
    image: 'registry.example/agent-cancellation:2',
    activeDeadline: Duration.minutes(20),
    ttlAfterFinished: Duration.hours(2),
    githubDeadline: Duration.minutes(10),
    githubRequestTimeout: Duration.millis(2500),
    leaseDuration: Duration.seconds(90),
    lockWait: Duration.minutes(3),
  });
  new ReconcilerCronJob(chart, 'Reconciler', {
    job,
    bots: ['rex-5dlabs[bot]'],
    botLoginCase: BotLoginCase.EXACT,
    schedule: Cron.schedule({ minute: '15', hour: '*/2' }),
    pendingAfter: Duration.minutes(10),
    attentionAfter: Duration.hours(2),
    retention: Duration.days(3),
  });
  sensorFor(chart, job, {
    eventSource: { port: 13000 },
    sensor: { botLoginCase: BotLoginCase.EXACT, retry: { steps: 3, duration: Duration.seconds(2), factor: 3, jitter: 0.5 } },
  });
  const objects = Testing.synth(chart);
  const envOf = (spec: any) => Object.fromEntries(spec.containers[0].env.map((e: any) => [e.name, e.value]));

  test('RemediationJob: Durations in seconds (the request timeout in ms), the image of JobMode.IMAGE', () => {
    const resource = job.manifest;
    expect(resource.spec).toMatchObject({ activeDeadlineSeconds: 1200, ttlSecondsAfterFinished: 7200 });
    expect(resource.spec.template.spec.containers[0].image).toBe('registry.example/agent-cancellation:2');
    expect(envOf(resource.spec.template.spec)).toMatchObject({
      [STATIC_ENV.deadlineSeconds]: '600',
      [STATIC_ENV.githubRequestTimeoutMs]: '2500',
      [STATIC_ENV.leaseDurationSeconds]: '90',
      [STATIC_ENV.lockWaitSeconds]: '180',
    });
    expect(objects.some((o) => o.kind === 'ConfigMap')).toBe(false);
  });

  test('ReconcilerCronJob: the Cron expression, the Durations in seconds and the login case', () => {
    const cron = find(objects, 'CronJob');
    expect(cron.spec.schedule).toBe('15 */2 * * *');
    expect(envOf(cron.spec.jobTemplate.spec.template.spec)).toMatchObject({
      [RECONCILE_ENV.pendingSeconds]: '600',
      [RECONCILE_ENV.attentionSeconds]: '7200',
      [RECONCILE_ENV.retentionSeconds]: '259200',
      [RECONCILE_ENV.botLoginCase]: 'exact',
    });
  });

  test('RemediationSensor: the retry duration in seconds, and an exact login match', () => {
    const sensor = find(objects, 'Sensor');
    expect(sensor.spec.triggers[0].retryStrategy).toEqual({ steps: 3, duration: '2s', factor: 3, jitter: 0.5 });
    expect(sensor.spec.dependencies[0].filters.data.find((f: any) => f.path === 'body.sender.login').value).toEqual([
      '^(?:rex-5dlabs\\[bot\\])$',
    ]);
  });

  test('GitHubPushEventSource: its port on the service and the webhook', () => {
    const es = find(objects, 'EventSource');
    expect(es.spec.service.ports[0].port).toBe(13000);
    expect(es.spec.github.push.webhook.port).toBe('13000');
  });
});

test('GitHubPushEventSource takes repositories or organizations, exactly one, as Argo Events requires', () => {
  const make = (over: object) => () =>
    new GitHubPushEventSource(Testing.chart(), 'EventSource', {
      namespace: 'events',
      name: 'hook',
      webhookSecret: { name: 'w', key: 's' },
      ...over,
    });
  expect(make({ repositories: ['5dlabs/cto'], organizations: ['5dlabs'] })).toThrow(
    'repositories: ["5dlabs/cto"], organizations: ["5dlabs"]: set exactly one of them',
  );
  expect(make({})).toThrow('repositories: [], organizations: []: set exactly one of them');
  const chart = Testing.chart();
  new GitHubPushEventSource(chart, 'EventSource', {
    namespace: 'events',
    name: 'hook',
    webhookSecret: { name: 'w', key: 's' },
    organizations: ['5dlabs'],
  });
  expect(find(Testing.synth(chart), 'EventSource').spec.github.push.organizations).toEqual(['5dlabs']);
});

describe('Durations are checked where they enter, naming the prop and the value', () => {
  const make = (over: object) => () => new RemediationJob(Testing.chart(), 'Job', { ...jobProps, ...over });

  test.each([
    [{ activeDeadline: Duration.millis(60500) }, 'activeDeadline: 1 minute 500 millis must be a whole number of seconds, at least 30'],
    [{ activeDeadline: Duration.seconds(20) }, 'activeDeadline: 20 seconds must be a whole number of seconds, at least 30'],
    [{ leaseDuration: Duration.seconds(4) }, 'leaseDuration: 4 seconds must be a whole number of seconds, at least 5'],
    [{ githubDeadline: Duration.seconds(1) }, 'githubDeadline: 1 second must be a whole number of seconds, at least 5'],
    [{ githubRequestTimeout: Duration.millis(50) }, 'githubRequestTimeout: 50 millis must be a whole number of milliseconds, at least 100'],
    [{ mode: 'zip' }, 'mode: "zip" must be one of configmap, image'],
  ])('RemediationJob %j', (over, message) => {
    expect(make(over)).toThrow(message);
  });

  test('RemediationSensor: a retry duration under a second is refused', () => {
    const chart = Testing.chart();
    const job = new RemediationJob(chart, 'Job', jobProps);
    expect(() => sensorFor(chart, job, { sensor: { retry: { duration: Duration.millis(500) } } })).toThrow(
      'retry.duration: 500 millis must be a whole number of seconds, at least 1',
    );
  });
});
