/**
 * The App's tokens against the test server's App platform: the JWT's times, the installation look-up, scoping
 * and splitting, the skew retry, refusals, revocation; and the least permission set, one less failing.
 * JWTs are signed here with node:crypto (the bundle signs with universal-github-app-jwt, ESM-only for Jest).
 */
import * as crypto from 'crypto';
import { GitHubApi, RepositoryView, ResolvedPush } from '../../../src/job/github/github';
import { AppTokens, chunks, InstallationToken, restApiUrl, SignJwt, TOKEN_PERMISSIONS } from '../../../src/job/github/github-app';
import { AppGitHub } from '../../../src/job/github/github-app-client';
import { RESOLVE_QUERY, transitionMutation } from '../../../src/job/github/graphql-documents';
import { GitHubTestServer } from '../../github-server/server';
import { fakeClock } from './fakes';
import { GitHubError, RetryableError } from '../../../src/job/errors';

const REPO = '5dlabs/cto';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
/** RS256 as GitHub expects, with universal-github-app-jwt's times: exp 10 minutes after iat. */
const sign: SignJwt = async (appId, privateKey, iat) => {
  const data = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ iat, exp: iat + 600, iss: appId })}`;
  return `${data}.${crypto.sign('RSA-SHA256', Buffer.from(data), privateKey).toString('base64url')}`;
};

let gh: GitHubTestServer;
beforeAll(async () => {
  gh = await GitHubTestServer.start({ app: { installedOn: [REPO, '5dlabs/docs'] } });
  for (const r of [REPO, '5dlabs/docs', '5dlabs/elsewhere']) gh.addRepository(r);
  gh.setBranch(REPO, 'b', 'c'.repeat(40));
  gh.openPullRequest(REPO, 'b', ['ready-for-qa']);
  gh.addLabel(REPO, 'remediation-in-progress');
});
afterAll(() => gh.stop());

function tokens(o: Partial<ConstructorParameters<typeof AppTokens>[0]> = {}, server = gh) {
  const logs: Array<[string, Record<string, unknown> | undefined]> = [];
  const t = new AppTokens({
    appId: server.app!.appId,
    privateKey: () => server.app!.privateKey,
    apiUrl: restApiUrl(server.url),
    sign,
    deadline: Date.now() + 10_000,
    requestTimeoutMs: 5_000,
    log: (step, fields) => logs.push([step, fields]),
    clock: fakeClock(),
    ...o,
  });
  return { t, logs };
}

const ops = (start: number) => gh.requests.slice(start).map((r) => `${r.operation} ${r.status}`);

test.each([
  ['https://api.github.com/graphql', 'https://api.github.com'],
  ['https://ghe.example.com/api/graphql', 'https://ghe.example.com/api/v3'],
  ['http://127.0.0.1:4000/graphql', 'http://127.0.0.1:4000'],
])('the REST API beside %s is %s', (graphql, rest) => expect(restApiUrl(graphql)).toBe(rest));

test.each([
  [0, []],
  [500, [500]],
  [501, [500, 1]],
  [1200, [500, 500, 200]],
])('%i repositories make tokens of %j', (n, sizes) => expect(chunks([...Array(n).keys()], 500).map((c) => c.length)).toEqual(sizes));

test("one look-up per owner, then a token scoped to the repositories and the least permissions; the JWT's times as GitHub asks", async () => {
  const issued: Array<{ iat: number }> = [];
  const start = gh.requests.length;
  const { t } = tokens({ sign: (id, key, iat) => (issued.push({ iat }), sign(id, key, iat)) });
  const before = Math.floor(Date.now() / 1000);
  const [minted] = await t.mint(['5dlabs/CTO', '5dlabs/docs']);
  expect(minted.repositories).toEqual([REPO, '5dlabs/docs']);
  expect(gh.app!.lastToken()).toMatchObject({
    repositories: [REPO, '5dlabs/docs'],
    permissions: { metadata: 'read', ...TOKEN_PERMISSIONS },
  });
  expect(ops(start)).toEqual(['GetRepoInstallation 200', 'CreateInstallationToken 201']);
  // iat 60 s in the past; the signer's exp (iat + 600) is then 9 minutes ahead, within GitHub's 10.
  for (const { iat } of issued) expect(before - 60 - iat).toBeLessThanOrEqual(0);
  for (const { iat } of issued) expect(before - 60 - iat).toBeGreaterThanOrEqual(-2);
});

test('beyond 500 repositories a pass gets one token per 500', async () => {
  const many = [...Array(600).keys()].map((i) => `5dlabs/r${i}`);
  many.forEach((r) => gh.app!.install(r));
  const { t } = tokens({ installationId: gh.app!.installationId });
  const minted = await t.mint(many);
  expect(minted.map((m) => m.repositories.length)).toEqual([500, 100]);
  many.forEach((r) => gh.app!.uninstall(r));
});

test.each([
  ['behind', -120_000],
  ['ahead', 15 * 60_000],
])("GitHub's clock %s: the JWT is refused once, then signed on GitHub's clock (its Date header)", async (_name, skew) => {
  gh.clockSkewMs = skew;
  try {
    const start = gh.requests.length;
    const { t, logs } = tokens();
    await t.mint([REPO]);
    expect(ops(start)).toEqual(['GetRepoInstallation 401', 'GetRepoInstallation 200', 'CreateInstallationToken 201']);
    expect(logs.filter(([s]) => s === 'github-app-clock-skew')).toHaveLength(1);
  } finally {
    gh.clockSkewMs = 0;
  }
});

test.each<[string, Partial<ConstructorParameters<typeof AppTokens>[0]>, string[], RegExp]>([
  [
    'a key that is not the App’s',
    {
      privateKey: () =>
        crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    },
    [REPO],
    /GitHub App 4242 refused its JWT \(A JSON web token could not be decoded\): is the private key the App's\?/,
  ],
  ['a wrong App id', { appId: 99 }, [REPO], /GitHub App 99 does not exist \(Integration not found\): check the App id/],
  [
    'text that is no key',
    { privateKey: () => 'not a key' },
    [REPO],
    /GitHub App 4242: the private key cannot sign a JWT \(\w+\): is it a PEM RSA key\?/,
  ],
  ['a repository without the App', {}, ['5dlabs/elsewhere'], /GitHub App 4242 is not installed on 5dlabs\/elsewhere/],
  ['a wrong installation id', { installationId: 5 }, [REPO], /GitHub App 4242 has no installation 5/],
  [
    'an installation without the repository',
    { installationId: 777001 },
    ['5dlabs/elsewhere'],
    /installation 777001 of GitHub App 4242 cannot give a token for 5dlabs\/elsewhere .*not accessible to the parent installation/,
  ],
])('%s: a GitHubError naming the cause (exit 78)', async (_name, o, repositories, message) => {
  const { t } = tokens(o);
  const error = await t.mint(repositories).catch((e) => e);
  expect(error).toBeInstanceOf(GitHubError);
  expect(error.message).toMatch(message);
  expect(error.message).not.toContain('PRIVATE KEY');
});

test('GitHub down while minting: retried until the deadline, then retryable', async () => {
  gh.outage(true);
  try {
    const { t } = tokens({ deadline: Date.now() + 1_500 });
    await expect(t.mint([REPO])).rejects.toBeInstanceOf(RetryableError);
  } finally {
    gh.outage(false);
  }
});

test('a 401 for a token minted moments ago is retried a second later; for an older one, the run ends retryable', () => {
  const clock = fakeClock(1_000_000);
  const { t } = tokens({ clock });
  const token: InstallationToken = { token: 'ghs_x', repositories: [REPO], expiresAt: '', mintedAt: clock.now() };
  clock.advance(2_000);
  expect(t.refused(token).retryAfterMs).toBe(1000);
  clock.advance(60_000);
  expect(t.refused(token).retryAfterMs).toBe(Infinity);
});

test('revoke ends every token of the run; one already expired counts as ended', async () => {
  const { t, logs } = tokens();
  await t.mint([REPO]);
  await t.mint(['5dlabs/docs']);
  gh.app!.tokens.at(-1)!.revokedAt = Date.now();
  const start = gh.requests.length;
  expect(await t.revoke()).toEqual([]);
  expect(ops(start)).toEqual(['RevokeInstallationToken 204', 'RevokeInstallationToken 401']);
  expect(logs.at(-1)).toEqual(['github-app-revoked', { tokens: 2, failed: [] }]);
});

describe('the least permissions: contents read and pull_requests write; one less fails', () => {
  async function asToken(permissions: Record<string, string>) {
    const jwt = await sign(gh.app!.appId, gh.app!.privateKey, Math.floor(Date.now() / 1000) - 60);
    const res = await fetch(`${restApiUrl(gh.url)}/app/installations/${gh.app!.installationId}/access_tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${jwt}` },
      body: JSON.stringify({ repositories: ['cto'], permissions }),
    });
    expect(res.status).toBe(201);
    const token = ((await res.json()) as any).token as string;
    return async (query: string, variables: Record<string, unknown>) =>
      (await (
        await fetch(gh.url, { method: 'POST', headers: { authorization: `bearer ${token}` }, body: JSON.stringify({ query, variables }) })
      ).json()) as any;
  }
  const resolve = { owner: '5dlabs', name: 'cto', ref: 'refs/heads/b', remediation: 'remediation-in-progress' };
  const transition = async (send: Awaited<ReturnType<typeof asToken>>) => {
    const pr = (await (await asToken(TOKEN_PERMISSIONS))(RESOLVE_QUERY, resolve)).data.repository.ref.associatedPullRequests.nodes[0];
    return send(transitionMutation({ remove: false, add: false, comment: 'add' }), { pr: pr.id, body: 'permission probe' });
  };

  test('with both, the Job reads the push and changes the PR', async () => {
    const send = await asToken(TOKEN_PERMISSIONS);
    expect(await send(RESOLVE_QUERY, resolve)).toMatchObject({ data: { repository: { ref: { target: { oid: 'c'.repeat(40) } } } } });
    expect(await transition(send)).toEqual({ data: { addComment: { clientMutationId: null } } });
  });

  test('without pull_requests write the transition is refused: FORBIDDEN, "Resource not accessible by integration"', async () => {
    const send = await asToken({ contents: 'read', pull_requests: 'read' });
    expect((await send(RESOLVE_QUERY, resolve)).errors).toBeUndefined();
    expect((await transition(send)).errors[0]).toMatchObject({ type: 'FORBIDDEN', message: 'Resource not accessible by integration' });
  });

  test('without contents read the branch head cannot be read', async () => {
    const send = await asToken({ pull_requests: 'write' });
    expect((await send(RESOLVE_QUERY, resolve)).errors[0]).toMatchObject({
      type: 'FORBIDDEN',
      message: 'Resource not accessible by integration',
    });
  });
});

describe('AppGitHub: each call through the token of its repository', () => {
  const view = (id: string, prIds: string[]): RepositoryView => ({
    repositoryId: id,
    prs: new Map(prIds.map((p, i) => [i + 1, { id: p } as any])),
    branches: new Map(),
    commits: new Map(),
  });
  function fakeClients() {
    const calls: string[] = [];
    const client = (t: InstallationToken): GitHubApi => ({
      resolve: async () =>
        ({ repositoryId: `R-${t.repositories[0]}`, branchHead: null, pr: { id: `PR-${t.repositories[0]}` } }) as ResolvedPush,
      view: async (owner, name) => view(`R-${owner}/${name}`, [`PR-${owner}/${name}`]),
      survey: async (asks) => ({
        repositories: new Map(asks.map((a) => [a.repository, view(`R-${a.repository}`, [`PR-${a.repository}`])])),
        cost: { requests: 1, points: 1, remaining: null },
      }),
      createLabel: async (id) => (calls.push(`${t.repositories.join('+')} createLabel ${id}`), 'L'),
      transition: async (id) => void calls.push(`${t.repositories.join('+')} transition ${id}`),
    });
    return { calls, client };
  }

  test('prepare mints one token for the pass; transitions go through the token that read the PR', async () => {
    const { calls, client } = fakeClients();
    const { t } = tokens();
    const github = new AppGitHub(t, client);
    await github.prepare([REPO, '5dlabs/docs']);
    await github.view('5dlabs', 'docs', [1], { ready: 'r', remediation: 'm' });
    await github.transition('PR-5dlabs/docs', {});
    await github.prepare([REPO]);
    expect(t.minted).toHaveLength(1);
    expect(calls).toEqual(['5dlabs/cto+5dlabs/docs transition PR-5dlabs/docs']);
  });

  test('a survey goes through the token of each repository; a PR it read is changed through that token', async () => {
    const { calls, client } = fakeClients();
    const { t } = tokens();
    const github = new AppGitHub(t, client);
    const ask = (repository: string) => ({ repository, branches: ['b'], prs: [], commits: [] });
    const survey = await github.survey([ask(REPO), ask('5dlabs/docs')], { ready: 'r', remediation: 'm' });
    expect([...survey.repositories.keys()]).toEqual([REPO, '5dlabs/docs']);
    await github.transition('PR-5dlabs/docs', {});
    expect(t.minted.map((m) => m.repositories)).toEqual([[REPO, '5dlabs/docs']]);
    expect(calls).toEqual(['5dlabs/cto+5dlabs/docs transition PR-5dlabs/docs']);
  });

  describe('a repository GitHub gives no token for: the others are still read, it alone fails', () => {
    const ask = (repository: string) => ({ repository, branches: ['b'], prs: [], commits: [] });
    const others = [...Array(14).keys()].map((i) => `5dlabs/p${i}`);
    beforeAll(() => others.forEach((r) => gh.app!.install(r)));
    afterAll(() => others.forEach((r) => gh.app!.uninstall(r)));

    test.each([
      ['the installation given (a 422 for the set)', { installationId: 777001 }],
      ['the installation looked up (a 404 for its first repository)', {}],
    ])('%s', async (_name, o) => {
      const { client } = fakeClients();
      const { t } = tokens(o);
      const github = new AppGitHub(t, client);
      const start = gh.requests.length;
      const repositories = ['5dlabs/elsewhere', ...others, REPO];
      const survey = await github.survey(repositories.map(ask), { ready: 'r', remediation: 'm' });
      expect(survey.repositories.get('5dlabs/elsewhere')).toEqual({ error: expect.stringMatching(/5dlabs\/elsewhere/) });
      expect(repositories.slice(1).every((r) => 'repositoryId' in survey.repositories.get(r)!)).toBe(true);
      // Halving: tokens cover the 15 others in a handful, not one each, and the requests stay logarithmic.
      expect(t.minted.flatMap((m) => m.repositories).sort()).toEqual(repositories.slice(1).sort());
      expect(t.minted.length).toBeLessThanOrEqual(Math.ceil(Math.log2(repositories.length)));
      expect(gh.requests.length - start).toBeLessThanOrEqual(4 * Math.ceil(Math.log2(repositories.length)));
      // The Job's path for the refused repository: the same reason, as a GitHubError (exit 78); no new request.
      const before = gh.requests.length;
      const error = await github.resolve('5dlabs', 'elsewhere', 'b', { ready: 'r', remediation: 'm' }).catch((e) => e);
      expect(error).toBeInstanceOf(GitHubError);
      expect(error.message).toMatch(/5dlabs\/elsewhere/);
      expect(gh.requests.length).toBe(before);
    });

    test('permissions the installation lacks are no repository refusal: the pass fails at once, with one request', async () => {
      const server = await GitHubTestServer.start({ app: { installedOn: [REPO, '5dlabs/docs'], permissions: { contents: 'read' } } });
      try {
        const { client } = fakeClients();
        const { t } = tokens({ installationId: server.app!.installationId }, server);
        const error = await new AppGitHub(t, client)
          .survey([ask(REPO), ask('5dlabs/docs')], { ready: 'r', remediation: 'm' })
          .catch((e) => e);
        expect(error).toBeInstanceOf(GitHubError);
        expect(error.message).toMatch(/permissions requested are not granted/);
        expect(server.requests.map((r) => `${r.operation} ${r.status}`)).toEqual(['CreateInstallationToken 422']);
      } finally {
        await server.stop();
      }
    });
  });

  test('a repository nobody prepared gets a token of its own; a node no token read is refused', async () => {
    const { calls, client } = fakeClients();
    const { t } = tokens();
    const github = new AppGitHub(t, client);
    await github.resolve('5dlabs', 'cto', 'b', { ready: 'r', remediation: 'm' });
    await github.view('5dlabs', 'docs', [1], { ready: 'r', remediation: 'm' });
    await github.createLabel('R-5dlabs/cto', 'm', 'ffffff', '');
    expect(t.minted.map((m) => m.repositories)).toEqual([[REPO], ['5dlabs/docs']]);
    expect(calls).toEqual(['5dlabs/cto createLabel R-5dlabs/cto']);
    expect(() => github.transition('PR-unknown', {})).toThrow(/read by no token of this run/);
  });
});
