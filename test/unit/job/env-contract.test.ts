/**
 * The env contract round-trips: whatever the constructs encode for a field, the runtime decodes to the same
 * value. Every field of every set is covered, so a new variable cannot be written one way and read another.
 */
import {
  ALERT_WEBHOOK_URL,
  BotLoginCase,
  decodeEnv,
  encodeEnv,
  EnvValues,
  EVENT_FIELDS,
  INSTALLATION_FIELDS,
  RECONCILE_FIELDS,
  RemediationMode,
} from '../../../src/contract/env';

const installation: EnvValues<typeof INSTALLATION_FIELDS> = {
  namespace: 'agent-platform',
  runId: 'agent-cancellation-x7k2p',
  codeRunGroup: 'agents.platform',
  codeRunVersion: 'v1',
  codeRunPlural: 'coderuns',
  qaSelector: 'workflow-stage in (quality,testing),workflow-stage!=implementation',
  taskIdLabel: 'task-id',
  allowedRepositories: ['5dlabs/cto', '5dlabs/*'],
  repositoryFrom: { kind: 'field', key: 'spec.repositoryUrl' },
  repositoryFormat: 'https://github.com/{owner}/{name}',
  repositoryHost: 'ghe.example.com',
  phaseFrom: { kind: 'field', key: 'status.phase' },
  finishedPhases: ['Succeeded', 'Failed'],
  labelReady: 'ready-for-qa',
  labelRemediation: 'remediation-in-progress',
  labelRemediationColor: 'd93f0b',
  labelRemediationDescription: '',
  githubGraphqlUrl: 'https://api.github.com/graphql',
  githubToken: 'token',
  deadlineSeconds: 300,
  githubRequestTimeoutMs: 20000,
  leaseDurationSeconds: 60,
  lockWaitSeconds: 0,
  skipExitCode: 0,
  clockSkewSeconds: 5,
  revisionFrom: undefined,
  mode: RemediationMode.OBSERVE,
  optOutLabel: 'agent-cancellation/skip',
};
const event: EnvValues<typeof EVENT_FIELDS> = {
  repository: '5dlabs/cto',
  branch: 'feature/task-7-implementation',
  headSha: 'a'.repeat(40),
  deliveryId: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
  taskId: '7',
  pushedAtMs: 1764158400000,
  beforeSha: '0'.repeat(40),
  event: 'closed',
  prNumber: 12,
};
const reconcile: EnvValues<typeof RECONCILE_FIELDS> = {
  pendingSeconds: 300,
  maxFailures: 3,
  attentionSeconds: 3600,
  retentionSeconds: 604800,
  compensateForeignCommits: true,
  bots: ['rex-5dlabs[bot]', 'blaze-5dlabs[bot]'],
  botLoginCase: BotLoginCase.EXACT,
  botCommitAuthors: [],
  branchPattern: 'feature/task-{id}-implementation',
};

const asEnv = (pairs: Array<{ name: string; value: string }>) => Object.fromEntries(pairs.map((p) => [p.name, p.value]));

test.each([
  ['installation', INSTALLATION_FIELDS, installation],
  ['event', EVENT_FIELDS, event],
  ['reconcile', RECONCILE_FIELDS, reconcile],
] as const)('%s: every field decodes to what was encoded', (_, fields, values) => {
  const env = asEnv(encodeEnv(fields, values as never));
  expect(Object.keys(env).sort()).toEqual(
    Object.values(fields)
      .map((f) => f.name)
      .sort(),
  );
  expect(decodeEnv(fields, env)).toEqual(values);
});

test('a push has no PR number, and a revision location round-trips as text', () => {
  const push = { ...event, event: 'push' as const, prNumber: undefined };
  expect(decodeEnv(EVENT_FIELDS, asEnv(encodeEnv(EVENT_FIELDS, push)))).toEqual(push);
  const withRevision = { ...installation, revisionFrom: { kind: 'label' as const, key: 'agents.platform/revision' } };
  const env = asEnv(encodeEnv(INSTALLATION_FIELDS, withRevision));
  expect(env.AC_REVISION_FROM).toBe('label:agents.platform/revision');
  expect(decodeEnv(INSTALLATION_FIELDS, env)).toEqual(withRevision);
});

test('fields the caller sets itself are left out, and the alert URL decodes on its own', () => {
  const { runId: _r, githubToken: _t, ...rest } = installation;
  const names = encodeEnv(INSTALLATION_FIELDS, rest, ['runId', 'githubToken']).map((p) => p.name);
  expect(names).not.toContain('AC_RUN_ID');
  expect(names).not.toContain('GITHUB_TOKEN');
  expect(ALERT_WEBHOOK_URL.decode(ALERT_WEBHOOK_URL.encode('https://hooks.example/T0'))).toBe('https://hooks.example/T0');
});
