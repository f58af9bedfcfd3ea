import { graphql, GraphqlResponseError } from '@octokit/graphql';
import { CREATE_LABEL_MUTATION, RESOLVE_QUERY, transitionMutation, VIEW_BATCH, viewQuery } from './graphql-documents';
import { CommitAuthor, GitHubApi, GitHubError, parseMarker, PullRequestState, PullRequestView, ResolvedPush, RepositoryView } from './github';
import { RetryableError, withRetry } from './retry';

export interface GraphqlGitHubOptions {
  readonly url: string;
  readonly token: string;
  /** No new attempt starts after this time (ms since epoch). */
  readonly deadline: number;
  /** One request may take this long. @default 20000 */
  readonly requestTimeoutMs?: number;
  readonly onRetry?: (reason: string, waitMs: number) => void;
}

/** Secondary rate limits without retry-after: GitHub asks for at least a minute. */
const SECONDARY_DEFAULT_MS = 60_000;

function header(headers: Record<string, unknown> | undefined, name: string): string | undefined {
  const v = headers?.[name];
  return v === undefined ? undefined : String(v);
}

/** Maps an @octokit/graphql failure to retryable (with the wait GitHub asks for) or final. */
export function classify(e: any): Error {
  if (e instanceof GraphqlResponseError) {
    if (e.errors?.some((x: any) => x.type === 'RATE_LIMITED')) {
      const reset = Number(header(e.headers as any, 'x-ratelimit-reset'));
      return new RetryableError('primary rate limit', Number.isFinite(reset) ? Math.max(0, reset * 1000 - Date.now()) : SECONDARY_DEFAULT_MS);
    }
    return new GitHubError(`GraphQL errors: ${e.errors?.map((x: any) => x.message).join('; ')}`);
  }
  const status: number | undefined = e?.status;
  // @octokit/request reports network failures and timeouts as status 500.
  if (status === undefined) return new RetryableError(`request failed: ${e?.message ?? e}`);
  const headers = e.response?.headers;
  const retryAfter = Number(header(headers, 'retry-after'));
  const after = Number.isFinite(retryAfter) ? retryAfter * 1000 : undefined;
  if (status === 429 || (status === 403 && (after !== undefined || /rate limit/i.test(e.message)))) {
    if (header(headers, 'x-ratelimit-remaining') === '0' && after === undefined) {
      const reset = Number(header(headers, 'x-ratelimit-reset'));
      return new RetryableError(`HTTP ${status} rate limit`, Number.isFinite(reset) ? Math.max(0, reset * 1000 - Date.now()) : SECONDARY_DEFAULT_MS);
    }
    return new RetryableError(`HTTP ${status} secondary rate limit`, after ?? SECONDARY_DEFAULT_MS);
  }
  if (status >= 500) return new RetryableError(`HTTP ${status}: ${e.message}`, after);
  return new GitHubError(`HTTP ${status}: ${e.message}`);
}

function author(a: any): CommitAuthor {
  return { name: a?.name ?? null, email: a?.email ?? null, login: a?.user?.login ?? null };
}

/** The PR fields both queries read; label names compare case-insensitively, as on GitHub. */
function prState(pr: any, ready: string): PullRequestState {
  const added = pr.timelineItems.nodes.filter((e: any) => e?.label?.name.toLowerCase() === ready.toLowerCase()).map((e: any) => e.createdAt as string);
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
    this.client = graphql.defaults({ url: o.url, headers: { authorization: `bearer ${o.token}` } });
  }

  async resolve(owner: string, name: string, branch: string, labels: { ready: string; remediation: string }): Promise<ResolvedPush> {
    const data: any = await this.send(RESOLVE_QUERY, { owner, name, ref: `refs/heads/${branch}`, ...labels });
    const repo = data.repository;
    if (!repo) throw new GitHubError(`repository ${owner}/${name} not found or not accessible`);
    const pr = repo.ref?.associatedPullRequests.nodes.find((p: any) => p.headRefName === branch);
    return {
      repositoryId: repo.id,
      branchHead: repo.ref?.target?.oid ?? null,
      readyLabelId: repo.readyLabel?.id,
      remediationLabelId: repo.remediationLabel?.id,
      pr: pr && prState(pr, labels.ready),
    };
  }

  async view(owner: string, name: string, ask: { prs: number[]; commits: string[]; labels: { ready: string; remediation: string } }): Promise<RepositoryView> {
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
      const data: any = await this.send(viewQuery(n.length, o.length), vars);
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

  async createLabel(repositoryId: string, name: string, color: string, description: string): Promise<string> {
    const data: any = await this.send(CREATE_LABEL_MUTATION, { repositoryId, name, color, description });
    return data.createLabel.label.id;
  }

  async transition(prId: string, change: { remove?: string; add?: string; comment?: string }): Promise<void> {
    const doc = transitionMutation({ remove: !!change.remove, add: !!change.add, comment: !!change.comment });
    await this.send(doc, {
      pr: prId,
      ...(change.remove ? { remove: [change.remove] } : {}),
      ...(change.add ? { add: [change.add] } : {}),
      ...(change.comment ? { body: change.comment } : {}),
    });
  }

  private send(query: string, variables: Record<string, unknown>): Promise<unknown> {
    return withRetry(
      async () => {
        try {
          return await this.client(query, { ...variables, request: { signal: AbortSignal.timeout(this.o.requestTimeoutMs ?? 20_000) } });
        } catch (e) {
          throw classify(e);
        }
      },
      { deadline: this.o.deadline, baseMs: 1000, maxMs: 60_000, onRetry: (e, _n, ms) => this.o.onRetry?.(e.message, ms) },
    );
  }
}
