import { DEFAULTS } from '../../../src';
import { EVENT_ENV, RECONCILE_ENV, STATIC_ENV } from '../../../src/contract/env';
import { readInput, readReconcileInput } from '../../../src/job/input';
import { kubeletEnv } from '../../harness/cluster';
import { find, synth } from '../constructs/synth-helpers';

const good: Record<string, string> = {
  AC_REPOSITORY: '5dlabs/cto',
  AC_BRANCH: 'feature/task-7-implementation',
  AC_HEAD_SHA: 'a'.repeat(40),
  AC_DELIVERY_ID: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
  AC_TASK_ID: '7',
  AC_NAMESPACE: 'agent-platform',
  AC_CODERUN_GROUP: 'platform.5dlabs.com',
  AC_CODERUN_VERSION: 'v1',
  AC_CODERUN_PLURAL: 'coderuns',
  AC_QA_SELECTOR: 'agent-type in (cleo,tess),agent-type!=rex',
  AC_TASK_ID_LABEL: 'task-id',
  AC_ALLOWED_REPOSITORIES: '5DLabs/CTO,5dlabs/other',
  AC_LABEL_READY: 'ready-for-qa',
  AC_LABEL_REMEDIATION: 'remediation-in-progress',
  AC_LABEL_REMEDIATION_COLOR: 'd93f0b',
  AC_GITHUB_GRAPHQL_URL: 'https://api.github.com/graphql',
  GITHUB_TOKEN: 'secret-token',
  AC_PUSHED_AT: '1764158400',
  AC_BEFORE_SHA: '0'.repeat(40),
  AC_EVENT: 'push',
  AC_PR_NUMBER: '',
  AC_RUN_ID: 'agent-cancellation-x7k2p',
  AC_LABEL_REMEDIATION_DESCRIPTION: '',
  AC_DEADLINE_SECONDS: '300',
  AC_GITHUB_REQUEST_TIMEOUT_MS: '20000',
  AC_LEASE_DURATION_SECONDS: '60',
  AC_LOCK_WAIT_SECONDS: '120',
  AC_SKIP_EXIT_CODE: '3',
  AC_CLOCK_SKEW_SECONDS: '5',
  AC_REVISION_FROM: '',
  AC_MODE: 'enforce',
  AC_OPT_OUT_LABEL: '',
  AC_REPOSITORY_FROM: 'label:service',
  AC_REPOSITORY_FORMAT: '{name}',
  AC_REPOSITORY_HOST: 'github.com',
  AC_PHASE_FROM: 'field:status.phase',
  AC_FINISHED_PHASES: 'Succeeded,Failed',
};
const reconciler = {
  ...good,
  AC_BOTS: '5DLabs-Rex[bot], 5DLabs-Rex',
  AC_BOT_COMMIT_AUTHORS: '',
  AC_BOT_LOGIN_CASE: 'insensitive',
  AC_BRANCH_PATTERN: 'feature/task-{id}-implementation',
  AC_RECONCILE_PENDING_SECONDS: '300',
  AC_RECONCILE_MAX_FAILURES: '3',
  AC_RECONCILE_ATTENTION_SECONDS: '3600',
  AC_RETENTION_SECONDS: '604800',
  AC_COMPENSATE_FOREIGN_COMMITS: 'false',
};

/**
 * The real defaults: the env of the default installation's Job (a push's event env filled in) or reconciler, as
 * a kubelet gives it to the container, with the token's Secret present and the alert webhook's absent.
 */
async function defaultInstallationEnv(kind: 'Sensor' | 'CronJob'): Promise<Record<string, string>> {
  const o = find(synth(), kind);
  const pod =
    kind === 'Sensor' ? o.spec.triggers[0].template.k8s.source.resource.spec.template.spec : o.spec.jobTemplate.spec.template.spec;
  const env = await kubeletEnv(pod.containers[0], 'agent-cancellation-x7k2p', async (name) =>
    name === DEFAULTS.github.tokenSecret?.name ? 'secret-token' : undefined,
  );
  const event = Object.fromEntries(Object.values(EVENT_ENV).map((n) => [n, good[n]]));
  return kind === 'Sensor' ? { ...env, ...event } : env;
}

