/**
 * A GitHub GraphQL test server on loopback. It serves GitHub's published schema (@octokit/graphql-schema),
 * validates every document against it and answers invalid ones the way GitHub does (HTTP 200 with `errors`),
 * keeps repository, branch, label, PR and comment state, checks the bearer token, logs every request, and
 * injects faults on demand.
 *
 * API:
 *   const gh = await GitHubTestServer.start({ token });   gh.url is the GraphQL endpoint
 *   gh.addRepository('o/r'); gh.addLabel('o/r', 'ready-for-qa'); gh.setBranch('o/r', 'b', sha)
 *   const n = gh.openPullRequest('o/r', 'b', ['ready-for-qa']); gh.prLabels('o/r', n); gh.prComments('o/r', n)
 *   gh.inject({ kind: '502' | 'secondary' | 'primary' | 'slow' | 'drop', times?, retryAfter?, delayMs? })
 *   gh.outage(true) answers every request 502 until gh.outage(false)
 *   gh.setCommitAuthor('o/r', sha, { name, login }) for `object(oid:)` lookups
 *   gh.requests (every request: operation, status, fault); gh.count(op?); await gh.stop()
 */
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as path from 'path';
import { buildClientSchema, execute, GraphQLError, GraphQLSchema, parse, validate } from 'graphql';
import { own } from '../harness/owned';

const SCHEMA_JSON = path.resolve(__dirname, '..', '..', 'node_modules', '@octokit', 'graphql-schema', 'schema.json');
let cachedSchema: GraphQLSchema | undefined;

/** GitHub's schema, built from schema.json (the .graphql file has a duplicate field that graphql-js rejects). */
export function githubSchema(): GraphQLSchema {
  cachedSchema ??= buildClientSchema(JSON.parse(fs.readFileSync(SCHEMA_JSON, 'utf8')));
  return cachedSchema;
}

export type FaultKind = '502' | 'secondary' | 'primary' | 'slow' | 'drop';
export interface Fault {
  readonly kind: FaultKind;
  /** How many coming requests it hits. @default 1 */
  readonly times?: number;
  /** Seconds, for 'secondary'. @default 1 */
  readonly retryAfter?: number;
  /** For 'slow'. @default 3000 */
  readonly delayMs?: number;
}

export interface RequestRecord {
  readonly operation: string;
  readonly status: number;
  readonly fault?: FaultKind;
  readonly errors?: string[];
  readonly at: number;
}

interface Label { id: string; name: string; color: string; description: string }
interface Comment { body: string; byViewer: boolean }
interface PullRequest { id: string; number: number; headRefName: string; state: 'OPEN' | 'CLOSED'; labelIds: string[]; comments: Comment[] }
interface Repo { id: string; fullName: string; labels: Label[]; refs: Map<string, string>; prs: PullRequest[]; authors: Map<string, CommitAuthor> }
export interface CommitAuthor { name: string; login: string | null }

class ApiError extends Error {
  constructor(readonly type: string, message: string) {
    super(message);
  }
}

export class GitHubTestServer {
  static async start(options: { token?: string } = {}): Promise<GitHubTestServer> {
    const s = new GitHubTestServer(options.token ?? 'test-token');
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    s.release = own('GitHub test server', () => {
      s.server.closeAllConnections();
      return new Promise<void>((resolve) => s.server.close(() => resolve()));
    });
    return s;
  }

  readonly requests: RequestRecord[] = [];
  private readonly repos = new Map<string, Repo>();
  private readonly faults: Array<Required<Fault>> = [];
  private down = false;
  private readonly server: http.Server;
  private nextId = 1;
  private release: () => Promise<void> = async () => undefined;

