/**
 * The part of `fetch` the GitHub clients use, over node:http(s). A process's first `fetch` loads Node's undici,
 * about 40 ms of CPU, more than the rest of a Job's GitHub work; `http.request` is already loaded.
 * @octokit/request takes it as `request.fetch`; the App's token requests take it as their `fetch`.
 */
import * as http from 'http';
import * as https from 'https';

export interface FetchInit {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | null;
  readonly signal?: AbortSignal | null;
}

/** What the clients read of an answer: a `Response` has all of it. */
export interface FetchAnswer {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly url: string;
  readonly headers: { get(name: string): string | null; [Symbol.iterator](): Iterator<[string, string]> };
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

export type FetchLike = (url: string, init: FetchInit) => Promise<FetchAnswer>;

/** Names lower-case, as `Headers` gives them; repeated headers joined with ", ", as `fetch` does. */
class AnswerHeaders {
  private readonly map = new Map<string, string>();

  constructor(raw: http.IncomingHttpHeaders) {
    for (const [name, value] of Object.entries(raw))
      if (value !== undefined) this.map.set(name, Array.isArray(value) ? value.join(', ') : value);
  }

  get(name: string): string | null {
    return this.map.get(name.toLowerCase()) ?? null;
  }

  [Symbol.iterator](): Iterator<[string, string]> {
    return this.map[Symbol.iterator]();
  }
}

/**
 * One request; the answer's body is read whole before it resolves. Network failures and an aborted signal
 * reject as `fetch` rejects (an abort as an `AbortError`), so callers map failures as before.
 */
export const httpsFetch: FetchLike = (url, init) =>
  new Promise((resolve, reject) => {
    const target = new URL(url);
    const body = init.body ?? undefined;
    const headers = { ...init.headers, ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }) };
    const send = target.protocol === 'http:' ? http.request : https.request;
    const req = send(target, { method: init.method ?? 'GET', headers, signal: init.signal ?? undefined }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        const status = res.statusCode ?? 0;
        resolve({
          ok: status >= 200 && status < 300,
          status,
          statusText: res.statusMessage ?? '',
          url,
          headers: new AnswerHeaders(res.headers),
          text: () => Promise.resolve(bytes.toString('utf8')),
          arrayBuffer: () => Promise.resolve(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)),
        });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