/** `env` without `name`. */
const without = (env: Record<string, string>, name: string) => Object.fromEntries(Object.entries(env).filter(([k]) => k !== name));

/** Set together, or not at all: the redelivery is off without a hook. */
const REDELIVERY: string[] = [
  RECONCILE_ENV.redeliveryHook,
  RECONCILE_ENV.redeliveryToken,
  RECONCILE_ENV.redeliveryKeyPath,
  RECONCILE_ENV.githubRestUrl,
  RECONCILE_ENV.redeliveryCursorLease,
];

describe('the runtime has no defaults: every variable the template sets is required', () => {
  // A push names no PR, and the alert webhook comes from an optional Secret.
  const jobNames = [...Object.values(STATIC_ENV), ...Object.values(EVENT_ENV).filter((n) => n !== EVENT_ENV.prNumber)];
  const reconcilerOwn = Object.values(RECONCILE_ENV).filter((n) => n !== RECONCILE_ENV.alertWebhookUrl && !REDELIVERY.includes(n));
  const reconcileNames = [...Object.values(STATIC_ENV), ...reconcilerOwn];

  test('the fixtures set every variable', () => {
    expect(Object.keys(good).sort()).toEqual([...Object.values(STATIC_ENV), ...Object.values(EVENT_ENV)].sort());
    expect(Object.keys(reconciler).sort()).toEqual([...Object.keys(good), ...reconcilerOwn].sort());
  });

  test.each(jobNames)('the Job: %s', (name) => {
    expect(() => readInput(without(good, name))).toThrow(new RegExp(`^${name} is missing`));
  });

  test.each(reconcileNames)('the reconciler: %s', (name) => {
    expect(() => readReconcileInput(without(reconciler, name))).toThrow(new RegExp(`^${name} is missing`));
  });
});

test('a valid environment: the selector always carries the task id', () => {
  const i = readInput(good);
  expect(i.selector).toBe('agent-type in (cleo,tess),agent-type!=rex,task-id=7,service=cto');
  expect([i.owner, i.name, i.skipExitCode, i.deadlineSeconds]).toEqual(['5dlabs', 'cto', 3, 300]);
  expect([i.pushedAtMs, i.beforeSha, i.source]).toEqual([1764158400000, '0'.repeat(40), 'webhook']);
  expect(i.ordering).toEqual({
    clockSkewMs: 5000,
    revision: undefined,
    phase: { from: { kind: 'field', key: 'status.phase' }, finished: ['Succeeded', 'Failed'] },
  });
});

test('AC_PHASE_FROM empty: every run is active, whatever AC_FINISHED_PHASES says', () => {
  expect(readInput({ ...good, AC_PHASE_FROM: '' }).ordering.phase).toBeUndefined();
});

test.each([
  ['label:agents.platform/revision', { kind: 'label', key: 'agents.platform/revision' }],
  ['annotation:agents.platform/commit', { kind: 'annotation', key: 'agents.platform/commit' }],
  ['field:spec.commitSha', { kind: 'field', key: 'spec.commitSha' }],
])('AC_REVISION_FROM=%s', (value, revision) => {
  expect(readInput({ ...good, AC_REVISION_FROM: value, AC_CLOCK_SKEW_SECONDS: '0' }).ordering).toMatchObject({ clockSkewMs: 0, revision });
});