  private constructor(readonly token: string) {
    this.server = http.createServer((req, res) => void this.handle(req, res));
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/graphql`;
  }

  /** Closes the server and its connections; the harness does it in teardown if no test did. */
  stop(): Promise<void> {
    return this.release();
  }

  addRepository(fullName: string): void {
    if (!this.repos.has(fullName.toLowerCase())) {
      this.repos.set(fullName.toLowerCase(), { id: this.id('R'), fullName, labels: [], refs: new Map(), prs: [], authors: new Map() });
    }
  }

  addLabel(fullName: string, name: string): void {
    const repo = this.repo(fullName);
    if (!findLabel(repo, name)) repo.labels.push({ id: this.id('LA'), name, color: 'ededed', description: '' });
  }

  setBranch(fullName: string, branch: string, oid: string): void {
    this.repo(fullName).refs.set(branch, oid);
  }

  /** Opens a PR for `branch` carrying `labels` (created in the repository when missing); returns its number. */
  openPullRequest(fullName: string, branch: string, labels: string[] = []): number {
    const repo = this.repo(fullName);
    labels.forEach((l) => this.addLabel(fullName, l));
    const number = repo.prs.length + 1;
    repo.prs.push({ id: this.id('PR'), number, headRefName: branch, state: 'OPEN', labelIds: labels.map((l) => findLabel(repo, l)!.id), comments: [] });
    return number;
  }

  closePullRequest(fullName: string, number: number): void {
    this.pr(fullName, number).state = 'CLOSED';
  }

  /** Adds a label to a PR, as an agent would. */
  labelPullRequest(fullName: string, number: number, name: string): void {
    this.addLabel(fullName, name);
    const pr = this.pr(fullName, number);
    const id = findLabel(this.repo(fullName), name)!.id;
    if (!pr.labelIds.includes(id)) pr.labelIds.push(id);
  }

  prLabels(fullName: string, number: number): string[] {
    const repo = this.repo(fullName);
    return this.pr(fullName, number).labelIds.map((id) => repo.labels.find((l) => l.id === id)!.name).sort();
  }

  prComments(fullName: string, number: number): string[] {
    return this.pr(fullName, number).comments.map((c) => c.body);
  }

  repoLabels(fullName: string): Label[] {
    return this.repo(fullName).labels;
  }

  setCommitAuthor(fullName: string, oid: string, author: CommitAuthor): void {
    this.repo(fullName).authors.set(oid, author);
  }

  /** While on, every request is answered 502, as in a GitHub outage. */
  outage(on: boolean): void {
    this.down = on;
  }

  inject(fault: Fault): void {
    this.faults.push({ times: 1, retryAfter: 1, delayMs: 3000, ...fault });
  }

  /** Requests that reached the resolvers (no fault), optionally of one operation. */
  count(operation?: string): number {
    return this.requests.filter((r) => !r.fault && r.status === 200 && (!operation || r.operation === operation)).length;
  }

  private id(prefix: string): string {
    return `${prefix}_kgDO${String(this.nextId++).padStart(6, '0')}`;
  }

  private repo(fullName: string): Repo {
    const r = this.repos.get(fullName.toLowerCase());
    if (!r) throw new Error(`test server: no repository ${fullName}`);
    return r;
  }

  private pr(fullName: string, number: number): PullRequest {
    const p = this.repo(fullName).prs.find((x) => x.number === number);
    if (!p) throw new Error(`test server: no PR ${fullName}#${number}`);
    return p;
  }

  private takeFault(): Required<Fault> | undefined {
    const f = this.faults[0];
    if (!f) return undefined;
    if (--(f as { times: number }).times <= 0) this.faults.shift();
    return f;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let operation = '(unparsed)';
    const send = (status: number, body: unknown, headers: Record<string, string> = {}, fault?: FaultKind, errors?: string[]) => {
      this.requests.push({ operation, status, fault, errors, at: Date.now() });
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(body));
    };
    let payload: { query?: string; variables?: Record<string, unknown> };
    try {
      payload = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return send(400, { message: 'Problems parsing JSON' });
    }
    operation = /^\s*(?:query|mutation)\s+(\w+)/.exec(payload.query ?? '')?.[1] ?? '(anonymous)';
    if (req.method !== 'POST' || req.url !== '/graphql') return send(404, { message: 'Not Found' });
    if ((req.headers.authorization ?? '').replace(/^(bearer|token)\s+/i, '') !== this.token) {
      return send(401, { message: 'Bad credentials' });
    }

