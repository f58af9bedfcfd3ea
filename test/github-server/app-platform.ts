/**
 * The GitHub App side of the test server: one App with a real RSA key pair, installed on some repositories,
 * that mints, checks and revokes installation tokens as GitHub does.
 *
 *   const gh = await GitHubTestServer.start({ app: { installedOn: ['o/r'] } });   gh.app.privateKey (PKCS#1 PEM), gh.app.appId
 *   gh.app.install('o/r') / gh.app.uninstall('o/r')
 *   REST on the GraphQL server's origin, at GitHub's paths:
 *     POST /app/installations/{id}/access_tokens (JWT)   GET /repos/{o}/{r}/installation (JWT)   DELETE /installation/token
 *   gh.app.tokenLifeMs shortens the life of the tokens minted next; gh.app.refuseFresh = n refuses the first use of
 *     the next n tokens (401), as GitHub does while a new token spreads; gh.app.tokens lists every token minted
 *
 * A JWT is checked as GitHub does: RS256 signature by the App's key, `iss` the App id, `iat` not in the future,
 * `exp` in the future and at most 10 minutes ahead, on the server's clock (the `Date` header says it). A token
 * answers 401 once expired or revoked; a repository outside it is not found; a field or mutation its permissions
 * do not allow answers FORBIDDEN, "Resource not accessible by integration".
 */
import * as crypto from 'crypto';

export type Level = 'read' | 'write';
export type Permissions = Readonly<Record<string, Level>>;

/** What a request may touch: every repository and permission (the static token), or an installation token's. */
export interface Grant {
  readonly repositories?: ReadonlySet<string>;
  readonly permissions?: Permissions;
}

export interface InstallationToken {
  readonly token: string;
  readonly expiresAt: number;
  readonly repositories: string[];
  readonly permissions: Permissions;
  revokedAt?: number;
  /** GraphQL requests made with it. */
  uses: number;
}

export interface AppPlatformOptions {
  /** Repositories (`owner/name`) the App is installed on. */
  readonly installedOn: string[];
  /** What the installation was granted. @default { metadata: read, contents: read, pull_requests: write } */
  readonly permissions?: Permissions;
}

/** An error GraphQL answers with its `type`, as the server's resolvers throw. */
class TypedError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const FORBIDDEN = 'Resource not accessible by integration';
const MAX_JWT_SECONDS = 600;

export interface RestAnswer {
  readonly operation: string;
  readonly status: number;
  readonly body?: unknown;
}

export class AppPlatform {
  readonly appId = 4242;
  readonly installationId = 777001;
  /** The App's private key, PKCS#1 PEM as GitHub hands it out. */
  readonly privateKey: string;
  readonly tokens: InstallationToken[] = [];
  tokenLifeMs = 3_600_000;
  refuseFresh = 0;
  private readonly publicKey: crypto.KeyObject;
  private readonly installedOn: Set<string>;
  private readonly granted: Permissions;
  private readonly toRefuse = new Set<string>();

  constructor(
    options: AppPlatformOptions,
    private readonly now: () => number,
  ) {
    const pair = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKey = pair.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    this.publicKey = pair.publicKey;
    this.installedOn = new Set(options.installedOn.map((r) => r.toLowerCase()));
    this.granted = options.permissions ?? { metadata: 'read', contents: 'read', pull_requests: 'write' };
  }

  /** Installs the App on one more repository. */
  install(repository: string): void {
    this.installedOn.add(repository.toLowerCase());
  }

  uninstall(repository: string): void {
    this.installedOn.delete(repository.toLowerCase());
  }

  /** The token minted last. */
  lastToken(): InstallationToken | undefined {
    return this.tokens[this.tokens.length - 1];
  }

  /** What a GraphQL request's bearer may touch; undefined: 401 Bad credentials. */
  grant(bearer: string): Grant | undefined {
    const t = this.tokens.find((x) => x.token === bearer);
    if (!t || t.revokedAt !== undefined || t.expiresAt <= this.now()) return undefined;
    if (this.toRefuse.delete(bearer)) return undefined;
    t.uses++;
    return { repositories: new Set(t.repositories), permissions: t.permissions };
  }

