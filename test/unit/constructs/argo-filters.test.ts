/**
 * The synthesized Sensor run by Argo Events' own code (dependencies.Filter and triggers.ApplyResourceParameters,
 * through test/argo-eval) over deliveries shaped like GitHub's real payloads.
 */
import { argoEvaluate } from '../../fixtures/argo-eval';
import { envByName } from '../../fixtures/container-env';
import { Delivery, pullRequestDelivery, pullRequestEndedDelivery, pushDelivery, tagPushDelivery } from '../../fixtures/github-deliveries';
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
  Object.fromEntries(
    logins.map((l, i) => [
      l,
      matches(
        sensor,
        logins.map((login) => pushDelivery({ login, repository: REPO, ref: TASK_REF })),
      )[i],
    ]),
  );

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

test('real platform preset: every repository of the organization, and no other owner, even by prefix', () => {
  const sensor = sensorOf(preset('5dlabs-cto'));
  const push = (repository: string) => pushDelivery({ login: 'rex-5dlabs[bot]', repository, ref: TASK_REF });
  const repositories = [REPO, '5dlabs/other-project', '5DLabs/Web', 'other/cto', '5dlabs-evil/cto', 'x5dlabs/cto'];
  expect(matches(sensor, repositories.map(push))).toEqual([true, true, true, false, false, false]);
});

test('an allowlist of two repositories: exactly those, whatever their case', () => {
  const cto = preset('5dlabs-cto');
  const sensor = sensorOf({ ...cto, github: { ...cto.github, repositories: [REPO, '5dlabs/web'] } });
  const push = (repository: string) => pushDelivery({ login: 'rex-5dlabs[bot]', repository, ref: TASK_REF });
  expect(matches(sensor, [push(REPO), push('5DLABS/WEB'), push('5dlabs/web-fork'), push('5dlabs/other')])).toEqual([
    true,
    true,
    false,
    false,
  ]);
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
    [
      'a task branch with a non-numeric id',
      false,
      pushDelivery({ login: bot, repository: REPO, ref: 'refs/heads/feature/task-x-implementation' }),
    ],
    ['a task branch with a suffix', false, pushDelivery({ login: bot, repository: REPO, ref: `${TASK_REF}-old` })],
    [
      'a task branch under another prefix',
      false,
      pushDelivery({ login: bot, repository: REPO, ref: 'refs/heads/x/feature/task-42-implementation' }),
    ],
    ['a tag push', false, tagPushDelivery(bot, REPO)],
    ['a branch deletion', false, pushDelivery({ login: bot, repository: REPO, ref: TASK_REF, deleted: true, after: '0'.repeat(40) })],
    ['zeros as head but deleted false', false, pushDelivery({ login: bot, repository: REPO, ref: TASK_REF, after: '0'.repeat(40) })],
    ['zeros as a SHA-256 head', false, pushDelivery({ login: bot, repository: REPO, ref: TASK_REF, after: '0'.repeat(64) })],
    ['a head with zeros in it', true, pushDelivery({ login: bot, repository: REPO, ref: TASK_REF, after: '0'.repeat(39) + '1' })],
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
      pushDelivery({
        login: '5DLabs-Rex[bot]',
        repository: REPO,
        ref: 'refs/heads/feature/task-1234-implementation',
        after: sha,
        id: 'delivery-1',
        pushedAt: 1764158400,
        before,
      }),
    ]);
    expect(r.error).toBeUndefined();
    // pushed_at is a JSON number: Argo writes its digits, which the Job reads as epoch seconds.
    expect(envByName(r.resource!.spec.template.spec.containers[0])).toMatchObject({
      AC_REPOSITORY: REPO,
      AC_BRANCH: 'feature/task-1234-implementation',
      AC_HEAD_SHA: sha,
      AC_DELIVERY_ID: 'delivery-1',
      AC_TASK_ID: '1234',
      AC_PUSHED_AT: '1764158400',
      AC_BEFORE_SHA: before,
      AC_EVENT: 'push',
      AC_PR_NUMBER: '',
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
    expect(envByName(ok.resource!.spec.template.spec.containers[0]).AC_TASK_ID).toBe('7');
    expect(dotless.matched).toBe(false);
  });
});

