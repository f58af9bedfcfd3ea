/**
 * The platform's shape, through Argo Events' own processes (docs/platform.md): Argo Events lives in `automation`
 * with its EventBus and one organization EventSource `github` (event `org`, every event type); the 5dlabs
 * preset's Sensor subscribes to it there and creates its Jobs in `cto`, where the CodeRuns are. Two repositories of
 * the workspace `cto` number their tasks from 1: 5dlabs/cto-play-test, whose runs name it `owner/name` (the play
 * template), and 5dlabs/cto, whose runs carry its URL. A signed push to task 1 of cto-play-test cancels its
 * running QA run only: its finished one is history, and 5dlabs/cto's task 1 is untouched.
 */
import { Testing } from 'cdk8s';
import * as path from 'path';
import { AgentCancellation, loadConfigFile } from '../../src';
import { ArgoStack, startArgoStack } from '../argo/argo-stack';
import { pushDelivery } from '../fixtures/github-deliveries';
import { PUSH_AFTER_SEED_SECONDS } from '../fixtures/remediation-env';
import { GitHubTestServer } from '../github-server/server';
import { admin, codeRunNames, createNamespace, PRESETS, repoRoot, seedRepositoryRuns, setPhase } from '../harness/cluster';

jest.setTimeout(240_000);

const EVENTS = 'automation';
const RUNS = 'cto';
const PLAY = '5dlabs/cto-play-test';
const CTO = '5dlabs/cto';
const BOT = 'rex-5dlabs[bot]';
const SECRET = 'org-webhook-secret-for-tests';
const BRANCH = 'feature/task-1-implementation';
const sha = (c: string) => c.repeat(40);

/** The platform's own objects, as its chart makes them: the EventBus, and the organization EventSource. */
const eventBus = {
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'EventBus',
  metadata: { name: 'default', namespace: EVENTS },
  spec: { jetstream: { version: 'latest' } },
};
const eventSource = {
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'EventSource',
  metadata: { name: 'github', namespace: EVENTS },
  spec: {
    eventBusName: 'default',
    service: { ports: [{ port: 12000, targetPort: 12000 }] },
    github: {
      org: {
        organizations: ['5dlabs'],
        webhook: { endpoint: '/github/webhook', port: '12000', method: 'POST', url: '' },
        events: ['*'],
        webhookSecret: { name: 'github-webhook-secret', key: 'secret' },
        active: true,
        contentType: 'json',
      },
    },
  },
};

let gh: GitHubTestServer;
let stack: ArgoStack;
let synthesized: Record<string, any>[];

/** The QA runs of task 1 of `repository`, by name (`<name>-t1-<stage>-…`). */
const qa = (names: string[], repository: string) =>
  names.filter((n) => n.startsWith(`${repository.split('/')[1]}-t1-`) && !n.includes('-implementation-'));

beforeAll(async () => {
  gh = await GitHubTestServer.start();
  for (const [repository, head] of [
    [PLAY, sha('a')],
    [CTO, sha('b')],
  ]) {
    gh.addRepository(repository);
    gh.addLabel(repository, 'remediation-in-progress');
    gh.setBranch(repository, BRANCH, head);
    gh.openPullRequest(repository, BRANCH, ['ready-for-qa']);
  }
  await createNamespace(EVENTS);
  await createNamespace(RUNS);
  await admin().apply(eventBus);
  await admin().apply(eventSource);

  const preset = loadConfigFile(path.join(repoRoot, 'presets', '5dlabs-cto.yaml'));
  const config = { ...preset, github: { ...preset.github, graphqlUrl: gh.url } };
  synthesized = Testing.synth(new AgentCancellation(Testing.app(), 'platform', { config, disableResourceNameHashes: true }));
  const cron = synthesized.find((o) => o.kind === 'CronJob')!;
  cron.spec.suspend = true;
  for (const o of synthesized) await admin().apply(o);
  const token = preset.github.tokenSecret!;
  await admin().apply({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: token.name, namespace: RUNS },
    stringData: { [token.key]: gh.token },
  });

  await seedRepositoryRuns(RUNS, 'cto', PLAY, [1]);
  await seedRepositoryRuns(RUNS, 'cto', CTO, [1], `https://github.com/${CTO}`);
  // One QA run of cto-play-test already ended: the controller recorded it.
  const done = (await codeRunNames(RUNS, PRESETS.cto.group)).find((n) => n.startsWith('cto-play-test-t1-testing-'))!;
  await setPhase(RUNS, PRESETS.cto.group, done, 'Succeeded');

  stack = await startArgoStack({
    namespace: EVENTS,
    jobNamespace: RUNS,
    eventSource,
    sensor: synthesized.find((o) => o.kind === 'Sensor')!,
    webhookSecret: { name: 'github-webhook-secret', key: 'secret', value: SECRET },
  });
});

