/**
 * The bundled Job acting as the test server's GitHub App, against the real kube-apiserver, with no token at
 * all: one installation token per run, scoped to the push's repository and the least permissions, revoked at
 * the end; the App's failures end the run as documented (78 for a wrong key, App or installation, nothing
 * changed; 75 for a token that expired mid-run, whose retry succeeds).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { APP_ENV, EXIT, STATIC_ENV } from '../../src/contract/env';
import { TOKEN_PERMISSIONS } from '../../src/job/github/github-app';
import { later, qaRunsOf, REPO, remediationWorld, RemediationWorld } from '../fixtures/remediation-env';
import { runJob } from '../fixtures/run-job';
import { seedRepositoryRuns } from '../harness/cluster';

jest.setTimeout(120_000);

const READY = 'ready-for-qa';
const REMEDIATION = 'remediation-in-progress';
const OTHER = '5dlabs/other';

let w: RemediationWorld;
let task = 0;
const fresh = async () => {
  await w.seed([++task]);
  return task;
};
const sent = (start: number) => w.gh.requests.slice(start).map((r) => (r.fault ? `${r.operation}:${r.fault}` : r.operation));

/** One GraphQL request with `token`, as a client of GitHub would send it. */
async function graphql(token: string, query: string, variables: Record<string, unknown> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(w.gh.url, {
    method: 'POST',
    headers: { authorization: `bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: await res.json() };
}

beforeAll(async () => {
  w = await remediationWorld('github-app', 'card', { app: true });
  w.gh.addLabel(REPO, REMEDIATION);
  // The App is installed on another repository too: only the token's scope keeps a run out of it.
  w.gh.addRepository(OTHER);
  w.gh.app!.install(OTHER);
  w.gh.setBranch(OTHER, 'feature/task-1-implementation', 'a'.repeat(40));
  w.gh.openPullRequest(OTHER, 'feature/task-1-implementation', [READY]);
});
afterAll(() => w.stop());

test('a push with App credentials only: one token for its repository with the least permissions, the labels flip, the token revoked', async () => {
  const pr = await fresh();
  const before = await w.names();
  const start = w.gh.requests.length;
  const run = await runJob(w.env({ taskId: String(pr) }));
  expect(run.code).toBe(EXIT.done);
  expect(w.gh.prLabels(REPO, pr)).toEqual([REMEDIATION]);
  expect(await w.names()).toEqual(before.filter((n) => !qaRunsOf(before, pr).includes(n)));
  expect(sent(start)).toEqual(['GetRepoInstallation', 'CreateInstallationToken', 'Resolve', 'Transition', 'RevokeInstallationToken']);
  const token = w.gh.app!.lastToken()!;
  expect(token).toMatchObject({ repositories: [REPO], permissions: { metadata: 'read', ...TOKEN_PERMISSIONS } });
  expect(token.revokedAt).toBeDefined();
  expect((await graphql(token.token, '{ viewer { login } }')).status).toBe(401);
  expect(JSON.stringify(run.logs) + run.stderr).not.toContain(token.token);
  expect(JSON.stringify(run.logs) + run.stderr).not.toContain('PRIVATE KEY');
});

test('the token a Job holds cannot read or change another repository of the installation', async () => {
  const pr = await fresh();
  // Killed right after minting: its token is left unrevoked (it expires within the hour).
  const run = await runJob(w.env({ taskId: String(pr) }), { killAtStep: 'github-app-token' });
  expect(run.signal).toBe('SIGKILL');
  const token = w.gh.app!.lastToken()!;
  expect(token.revokedAt).toBeUndefined();
  const query = 'query($o: String!, $n: String!) { repository(owner: $o, name: $n) { id pullRequest(number: 1) { id } } }';
  const own = await graphql(token.token, query, { o: '5dlabs', n: 'cto' });
  expect(own.body.errors).toBeUndefined();
  const other = await graphql(token.token, query, { o: '5dlabs', n: 'other' });
  expect(other.body.errors[0]).toMatchObject({ type: 'NOT_FOUND' });
  // Its PR's node id, read with the test server's full token: the mutation is refused all the same.
  const prId = (await graphql(w.gh.token, query, { o: '5dlabs', n: 'other' })).body.data.repository.pullRequest.id;
  const readyId = w.gh.repoLabels(OTHER).find((l) => l.name === READY)!.id;
  const removal = await graphql(
    token.token,
    'mutation($pr: ID!, $l: [ID!]!) { removeLabelsFromLabelable(input: { labelableId: $pr, labelIds: $l }) { clientMutationId } }',
    { pr: prId, l: [readyId] },
  );
  expect(removal.body.errors[0]).toMatchObject({ type: 'NOT_FOUND' });
  expect(w.gh.prLabels(OTHER, 1)).toEqual([READY]);
});

test('a token that expires during the run ends it retryable (75); the retry mints a new one and finishes', async () => {
  const pr = await fresh();
  const app = w.gh.app!;
  app.tokenLifeMs = 6_000;
  // The query outlives the token: the transition meets it expired.
  w.gh.inject({ kind: 'slow', delayMs: 6_500, operation: 'Resolve' });
  const start = w.gh.requests.length;
  const first = await runJob(w.env({ taskId: String(pr) }));
  app.tokenLifeMs = 3_600_000;
  expect(first.code).toBe(EXIT.retryable);
  expect(first.logs.at(-1)!.error).toMatch(/installation token refused .*expired or revoked/);
  expect(sent(start)).toEqual(['GetRepoInstallation', 'CreateInstallationToken', 'Resolve:slow', 'Transition', 'RevokeInstallationToken']);
  expect(w.gh.prLabels(REPO, pr)).toEqual([READY]);

  const retry = await runJob(w.env({ taskId: String(pr) }));
  expect(retry.code).toBe(EXIT.done);
  expect(w.gh.prLabels(REPO, pr)).toEqual([REMEDIATION]);
  expect(app.lastToken()!.revokedAt).toBeDefined();
});

test('a token refused moments after it was minted is tried again a second later', async () => {
  const pr = await fresh();
  w.gh.app!.refuseFresh = 1;
  const run = await runJob(w.env({ taskId: String(pr) }));
  expect(run.code).toBe(EXIT.done);
  expect(run.logs.filter((l) => l.step === 'github-retry').map((l) => l.reason)).toEqual([
    'installation token refused moments after it was minted',
  ]);
  expect(w.gh.prLabels(REPO, pr)).toEqual([REMEDIATION]);
});

test("a JWT refused for clock skew is signed again once, on GitHub's clock from its Date header", async () => {
  const pr = await fresh();
  // GitHub's clock two minutes behind this machine's: a JWT issued 60 s ago is issued in its future.
  w.gh.clockSkewMs = -120_000;
  const start = w.gh.requests.length;
  const run = await runJob(w.env({ taskId: String(pr) })).finally(() => (w.gh.clockSkewMs = 0));
  expect(run.code).toBe(EXIT.done);
  expect(run.logs.filter((l) => l.step === 'github-app-clock-skew')).toHaveLength(1);
  const statuses = w.gh.requests.slice(start, start + 3).map((r) => `${r.operation} ${r.status}`);
  expect(statuses).toEqual(['GetRepoInstallation 401', 'GetRepoInstallation 200', 'CreateInstallationToken 201']);
  expect(w.gh.prLabels(REPO, pr)).toEqual([REMEDIATION]);
});

/** A bot push in each repository whose webhook was lost, on tasks with QA runs; returns this repository's PR and the other's. */
async function lostPushInEach(): Promise<{ mine: number; other: number }> {
  const [a, b] = [++task, ++task];
  await w.seed([a, b]);
  const branch = `feature/task-${b}-implementation`;
  w.gh.setBranch(OTHER, branch, 'b'.repeat(40));
  const other = w.gh.openPullRequest(OTHER, branch, [READY]);
  // Task ids are per repository: the other repository's task has runs of its own, naming it in their spec.
  await seedRepositoryRuns(w.namespace, 'card', OTHER, [b]);
  // On GitHub's clock moved past the clock-skew margin: the QA runs and the ready-for-qa labels are older than the pushes.
  const bot = { name: '5DLabs-Rex', login: '5DLabs-Rex[bot]' };
  later(w.gh, () => {
    w.gh.push(REPO, `feature/task-${a}-implementation`, 'd'.repeat(40), bot);
    w.gh.push(OTHER, branch, 'e'.repeat(40), bot);
  });
  return { mine: a, other };
}

/** A reconciler pass over both repositories, scoped by the runs' `spec.repositoryUrl`. */
const passOverBoth = () =>
  w.reconcile({
    [STATIC_ENV.allowedRepositories]: `${REPO},${OTHER}`,
    [STATIC_ENV.repositoryFrom]: 'field:spec.repositoryUrl',
    [STATIC_ENV.repositoryFormat]: 'https://github.com/{owner}/{name}',
    AC_RECONCILE_PENDING_SECONDS: '0',
  });

test('a reconcile pass acts on two repositories with one token for both, revoked at its end', async () => {
  // The pass's resync finds and handles both lost pushes.
  const { mine, other } = await lostPushInEach();
  const start = w.gh.requests.length;
  const pass = await passOverBoth();
  expect(pass.code).toBe(EXIT.done);
  expect(pass.logs.find((l) => l.step === 'reconcile-done')!.resynced).toHaveLength(2);
  expect(w.gh.prLabels(REPO, mine)).toEqual([REMEDIATION]);
  expect(w.gh.prLabels(OTHER, other)).toEqual([REMEDIATION]);
  const minted = sent(start).filter((op) => op === 'CreateInstallationToken');
  expect(minted).toHaveLength(1);
  expect(w.gh.app!.lastToken()).toMatchObject({ repositories: [REPO, OTHER] });
  expect(w.gh.app!.lastToken()!.revokedAt).toBeDefined();
  expect(sent(start).at(-1)).toBe('RevokeInstallationToken');
});

test('the App removed from one repository: the pass repairs the other, names the one it could not read, and exits 75', async () => {
  const { mine, other } = await lostPushInEach();
  w.gh.app!.uninstall(OTHER);
  const tokens = w.gh.app!.tokens.length;
  try {
    const pass = await passOverBoth();
    expect(pass.code).toBe(EXIT.retryable);
    expect(w.gh.prLabels(REPO, mine)).toEqual([REMEDIATION]);
    expect(w.gh.prLabels(OTHER, other)).toEqual([READY]);
    expect(pass.logs.find((l) => l.step === 'github-survey-failed')).toMatchObject({
      repository: OTHER,
      // The installation is looked up through the pass's first repository: either refusal names this one.
      error: expect.stringMatching(new RegExp(`(is not installed on|cannot give a token for) ${OTHER}`)),
    });
    expect(pass.logs.find((l) => l.step === 'reconcile-done')).toMatchObject({ failed: 1, resynced: [expect.stringContaining(REPO)] });
    const minted = w.gh.app!.tokens.slice(tokens);
    expect(minted.map((t) => [t.repositories, t.revokedAt !== undefined])).toEqual([[[REPO], true]]);
  } finally {
    w.gh.app!.install(OTHER);
  }
});

describe('an App that cannot act: exit 78 naming the cause, nothing changed', () => {
  const otherKey = () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ac-wrong-key-')), 'key.pem');
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    fs.writeFileSync(file, privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o400 });
    return file;
  };
  test.each<[string, () => Record<string, string>, RegExp]>([
    [
      'a key that is not the App’s',
      () => ({ [APP_ENV.privateKeyPath]: otherKey() }),
      /GitHub App 4242 refused its JWT .*is the private key the App's\?/,
    ],
    ['a wrong App id', () => ({ [APP_ENV.appId]: '999' }), /GitHub App 999 does not exist .*check the App id/],
    ['a wrong installation id', () => ({ [APP_ENV.installationId]: '12345' }), /GitHub App 4242 has no installation 12345/],
    ['an App not installed on the repository', () => ({}), /GitHub App 4242 is not installed on 5dlabs\/cto/],
  ])('%s', async (name, extra, message) => {
    const pr = await fresh();
    const before = await w.names();
    const start = w.gh.requests.length;
    if (name.includes('not installed')) w.gh.app!.uninstall(REPO);
    const run = await runJob(w.env({ taskId: String(pr) }, undefined, extra())).finally(() => w.gh.app!.install(REPO));
    expect(run.code).toBe(EXIT.needsAttention);
    expect(run.logs.at(-1)!.error).toMatch(message);
    expect(sent(start).some((op) => !/Installation/.test(op))).toBe(false);
    expect(await w.names()).toEqual(before);
    expect(w.gh.prLabels(REPO, pr)).toEqual([READY]);
  });
});

test('without the key file the run is bad input (64), naming the path and never a key', async () => {
  const pr = await fresh();
  const run = await runJob(w.env({ taskId: String(pr) }, undefined, { [APP_ENV.privateKeyPath]: '/nonexistent/key.pem' }));
  expect(run.code).toBe(EXIT.badInput);
  expect(run.logs.at(-1)!.error).toBe('the GitHub App private key /nonexistent/key.pem cannot be read (ENOENT)');
  expect(STATIC_ENV.githubToken in w.env({ taskId: String(pr) })).toBe(false);
});
