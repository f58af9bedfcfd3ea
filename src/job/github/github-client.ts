import { graphql } from '@octokit/graphql';
import {
  CREATE_LABEL_MUTATION,
  LABEL_QUERY,
  RESOLVE_QUERY,
  SURVEY_BATCH,
  surveyQuery,
  TRANSITION_FIELDS,
  transitionMutation,
} from './graphql-documents';
import {
  CommitAuthor,
  GitHubApi,
  Labels,
  parseMarkers,
  PullRequestState,
  PullRequestView,
  ResolvedPush,
  RepositoryView,
  sameLabel,
  Survey,
  SurveyAsk,
  TransitionChange,
} from './github';
import { httpsFetch } from './https-fetch';
import {
  appliedFields,
  classify,
  failureOf,
  GitHubFailure,
  isNameTaken,
  isSecondaryLimit,
  onlyMissingAliases,
  rereadHelps,
} from './github-errors';
import { Clock } from '../clock';
import { withRetry } from '../retry';
import { GitHubError, RetryableError, TransitionError } from '../errors';

export interface GraphqlGitHubOptions {
  readonly url: string;
  /** The bearer token of the next request: a Secret's, or an installation token minted for the run. */
  readonly token: () => Promise<string>;
  /** What a 401 means: undefined leaves it final (bad credentials); an installation token may say retry. */
  readonly refused?: () => RetryableError | undefined;
  /** No new attempt starts after this time (ms since epoch). */
  readonly deadline: number;
  /** One request may take this long (AC_GITHUB_REQUEST_TIMEOUT_MS). */
  readonly requestTimeoutMs: number;
  readonly onRetry?: (reason: string, waitMs: number) => void;
  /** The run's clock: rate-limit resets, the deadline, the waits. */
  readonly clock: Clock;
  /** After a mutation refused for a secondary limit: reserves a slot shared with other Jobs at or after `earliest` (ms),
   *  or undefined to wait as GitHub asked. @default - each Job waits alone: retry-after, then jittered backoff */
  readonly pace?: (earliest: number) => Promise<number | undefined>;
}

function author(a: any): CommitAuthor {
  return { name: a?.name ?? null, email: a?.email ?? null, login: a?.user?.login ?? null };
}

/** The PR fields both queries read; label names compare case-insensitively, as on GitHub. */
function prState(pr: any, ready: string): PullRequestState {
  const own = pr.comments.nodes
    .filter((c: any) => c.viewerDidAuthor)
    .map((c: any) => ({ id: c.id as string, body: c.body as string, markers: parseMarkers(c.body) }))
    .filter((c: any) => c.markers.length);
  const added = pr.timelineItems.nodes.filter((e: any) => sameLabel(e?.label?.name ?? '', ready)).map((e: any) => e.createdAt as string);
  return {
    id: pr.id,
    number: pr.number,
    labels: pr.labels.nodes,
    // Comments come oldest first, each comment's markers newest first.
    markers: own.flatMap((c: any) => [...c.markers].reverse()),
    ...(own.length ? { markerComment: { id: own[own.length - 1].id, body: own[own.length - 1].body } } : {}),
    readyLabeledAt: added.length ? added.reduce((a: string, b: string) => (Date.parse(b) > Date.parse(a) ? b : a)) : null,
  };
}

function prView(pr: any, ready: string): PullRequestView {
  const head = pr.commits.nodes[0]?.commit;
  return {
    ...prState(pr, ready),
    state: pr.state,
    isDraft: pr.isDraft,
    closedAt: pr.closedAt,
    updatedAt: pr.updatedAt,
    headRefName: pr.headRefName,
    head: head ? { oid: head.oid, committedAt: head.committedDate, author: author(head.author) } : null,
  };
}

/** GitHubApi over @octokit/graphql on node:https, with its own retries: one request in flight, waits as GitHub asks. */
export class GraphqlGitHub implements GitHubApi {
  private readonly client: typeof graphql;

  constructor(private readonly o: GraphqlGitHubOptions) {
    this.client = graphql.defaults({ url: o.url });
  }

  async resolve(owner: string, name: string, branch: string, labels: Labels): Promise<ResolvedPush> {
    const data: any = await this.send(RESOLVE_QUERY, { owner, name, ref: `refs/heads/${branch}`, remediation: labels.remediation });
    const repo = data.repository;
    if (!repo) throw new GitHubError(`repository ${owner}/${name} not found or not accessible`);
    // The ref's PRs include PRs into other repositories of the fork network: only one into this repository counts.
    const pr = repo.ref?.associatedPullRequests.nodes.find((p: any) => p.headRefName === branch && p.baseRepository?.id === repo.id);
    return {
      repositoryId: repo.id,
      branchHead: repo.ref?.target?.oid ?? null,
      remediationLabelId: repo.remediationLabel?.id,
      pr: pr && prState(pr, labels.ready),
    };
  }