    const fault: Required<Fault> | undefined = this.down ? { kind: '502', times: 1, retryAfter: 1, delayMs: 0 } : this.takeFault();
    if (fault?.kind === 'drop') {
      this.requests.push({ operation, status: 0, fault: 'drop', at: Date.now() });
      req.socket.destroy();
      return;
    }
    if (fault?.kind === '502') return send(502, { message: 'Server Error' }, {}, '502');
    if (fault?.kind === 'secondary') {
      return send(403, { message: 'You have exceeded a secondary rate limit.' }, { 'retry-after': String(fault.retryAfter) }, 'secondary');
    }
    if (fault?.kind === 'primary') {
      const reset = String(Math.ceil(Date.now() / 1000) + fault.retryAfter);
      return send(200, { errors: [{ type: 'RATE_LIMITED', message: 'API rate limit exceeded' }] }, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset }, 'primary');
    }
    if (fault?.kind === 'slow') await new Promise((r) => setTimeout(r, fault.delayMs));
    if (fault?.kind === 'slow' && (res.destroyed || req.socket.destroyed)) {
      this.requests.push({ operation, status: 0, fault: 'slow', at: Date.now() });
      return;
    }

    let document;
    try {
      document = parse(payload.query ?? '');
    } catch (e) {
      return send(200, { errors: [{ message: (e as Error).message }] }, {}, undefined, [(e as Error).message]);
    }
    const invalid = validate(githubSchema(), document);
    if (invalid.length) {
      const errors = invalid.map((e) => e.message);
      return send(200, { errors: errors.map((message) => ({ message })) }, {}, undefined, errors);
    }
    const result = await execute({ schema: githubSchema(), document, variableValues: payload.variables ?? {}, rootValue: this.root() });
    const errors = result.errors?.map((e: GraphQLError) => ({ message: e.message, type: (e.originalError as ApiError | undefined)?.type, path: e.path }));
    send(200, errors ? { data: result.data, errors } : { data: result.data }, {}, fault?.kind, errors?.map((e) => e.message));
  }

  private root(): Record<string, unknown> {
    const prNode = (repo: Repo, pr: PullRequest) => ({
      __typename: 'PullRequest',
      id: pr.id,
      number: pr.number,
      state: pr.state,
      headRefName: pr.headRefName,
      headRefOid: repo.refs.get(pr.headRefName) ?? '0'.repeat(40),
      labels: (a: { first?: number }) => ({ nodes: pr.labelIds.slice(0, a.first ?? 100).map((id) => repo.labels.find((l) => l.id === id)) }),
      comments: (a: { last?: number }) => ({
        nodes: pr.comments.slice(-(a.last ?? 100)).map((c) => ({ body: c.body, viewerDidAuthor: c.byViewer })),
      }),
    });
    const findPr = (id: string): [Repo, PullRequest] => {
      for (const repo of this.repos.values()) {
        const pr = repo.prs.find((p) => p.id === id);
        if (pr) return [repo, pr];
      }
      throw new ApiError('NOT_FOUND', `Could not resolve to a node with the global id of '${id}'.`);
    };
    const labelIds = (repo: Repo, ids: string[]) =>
      ids.map((id) => {
        if (!repo.labels.some((l) => l.id === id)) throw new ApiError('NOT_FOUND', `Could not resolve to a node with the global id of '${id}'.`);
        return id;
      });
    return {
      repository: (a: { owner: string; name: string }) => {
        const repo = this.repos.get(`${a.owner}/${a.name}`.toLowerCase());
        if (!repo) throw new ApiError('NOT_FOUND', `Could not resolve to a Repository with the name '${a.owner}/${a.name}'.`);
        return {
          id: repo.id,
          label: (b: { name: string }) => findLabel(repo, b.name) ?? null,
          pullRequest: (b: { number: number }) => {
            const pr = repo.prs.find((p) => p.number === b.number);
            return pr ? prNode(repo, pr) : null;
          },
          pullRequests: (b: { states?: string[]; labels?: string[]; first?: number }) => ({
            nodes: repo.prs
              .filter((p) => !b.states || b.states.includes(p.state))
              .filter((p) => !b.labels || p.labelIds.some((id) => b.labels!.some((n) => findLabel(repo, n)?.id === id)))
              .slice(0, b.first ?? 100)
              .map((p) => prNode(repo, p)),
          }),
          object: (b: { oid: string }) => {
            const a = repo.authors.get(b.oid);
            return a ? { __typename: 'Commit', author: { name: a.name, user: a.login ? { login: a.login } : null } } : null;
          },
          ref: (b: { qualifiedName: string }) => {
            const branch = b.qualifiedName.replace(/^refs\/heads\//, '');
            const oid = repo.refs.get(branch);
            if (oid === undefined) return null;
            return {
              target: { __typename: 'Commit', oid },
              associatedPullRequests: (c: { states?: string[]; first?: number }) => ({
                nodes: repo.prs
                  .filter((p) => p.headRefName === branch && (!c.states || c.states.includes(p.state)))
                  .slice(0, c.first ?? 100)
                  .map((p) => prNode(repo, p)),
              }),
            };
          },
        };
      },
      removeLabelsFromLabelable: ({ input }: { input: { labelableId: string; labelIds: string[] } }) => {
        const [repo, pr] = findPr(input.labelableId);
        const drop = labelIds(repo, input.labelIds);
        pr.labelIds = pr.labelIds.filter((id) => !drop.includes(id));
        return { clientMutationId: null };
      },
      addLabelsToLabelable: ({ input }: { input: { labelableId: string; labelIds: string[] } }) => {
        const [repo, pr] = findPr(input.labelableId);
        for (const id of labelIds(repo, input.labelIds)) if (!pr.labelIds.includes(id)) pr.labelIds.push(id);
        return { clientMutationId: null };
      },
      addComment: ({ input }: { input: { subjectId: string; body: string } }) => {
        const [, pr] = findPr(input.subjectId);
        pr.comments.push({ body: input.body, byViewer: true });
        return { clientMutationId: null };
      },
      createLabel: ({ input }: { input: { repositoryId: string; name: string; color: string; description?: string } }) => {
        const repo = [...this.repos.values()].find((r) => r.id === input.repositoryId);
        if (!repo) throw new ApiError('NOT_FOUND', `Could not resolve to a node with the global id of '${input.repositoryId}'.`);
        if (findLabel(repo, input.name)) throw new ApiError('UNPROCESSABLE', 'Name has already been taken');
        const label = { id: this.id('LA'), name: input.name, color: input.color, description: input.description ?? '' };
        repo.labels.push(label);
        return { label };
      },
    };
  }
}

function findLabel(repo: Repo, name: string): Label | undefined {
  return repo.labels.find((l) => l.name.toLowerCase() === name.toLowerCase());
}