  /** Answers a REST request at one of GitHub's App paths, or undefined for any other path. */
  rest(method: string, url: string, authorization: string, body: string): RestAnswer | undefined {
    const mint = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(url);
    if (method === 'POST' && mint) {
      try {
        return this.mint(Number(mint[1]), authorization, body ? JSON.parse(body) : {});
      } catch {
        return { operation: 'CreateInstallationToken', status: 400, body: { message: 'Problems parsing JSON' } };
      }
    }
    const lookup = /^\/repos\/([^/]+)\/([^/]+)\/installation$/.exec(url);
    if (method === 'GET' && lookup) {
      const operation = 'GetRepoInstallation';
      const refused = this.checkJwt(authorization);
      if (refused) return { operation, ...refused };
      if (!this.installedOn.has(`${lookup[1]}/${lookup[2]}`.toLowerCase()))
        return { operation, status: 404, body: { message: 'Not Found' } };
      return { operation, status: 200, body: { id: this.installationId, app_id: this.appId, permissions: this.granted } };
    }
    if (method === 'DELETE' && url === '/installation/token') {
      const operation = 'RevokeInstallationToken';
      const t = this.tokens.find((x) => x.token === bearerOf(authorization));
      if (!t || t.revokedAt !== undefined || t.expiresAt <= this.now())
        return { operation, status: 401, body: { message: 'Bad credentials' } };
      t.revokedAt = this.now();
      return { operation, status: 204 };
    }
    return undefined;
  }

  private mint(installationId: number, authorization: string, body: { repositories?: string[]; permissions?: Permissions }): RestAnswer {
    const operation = 'CreateInstallationToken';
    const refused = this.checkJwt(authorization);
    if (refused) return { operation, ...refused };
    if (installationId !== this.installationId) return { operation, status: 404, body: { message: 'Not Found' } };
    // `repositories` are names within the installation's account.
    const names = body.repositories ?? [...this.installedOn].map((r) => r.split('/')[1]);
    const repositories = names.map((n) => [...this.installedOn].find((r) => r.split('/')[1] === n.toLowerCase()));
    if (repositories.some((r) => r === undefined)) {
      return {
        operation,
        status: 422,
        body: { message: 'There is at least one repository that does not exist or is not accessible to the parent installation.' },
      };
    }
    const permissions = body.permissions ?? this.granted;
    if (Object.entries(permissions).some(([k, v]) => !allows(this.granted, k, v))) {
      return { operation, status: 422, body: { message: 'The permissions requested are not granted to this installation.' } };
    }
    const token: InstallationToken = {
      token: `ghs_${crypto.randomBytes(18).toString('base64url')}`,
      expiresAt: this.now() + this.tokenLifeMs,
      repositories: repositories as string[],
      permissions: { metadata: 'read', ...permissions },
      uses: 0,
    };
    this.tokens.push(token);
    if (this.refuseFresh > 0) {
      this.refuseFresh--;
      this.toRefuse.add(token.token);
    }
    return {
      operation,
      status: 201,
      body: {
        token: token.token,
        expires_at: new Date(token.expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        permissions: token.permissions,
        repository_selection: 'selected',
        repositories: token.repositories.map((r) => ({ full_name: r, name: r.split('/')[1] })),
      },
    };
  }

  /** GitHub's checks of an App's JWT; undefined when it passes. */
  checkJwt(authorization: string): { status: number; body: { message: string } } | undefined {
    const refuse = (message: string) => ({ status: 401, body: { message } });
    const parts = bearerOf(authorization).split('.');
    if (parts.length !== 3) return refuse('A JSON web token could not be decoded');
    let header: any;
    let claims: any;
    try {
      header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    } catch {
      return refuse('A JSON web token could not be decoded');
    }
    const signed = crypto.verify('RSA-SHA256', Buffer.from(`${parts[0]}.${parts[1]}`), this.publicKey, Buffer.from(parts[2], 'base64url'));
    if (header.alg !== 'RS256' || !signed) return refuse('A JSON web token could not be decoded');
    if (String(claims.iss) !== String(this.appId)) return refuse('Integration not found');
    const now = Math.floor(this.now() / 1000);
    if (!Number.isInteger(claims.iat) || claims.iat > now)
      return refuse("'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued");
    if (!Number.isInteger(claims.exp) || claims.exp <= now)
      return refuse("'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires");
    if (claims.exp > now + MAX_JWT_SECONDS) return refuse("'Expiration time' claim ('exp') is too far in the future");
    return undefined;
  }
}

const bearerOf = (authorization: string) => authorization.replace(/^(bearer|token)\s+/i, '');

function allows(p: Permissions | undefined, permission: string, level: Level): boolean {
  if (!p) return true;
  const has = permission === 'metadata' ? 'read' : p[permission];
  return has === 'write' || (has === 'read' && level === 'read');
}

/** Throws as GitHub answers a request whose token cannot see `repository`. */
export function checkRepository(grant: Grant | undefined, repository: string, notFound: string): void {
  if (grant?.repositories && !grant.repositories.has(repository.toLowerCase())) throw new TypedError('NOT_FOUND', notFound);
}

/**
 * Throws FORBIDDEN unless the grant has `level` on one of `permissions` (GitHub accepts either for labels and
 * comments on a PR: `issues` or `pull_requests`).
 */
export function checkPermission(grant: Grant | undefined, level: Level, ...permissions: string[]): void {
  if (!permissions.some((p) => allows(grant?.permissions, p, level))) throw new TypedError('FORBIDDEN', FORBIDDEN);
}
