/**
 * The test server's webhook, as GitHub runs one: it delivers events to a URL (signed, with GitHub's headers and a
 * 10 s time-out), records each attempt, lists them newest first (`GET /orgs/{org}/hooks/{id}/deliveries`,
 * `GET /app/hook/deliveries`, paged by `cursor`), and redelivers one on `POST .../deliveries/{id}/attempts`
 * (202 at once, the attempt after): same X-GitHub-Delivery, same body, `redelivery: true`.
 */
import { createHmac } from 'crypto';
import * as http from 'http';

export interface DeliveryOptions {
  /** Which signature headers: GitHub sends both; an old receiver may see SHA-1 only. @default 'both' */
  readonly signature?: 'both' | 'sha1' | 'none';
  /** `form` sends `payload=<json>` as application/x-www-form-urlencoded, as a hook so configured does. @default 'json' */
  readonly contentType?: 'json' | 'form';
}

interface Attempt {
  readonly id: number;
  readonly guid: string;
  readonly delivered_at: string;
  readonly redelivery: boolean;
  /** 0: no answer within 10 s, or the connection failed. */
  readonly status_code: number;
  readonly event: string;
  readonly action: string | null;
  readonly body: string;
  readonly options: DeliveryOptions;
}

export class HookDeliveries {
  /** Where deliveries go, and the secret they are signed with. */
  target?: { readonly url: string; readonly secret: string };
  /** The organization hook `org/id` served. */
  orgHook = { org: '5dlabs', id: '1' };
  readonly attempts: Attempt[] = [];
  /** Redeliveries asked for through the API, still being sent. */
  private readonly pending = new Set<Promise<number>>();
  private nextId = 1;

  /** Delivers `payload` as GitHub would; resolves to the receiver's status (0: none). */
  deliver(event: string, guid: string, payload: Record<string, any>, options: DeliveryOptions = {}, redelivery = false): Promise<number> {
    const json = JSON.stringify(payload);
    const body = options.contentType === 'form' ? `payload=${encodeURIComponent(json)}` : json;
    return this.send({ event, guid, body, options, redelivery, action: payload.action ?? null });
  }

  /** Resolves once every redelivery asked for so far has been answered. */
  async settled(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  /**
   * Serves the deliveries API under /orgs/{org}/hooks/{id} (with `token`) and /app/hook (with a JWT `appJwt`
   * accepts: the App platform's, on the server's clock); false for any other path.
   */
  serve(req: http.IncomingMessage, res: http.ServerResponse, token: string, appJwt: (authorization: string) => boolean): boolean {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const m = /^\/(?:orgs\/([^/]+)\/hooks\/([0-9]+)|app\/hook)\/deliveries(?:\/([0-9]+)\/attempts)?$/.exec(url.pathname);
    if (!m) return false;
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(body));
    };
    const bearer = (req.headers.authorization ?? '').replace(/^bearer\s+/i, '');
    const [, org, hookId, attemptOf] = m;
    const allowed = org
      ? org === this.orgHook.org && hookId === this.orgHook.id && bearer === token
      : appJwt(req.headers.authorization ?? '');
    if (!allowed) {
      send(org ? 404 : 401, { message: org ? 'Not Found' : 'A JSON web token could not be decoded' });
      return true;
    }
    if (req.method === 'GET' && !attemptOf) {
      const perPage = Math.min(Number(url.searchParams.get('per_page') ?? 30), 100);
      const newestFirst = [...this.attempts].reverse();
      const from = url.searchParams.has('cursor') ? newestFirst.findIndex((a) => String(a.id) === url.searchParams.get('cursor')) : 0;
      const page = newestFirst.slice(from, from + perPage);
      const after = newestFirst[from + perPage];
      const link = after ? { link: `<${url.origin}${url.pathname}?per_page=${perPage}&cursor=${after.id}>; rel="next"` } : undefined;
      send(
        200,
        page.map(({ body: _body, options: _options, ...a }) => a),
        link,
      );
      return true;
    }
    const original = this.attempts.find((a) => String(a.id) === attemptOf);
    if (req.method !== 'POST' || !original) {
      send(404, { message: 'Not Found' });
      return true;
    }
    send(202, {});
    const redelivered = this.send({ ...original, redelivery: true });
    this.pending.add(redelivered);
    void redelivered.finally(() => this.pending.delete(redelivered));
    return true;
  }

  private async send(a: Omit<Attempt, 'id' | 'delivered_at' | 'status_code'>): Promise<number> {
    if (!this.target) throw new Error('HookDeliveries: no target set');
    const { url, secret } = this.target;
    const headers: Record<string, string> = {
      'content-type': a.options.contentType === 'form' ? 'application/x-www-form-urlencoded' : 'application/json',
      'x-github-event': a.event,
      'x-github-delivery': a.guid,
      'user-agent': 'GitHub-Hookshot/test',
    };
    const sign = (algorithm: string) => `${algorithm}=${createHmac(algorithm, secret).update(a.body).digest('hex')}`;
    if (a.options.signature !== 'none') headers['x-hub-signature'] = sign('sha1');
    if ((a.options.signature ?? 'both') === 'both') headers['x-hub-signature-256'] = sign('sha256');
    const status = await new Promise<number>((resolve) => {
      const req = http.request(url, { method: 'POST', headers, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', () => resolve(0));
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.end(a.body);
    });
    this.attempts.push({ ...a, id: this.nextId++, delivered_at: new Date().toISOString(), status_code: status });
    return status;
  }
}
