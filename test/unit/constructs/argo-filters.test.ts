/**
 * The synthesized Sensor run by Argo Events' own code (dependencies.Filter and triggers.ApplyResourceParameters,
 * through test/argo-eval) over deliveries shaped like GitHub's real payloads.
 */
import { argoEvaluate } from '../../fixtures/argo-eval';
import { Delivery, pullRequestDelivery, pushDelivery, tagPushDelivery } from '../../fixtures/github-deliveries';
import { find, preset, synth } from './synth-helpers';

const REPO = '5dlabs/cto';
const TASK_REF = 'refs/heads/feature/task-42-implementation';
const sensorOf = (config = {}) => find(synth(config), 'Sensor');

function matches(sensor: Record<string, any>, deliveries: Delivery[]): boolean[] {
  return argoEvaluate(sensor, deliveries).map((r) => {
    expect(r.error).toBeUndefined();
    return r.matched;
  });
}

const byLogin = (sensor: Record<string, any>, logins: string[]) =>
  Object.fromEntries(logins.map((l, i) => [l, matches(sensor, logins.map((login) => pushDelivery({ login, repository: REPO, ref: TASK_REF })))[i]]));

describe('bot filter, run by Argo Events', () => {
  const lookAlikes = [
    'evil-5DLabs-Rex',
    '5DLabs-Rexbot',
    '5DLabs-Rex[bot]x',
    '5DLabs-Rexb',
    'x5DLabs-Rex',
    '5DLabs-Rex[bot',
    '5DLabs-Re',
    'Codertocat',
    'rex-5dlabs[bot]',
  ];

  test('card, case-insensitive policy: exactly the configured identities and their case variants', () => {
    const sensor = sensorOf(preset('card'));
    const accepted = ['5DLabs-Rex[bot]', '5DLabs-Rex', '5dlabs-rex[bot]', '5DLABS-REX'];
    const result = byLogin(sensor, [...accepted, ...lookAlikes]);
    expect(result).toEqual(Object.fromEntries([...accepted.map((l) => [l, true]), ...lookAlikes.map((l) => [l, false])]));
  });

  test('exact policy: case variants are rejected too', () => {
    const sensor = sensorOf({ github: { botLoginCase: 'exact' } });
    const variants = ['5dlabs-rex[bot]', '5DLABS-REX', '5DLabs-rex'];
    const result = byLogin(sensor, ['5DLabs-Rex[bot]', '5DLabs-Rex', ...variants, ...lookAlikes]);
    expect(result).toEqual(
      Object.fromEntries([['5DLabs-Rex[bot]', true], ['5DLabs-Rex', true], ...[...variants, ...lookAlikes].map((l) => [l, false])]),
    );
  });

  test('real platform preset: only rex-5dlabs[bot]', () => {
    const sensor = sensorOf(preset('5dlabs-cto'));
    expect(byLogin(sensor, ['rex-5dlabs[bot]', 'rex-5dlabs', 'rex-5dlabs[bot]x', '5DLabs-Rex[bot]', 'tess-5dlabs[bot]'])).toEqual({
      'rex-5dlabs[bot]': true,
      'rex-5dlabs': false,
      'rex-5dlabs[bot]x': false,
      '5DLabs-Rex[bot]': false,
      'tess-5dlabs[bot]': false,
    });
  });
});

describe('event, repository and branch filters, run by Argo Events', () => {
  const sensor = sensorOf(preset('card'));
  const bot = '5DLabs-Rex[bot]';
  const cases: Array<[string, boolean, Delivery]> = [
    ['a bot push to a task branch', true, pushDelivery({ login: bot, repository: REPO, ref: TASK_REF })],
    ['the repository in other case', true, pushDelivery({ login: bot, repository: '5DLabs/CTO', ref: TASK_REF })],
    ['another repository', false, pushDelivery({ login: bot, repository: '5dlabs/other', ref: TASK_REF })],
    ['a repository with the allowed one as prefix', false, pushDelivery({ login: bot, repository: '5dlabs/cto-fork', ref: TASK_REF })],
    ['a non-task branch', false, pushDelivery({ login: bot, repository: REPO, ref: 'refs/heads/main' })],
    ['a task branch with a non-numeric id', false, pushDelivery({ login: bot, repository: REPO, ref: 'refs/heads/feature/task-x-implementation' })],
    ['a task branch with a suffix', false, pushDelivery({ login: bot, repository: REPO, ref: `${TASK_REF}-old` })],
    ['a task branch under another prefix', false, pushDelivery({ login: bot, repository: REPO, ref: 'refs/heads/x/feature/task-42-implementation' })],
    ['a tag push', false, tagPushDelivery(bot, REPO)],
    ['a branch deletion', false, pushDelivery({ login: bot, repository: REPO, ref: TASK_REF, deleted: true, after: '0'.repeat(40) })],
    ['a pull_request event with every other field matching', false, pullRequestDelivery({ login: bot, repository: REPO, ref: TASK_REF })],
  ];

  test.each(cases)('%s -> matched: %s', (_name, expected, delivery) => {
    expect(matches(sensor, [delivery])).toEqual([expected]);
  });
});

describe('trigger parameters, applied by Argo Events', () => {
  test('the Job gets the event fields as env and the task id as a label', () => {
    const sensor = sensorOf(preset('card'));
    const sha = 'a'.repeat(40);
    const before = 'b'.repeat(40);
    const [r] = argoEvaluate(sensor, [
      pushDelivery({ login: '5DLabs-Rex[bot]', repository: REPO, ref: 'refs/heads/feature/task-1234-implementation', after: sha, id: 'delivery-1', pushedAt: 1764158400, before }),
    ]);
    expect(r.error).toBeUndefined();
    const env = Object.fromEntries(r.resource!.spec.template.spec.containers[0].env.slice(0, 7).map((e: any) => [e.name, e.value]));
    // pushed_at is a JSON number: Argo writes its digits, which the Job reads as epoch seconds.
    expect(env).toEqual({
      AC_REPOSITORY: REPO,
      AC_BRANCH: 'feature/task-1234-implementation',
      AC_HEAD_SHA: sha,
      AC_DELIVERY_ID: 'delivery-1',
      AC_TASK_ID: '1234',
      AC_PUSHED_AT: '1764158400',
      AC_BEFORE_SHA: before,
    });
    expect(r.resource!.metadata.labels['agent-cancellation.5dlabs.io/task-id']).toBe('1234');
    expect(r.resource!.metadata.generateName).toBe('agent-cancellation-');
  });

  test('a custom branch pattern with regex characters extracts the id', () => {
    const sensor = sensorOf({ github: { branchPattern: 'rex/t{id}.impl' } });
    const [ok, dotless] = argoEvaluate(sensor, [
      pushDelivery({ login: '5DLabs-Rex', repository: REPO, ref: 'refs/heads/rex/t7.impl' }),
      pushDelivery({ login: '5DLabs-Rex', repository: REPO, ref: 'refs/heads/rex/t7ximpl' }),
    ]);
    expect(ok.resource!.spec.template.spec.containers[0].env[4]).toEqual({ name: 'AC_TASK_ID', value: '7' });
    expect(dotless.matched).toBe(false);
  });
});