  async view(owner: string, name: string, prs: number[], labels: Labels): Promise<RepositoryView> {
    const repository = `${owner}/${name}`.toLowerCase();
    // The Job's read: a failed request fails it with GitHub's own error, retryable or not.
    const read = (await this.read([{ repository, branches: [], prs, commits: [] }], labels, true)).repositories.get(repository)!;
    if ('error' in read) throw new GitHubError(read.error);
    return read;
  }

  survey(asks: readonly SurveyAsk[], labels: Labels): Promise<Survey> {
    return this.read(asks, labels, false);
  }

  /** The survey's requests; a failed one throws when `rethrow`, else marks its repositories with the error. */
  private async read(asks: readonly SurveyAsk[], labels: Labels, rethrow: boolean): Promise<Survey> {
    const views = new Map<string, Building | { error: string }>();
    const cost = { requests: 0, points: 0, remaining: null as number | null };
    for (const request of surveyRequests(asks)) {
      const vars: Record<string, unknown> = { ...labels };
      request.forEach((part, i) => {
        [vars[`r${i}o`], vars[`r${i}n`]] = part.repository.split('/');
        part.branches.forEach((b, j) => (vars[`r${i}b${j}`] = b));
        part.prs.forEach((n, j) => (vars[`r${i}p${j}`] = n));
        part.commits.forEach((c, j) => (vars[`r${i}c${j}`] = c));
      });
      let data: any;
      try {
        // A PR or repository that no longer exists answers null plus NOT_FOUND for its alias; the rest is good.
        data = await this.send(surveyQuery(request.map(shapeOf)), vars, (f) => (onlyMissingAliases(f) ? f.data : undefined));
      } catch (e) {
        if (rethrow) throw e;
        for (const part of request) views.set(part.repository, { error: (e as Error).message });
        continue;
      }
      cost.requests++;
      cost.points += data.rateLimit?.cost ?? 0;
      cost.remaining = data.rateLimit?.remaining ?? null;
      request.forEach((part, i) => {
        const seen = views.get(part.repository);
        if (seen && 'error' in seen) return;
        const repo = data[`r${i}`];
        if (!repo) {
          views.set(part.repository, { error: `repository ${part.repository} not found or not accessible` });
          return;
        }
        const view: Building = seen ?? { prs: new Map(), branches: new Map(), commits: new Map() };
        Object.assign(view, { repositoryId: repo.id, readyLabelId: repo.readyLabel?.id, remediationLabelId: repo.remediationLabel?.id });
        part.prs.forEach((n, j) => view.prs.set(n, repo[`p${j}`] ? prView(repo[`p${j}`], labels.ready) : null));
        part.commits.forEach((c, j) => view.commits.set(c, repo[`c${j}`]?.author ? author(repo[`c${j}`].author) : null));
        // A fork's PR can share the branch name: only one from this repository's own branch is the task's.
        part.branches.forEach((b, j) => {
          const own = repo[`b${j}`].nodes.find((p: any) => !p.isCrossRepository && p.headRefName === b);
          view.branches.set(b, own ? prView(own, labels.ready) : null);
        });
        views.set(part.repository, view);
      });
    }
    return { repositories: views as Survey['repositories'], cost };
  }

  /**
   * Creates the label, or finds it made already: by another Job racing this one, or by this one's own earlier
   * attempt whose answer was lost. Either way GitHub answers "Name has already been taken".
   */
  async createLabel(repositoryId: string, name: string, color: string, description: string): Promise<string> {
    const data: any = await this.send(CREATE_LABEL_MUTATION, { repositoryId, name, color, description }, (f) =>
      isNameTaken(f) ? { createLabel: null } : undefined,
    );
    if (data.createLabel) return data.createLabel.label.id;
    const found: any = await this.send(LABEL_QUERY, { repositoryId, name });
    if (!found.node?.label) throw new RetryableError(`label ${JSON.stringify(name)} is taken, yet not found`);
    return found.node.label.id;
  }

