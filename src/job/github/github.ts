/** The GitHub side of a run, as an interface: GraphQL in production, fakes in unit tests. */

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
  readonly isDraft: boolean;
  /** When it was closed or merged, else null (GitHub's clock). */
  readonly closedAt: string | null;
  /** Its last change: for a draft, no later than the conversion's time is knowable from a read. */
  readonly updatedAt: string;
  readonly headRefName: string;
  /** The head commit; null when GitHub shows no commit. */
  readonly head: { readonly oid: string; readonly committedAt: string; readonly author: CommitAuthor } | null;
}

/** What the reconciler asks of one repository: its task branches' PRs, PRs by number, commits by oid. */
export interface SurveyAsk {
  /** Lower-case `owner/name`. */
  readonly repository: string;
  readonly branches: readonly string[];
  readonly prs: readonly number[];
  readonly commits: readonly string[];
}

/** One repository as a survey read it. */
export interface RepositoryView {
  readonly repositoryId: string;
  readonly readyLabelId?: string;
  readonly remediationLabelId?: string;
  /** Each asked-for PR by number; null when GitHub has no such PR. */
  readonly prs: ReadonlyMap<number, PullRequestView | null>;
  /** Each asked-for task branch: its newest PR into this repository from this repository, any state; null if none. */
  readonly branches: ReadonlyMap<string, PullRequestView | null>;
  /** Each asked-for commit by oid; null when unknown. */
  readonly commits: ReadonlyMap<string, CommitAuthor | null>;
}

/** What GitHub cost: requests, points by `rateLimit.cost`, and what was left after the last. */
export interface GitHubCost {
  readonly requests: number;
  readonly points: number;
  readonly remaining: number | null;
}

/** A survey: each repository asked about, read or with the reason it could not be; and its cost. */
export interface Survey {
  readonly repositories: ReadonlyMap<string, RepositoryView | { readonly error: string }>;
  readonly cost: GitHubCost;
}

export interface TransitionChange {
  readonly remove?: string;
  readonly add?: string;
  readonly comment?: string;
}

/** The two labels of the transition, by name. */
export interface Labels {
  readonly ready: string;
  readonly remediation: string;
}

export interface GitHubApi {
  resolve(owner: string, name: string, branch: string, labels: Labels): Promise<ResolvedPush>;
  createLabel(repositoryId: string, name: string, color: string, description: string): Promise<string>;
  /**
   * One request: remove `remove`, add `add`, post `comment`, each only when given. Throws `TransitionError`
   * when GitHub may have done part of it; never sends the same document twice unless nothing was applied.
   */
  transition(prId: string, change: TransitionChange): Promise<void>;
  /**
   * The repositories this client will act on, before it does: an App's client mints its token(s) scoped to
   * them. A client with one fixed token needs nothing.
   */
  prepare?(repositories: readonly string[]): Promise<void>;
  /** One repository's PRs by number: the Job's read of a PR event's PR, and its re-read after a partial transition. */
  view(owner: string, name: string, prs: number[], labels: Labels): Promise<RepositoryView>;
  /**
   * The reconciler's read: every repository asked about, batched into as few requests as GitHub's limits allow.
   * A request that fails marks its repositories with the error; the others are still read.
   */
  survey(asks: readonly SurveyAsk[], labels: Labels): Promise<Survey>;
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
