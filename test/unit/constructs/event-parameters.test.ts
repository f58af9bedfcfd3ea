/**
 * Each per-event variable of the Job gets its own event field, checked by variable name after Argo Events' own
 * parameter code (test/argo-eval) has applied the Sensor's parameters, for both dependencies; and the same when
 * the Job's env is in another order, so that no value depends on a position.
 */
import { App, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { RemediationJob } from '../../../src';
import { EVENT_ENV } from '../../../src/contract/env';
import { readInput } from '../../../src/job/input';
import { argoEvaluate } from '../../fixtures/argo-eval';
import { Delivery, pullRequestEndedDelivery, pushDelivery } from '../../fixtures/github-deliveries';
import { find, JOB_PROPS, sensorFor, synth } from './synth-helpers';

const REPO = '5dlabs/cto';
const BRANCH = 'feature/task-31-implementation';
const HEAD = 'a'.repeat(40);
const BEFORE = 'b'.repeat(40);

const push = pushDelivery({
  login: '5DLabs-Rex[bot]',
  repository: REPO,
  ref: `refs/heads/${BRANCH}`,
  after: HEAD,
  before: BEFORE,
  pushedAt: 1764158401,
  id: 'push-31',
});
const expectedPush = {
  [EVENT_ENV.repository]: REPO,
  [EVENT_ENV.branch]: BRANCH,
  [EVENT_ENV.headSha]: HEAD,
  [EVENT_ENV.deliveryId]: 'push-31',
  [EVENT_ENV.taskId]: '31',
  [EVENT_ENV.pushedAtMs]: '1764158401',
  [EVENT_ENV.beforeSha]: BEFORE,
  [EVENT_ENV.event]: 'push',
  [EVENT_ENV.prNumber]: '',
};
const ended = (action: string, at: string): [Delivery, Record<string, string>] => [
  pullRequestEndedDelivery({ action, repository: REPO, branch: BRANCH, headSha: HEAD, number: 58, at, id: `${action}-58` }),
  {
    [EVENT_ENV.repository]: REPO,
    [EVENT_ENV.branch]: BRANCH,
    [EVENT_ENV.headSha]: HEAD,
    [EVENT_ENV.deliveryId]: `${action}-58`,
    [EVENT_ENV.taskId]: '31',
    [EVENT_ENV.pushedAtMs]: String(Date.parse(at) / 1000),
    [EVENT_ENV.beforeSha]: HEAD,
    [EVENT_ENV.event]: action,
    [EVENT_ENV.prNumber]: '58',
  },
];
const deliveries: Array<[string, Delivery, Record<string, string>]> = [
  ['push', push, expectedPush],
  ['pull_request closed', ...ended('closed', '2026-11-26T12:00:05Z')],
  ['pull_request converted_to_draft', ...ended('converted_to_draft', '2026-11-26T12:00:09Z')],
];

/** The Job Argo would create for `delivery`, its env by name, and the env of the template it started from. */
function applied(sensor: Record<string, any>, delivery: Delivery) {
  const [r] = argoEvaluate(sensor, [delivery]);
  expect(r.error).toBeUndefined();
  expect(r.matched).toBe(true);
  const byName = (env: k8s.EnvVar[]) => {
    const names = env.map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
    return Object.fromEntries(env.map((e) => [e.name, e.value ?? e.valueFrom]));
  };
  const template = sensor.spec.triggers[0].template.k8s.source.resource;
  return {
    env: byName(r.resource!.spec.template.spec.containers[0].env),
    templateEnv: byName(template.spec.template.spec.containers[0].env),
    taskLabel: r.resource!.metadata.labels['agent-cancellation.5dlabs.io/task-id'],
  };
}

function expectEventEnv(sensor: Record<string, any>, delivery: Delivery, expected: Record<string, string>): void {
  const { env, templateEnv, taskLabel } = applied(sensor, delivery);
  // Every event variable has its field, and every other variable is the template's, untouched.
  expect(env).toEqual({ ...templateEnv, ...expected });
  expect(Object.keys(expected).sort()).toEqual(Object.values(EVENT_ENV).sort());
  expect(taskLabel).toBe(expected[EVENT_ENV.taskId]);
}

describe('each event variable from its own field, by name, through Argo Events', () => {
  const sensor = find(synth(), 'Sensor');

  test.each(deliveries)('%s', (_name, delivery, expected) => expectEventEnv(sensor, delivery, expected));
});

/** The Job with its per-event variables reversed and after another variable: positions differ from EVENT_ENV's. */
class ReorderedJob extends RemediationJob {
  public podTemplate(component: string, args: string[], env: k8s.EnvVar[]): k8s.PodTemplateSpec {
    return super.podTemplate(component, args, [{ name: 'AC_FIRST', value: 'first' }, ...[...env].reverse()]);
  }
}

describe("the Job's env in another order", () => {
  const chart = new Chart(new App(), 'reordered');
  const job = new ReorderedJob(chart, 'Job', { ...JOB_PROPS, namespace: 'agent-platform', repositories: [REPO] });
  sensorFor(chart, job, {
    eventSource: { namespace: 'agent-platform', name: 'github', repositories: [REPO] },
    sensor: { namespace: 'agent-platform', repositories: [REPO], bots: ['5DLabs-Rex[bot]'] },
  });
  const sensor = find(chart.toJson(), 'Sensor');

  test('the event variables are not where EVENT_ENV lists them', () => {
    const env = sensor.spec.triggers[0].template.k8s.source.resource.spec.template.spec.containers[0].env;
    expect(env.slice(0, Object.keys(EVENT_ENV).length).map((e: k8s.EnvVar) => e.name)).not.toEqual(Object.values(EVENT_ENV));
  });

  test.each(deliveries)('%s', (_name, delivery, expected) => expectEventEnv(sensor, delivery, expected));

  test('a name that is not in the env is refused', () => {
    expect(() => job.eventEnvPath('AC_NOPE')).toThrow('eventEnvPath: "AC_NOPE" is not a variable of the Job\'s env');
  });
});

describe("Argo's parameter edges, through its own code", () => {
  const sensor = find(synth(), 'Sensor');
  const pushWith = (change: (payload: any) => void): Delivery => {
    const d = structuredClone(push);
    change(d.payload);
    return d;
  };

  test('a JSON null becomes the string "null" (Argo v1.9.8+): the Job refuses it as bad input, naming the variable', () => {
    const [r] = argoEvaluate(sensor, [pushWith((p) => (p.repository.pushed_at = null))]);
    expect(r.error).toBeUndefined();
    const env = Object.fromEntries(r.resource!.spec.template.spec.containers[0].env.map((e: k8s.EnvVar) => [e.name, e.value]));
    expect(env[EVENT_ENV.pushedAtMs]).toBe('null');
    // Exit 64 fails the Job at once (podFailurePolicy); the reconciler's resync repairs from GitHub's state.
    expect(() => readInput({ ...env, AC_RUN_ID: 'run', GITHUB_TOKEN: 't' })).toThrow(`${EVENT_ENV.pushedAtMs}="null" is not epoch seconds`);
  });

  test('a missing key with no default fails the trigger; its dead-letter trigger still names the delivery', () => {
    const missing = pushWith((p) => delete p.repository.pushed_at);
    const [r] = argoEvaluate(sensor, [missing]);
    expect(r.error).toContain("unable to resolve 'rex-push' parameter value");
    // The dead-letter trigger in place of the trigger: its parameters resolve for the same delivery.
    const dlq = structuredClone(sensor);
    dlq.spec.triggers = [{ template: sensor.spec.triggers[0].dlqTrigger.template }];
    const [recorded] = argoEvaluate(dlq, [missing]);
    expect(recorded.error).toBeUndefined();
    expect(recorded.resource).toMatchObject({
      kind: 'Event',
      type: 'Warning',
      message: expect.stringContaining('delivery push-31 (push, 5dlabs/cto)'),
    });
  });

  test('no parameter writes past the end of the env (Argo would pad the list with null)', () => {
    for (const trigger of sensor.spec.triggers) {
      const env = trigger.template.k8s.source.resource.spec.template.spec.containers[0].env;
      const dests = trigger.template.k8s.parameters.map((p: any) =>
        /^spec\.template\.spec\.containers\.0\.env\.([0-9]+)\.value$/.exec(p.dest),
      );
      const indexes = dests.filter(Boolean).map((m: RegExpExecArray) => Number(m[1]));
      expect(indexes).toHaveLength(Object.keys(EVENT_ENV).length);
      expect(indexes.every((i: number) => i < env.length && Object.values(EVENT_ENV).includes(env[i].name))).toBe(true);
    }
  });
});
