/** GitHub's REST API of a webhook's deliveries: list them, newest first, and redeliver one. */
import { DeliveriesApi, HookIdentity } from './hook';
import { restHeaders } from './rest';

export interface DeliveriesOptions {
  /** GitHub's REST API root: `https://api.github.com`, `https://HOST/api/v3`. */
  readonly restUrl: string;
  readonly hook: HookIdentity;
  /** The `Authorization` header of each request: the token, or a fresh JWT of the App. */
  readonly authorization: () => Promise<string>;
  readonly requestTimeoutMs: number;
  readonly fetch?: typeof fetch;
}

/** The hook's path under the REST API. */
function hookPath(hook: HookIdentity): string {
  return hook.kind === 'org' ? `/orgs/${hook.org}/hooks/${hook.hookId}` : '/app/hook';
}

export function deliveriesApi(o: DeliveriesOptions): DeliveriesApi {
  const base = `${o.restUrl.replace(/\/$/, '')}${hookPath(o.hook)}/deliveries`;
  const call = async (method: string, url: string) => {
    const r = await (o.fetch ?? fetch)(url, {
      method,
      headers: restHeaders(await o.authorization()),
      signal: AbortSignal.timeout(o.requestTimeoutMs),
    });
    if (!r.ok) throw new Error(`${method} ${new URL(url).pathname}: ${r.status}`);
    return r;
  };
  return {
    list: async (page) => {
      const r = await call('GET', page ?? `${base}?per_page=100`);
      const body = (await r.json()) as any[];
      const next = /<([^>]+)>;\s*rel="next"/.exec(r.headers.get('link') ?? '')?.[1];
      return {
        deliveries: body.map((d) => ({
          id: d.id,
          guid: d.guid,
          deliveredAt: new Date(d.delivered_at).toISOString(),
          statusCode: d.status_code,
          event: d.event,
          action: d.action ?? null,
        })),
        next,
      };
    },
    redeliver: async (id) => {
      await call('POST', `${base}/${id}/attempts`);
    },
  };
}
