/** The GitHub App configuration: exclusive with the token Secret, and synthesized as a key file, never an env variable. */
import { Testing } from 'cdk8s';
import { ConfigError, RemediationJob, resolveConfig } from '../../../src';
import { APP_ENV, GITHUB_APP_KEY_PATH, RECONCILE_ENV, REDELIVERY_KEY_PATH, STATIC_ENV } from '../../../src/contract/env';
import { find, JOB_PROPS, keyEnv, keySecrets, preset, synth } from './synth-helpers';

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

describe("GitHub's redelivery of the App's hook: the private key is a read-only file, never an env variable", () => {
  const HOOK_KEY = { name: 'hook-app', key: 'key.pem' };
  const podOf = (config: Parameters<typeof synth>[0]) => find(synth(config), 'CronJob').spec.jobTemplate.spec.template.spec;
  const envOf = (pod: any) => Object.fromEntries(pod.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]));

  test('the same App as github.app: its key file is reused, nothing more is mounted', () => {
    const pod = podOf({ github: { app: APP }, reconciler: { redelivery: { hook: 'app:4242', credentialSecret: HOOK_KEY } } });
    expect(envOf(pod)[RECONCILE_ENV.redeliveryKeyPath]).toBe(GITHUB_APP_KEY_PATH);
    expect(pod.volumes.map((v: any) => v.name)).toEqual(['bundle', 'github-app-key']);
    expect(JSON.stringify(pod)).not.toContain(HOOK_KEY.name);
  });

  test.each([
    ['a token installation', {}],
    ['another App', { app: APP }],
  ])('%s: the hook credential Secret is mounted mode 0400 at its own path, readable through fsGroup', (_name, github) => {
    const pod = podOf({ github, reconciler: { redelivery: { hook: 'app:99', credentialSecret: HOOK_KEY } } });
    expect(envOf(pod)[RECONCILE_ENV.redeliveryKeyPath]).toBe(REDELIVERY_KEY_PATH);
    expect(pod.volumes).toContainEqual({
      name: 'redelivery-key',
      secret: { secretName: HOOK_KEY.name, defaultMode: 0o400, items: [{ key: HOOK_KEY.key, path: 'private-key.pem', mode: 0o400 }] },
    });
    expect(pod.containers[0].volumeMounts).toContainEqual({
      name: 'redelivery-key',
      mountPath: '/var/run/secrets/agent-cancellation/redelivery',
      readOnly: true,
    });
    expect(pod.securityContext.fsGroup).toBe(1000);
    expect(JSON.stringify(pod.containers[0].env)).not.toContain(HOOK_KEY.name);
    // The Job itself never needs the hook's key.
    const job = find(synth({ github, reconciler: { redelivery: { hook: 'app:99', credentialSecret: HOOK_KEY } } }), 'Sensor');
    expect(JSON.stringify(job)).not.toContain(HOOK_KEY.name);
  });
});

describe('no synthesized container has a private key in its env', () => {
  const redeliveries = [
    {},
    { hook: 'org:5dlabs/1' },
    { hook: 'app:4242' },
    { hook: 'app:99', credentialSecret: { name: 'hook-app', key: 'key.pem' } },
  ];
  const variants: Array<[string, Parameters<typeof synth>[0]]> = [
    ['card', preset('card')],
    ['5dlabs-cto', preset('5dlabs-cto')],
    ...redeliveries.flatMap((redelivery) => [
      [`a token, redelivery ${JSON.stringify(redelivery)}`, { reconciler: { redelivery } }] as [string, Parameters<typeof synth>[0]],
      [`an App, redelivery ${JSON.stringify(redelivery)}`, { github: { app: APP }, reconciler: { redelivery } }] as [
        string,
        Parameters<typeof synth>[0],
      ],
    ]),
  ];

  // synth() itself refuses a key in any env: every configuration the unit tests synthesize is checked too.
  test.each(variants)('%s', (_name, config) => expect(keyEnv(synth(config), keySecrets(config!))).toEqual([]));

  test.each([
    ["an App's key as a variable of its own", { name: 'AC_KEY', valueFrom: { secretKeyRef: APP.privateKeySecret } }, ['Job/x c AC_KEY']],
    [
      'a key Secret behind a token variable',
      { name: 'GITHUB_TOKEN', valueFrom: { secretKeyRef: APP.privateKeySecret } },
      ['Job/x c GITHUB_TOKEN'],
    ],
    ['any other Secret as a variable', { name: 'AC_OTHER', valueFrom: { secretKeyRef: { name: 'o', key: 'k' } } }, ['Job/x c AC_OTHER']],
    ['the token', { name: 'GITHUB_TOKEN', valueFrom: { secretKeyRef: { name: 'gh', key: 'token' } } }, []],
  ])('the check sees %s', (_name, variable, found) => {
    const job = { kind: 'Job', metadata: { name: 'x' }, spec: { template: { spec: { containers: [{ name: 'c', env: [variable] }] } } } };
    expect(keyEnv([job], [APP.privateKeySecret])).toEqual(found);
  });
});
