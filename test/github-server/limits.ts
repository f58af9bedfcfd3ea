/**
 * GitHub's rate limits on one token, for the test server to enforce as GitHub documents them
 * (docs.github.com: "Rate limits and query limits for the GraphQL API"):
 * - primary: points an hour, each request charged its `rateLimit.cost`; the window resets on the hour it began;
 *   refused as RATE_LIMITED with x-ratelimit-remaining 0 and x-ratelimit-reset;
 * - secondary: 2,000 points a minute on the GraphQL endpoint (a request with a mutation counts 5, without 1),
 *   and content creation, 80 a minute and 500 an hour; refused as HTTP 403 with retry-after, the time until
 *   the window has room again.
 * The 1 s between mutations is the server's `mutationIntervalMs`.
 */
import { DocumentNode, Kind, OperationDefinitionNode, OperationTypeNode } from 'graphql';

export interface GitHubLimits {
  /** Primary: 5,000 for a token, 12,500 at most for an App installation. */
  readonly pointsPerHour: number;
  readonly secondaryPointsPerMinute: number;
  readonly contentPerMinute: number;
  readonly contentPerHour: number;
}

const SECONDARY = { secondaryPointsPerMinute: 2000, contentPerMinute: 80, contentPerHour: 500 };
export const GITHUB_LIMITS: Readonly<Record<'token' | 'app', GitHubLimits>> = {
  token: { pointsPerHour: 5000, ...SECONDARY },
  app: { pointsPerHour: 12_500, ...SECONDARY },
};
/** Secondary points of a request with a mutation, and without. */
export const MUTATION_POINTS = 5;
export const QUERY_POINTS = 1;

/**
 * Mutation fields that create content on GitHub: GitHub documents "content-generating requests" as limited.
 * An edit (the Job's `updateIssueComment` of its marker) generates none and is not counted.
 */
export const CONTENT_FIELDS: ReadonlySet<string> = new Set(['addComment', 'createIssue', 'createPullRequest', 'addPullRequestReview']);

/** What a request costs against each limit. */
export interface Charge {
  readonly points: number;
  readonly mutation: boolean;
  /** Content-creating fields in it. */
  readonly contents: number;
}

export type Refusal =
  { readonly kind: 'primary'; readonly resetAt: number } | { readonly kind: 'secondary'; readonly retryAfterMs: number };

const MINUTE = 60_000;
const HOUR = 3_600_000;

/** One token's spending: charges a request if every limit has room for it, else says which refuses and until when. */
export class RateLimiter {
  private hourStart = -Infinity;
  private hourPoints = 0;
  /** Accepted requests, oldest first: when, secondary points, content created. */
  private readonly recent: Array<{ at: number; secondary: number; contents: number }> = [];

  constructor(
    readonly limits: GitHubLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Points left in the primary window, as x-ratelimit-remaining reports them. */
  get remaining(): number {
    return this.now() >= this.hourStart + HOUR ? this.limits.pointsPerHour : this.limits.pointsPerHour - this.hourPoints;
  }

  charge(c: Charge): Refusal | undefined {
    const now = this.now();
    if (now >= this.hourStart + HOUR) [this.hourStart, this.hourPoints] = [now, 0];
    if (this.hourPoints + c.points > this.limits.pointsPerHour) return { kind: 'primary', resetAt: this.hourStart + HOUR };
    while (this.recent.length && this.recent[0].at <= now - HOUR) this.recent.shift();
    const secondary = c.mutation ? MUTATION_POINTS : QUERY_POINTS;
    const wait = Math.max(
      this.until(now, MINUTE, 'secondary', secondary, this.limits.secondaryPointsPerMinute),
      this.until(now, MINUTE, 'contents', c.contents, this.limits.contentPerMinute),
      this.until(now, HOUR, 'contents', c.contents, this.limits.contentPerHour),
    );
    if (wait > 0) return { kind: 'secondary', retryAfterMs: wait };
    this.hourPoints += c.points;
    this.recent.push({ at: now, secondary, contents: c.contents });
    return undefined;
  }

  /**
   * Records spending that happened before, `ago` ms back (so many content creations, at even steps over
   * `ago`), as if this token had been busy: the windows then free up as GitHub's would.
   */
  spentBefore(contents: number, agoMs: number): void {
    const now = this.now();
    for (let i = 0; i < contents; i++)
      this.recent.push({ at: now - agoMs + (i * agoMs) / contents, secondary: MUTATION_POINTS, contents: 1 });
  }

  /** Ms until `window` has room for `amount` more of `key` under `limit`; 0 when it has now. */
  private until(now: number, window: number, key: 'secondary' | 'contents', amount: number, limit: number): number {
    if (amount === 0) return 0;
    const inWindow = this.recent.filter((r) => r.at > now - window);
    let used = inWindow.reduce((sum, r) => sum + r[key], 0);
    // The oldest entries leave the window first: wait until enough of them have.
    for (const r of inWindow) {
      if (used + amount <= limit) break;
      used -= r[key];
      if (used + amount <= limit) return r.at + window - now;
    }
    return used + amount <= limit ? 0 : window;
  }
}

/** How many content-creating fields a document's mutation asks for. */
export function contentCreations(document: DocumentNode): number {
  return document.definitions
    .filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION && d.operation === OperationTypeNode.MUTATION)
    .flatMap((op) => op.selectionSet.selections)
    .filter((s) => s.kind === Kind.FIELD && CONTENT_FIELDS.has(s.name.value)).length;
}
