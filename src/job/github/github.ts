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
  /** The newest comment this token wrote that carries markers: later pushes edit it in place. */
  readonly markerComment?: { readonly id: string; readonly body: string };
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
  /** The marker comment's body: a new comment, or the whole new body of `commentId` when given. */
  readonly comment?: string;
  /** The PR's marker comment to edit in place: an edit is not content creation, which GitHub limits. */
  readonly commentId?: string;
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
   * One request: remove `remove`, add `add`, post or edit `comment`, each only when given. Throws `TransitionError`
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

/** GitHub refuses a longer comment body: "Body is too long (maximum is 65536 characters)". */
export const COMMENT_MAX_CHARS = 65_536;

const MARKER = /<!-- agent-cancellation (\{.*?\}) -->/g;
/** The last line of a marker comment that had to leave out its oldest pushes. */
const LEFT_OUT = /\n\n_(\d+) earlier push\(es\) left out: GitHub limits a comment's size\._$/;

/** One push's part of the marker comment: the hidden marker, and the QA runs the push cancelled (as many as fit `room`). */
function markerEntry(m: Marker, deleted: readonly string[], room: number): string {
  for (let shown = deleted.length; ; shown = Math.floor(shown / 2)) {
    const names =
      deleted.slice(0, shown).join(', ') + (shown < deleted.length ? `${shown ? ', ' : ''}and ${deleted.length - shown} more` : '');
    const text =
      `<!-- agent-cancellation ${JSON.stringify(m)} -->\n` +
      `Remediation started at ${m.startedAt} for ${m.sha.slice(0, 12)}: ${deleted.length} QA run(s) cancelled` +
      `${deleted.length ? ` (${names})` : ''}, QA will run again once the fix is ready.`;
    if (text.length <= room || shown === 0) return text;
  }
}

/**
 * The PR's marker comment after this push: this push's entry first, then the earlier ones of `previous` (the
 * comment it replaces), newest first. The oldest give way when the body would pass GitHub's limit.
 */
export function markerComment(m: Marker, deleted: readonly string[], previous = ''): string {
  const leftOut = Number(LEFT_OUT.exec(previous)?.[1] ?? 0);
  const rest = previous.replace(LEFT_OUT, '');
  const starts = [...rest.matchAll(MARKER)].map((x) => x.index);
  const earlier = starts.map((at, i) => rest.slice(at, starts[i + 1]).trimEnd());
  const note = (n: number) => (n ? `\n\n_${n} earlier push(es) left out: GitHub limits a comment's size._` : '');
  // Room for the longest note: the entry alone never has to give way to its own history.
  const first = markerEntry(m, deleted, COMMENT_MAX_CHARS - note(leftOut + earlier.length + 1).length);
  let length = first.length;
  let kept = 0;
  while (kept < earlier.length && length + 2 + earlier[kept].length + note(leftOut + earlier.length - kept - 1).length <= COMMENT_MAX_CHARS)
    length += 2 + earlier[kept++].length;
  return [first, ...earlier.slice(0, kept)].join('\n\n') + note(leftOut + earlier.length - kept);
}

/** The markers of one comment, as written: newest first. */
export function parseMarkers(body: string): Marker[] {
  return [...body.matchAll(MARKER)].flatMap((x) => {
    try {
      const v = JSON.parse(x[1]);
      return typeof v.delivery === 'string' && typeof v.sha === 'string' && typeof v.startedAt === 'string' ? [v as Marker] : [];
    } catch {
      return [];
    }
  });
}
