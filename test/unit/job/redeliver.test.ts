import * as crypto from 'crypto';
import * as http from 'http';
import { AddressInfo } from 'net';
import { deliveriesApi } from '../../../src/job/github/deliveries';
import { AppTokens, restApiUrl, SignJwt } from '../../../src/job/github/github-app';
import { DeliveriesApi, HookDelivery, HookIdentity } from '../../../src/job/github/hook';
import { Cursor, CursorStore, MAX_REDELIVERIES, plan, redeliverFailed, RETENTION_MS } from '../../../src/job/reconcile/redeliver';
import { GitHubTestServer } from '../../github-server/server';
import { fakeClock } from './fakes';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const ago = (minutes: number) => new Date(NOW - minutes * 60_000).toISOString();
/** GitHub's ids grow with time: the id of an attempt made `minutesAgo`. */
const idAt = (minutesAgo: number) => 1_000_000 - minutesAgo * 10;
const attempt = (guid: string, minutesAgo: number, statusCode: number, o: Partial<HookDelivery> = {}): HookDelivery => ({
  id: idAt(minutesAgo),
  guid,
  deliveredAt: ago(minutesAgo),
  statusCode,
  event: 'push',
  action: null,
  ...o,
});
const none: Cursor = { redelivered: {} };

describe('plan: which deliveries a pass redelivers', () => {
  const cases: Array<[string, HookDelivery[], Cursor, string[]]> = [
    ['a push that got 500', [attempt('a', 5, 500)], none, ['a']],
    ['a push that timed out (no status)', [attempt('a', 5, 0)], none, ['a']],
    ['a push that got 200', [attempt('a', 5, 200)], none, []],
    ['a failed push whose retry succeeded', [attempt('a', 1, 202), attempt('a', 5, 500)], none, []],
    ['a failed PR closed', [attempt('a', 5, 500, { event: 'pull_request', action: 'closed' })], none, ['a']],
    ['a failed PR converted to draft', [attempt('a', 5, 500, { event: 'pull_request', action: 'converted_to_draft' })], none, ['a']],
    ['a failed PR opened: no Job would come of it', [attempt('a', 5, 500, { event: 'pull_request', action: 'opened' })], none, []],
    ['a failed ping', [attempt('a', 5, 500, { event: 'ping' })], none, []],
    ['a failed issue event', [attempt('a', 5, 500, { event: 'issues', action: 'closed' })], none, []],
    ['a delivery GitHub no longer keeps', [attempt('a', RETENTION_MS / 60_000 + 1, 500)], none, []],
    ['a redelivery that failed again, within the budget', [attempt('a', 1, 500)], { redelivered: { a: { n: 1, at: ago(10) } } }, ['a']],
    ['a delivery redelivered MAX times', [attempt('a', 1, 500)], { redelivered: { a: { n: MAX_REDELIVERIES, at: ago(10) } } }, []],
    ['one of two deliveries failed', [attempt('b', 2, 200), attempt('a', 3, 502)], none, ['a']],
  ];

  test.each(cases)('%s', (_name, attempts, cursor, expected) => {
    expect(plan(attempts, cursor, NOW).redeliver.map((d) => d.guid)).toEqual(expected);
  });

  test('the newest failed attempt is the one redelivered; the cursor moves to the newest attempt seen', () => {
    const older = attempt('a', 9, 500);
    const newer = attempt('a', 4, 0);
    const p = plan([attempt('b', 2, 200), newer, older], none, NOW);
    expect(p.redeliver).toEqual([newer]);
    expect(p.cursor).toEqual({ lastId: idAt(2), redelivered: { a: { n: 1, at: ago(9) } } });
  });

  test('a delivery given up is reported; one that succeeded, or is past retention, leaves the cursor', () => {
    const cursor: Cursor = {
      lastId: idAt(30),
      redelivered: {
        given: { n: MAX_REDELIVERIES, at: ago(20) },
        ok: { n: 1, at: ago(20) },
        old: { n: 1, at: ago(RETENTION_MS / 60_000) },
      },
    };
    const p = plan([attempt('given', 1, 500), attempt('ok', 2, 200)], cursor, NOW);
    expect(p.gaveUp).toEqual(['given']);
    expect(p.cursor).toEqual({ lastId: idAt(1), redelivered: { given: { n: MAX_REDELIVERIES, at: ago(20) } } });
  });

  test('nothing listed: the cursor stays', () => {
    expect(plan([], { lastId: idAt(5), redelivered: {} }, NOW).cursor).toEqual({ lastId: idAt(5), redelivered: {} });
  });
});

