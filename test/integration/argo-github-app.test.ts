/**
 * End to end as a GitHub App: a signed push through the real EventSource, bus and Sensor; the Job controller
 * creates the Pod, the test node mounts the App's private key from its Secret volume (owned by root, group
 * fsGroup) and runs the bundle as uid 1000; the labels flip with a token minted for that run and revoked at its end.
 * The namespace holds no GitHub token at all.
 */
import { TOKEN_PERMISSIONS } from '../../src/job/github/github-app';
import { argoWorld, ArgoWorld, SECRET } from '../fixtures/argo-world';
import { qaRunsOf, REPO } from '../fixtures/remediation-env';
import { admin } from '../harness/cluster';

jest.setTimeout(240_000);

const NS = 'argo-github-app';
let w: ArgoWorld;

beforeAll(async () => {
  w = await argoWorld(NS, [1], {}, { app: true });
});
afterAll(() => w?.stop());

test('a push with App credentials only: the Pod reads the key file, the labels flip, the token is revoked', async () => {
  const secrets = (await admin().request('GET', `/api/v1/namespaces/${NS}/secrets`)).body.items.map((s: any) => s.metadata.name);
  expect(secrets.sort()).toEqual(['agent-cancellation-github-app', 'agent-cancellation-webhook']);
  const before = await w.names();
  expect(await w.stack.deliver('push', 'app-task-1', w.push(1, 'app-task-1').payload, SECRET)).toBe(200);
  await w.until('labels of PR 1', async () => w.gh.prLabels(REPO, 1).join() === 'remediation-in-progress');
  await w.until("the Job's Pod run", async () => w.stack.jobs.length === 1);
  const run = w.stack.jobs[0];
  expect(run.code).toBe(0);
  expect(run.logs).toContain('"step":"github-app-revoked"');
  const after = await w.names();
  expect(before.filter((n) => !after.includes(n)).sort()).toEqual(qaRunsOf(before, 1).sort());
  const token = w.gh.app!.lastToken()!;
  expect(token).toMatchObject({ repositories: [REPO], permissions: { metadata: 'read', ...TOKEN_PERMISSIONS } });
  expect(token.revokedAt).toBeDefined();
  expect(w.gh.requests.map((r) => r.operation)).toEqual([
    'GetRepoInstallation',
    'CreateInstallationToken',
    'Resolve',
    'Transition',
    'RevokeInstallationToken',
  ]);
  expect(run.logs).not.toContain(token.token);
});