test.each([
  ['AC_TASK_ID', '7; rm', 'AC_TASK_ID="7; rm" is not a number'],
  ['AC_TASK_ID', '-1', 'AC_TASK_ID="-1" is not a number'],
  ['AC_REPOSITORY', 'evil/cto', 'AC_REPOSITORY="evil/cto" is not one of AC_ALLOWED_REPOSITORIES'],
  ['AC_REPOSITORY', 'nope', 'AC_REPOSITORY="nope" is not owner/name'],
  ['AC_HEAD_SHA', 'abc', 'AC_HEAD_SHA="abc" is not a commit SHA'],
  // A push with zeros as `after` and `deleted: false`: the Sensor refuses it too.
  ['AC_HEAD_SHA', '0'.repeat(40), `AC_HEAD_SHA="${'0'.repeat(40)}" is no commit`],
  ['AC_NAMESPACE', 'Bad_NS', 'AC_NAMESPACE="Bad_NS" is not a namespace name'],
  ['AC_LEASE_DURATION_SECONDS', 'ten', 'AC_LEASE_DURATION_SECONDS="ten" is not an integer >= 1'],
  ['GITHUB_TOKEN', '', 'GITHUB_TOKEN is missing or empty'],
  ['AC_GITHUB_GRAPHQL_URL', 'ftp://x', 'AC_GITHUB_GRAPHQL_URL="ftp://x" is not an http(s) URL'],
  // Other events carry pushed_at as a date string; a push always has epoch seconds.
  ['AC_PUSHED_AT', '2026-11-26T12:00:00Z', 'AC_PUSHED_AT="2026-11-26T12:00:00Z" is not epoch seconds'],
  ['AC_PUSHED_AT', '1764158400.5', 'AC_PUSHED_AT="1764158400.5" is not epoch seconds'],
  ['AC_PUSHED_AT', '', 'AC_PUSHED_AT is missing or empty'],
  ['AC_BEFORE_SHA', 'HEAD~1', 'AC_BEFORE_SHA="HEAD~1" is not a commit SHA'],
  ['AC_CLOCK_SKEW_SECONDS', '-1', 'AC_CLOCK_SKEW_SECONDS="-1" is not an integer >= 0'],
  ['AC_REVISION_FROM', 'spec.sha', 'AC_REVISION_FROM="spec.sha" is not label:<key>, annotation:<key> or field:<path>'],
  ['AC_PHASE_FROM', 'status.phase', 'AC_PHASE_FROM="status.phase" is not label:<key>, annotation:<key> or field:<path>'],
  ['AC_FINISHED_PHASES', 'Succeeded,not done', 'AC_FINISHED_PHASES="not done" is not a phase'],
  ['AC_REPOSITORY_HOST', 'https://github.com', 'AC_REPOSITORY_HOST="https://github.com" is not a host name'],
  ['AC_REPOSITORY_FORMAT', 'github.com/x', 'AC_REPOSITORY_FORMAT="github.com/x" is not a format with {name}, or github'],
  // A label holds no "/": a GitHub spelling is read from a field or an annotation.
  ['AC_REPOSITORY_FORMAT', 'github', 'repository scope.format: "github" cannot be read from a label'],
])('%s=%j is rejected: %s', (name, value, message) => {
  expect(() => readInput({ ...good, [name]: value })).toThrow(message);
});

// The platform labels task 7's runs `7`: a branch `task-007` selects them as the Sensor and the reconciler do.
test.each([
  ['7', '7'],
  ['007', '7'],
  ['0', '0'],
  ['000', '0'],
  ['100', '100'],
])('AC_TASK_ID=%s -> task %s', (value, taskId) => {
  const i = readInput({ ...good, AC_TASK_ID: value });
  expect([i.taskId, i.selector.split(',').find((term) => term.startsWith('task-id='))]).toEqual([taskId, `task-id=${taskId}`]);
});

describe('a GitHub App instead of a token', () => {
  const app = {
    ...without(good, 'GITHUB_TOKEN'),
    AC_GITHUB_APP_ID: '4242',
    AC_GITHUB_APP_INSTALLATION_ID: '',
    AC_GITHUB_APP_PRIVATE_KEY_PATH: '/k/key.pem',
  };

  test('its variables, with the installation looked up when empty', () => {
    const i = readInput(app);
    expect([i.token, i.app]).toEqual([undefined, { appId: 4242, installationId: undefined, privateKeyPath: '/k/key.pem' }]);
    expect(readInput({ ...app, AC_GITHUB_APP_INSTALLATION_ID: '77' }).app!.installationId).toBe(77);
    expect([readInput(good).token, readInput(good).app]).toEqual(['secret-token', undefined]);
  });

  test.each([
    ['GITHUB_TOKEN', 'secret-token', 'GITHUB_TOKEN and AC_GITHUB_APP_ID are both set: set exactly one (a token, or a GitHub App)'],
    ['AC_GITHUB_APP_ID', 'rex', 'AC_GITHUB_APP_ID="rex" is not an integer >= 1'],
    ['AC_GITHUB_APP_INSTALLATION_ID', '0', 'AC_GITHUB_APP_INSTALLATION_ID="0" is not an installation id'],
    ['AC_GITHUB_APP_PRIVATE_KEY_PATH', 'key.pem', 'AC_GITHUB_APP_PRIVATE_KEY_PATH="key.pem" is not an absolute file path'],
    ['AC_GITHUB_APP_PRIVATE_KEY_PATH', '', 'AC_GITHUB_APP_PRIVATE_KEY_PATH is missing or empty'],
  ])('%s=%j is rejected: %s', (name, value, message) => {
    expect(() => readReconcileInput({ ...without(reconciler, 'GITHUB_TOKEN'), ...app, [name]: value })).toThrow(message);
  });
});

