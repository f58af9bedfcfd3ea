import { generateKeyPairSync, createVerify } from 'crypto';
import {
  appJwt,
  Cursor,
  CursorStore,
  DeliveriesApi,
  HookDelivery,
  MAX_REDELIVERIES,
  plan,
  redeliverFailed,
  RETENTION_MS,
} from '../../../src/job/reconcile/redeliver';

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

test("the App's JWT: RS256 over iat a minute back, exp 10 minutes later, iss the App id", () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwt = appJwt('42', privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), NOW);
  const [header, payload, signature] = jwt.split('.');
  expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({ alg: 'RS256', typ: 'JWT' });
  expect(JSON.parse(Buffer.from(payload, 'base64url').toString())).toEqual({ iat: NOW / 1000 - 60, exp: NOW / 1000 + 540, iss: '42' });
  expect(createVerify('RSA-SHA256').update(`${header}.${payload}`).verify(publicKey, signature, 'base64url')).toBe(true);
});
