/**
 * Acting as a GitHub App (docs/github-app.md): a JWT signed with the App's private key buys installation
 * tokens scoped to the run's repositories and the least permissions; the run revokes them when it ends.
 * Signing, the clock and fetch are injected: the bundle signs with universal-github-app-jwt, tests with fakes.
 */
import { classify } from './github-errors';
import { restHeaders } from './rest';
import { Clock } from '../clock';
import { FetchAnswer, FetchLike, httpsFetch } from './https-fetch';
import { Logger } from '../log';
import { withRetry } from '../retry';
import { GitHubError, RepositoryRefusedError, RetryableError } from '../errors';

/**
 * What a token may do, and no more: read branch heads and commits (`contents`), read PRs and change their labels
 * and comments (`pull_requests: write`). GitHub adds `metadata: read` to every token.
 */
export const TOKEN_PERMISSIONS: Readonly<Record<string, 'read' | 'write'>> = { contents: 'read', pull_requests: 'write' };
/** GitHub's limit on the repositories of one token. */
export const REPOSITORIES_PER_TOKEN = 500;
/** A token this young may be refused while it spreads through GitHub: worth a retry a second later. */
const FRESH_MS = 5_000;
/** `iat` this far in the past, for clocks a little ahead of GitHub's. */
const JWT_BACKDATE_SECONDS = 60;
/** GitHub's refusals of a JWT for its times rather than its signature or issuer. */
const CLOCK_CLAIM = /'(Issued at|Expiration time)' claim/;

/** Signs a JWT for the App: RS256, issued at `iat` (epoch seconds), expiring at most 10 minutes later. */
export type SignJwt = (appId: number, privateKey: string, iat: number) => Promise<string>;

export interface InstallationToken {
  readonly token: string;
  /** Lower-case `owner/name`s it can touch. */
  readonly repositories: readonly string[];
  readonly expiresAt: string;
  /** When it was minted, on this machine's clock (ms). */
  readonly mintedAt: number;
}

export interface AppTokensOptions {
  readonly appId: number;
  /** Undefined: looked up from each owner's first repository, once per run. */
  readonly installationId?: number;
  /** Read when a JWT is signed; its text is never logged. */
  readonly privateKey: () => string;
  /** GitHub's REST API root: `https://api.github.com`, `https://HOST/api/v3`. */
  readonly apiUrl: string;
  readonly sign: SignJwt;
  /** No new attempt starts after this time (ms since epoch). */
  readonly deadline: number;
  readonly requestTimeoutMs: number;
  readonly log: Logger;
  /** The run's clock: token ages, JWT times, the deadline, the waits. */
  readonly clock: Clock;
  /** @default httpsFetch */
  readonly fetch?: FetchLike;
}

interface Answer {
  readonly status: number;
  readonly date?: string;
  readonly body: any;
  readonly message: string;
}

/** The REST API root beside a GraphQL endpoint: `<base>/graphql` on github.com, `/api/graphql` and `/api/v3` on GHES. */
export function restApiUrl(graphqlUrl: string): string {
  return /\/api\/graphql$/.test(graphqlUrl) ? graphqlUrl.replace(/\/api\/graphql$/, '/api/v3') : graphqlUrl.replace(/\/graphql$/, '');
}

/** `items` in slices of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The App's installation tokens of one run: minted on demand, revoked together at its end. */
export class AppTokens {
  readonly minted: InstallationToken[] = [];
  /** GitHub's clock minus this machine's, once a JWT refused for its times told it (ms). */
  private skewMs = 0;
  private readonly installations = new Map<string, number>();

  constructor(private readonly o: AppTokensOptions) {}

  private now(): number {
    return this.o.clock.now();
  }

  /**
   * Tokens for `repositories` (`owner/name`) of one owner, so of one installation: one per
   * REPOSITORIES_PER_TOKEN repositories. The caller groups by owner (AppGitHub.prepare).
   */
  async mint(repositories: readonly string[]): Promise<InstallationToken[]> {
    const repos = [...new Set(repositories.map((x) => x.toLowerCase()))];
    const installation = await this.installation(repos[0].split('/')[0], repos[0]);
    const out: InstallationToken[] = [];
    for (const part of chunks(repos, REPOSITORIES_PER_TOKEN)) out.push(await this.mintOne(installation, part));
    return out;
  }

  /**
   * What a 401 for `t` means. Just minted: GitHub may not know it everywhere yet, so again in a second. Older:
   * it expired or was revoked; the run ends retryable (no retry within it: `Infinity`), and its retry mints anew.
   */
  refused(t: InstallationToken): RetryableError {
    if (this.now() - t.mintedAt < FRESH_MS) return new RetryableError('installation token refused moments after it was minted', 1000);
    return new RetryableError(
      `installation token refused (expiry ${t.expiresAt}): expired or revoked; a new run mints a new one`,
      Infinity,
    );
  }

  /** Revokes every token minted, whatever the run's outcome; returns why any could not be. */
  async revoke(): Promise<string[]> {
    const failed: string[] = [];
    for (const t of this.minted) {
      try {
        const a = await this.request('DELETE', '/installation/token', `token ${t.token}`);
        // 401: expired or revoked already, nothing left to revoke.
        if (a.status !== 204 && a.status !== 401) failed.push(`HTTP ${a.status}: ${a.message}`);
      } catch (e) {
        failed.push((e as Error).message);
      }
    }
    this.o.log('github-app-revoked', { tokens: this.minted.length - failed.length, failed });
    return failed;
  }