test('the token never appears in an error', () => {
  try {
    readInput({ ...good, AC_TASK_ID: 'x' });
  } catch (e) {
    expect((e as Error).message).not.toContain('secret-token');
  }
});

describe('reconciler input', () => {
  test("defaults: the default installation's reconciler reads DEFAULTS.reconciler, and no webhook without its Secret", async () => {
    const { pendingSeconds, maxFailures, attentionSeconds, retentionSeconds, compensateForeignCommits } = DEFAULTS.reconciler;
    expect(readReconcileInput(await defaultInstallationEnv('CronJob'))).toMatchObject({
      pendingSeconds,
      maxFailures,
      attentionSeconds,
      retentionSeconds,
      alertWebhookUrl: undefined,
      compensateForeignCommits,
    });
  });

  test('the fixture reads as written: seconds, counts and the switch', () => {
    expect(readReconcileInput({ ...reconciler, AC_RECONCILE_PENDING_SECONDS: '60', AC_COMPENSATE_FOREIGN_COMMITS: 'true' })).toMatchObject({
      pendingSeconds: 60,
      maxFailures: 3,
      attentionSeconds: 3600,
      retentionSeconds: 604800,
      compensateForeignCommits: true,
    });
  });

  test('the bots, for the resync and compensation, and the task branch', () => {
    const i = readReconcileInput({ ...reconciler, AC_COMPENSATE_FOREIGN_COMMITS: 'true', AC_BOT_COMMIT_AUTHORS: 'rex@5dlabs.ai' });
    expect(i.bots).toEqual({ logins: ['5DLabs-Rex[bot]', '5DLabs-Rex'], commitAuthors: ['rex@5dlabs.ai'], caseInsensitive: true });
    expect(i.branchPattern).toBe('feature/task-{id}-implementation');
  });

  describe('redelivery', () => {
    const on = {
      ...reconciler,
      AC_GITHUB_REST_URL: 'https://api.github.com',
      AC_REDELIVERY_TOKEN: 'hook-secret',
      AC_REDELIVERY_PRIVATE_KEY_PATH: '/k/hook.pem',
      AC_REDELIVERY_CURSOR_LEASE: 'ac-redelivery',
    };

    test.each([
      ['', undefined],
      [
        'org:5dlabs/123',
        {
          restUrl: 'https://api.github.com',
          hook: { kind: 'org', org: '5dlabs', hookId: '123', token: 'hook-secret' },
          cursorLease: 'ac-redelivery',
        },
      ],
      [
        'app:42',
        {
          restUrl: 'https://api.github.com',
          hook: { kind: 'app', appId: 42, privateKeyPath: '/k/hook.pem' },
          cursorLease: 'ac-redelivery',
        },
      ],
    ])('AC_REDELIVERY_HOOK=%j', (hook, expected) => {
      expect(readReconcileInput({ ...on, AC_REDELIVERY_HOOK: hook }).redelivery).toEqual(expected);
      expect(readReconcileInput(without(on, 'AC_REDELIVERY_HOOK')).redelivery).toBeUndefined();
    });

    test.each([
      [{ AC_REDELIVERY_HOOK: 'org:5dlabs' }, 'AC_REDELIVERY_HOOK="org:5dlabs" is not org:<org>/<hook id> or app:<app id>'],
      [{ AC_REDELIVERY_HOOK: 'app:42', AC_GITHUB_REST_URL: 'api.github.com' }, 'AC_GITHUB_REST_URL="api.github.com" is not an http(s) URL'],
      [{ AC_REDELIVERY_HOOK: 'org:5dlabs/1', AC_REDELIVERY_TOKEN: ' ' }, 'AC_REDELIVERY_TOKEN is missing or empty'],
      [
        { AC_REDELIVERY_HOOK: 'app:42', AC_REDELIVERY_PRIVATE_KEY_PATH: 'hook.pem' },
        'AC_REDELIVERY_PRIVATE_KEY_PATH="hook.pem" is not an absolute file path',
      ],
    ])('%j is rejected: %s', (env, message) => {
      expect(() => readReconcileInput({ ...on, ...env })).toThrow(message);
    });
  });

  test.each([
    [{ AC_RECONCILE_MAX_FAILURES: '0' }, 'AC_RECONCILE_MAX_FAILURES="0" is not an integer >= 1'],
    [{ AC_COMPENSATE_FOREIGN_COMMITS: 'yes' }, 'AC_COMPENSATE_FOREIGN_COMMITS="yes" is not "true" or "false"'],
    [{ AC_BOTS: '' }, 'AC_BOTS and AC_BOT_COMMIT_AUTHORS are both empty'],
    [
      { AC_BRANCH_PATTERN: 'feature/task-implementation' },
      'AC_BRANCH_PATTERN="feature/task-implementation": branchPattern: "feature/task-implementation" must contain {id} exactly once',
    ],
    // The webhook URL is a secret: the message names the variable only.
    [{ AC_ALERT_WEBHOOK_URL: 'hooks.example/T0/secret' }, 'AC_ALERT_WEBHOOK_URL is not an http(s) URL'],
  ])('%j is rejected: %s', (env, message) => {
    expect(() => readReconcileInput({ ...reconciler, ...env })).toThrow(message);
    if ('AC_ALERT_WEBHOOK_URL' in env) expect(() => readReconcileInput({ ...reconciler, ...env })).not.toThrow(/secret/);
  });
});

