/** The GitHub App configuration: exclusive with the token Secret, and synthesized as a key file, never an env variable. */
import { Testing } from 'cdk8s';
import { ConfigError, RemediationJob, resolveConfig } from '../../../src';
import { APP_ENV, GITHUB_APP_KEY_PATH, STATIC_ENV } from '../../../src/contract/env';
import { find, JOB_PROPS, synth } from './synth-helpers';

const APP = { appId: 4242, privateKeySecret: { name: 'agent-cancellation-github-app', key: 'private-key.pem' } };

function issuesOf(input: unknown): string[] {
  try {
    resolveConfig(input);
  } catch (e) {
    return (e as ConfigError).issues;
  }
  return [];
}

test.each<[string, unknown, Record<string, unknown>]>([
  ['nothing set: the default token Secret', {}, { tokenSecret: { name: 'agent-cancellation-github', key: 'token' }, app: undefined }],
  ['app alone: the default token Secret is dropped', { github: { app: APP } }, { tokenSecret: undefined, app: APP }],
  ['a token Secret alone', { github: { tokenSecret: { name: 't', key: 'k' } } }, { tokenSecret: { name: 't', key: 'k' }, app: undefined }],
])('%s', (_name, input, github) => {
  const c = resolveConfig(input);
  expect({ tokenSecret: c.github.tokenSecret, app: c.github.app }).toEqual(github);
});

test.each<[string, unknown, string]>([
  [
    'both set',
    { github: { app: APP, tokenSecret: { name: 't', key: 'k' } } },
    'github.app (appId 4242) and github.tokenSecret ("t") are exclusive: set exactly one',
  ],
  ['an App id that is no number', { github: { app: { ...APP, appId: 'rex' } } }, 'github.app.appId: "rex" must be integer'],
  ['no private key', { github: { app: { appId: 1 } } }, 'github.app: {"appId":1} must have required property \'privateKeySecret\''],
])('%s is refused: %s', (_name, input, issue) => expect(issuesOf(input)).toEqual([issue]));

test.each([
  ['both', { githubApp: APP }, 'githubTokenSecret and githubApp: set exactly one (a token, or a GitHub App), got both'],
  ['neither', { githubTokenSecret: undefined }, 'githubTokenSecret and githubApp: set exactly one (a token, or a GitHub App), got neither'],
  [
    'an App id of 0',
    { githubTokenSecret: undefined, githubApp: { ...APP, appId: 0 } },
    'githubApp.appId: 0 must be an integer of at least 1',
  ],
])('RemediationJob with %s: %s', (_name, props, message) => {
  expect(() => new RemediationJob(Testing.chart(), 'Job', { ...JOB_PROPS, ...props })).toThrow(message);
});

describe('synthesized as an App', () => {
  const objects = synth({ github: { app: { ...APP, installationId: 77 } } });
  const job = find(objects, 'Sensor').spec.triggers[0].template.k8s.source.resource;
  const cron = find(objects, 'CronJob').spec.jobTemplate.spec.template;

  test.each([
    ['the Job', job.spec.template],
    ['the reconciler', cron],
  ])('%s: the App variables, no token, the key a read-only file of mode 0400 readable through fsGroup', (_name, template) => {
    const pod = template.spec;
    const env = Object.fromEntries(pod.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
    expect(env).toMatchObject({ [APP_ENV.appId]: '4242', [APP_ENV.installationId]: '77', [APP_ENV.privateKeyPath]: GITHUB_APP_KEY_PATH });
    expect(env[STATIC_ENV.githubToken]).toBeUndefined();
    expect(JSON.stringify(pod.containers[0].env)).not.toContain(APP.privateKeySecret.name);
    expect(pod.volumes).toContainEqual({
      name: 'github-app-key',
      secret: {
        secretName: APP.privateKeySecret.name,
        defaultMode: 0o400,
        items: [{ key: 'private-key.pem', path: 'private-key.pem', mode: 0o400 }],
      },
    });
    expect(pod.containers[0].volumeMounts).toContainEqual({
      name: 'github-app-key',
      mountPath: '/var/run/secrets/agent-cancellation/github-app',
      readOnly: true,
    });
    expect(pod.securityContext).toMatchObject({ runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 });
  });

  test('the token configuration has neither the key volume nor fsGroup', () => {
    const pod = find(synth(), 'CronJob').spec.jobTemplate.spec.template.spec;
    expect(pod.volumes.map((v: any) => v.name)).toEqual(['bundle']);
    expect(pod.securityContext.fsGroup).toBeUndefined();
  });
});
