import { graphql } from '@octokit/graphql';
import {
  CREATE_LABEL_MUTATION,
  LABEL_QUERY,
  RESOLVE_QUERY,
  TRANSITION_FIELDS,
  transitionMutation,
  VIEW_BATCH,
  viewQuery,
} from './graphql-documents';
import {
  CommitAuthor,
  GitHubApi,
  GitHubError,
  parseMarker,
  PullRequestState,
  PullRequestView,
  ResolvedPush,
  RepositoryView,
  sameLabel,
  TransitionChange,
  TransitionError,
} from './github';
import { appliedFields, classify, failureOf, GitHubFailure, isNameTaken, onlyMissingAliases, rereadHelps } from './github-errors';
import { RetryableError, withRetry } from './retry';

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
  /** The clock for rate-limit resets and the deadline. @default Date.now */
  readonly now?: () => number;
}

function author(a: any): CommitAuthor {
  return { name: a?.name ?? null, email: a?.email ?? null, login: a?.user?.login ?? null };
}

/** The PR fields both queries read; label names compare case-insensitively, as on GitHub. */
function prState(pr: any, ready: string): PullRequestState {
  const added = pr.timelineItems.nodes.filter((e: any) => sameLabel(e?.label?.name ?? '', ready)).map((e: any) => e.createdAt as string);
  return {
    id: pr.id,
    number: pr.number,
    labels: pr.labels.nodes,
    markers: pr.comments.nodes.filter((c: any) => c.viewerDidAuthor).flatMap((c: any) => parseMarker(c.body) ?? []),
    readyLabeledAt: added.length ? added.reduce((a: string, b: string) => (Date.parse(b) > Date.parse(a) ? b : a)) : null,
  };
}

function prView(pr: any, ready: string): PullRequestView {
  const head = pr.commits.nodes[0]?.commit;
  return {
    ...prState(pr, ready),
    state: pr.state,
    headRefName: pr.headRefName,
    head: head ? { oid: head.oid, committedAt: head.committedDate, author: author(head.author) } : null,
  };
}

/** GitHubApi over @octokit/graphql, with its own retries: one request in flight, waits as GitHub asks. */
export class GraphqlGitHub implements GitHubApi {
  private readonly client: typeof graphql;

  constructor(private readonly o: GraphqlGitHubOptions) {
    this.client = graphql.defaults({ url: o.url });
  }

  async resolve(owner: string, name: string, branch: string, labels: { ready: string; remediation: string }): Promise<ResolvedPush> {
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

  async view(
    owner: string,
    name: string,
    ask: { prs: number[]; commits: string[]; labels: { ready: string; remediation: string } },
  ): Promise<RepositoryView> {
    const prs = new Map<number, PullRequestView | null>();
    const commits = new Map<string, CommitAuthor | null>();
    let first: any;
    const cost = { requests: 0, points: 0, remaining: null as number | null };
    // At least one request, for the labelled PRs and label ids, then one per batch of aliases.
    for (let at = 0; at === 0 || at < Math.max(ask.prs.length, ask.commits.length); at += VIEW_BATCH) {
      const n = ask.prs.slice(at, at + VIEW_BATCH);
      const o = ask.commits.slice(at, at + VIEW_BATCH);
      const vars: Record<string, unknown> = { owner, name, ...ask.labels };
      n.forEach((v, i) => (vars[`n${i}`] = v));
      o.forEach((v, i) => (vars[`o${i}`] = v));
      // A PR that no longer exists answers null plus NOT_FOUND for its alias: that PR is missing, not the view.
      const data: any = await this.send(viewQuery(n.length, o.length), vars, (f) => (onlyMissingAliases(f, /^p\d+$/) ? f.data : undefined));
      cost.requests++;
      cost.points += data.rateLimit?.cost ?? 0;
      cost.remaining = data.rateLimit?.remaining ?? null;
      const repo = data.repository;
      if (!repo) throw new GitHubError(`repository ${owner}/${name} not found or not accessible`);
      first ??= repo;
      n.forEach((v, i) => prs.set(v, repo[`p${i}`] ? prView(repo[`p${i}`], ask.labels.ready) : null));
      o.forEach((v, i) => commits.set(v, repo[`c${i}`]?.author ? author(repo[`c${i}`].author) : null));
    }
    return {
      repositoryId: first.id,
      readyLabelId: first.readyLabel?.id,
      remediationLabelId: first.remediationLabel?.id,
      prs,
      labelled: first.labelled.nodes.map((pr: any) => prView(pr, ask.labels.ready)),
      commits,
      cost,
    };
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
    const doc = transitionMutation({ remove: !!change.remove, add: !!change.add, comment: !!change.comment });
    const vars = {
      pr: prId,
      ...(change.remove ? { remove: [change.remove] } : {}),
      ...(change.add ? { add: [change.add] } : {}),
      ...(change.comment ? { body: change.comment } : {}),
    };
    await this.send(doc, vars, (f, error) => {
      const byField = appliedFields(
        f,
        parts.map((p) => TRANSITION_FIELDS[p]),
      );
      const applied = Object.fromEntries(parts.map((p) => [p, byField[TRANSITION_FIELDS[p]]]));
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
    return withRetry(
      async () => {
        const headers = { authorization: `bearer ${await this.o.token()}` };
        try {
          return await this.client(query, { ...variables, headers, request: { signal: AbortSignal.timeout(this.o.requestTimeoutMs) } });
        } catch (e) {
          const f = failureOf(e);
          const error = (f.status === 401 && this.o.refused?.()) || classify(f, (this.o.now ?? Date.now)());
          const recovered = recover?.(f, error);
          if (recovered !== undefined) return recovered;
          throw error;
        }
      },
      { deadline: this.o.deadline, baseMs: 1000, maxMs: 60_000, onRetry: (e, _n, ms) => this.o.onRetry?.(e.message, ms), now: this.o.now },
    );
  }
}