test.each([
  [{ AC_MODE: 'shadow' }, 'AC_MODE="shadow" is not one of enforce, observe'],
  [{ AC_MODE: 'Observe' }, 'AC_MODE="Observe" is not one of enforce, observe'],
  [{ AC_EVENT: 'reopened' }, 'AC_EVENT="reopened" is not one of push, closed, converted_to_draft'],
  [{ AC_EVENT: '' }, 'AC_EVENT is missing or empty'],
  [{ AC_EVENT: 'closed', AC_PR_NUMBER: '' }, 'AC_PR_NUMBER is missing or empty'],
  [{ AC_EVENT: 'closed', AC_PR_NUMBER: '#12' }, 'AC_PR_NUMBER="#12" is not a PR number'],
])('%j is rejected: %s', (env, message) => {
  expect(() => readInput({ ...good, ...env })).toThrow(message);
});

test("defaults: the default installation's Job, for a push, enforces and knows the default opt-out label", async () => {
  expect(readInput(await defaultInstallationEnv('Sensor'))).toMatchObject({
    mode: DEFAULTS.mode,
    optOutLabel: DEFAULTS.github.optOutLabel,
    event: 'push',
    prNumber: undefined,
  });
});

test('a PR event carries its number; a push has no PR number', () => {
  expect(readInput(good)).toMatchObject({ mode: 'enforce', event: 'push', prNumber: undefined, optOutLabel: '' });
  expect(
    readInput({
      ...good,
      AC_MODE: 'observe',
      AC_EVENT: 'converted_to_draft',
      AC_PR_NUMBER: '12',
      AC_OPT_OUT_LABEL: 'agent-cancellation/skip',
    }),
  ).toMatchObject({
    mode: 'observe',
    event: 'converted_to_draft',
    prNumber: 12,
    optOutLabel: 'agent-cancellation/skip',
  });
  // The contract checks every variable it carries, whichever event: the Sensor writes '' for a push.
  expect(() => readInput({ ...good, AC_PR_NUMBER: 'x' })).toThrow('AC_PR_NUMBER="x" is not a PR number');
  expect(readInput({ ...good, AC_PR_NUMBER: '12' }).prNumber).toBeUndefined();
});