  private async installation(owner: string, repository: string): Promise<number> {
    if (this.o.installationId !== undefined) return this.o.installationId;
    const known = this.installations.get(owner);
    if (known !== undefined) return known;
    const a = await this.withJwt('GET', `/repos/${repository}/installation`);
    if (a.status === 404) throw new RepositoryRefusedError(`GitHub App ${this.o.appId} is not installed on ${repository}`);
    if (a.status !== 200 || !Number.isInteger(a.body?.id)) throw this.unexpected('the installation look-up', a);
    this.installations.set(owner, a.body.id);
    return a.body.id;
  }

  private async mintOne(installation: number, repositories: string[]): Promise<InstallationToken> {
    const body = { repositories: repositories.map((r) => r.split('/')[1]), permissions: TOKEN_PERMISSIONS };
    const a = await this.withJwt('POST', `/app/installations/${installation}/access_tokens`, body);
    const app = `GitHub App ${this.o.appId}`;
    if (a.status === 404) throw new GitHubError(`${app} has no installation ${installation}`);
    if (a.status === 422) {
      const message =
        `installation ${installation} of ${app} cannot give a token for ${repositories.join(',')} with ` +
        `${JSON.stringify(TOKEN_PERMISSIONS)}: ${a.message}`;
      // GitHub names the repositories when one of them is the cause, the permissions when they are.
      throw /repositor/i.test(a.message) ? new RepositoryRefusedError(message) : new GitHubError(message);
    }
    if (a.status !== 201 || typeof a.body?.token !== 'string') throw this.unexpected('the token request', a);
    const t = { token: a.body.token as string, repositories, expiresAt: String(a.body.expires_at), mintedAt: this.now() };
    this.minted.push(t);
    this.o.log('github-app-token', { installation, repositories, permissions: TOKEN_PERMISSIONS, expiresAt: t.expiresAt });
    return t;
  }

  private unexpected(what: string, a: Answer): GitHubError {
    return new GitHubError(`GitHub App ${this.o.appId}: ${what} answered HTTP ${a.status}: ${a.message}`);
  }

  /** One request with a fresh JWT; one refused for its times is signed again, once, on GitHub's clock (its `Date`). */
  private async withJwt(method: string, path: string, body?: unknown): Promise<Answer> {
    let a = await this.request(method, path, await this.appAuthorization(), body);
    if (a.status === 401 && CLOCK_CLAIM.test(a.message) && a.date && Number.isFinite(Date.parse(a.date))) {
      this.skewMs = Date.parse(a.date) - this.now();
      this.o.log('github-app-clock-skew', { refused: a.message, skewMs: this.skewMs });
      a = await this.request(method, path, await this.appAuthorization(), body);
    }
    if (a.status !== 401) return a;
    const app = `GitHub App ${this.o.appId}`;
    if (/integration not found/i.test(a.message)) throw new GitHubError(`${app} does not exist (${a.message}): check the App id`);
    if (/could not be decoded/i.test(a.message))
      throw new GitHubError(`${app} refused its JWT (${a.message}): is the private key the App's?`);
    throw new GitHubError(`${app} refused its JWT: ${a.message}`);
  }

  /** `Bearer <JWT>`: the App itself, for its own REST API (its tokens, its webhook's deliveries). */
  async appAuthorization(): Promise<string> {
    return `Bearer ${await this.jwt()}`;
  }

  private async jwt(): Promise<string> {
    const iat = Math.floor((this.now() + this.skewMs) / 1000) - JWT_BACKDATE_SECONDS;
    const key = this.o.privateKey();
    try {
      return await this.o.sign(this.o.appId, key, iat);
    } catch (e) {
      // The error may quote the key: only its name is shown.
      throw new GitHubError(`GitHub App ${this.o.appId}: the private key cannot sign a JWT (${(e as Error).name}): is it a PEM RSA key?`);
    }
  }

  /** One REST request, retried while GitHub is down or limiting; 2xx, 401, 404 and 422 are the caller's to read. */
  private request(method: string, path: string, authorization: string, body?: unknown): Promise<Answer> {
    return withRetry(
      async () => {
        let res: FetchAnswer;
        try {
          res = await (this.o.fetch ?? httpsFetch)(`${this.o.apiUrl}${path}`, {
            method,
            headers: restHeaders(authorization, body !== undefined),
            body: body === undefined ? undefined : JSON.stringify(body),
            signal: AbortSignal.timeout(this.o.requestTimeoutMs),
          });
        } catch (e) {
          throw new RetryableError(`${method} ${path}: ${(e as Error).message}`);
        }
        const text = await res.text();
        let parsed: any;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          parsed = undefined;
        }
        const a = {
          status: res.status,
          date: res.headers.get('date') ?? undefined,
          body: parsed,
          message: parsed?.message ?? res.statusText,
        };
        if (res.ok || [401, 404, 422].includes(res.status)) return a;
        throw classify(
          { status: res.status, headers: Object.fromEntries(res.headers), message: `${method} ${path}: ${a.message}` },
          this.now(),
        );
      },
      {
        deadline: this.o.deadline,
        baseMs: 1000,
        maxMs: 60_000,
        clock: this.o.clock,
        onRetry: (e, _n, ms) => this.o.log('github-retry', { reason: e.message, waitMs: ms }),
      },
    );
  }
}