  async transition(prId: string, change: TransitionChange): Promise<void> {
    const parts = (['remove', 'add', 'comment'] as const).filter((p) => change[p]);
    const comment = change.comment === undefined ? false : change.commentId ? 'edit' : 'add';
    const field = (p: (typeof parts)[number]) => (p === 'comment' ? TRANSITION_FIELDS.comment[comment || 'add'] : TRANSITION_FIELDS[p]);
    const doc = transitionMutation({ remove: !!change.remove, add: !!change.add, comment });
    const vars = {
      ...(change.remove || change.add || comment === 'add' ? { pr: prId } : {}),
      ...(change.remove ? { remove: [change.remove] } : {}),
      ...(change.add ? { add: [change.add] } : {}),
      ...(comment ? { body: change.comment } : {}),
      ...(comment === 'edit' ? { comment: change.commentId } : {}),
    };
    await this.send(doc, vars, (f, error) => {
      const byField = appliedFields(f, parts.map(field));
      const applied = Object.fromEntries(parts.map((p) => [p, byField[field(p)]]));
      // Sent again as is only when GitHub surely did none of it: a second addComment would be a second marker.
      if (error instanceof RetryableError && Object.values(applied).every((v) => v === false)) return undefined;
      throw new TransitionError(applied, error, rereadHelps(f, byField, error));
    });
  }

  /**
   * Sends one document, retrying what `classify` calls retryable until the deadline. `recover` sees each
   * failure first: it may return data to use instead, or throw to stop; undefined leaves it to `classify`.
   */
  private send(
    query: string,
    variables: Record<string, unknown>,
    recover?: (f: GitHubFailure, error: RetryableError | GitHubError) => unknown,
  ): Promise<unknown> {
    const now = this.o.clock.now;
    const mutation = query.startsWith('mutation');
    return withRetry(
      async () => {
        for (;;) {
          const headers = { authorization: `bearer ${await this.o.token()}` };
          try {
            const request = { fetch: httpsFetch, signal: AbortSignal.timeout(this.o.requestTimeoutMs) };
            return await this.client(query, { ...variables, headers, request });
          } catch (e) {
            const f = failureOf(e);
            const error = (f.status === 401 && this.o.refused?.()) || classify(f, now());
            // A refused mutation did nothing: it goes again, whole, in the slot the shared pace gives it.
            const slot =
              mutation && isSecondaryLimit(f) ? await this.o.pace?.(now() + ((error as RetryableError).retryAfterMs ?? 0)) : undefined;
            if (slot !== undefined && slot <= this.o.deadline) {
              this.o.onRetry?.(`${error.message}; paced`, slot - now());
              await this.o.clock.sleep(slot - now());
              continue;
            }
            const recovered = recover?.(f, error);
            if (recovered !== undefined) return recovered;
            throw error;
          }
        }
      },
      {
        deadline: this.o.deadline,
        baseMs: 1000,
        maxMs: 60_000,
        onRetry: (e, _n, ms) => this.o.onRetry?.(e.message, ms),
        clock: this.o.clock,
      },
    );
  }
}

/** A repository's view while its parts come in. */
interface Building {
  repositoryId?: string;
  readyLabelId?: string;
  remediationLabelId?: string;
  prs: Map<number, PullRequestView | null>;
  branches: Map<string, PullRequestView | null>;
  commits: Map<string, CommitAuthor | null>;
}

/** What one request asks of one repository: a part of its ask, so that a repository of many tasks spans requests. */
type SurveyPart = SurveyAsk;

const aliases = (p: SurveyPart) => p.branches.length + p.prs.length + p.commits.length;
const shapeOf = (p: SurveyPart) => ({ branches: p.branches.length, prs: p.prs.length, commits: p.commits.length });

/**
 * The requests of a survey: each repository's ask cut into parts of at most SURVEY_BATCH aliases, packed into
 * requests of at most SURVEY_BATCH aliases, a repository counting as one.
 */
export function surveyRequests(asks: readonly SurveyAsk[]): SurveyPart[][] {
  const parts: SurveyPart[] = [];
  for (const ask of asks) {
    const all = [
      ...ask.branches.map((b) => ['branches', b] as const),
      ...ask.prs.map((n) => ['prs', n] as const),
      ...ask.commits.map((c) => ['commits', c] as const),
    ];
    for (let at = 0; at === 0 || at < all.length; at += SURVEY_BATCH - 1) {
      const slice = all.slice(at, at + SURVEY_BATCH - 1);
      const pick = <K extends 'branches' | 'prs' | 'commits'>(k: K) => slice.filter(([kind]) => kind === k).map(([, v]) => v);
      parts.push({
        repository: ask.repository,
        branches: pick('branches') as string[],
        prs: pick('prs') as number[],
        commits: pick('commits') as string[],
      });
    }
  }
  const requests: SurveyPart[][] = [];
  let size = Infinity;
  for (const part of parts) {
    if (size + aliases(part) + 1 > SURVEY_BATCH) {
      requests.push([]);
      size = 0;
    }
    requests[requests.length - 1].push(part);
    size += aliases(part) + 1;
  }
  return requests;
}