describe('redeliverFailed: one pass through the API and the cursor', () => {
  function fakes(pages: HookDelivery[][], stored?: Cursor) {
    const calls: string[] = [];
    let cursor = stored;
    const api: DeliveriesApi = {
      list: async (page) => {
        const i = page ? Number(page) : 0;
        calls.push(`list ${i}`);
        return { deliveries: pages[i], next: i + 1 < pages.length ? String(i + 1) : undefined };
      },
      redeliver: async (id) => {
        calls.push(`redeliver ${id}`);
      },
    };
    const store: CursorStore = {
      read: async () => cursor,
      write: async (c) => {
        cursor = c;
      },
    };
    return { api, store, calls, cursor: () => cursor };
  }

  test('pages until the cursor, redelivers once, and the next pass sees the redelivery succeed', async () => {
    const failed = attempt('a', 3, 500);
    const f = fakes([[attempt('b', 1, 200), failed], [attempt('old', 40, 500)], [attempt('older', 50, 500)]], {
      lastId: idAt(45),
      redelivered: {},
    });
    expect(await redeliverFailed(f.api, f.store, NOW)).toEqual({ listed: 3, redelivered: ['a', 'old'], gaveUp: [] });
    // Page 3 reaches past the cursor: no page after it is read, and its older attempt is left.
    expect(f.calls).toEqual(['list 0', 'list 1', 'list 2', `redeliver ${failed.id}`, expect.stringMatching(/^redeliver/)]);
    expect(f.cursor()).toMatchObject({ lastId: idAt(1), redelivered: { a: { n: 1 }, old: { n: 1 } } });

    const again = fakes([[attempt('a', 0, 200), attempt('b', 1, 200)]], f.cursor());
    expect(await redeliverFailed(again.api, again.store, NOW)).toEqual({ listed: 1, redelivered: [], gaveUp: [] });
    expect(again.cursor()).toMatchObject({ lastId: idAt(0) });
    expect(again.cursor()!.redelivered).not.toHaveProperty('a');
  });

  test('the first pass looks back as far as GitHub keeps deliveries', async () => {
    const f = fakes([[attempt('a', 60 * 71, 500), attempt('gone', 60 * 73, 500)]]);
    expect((await redeliverFailed(f.api, f.store, NOW)).redelivered).toEqual(['a']);
  });

  test('a failing API is reported, and the cursor is kept', async () => {
    const f = fakes([], { lastId: idAt(5), redelivered: {} });
    f.api.list = async () => {
      throw new Error('GET /orgs/5dlabs/hooks/1/deliveries: 401');
    };
    expect(await redeliverFailed(f.api, f.store, NOW)).toEqual({
      listed: 0,
      redelivered: [],
      gaveUp: [],
      error: 'GET /orgs/5dlabs/hooks/1/deliveries: 401',
    });
    expect(f.cursor()).toEqual({ lastId: idAt(5), redelivered: {} });
  });
});

describe("deliveriesApi: GitHub's REST API of the hook's deliveries", () => {
  let gh: GitHubTestServer;
  let receiver: http.Server;
  beforeAll(async () => {
    gh = await GitHubTestServer.start({ app: { installedOn: [] } });
    // The receiver fails every other delivery.
    let n = 0;
    receiver = http.createServer((req, res) => {
      req.resume();
      res.writeHead(n++ % 2 ? 200 : 500).end();
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    gh.hook.target = { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`, secret: 's' };
    for (const guid of ['g1', 'g2', 'g3']) await gh.hook.deliver('push', guid, { ref: 'refs/heads/main' });
  });
  afterAll(async () => {
    await gh.stop();
    await new Promise((resolve) => receiver.close(resolve));
  });

  /** RS256 as GitHub expects (the bundle signs with universal-github-app-jwt, ESM-only for Jest). */
  const sign: SignJwt = async (appId, privateKey, iat) => {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const data = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ iat, exp: iat + 600, iss: appId })}`;
    return `${data}.${crypto.sign('RSA-SHA256', Buffer.from(data), privateKey).toString('base64url')}`;
  };
  const app = (privateKey: () => string) =>
    new AppTokens({
      appId: gh.app!.appId,
      privateKey,
      apiUrl: restApiUrl(gh.url),
      sign,
      deadline: Date.now() + 10_000,
      requestTimeoutMs: 5_000,
      log: () => undefined,
      clock: fakeClock(),
    });
  const api = (hook: HookIdentity, authorization: () => Promise<string>) =>
    deliveriesApi({ restUrl: restApiUrl(gh.url), hook, authorization, requestTimeoutMs: 5_000 });
  const org: HookIdentity = { kind: 'org', org: '5dlabs', hookId: '1', token: 'test-token' };
  const appHook: HookIdentity = { kind: 'app', appId: 4242, privateKeyPath: '/unused' };

  test.each([
    ['an organization hook, with its token', org, () => Promise.resolve('Bearer test-token')],
    ["the App's hook, with the App's JWT", appHook, () => app(() => gh.app!.privateKey).appAuthorization()],
  ])('%s: lists the attempts newest first, and redelivers one with its delivery id', async (_name, hook, authorization) => {
    const a = api(hook, authorization);
    const { deliveries, next } = await a.list();
    expect(next).toBeUndefined();
    expect(deliveries.map((d) => [d.guid, d.statusCode])).toEqual([...gh.hook.attempts].reverse().map((x) => [x.guid, x.status_code]));
    const failed = deliveries.find((d) => d.statusCode !== 200)!;
    const before = gh.hook.attempts.length;
    await a.redeliver(failed.id);
    await gh.hook.settled();
    expect(gh.hook.attempts.slice(before).map((x) => [x.guid, x.redelivery])).toEqual([[failed.guid, true]]);
  });

  test.each([
    ['a wrong token', org, () => Promise.resolve('Bearer nope'), 'GET /orgs/5dlabs/hooks/1/deliveries: 404'],
    [
      'a JWT of another key',
      appHook,
      () =>
        app(() =>
          crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        ).appAuthorization(),
      'GET /app/hook/deliveries: 401',
    ],
  ])('%s is refused, naming the call and the status', async (_name, hook, authorization, message) => {
    await expect(api(hook, authorization).list()).rejects.toThrow(message);
  });
});
