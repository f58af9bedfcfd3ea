/** The GitHub side of a run, as an interface: GraphQL in production, fakes in unit tests. */
import { RetryableError } from './retry';

export interface Marker {
  readonly delivery: string;
  readonly sha: string;
  readonly startedAt: string;
}

export interface PullRequestState {
  readonly id: string;
  readonly number: number;
  readonly labels: ReadonlyArray<{ readonly id: string; readonly name: string }>;
  /** Remediation markers this token wrote on the PR, oldest first. */
  readonly markers: readonly Marker[];
  /** When the ready label was last added (LabeledEvent, GitHub's clock), or null if never in recent history. */
  readonly readyLabeledAt: string | null;
}

export interface ResolvedPush {
  readonly repositoryId: string;
  /** The branch's current head, or null when the branch is gone. */
  readonly branchHead: string | null;
  readonly pr?: PullRequestState;
  readonly remediationLabelId?: string;
}

/** The author of a commit: the git name and email, and the GitHub login when GitHub links one. */
export interface CommitAuthor {
  readonly name: string | null;
  readonly email?: string | null;
  readonly login: string | null;
}

/** A PR as the reconciler sees it. */
export interface PullRequestView extends PullRequestState {
  readonly state: 'OPEN' | 'CLOSED' | 'MERGED';
  readonly headRefName: string;
  /** The head commit; null when GitHub shows no commit. */
  readonly head: { readonly oid: string; readonly committedAt: string; readonly author: CommitAuthor } | null;
}

/** One repository's state for a reconcile pass, from one request per 50 PRs. */
export interface RepositoryView {
  readonly repositoryId: string;
  readonly readyLabelId?: string;
  readonly remediationLabelId?: string;
  /** Each asked-for PR by number; null when GitHub has no such PR. */
  readonly prs: ReadonlyMap<number, PullRequestView | null>;
  /** Open PRs carrying either label, most recently updated first (up to 100). */
  readonly labelled: readonly PullRequestView[];
  /** Each asked-for commit by oid; null when unknown. */
  readonly commits: ReadonlyMap<string, CommitAuthor | null>;
  /** Requests made and GitHub points they cost (`rateLimit.cost`), and what was left after the last. */
  readonly cost: { readonly requests: number; readonly points: number; readonly remaining: number | null };
}

export interface TransitionChange {
  readonly remove?: string;
  readonly add?: string;
  readonly comment?: string;
}

export interface GitHubApi {
  /** The repositories this client will act on: an App client mints its token(s) scoped to them. */
  prepare?(repositories: string[]): Promise<void>;
  resolve(owner: string, name: string, branch: string, labels: { ready: string; remediation: string }): Promise<ResolvedPush>;
  createLabel(repositoryId: string, name: string, color: string, description: string): Promise<string>;
  /**
   * One request: remove `remove`, add `add`, post `comment`, each only when given. Throws `TransitionError`
   * when GitHub may have done part of it; never sends the same document twice unless nothing was applied.
   */
  transition(prId: string, change: TransitionChange): Promise<void>;
  view(
    owner: string,
    name: string,
    ask: { prs: number[]; commits: string[]; labels: { ready: string; remediation: string } },
  ): Promise<RepositoryView>;
}

/** GitHub said no in a way retrying will not fix (401, schema errors, missing repository). */
export class GitHubError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GitHubError';
  }
}

/**
 * A transition that failed after GitHub may have applied part of it. `applied` says, per part sent, whether
 * GitHub did it (undefined: unknown, its answer was lost); `reread` whether reading the PR again can show the
 * way on (a lost answer, a label id gone stale, a transient error); `error` is what to end with otherwise.
 */
export class TransitionError extends Error {
  constructor(
    readonly applied: { readonly [K in keyof TransitionChange]?: boolean },
    readonly error: RetryableError | GitHubError,
    readonly reread: boolean,
  ) {
    super(`transition failed: ${error.message}`);
    this.name = 'TransitionError';
  }
}

/** GitHub label names are case-insensitive: `Ready-For-QA` is the label `ready-for-qa`. */
export function sameLabel(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

const MARKER = /<!-- agent-cancellation (\{.*?\}) -->/;

/** The comment posted with the remediation label: the hidden marker, and the QA runs the push cancelled. */
export function markerComment(m: Marker, deleted: readonly string[]): string {
  return (
    `<!-- agent-cancellation ${JSON.stringify(m)} -->\n` +
    `Remediation started at ${m.startedAt} for ${m.sha.slice(0, 12)}: ${deleted.length} QA run(s) cancelled` +
    `${deleted.length ? ` (${deleted.join(', ')})` : ''}, QA will run again once the fix is ready.`
  );
}

export function parseMarker(body: string): Marker | undefined {
  const m = MARKER.exec(body);
  if (!m) return undefined;
  try {
    const v = JSON.parse(m[1]);
    return typeof v.delivery === 'string' && typeof v.sha === 'string' && typeof v.startedAt === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}