// The platform labels task 7's runs `7`: the Job and its label get the id without leading zeros, for both events.
test.each([
  ['7', '7'],
  ['007', '7'],
  ['0', '0'],
  ['000', '0'],
  ['070', '70'],
])('branch task-%s: AC_TASK_ID and the task label are %s', (id, taskId) => {
  const sensor = sensorOf(preset('card'));
  const branch = `feature/task-${id}-implementation`;
  const results = argoEvaluate(sensor, [
    pushDelivery({ login: '5DLabs-Rex[bot]', repository: REPO, ref: `refs/heads/${branch}` }),
    pullRequestEndedDelivery({ action: 'closed', repository: REPO, branch, at: '2026-11-26T12:00:00Z' }),
  ]);
  for (const r of results) {
    expect(r.error).toBeUndefined();
    const env = r.resource!.spec.template.spec.containers[0].env;
    expect([
      env.find((e: any) => e.name === 'AC_TASK_ID').value,
      r.resource!.metadata.labels['agent-cancellation.5dlabs.io/task-id'],
    ]).toEqual([taskId, taskId]);
    expect(env.find((e: any) => e.name === 'AC_BRANCH').value).toBe(branch);
  }
});

describe("a task branch's PR closed, merged or converted to draft, run by Argo Events", () => {
  const sensor = sensorOf(preset('card'));
  const BRANCH = 'feature/task-42-implementation';
  const ended = (o: Partial<Parameters<typeof pullRequestEndedDelivery>[0]> = {}) =>
    pullRequestEndedDelivery({ action: 'closed', repository: REPO, branch: BRANCH, ...o });
  const cases: Array<[string, boolean, Delivery]> = [
    ['closed by a person', true, ended()],
    ["merged by the platform's bot", true, ended({ merged: true, login: 'merge-bot[bot]' })],
    ['converted to draft', true, ended({ action: 'converted_to_draft' })],
    ['the repository in other case', true, ended({ repository: '5DLabs/CTO', headRepository: '5DLabs/CTO' })],
    ['reopened', false, ended({ action: 'reopened' })],
    ['ready for review', false, ended({ action: 'ready_for_review' })],
    ['synchronize', false, ended({ action: 'synchronize' })],
    ['an action with closed inside it', false, ended({ action: 'unclosed' })],
    ['an action with closed as prefix', false, ended({ action: 'closed_x' })],
    ['a non-task branch', false, ended({ branch: 'main' })],
    ['a task branch given as a ref', false, ended({ branch: `refs/heads/${BRANCH}` })],
    ['a task branch with a suffix', false, ended({ branch: `${BRANCH}-old` })],
    ['a task branch under another prefix', false, ended({ branch: `x/${BRANCH}` })],
    ['another repository', false, ended({ repository: '5dlabs/other', headRepository: '5dlabs/other' })],
    ['a repository with the allowed one as prefix', false, ended({ repository: '5dlabs/cto-fork', headRepository: '5dlabs/cto-fork' })],
    ["a fork's PR with a task branch name", false, ended({ headRepository: 'evil/cto' })],
    ['an issue closed, every other field matching', false, { ...ended(), event: 'issues' }],
    ['a time in another shape', false, ended({ at: '2026-11-26 12:00:00' })],
  ];

  test.each(cases)('%s -> matched: %s', (_name, expected, delivery) => {
    const [r] = argoEvaluate(sensor, [delivery]);
    expect(r.error).toBeUndefined();
    expect([r.matched, r.triggers ?? []]).toEqual([expected, expected ? ['launch-pr-ended-job'] : []]);
  });

  test('a bot push fires only the push trigger', () => {
    const [r] = argoEvaluate(sensor, [pushDelivery({ login: '5DLabs-Rex[bot]', repository: REPO, ref: `refs/heads/${BRANCH}` })]);
    expect(r.triggers).toEqual(['launch-remediation-job']);
  });

  test.each([
    ['closed', '2026-11-26T12:00:00Z'],
    ['converted_to_draft', '2026-11-26T12:00:07Z'],
  ])('%s: the Job gets the PR, the event and its time as epoch seconds', (action, at) => {
    const sha = 'c'.repeat(40);
    const [r] = argoEvaluate(sensor, [ended({ action, at, number: 17, headSha: sha, id: 'delivery-pr' })]);
    expect(r.error).toBeUndefined();
    expect(envByName(r.resource!.spec.template.spec.containers[0])).toMatchObject({
      AC_REPOSITORY: REPO,
      AC_BRANCH: BRANCH,
      AC_HEAD_SHA: sha,
      AC_DELIVERY_ID: 'delivery-pr',
      AC_TASK_ID: '42',
      AC_PUSHED_AT: String(Date.parse(at) / 1000),
      AC_BEFORE_SHA: sha,
      AC_EVENT: action,
      AC_PR_NUMBER: '17',
    });
    expect(r.resource!.metadata.labels['agent-cancellation.5dlabs.io/task-id']).toBe('42');
  });
});