afterAll(async () => {
  await stack?.stop();
  await gh?.stop();
});

test('the preset makes no EventSource: its Sensor in automation subscribes to github/org, and may create Jobs in cto', () => {
  expect(synthesized.filter((o) => o.kind === 'EventSource' || o.kind === 'Service')).toEqual([]);
  const sensor = synthesized.find((o) => o.kind === 'Sensor')!;
  expect(sensor.metadata.namespace).toBe(EVENTS);
  for (const d of sensor.spec.dependencies) expect([d.eventSourceName, d.eventName]).toEqual(['github', 'org']);
  // Exactly what it needs: create Jobs in cto, and record a dropped delivery as an Event on itself.
  const account = { kind: 'ServiceAccount', name: sensor.spec.template.serviceAccountName, namespace: EVENTS };
  const bindings = synthesized.filter((o) => o.kind === 'RoleBinding' && o.subjects.some((s: any) => s.name === account.name));
  const grants = bindings.map((b) => {
    const role = synthesized.find(
      (o) => o.kind === 'Role' && o.metadata.name === b.roleRef.name && o.metadata.namespace === b.metadata.namespace,
    )!;
    expect(b.subjects).toContainEqual(expect.objectContaining(account));
    return [b.metadata.namespace, role.rules.map((r: any) => `${r.verbs.join(',')} ${r.resources.join(',')}`).join('; ')];
  });
  expect(grants.sort()).toEqual([
    [EVENTS, 'create events'],
    [RUNS, 'create jobs'],
  ]);
});

test('a push to task 1 of cto-play-test cancels its running QA run only: its finished run and 5dlabs/cto’s task 1 stay', async () => {
  const before = await codeRunNames(RUNS, PRESETS.cto.group);
  const [finished] = qa(before, PLAY).filter((n) => n.includes('-testing-'));
  const pushedAt = Math.ceil(Date.now() / 1000) + PUSH_AFTER_SEED_SECONDS;
  // The organization's EventSource delivers every event type: the Sensor takes only the bot's push.
  expect(await stack.deliver('ping', 'org-ping', { zen: 'Keep it logically awesome.', hook_id: 1 }, SECRET)).toBe(200);
  const push = pushDelivery({ login: BOT, repository: PLAY, ref: `refs/heads/${BRANCH}`, after: sha('a'), id: 'play-1', pushedAt });
  expect(await stack.deliver('push', 'play-1', push.payload, SECRET)).toBe(200);

  const giveUp = Date.now() + 120_000;
  while (gh.prLabels(PLAY, 1).join() !== 'remediation-in-progress') {
    if (Date.now() > giveUp) throw new Error(`labels never flipped\n${stack.logs()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const after = await codeRunNames(RUNS, PRESETS.cto.group);
  const deleted = before.filter((n) => !after.includes(n));
  expect(deleted).toEqual(qa(before, PLAY).filter((n) => n !== finished));
  expect(deleted).toHaveLength(1);
  expect(after).toContain(finished);
  expect(qa(after, CTO)).toHaveLength(2);
  expect(gh.prLabels(CTO, 1)).toEqual(['ready-for-qa']);
  expect(await stack.createdJobs()).toHaveLength(1);
  const job = stack.jobs.find((j) => j.logs.includes('"delivery":"play-1"'));
  expect(job?.logs).toContain(`{"name":"${finished}","why":"finished"}`);
});
