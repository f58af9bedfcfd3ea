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
 *   gh.openPullRequest('up/r', 'b', [], { head: 'o/r' }) a PR from o/r's branch into another repository of its network
 *   gh.deletePullRequest('o/r', n): `pullRequest(number:)` then answers null and NOT_FOUND for its alias, as GitHub does
 *   gh.inject({ kind, operation?, times?, ... }): the next `times` requests (of `operation`, when given) meet the fault;
 *     see FaultKind for each of GitHub's failure shapes
 *   gh.outage(true) answers every request 502 until gh.outage(false)
 *   GitHubTestServer.start({ mutationIntervalMs }) enforces GitHub's "1 s between mutations on one token" as a
 *     secondary rate limit (HTTP 403, retry-after); start({ limits: GITHUB_LIMITS.token }) GitHub's other limits (limits.ts)
 *   gh.setCommitAuthor('o/r', sha, { name, login }) for `object(oid:)` lookups
 *   gh.push('o/r', branch, sha, author) moves a branch as a push does: a new head commit, committed now
 *   gh.labelPullRequest('o/r', n, name) adds a label and a LabeledEvent (the timeline keeps when)
 *   gh.clockSkewMs: how far this "GitHub" clock runs ahead of the machine's (negative: behind)
 *   gh.requests (every request: operation, status, fault, points); gh.count(op?); await gh.stop()
 *   GitHubTestServer.start({ app: { installedOn } }) is also a GitHub App platform (gh.app: see app-platform.ts)
 *
 * `rateLimit { cost remaining }` follows GitHub's documented calculation: each connection asks for as many
 * nodes as its `first`/`last` times its parents', the sum divided by 100, at least 1 point.
 */
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as path from 'path';
import { HookDeliveries } from './deliveries';
import {
  buildClientSchema,
  DocumentNode,
  execute,
  FragmentDefinitionNode,
  GraphQLError,
  GraphQLSchema,
  Kind,
  OperationTypeNode,
  parse,
  SelectionSetNode,
  validate,
  ValueNode,
} from 'graphql';
import { own } from '../harness/owned';
import { AppPlatform, AppPlatformOptions, checkPermission, checkRepository, Grant } from './app-platform';
import { contentCreations, GitHubLimits, RateLimiter } from './limits';

const SCHEMA_JSON = path.resolve(__dirname, '..', '..', 'node_modules', '@octokit', 'graphql-schema', 'schema.json');
let cachedSchema: GraphQLSchema | undefined;

/** GitHub's schema, built from schema.json (the .graphql file has a duplicate field that graphql-js rejects). */
export function githubSchema(): GraphQLSchema {
  cachedSchema ??= buildClientSchema(JSON.parse(fs.readFileSync(SCHEMA_JSON, 'utf8')));
  return cachedSchema;
}

/**
 * Each way GitHub fails, whole requests first:
 * - `502`: refused with a 502, nothing done; `drop`: the connection closed unanswered, nothing done;
 * - `secondary`: a secondary rate limit with retry-after, as HTTP 403 (default) or HTTP 200 with `errors` (`status`);
 * - `primary`: RATE_LIMITED on HTTP 200 (default), or HTTP 403, with x-ratelimit-remaining 0 and x-ratelimit-reset;
 * - `slow`: answered after `delayMs`;
 * then the ones where the work is done and the answer says otherwise:
 * - `applied-502`: done, then answered 502 or 504 (`status`), as after GitHub's 10 s limit;
 * - `applied-drop`: done, then the connection closed unanswered;
 * - `timeout`: HTTP 200 with GitHub's timeout error, no `type`, data null; done when `applied`;
 * and the ones where part of a document fails:
 * - `forbidden`: the root field `field` answers FORBIDDEN; the fields before and after it still run;
 * - `delete-label`: label `label` is deleted from the repository (and its PRs) just before the request runs.
 */
export type FaultKind =
  '502' | 'secondary' | 'primary' | 'slow' | 'drop' | 'applied-502' | 'applied-drop' | 'timeout' | 'forbidden' | 'delete-label';
export interface Fault {
  readonly kind: FaultKind;
  /** How many coming requests it hits. @default 1 */
  readonly times?: number;
  /** Only requests of this operation (`Transition`, `CreateLabel`, ...) meet it; others pass it by. */
  readonly operation?: string;
  /** Seconds, for 'secondary' and 'primary'. @default 1 */
  readonly retryAfter?: number;
  /** For 'slow'. @default 3000 */
  readonly delayMs?: number;
  /** HTTP status for 'secondary' (403 or 200), 'primary' (200 or 403) and 'applied-502' (502 or 504). */
  readonly status?: number;
  /** For 'timeout': GitHub did the work before it gave up. @default false */
  readonly applied?: boolean;
  /** For 'forbidden': the root field that fails. */
  readonly field?: string;
  /** For 'delete-label': the label's name. */
  readonly label?: string;
}

const TIMEOUT_MESSAGE =
  'Something went wrong while executing your query. This may be the result of a timeout, or it could be a GitHub bug. Please include `C0DE:1234:5678:9ABC:DEF0` when reporting this issue.';
const SECONDARY_MESSAGE = 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.';

export interface RequestRecord {
  readonly operation: string;
  readonly status: number;
  readonly fault?: FaultKind;
  readonly errors?: string[];
  readonly at: number;
  /** GitHub points the request cost (requests that ran only). */
  readonly points?: number;
}

interface Label {
  id: string;
  name: string;
  color: string;
  description: string;
}
interface Comment {
  id: string;
  body: string;
  byViewer: boolean;
}
interface LabelEvent {
  labelId: string;
  at: string;
}
/** Stored in its base repository; `head` is the repository its branch is in. */
interface PullRequest {
  id: string;
  number: number;
  head: string;
  headRefName: string;
  state: 'OPEN' | 'CLOSED' | 'MERGED';
  isDraft: boolean;
  closedAt: string | null;
  updatedAt: string;
  labelIds: string[];
  labelEvents: LabelEvent[];
  comments: Comment[];
}
interface Commit {
  author: CommitAuthor;
  committedAt: string;
}
interface Repo {
  id: string;
  fullName: string;
  labels: Label[];
  refs: Map<string, string>;
  prs: PullRequest[];
  commits: Map<string, Commit>;
  lastNumber: number;
}
export interface CommitAuthor {
  name: string;
  login: string | null;
  email?: string;
}

/** GitHub's cap on the nodes one request may ask for. */
export const MAX_NODES = 500_000;

/**
 * The points a request costs on GitHub (the requests its connections imply, over 100, at least 1), and the nodes
 * it may return (each connection's `first`/`last` times its parents'). Throws GitHub's error for a `first` or
 * `last` outside 1 to 100.
 */
export function queryCost(document: DocumentNode, variables: Record<string, unknown>): { points: number; nodes: number } {
  const fragments = new Map(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
  const value = (v: ValueNode): number =>
    v.kind === Kind.INT ? Number(v.value) : v.kind === Kind.VARIABLE ? Number(variables[v.name.value] ?? 0) : 0;
  let nodes = 0;
  const walk = (set: SelectionSetNode | undefined, multiplier: number): number => {
    let sum = 0;
    for (const sel of set?.selections ?? []) {
      if (sel.kind === Kind.FRAGMENT_SPREAD) sum += walk(fragments.get(sel.name.value)?.selectionSet, multiplier);
      else if (sel.kind === Kind.INLINE_FRAGMENT) sum += walk(sel.selectionSet, multiplier);
      else {
        const size = sel.arguments?.find((a) => a.name.value === 'first' || a.name.value === 'last');
        const n = size ? value(size.value) : 1;
        if (size && (n < 1 || n > 100)) {
          throw new ApiError(
            'EXCESSIVE_PAGINATION',
            `Requesting ${n} records on the \`${sel.name.value}\` connection exceeds the \`${size.name.value}\` limit of 100 records.`,
          );
        }
        if (size) {
          sum += multiplier;
          nodes += multiplier * n;
        }
        sum += walk(sel.selectionSet, multiplier * n);
      }
    }
    return sum;
  };
  const op = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
  if (!op || op.kind !== Kind.OPERATION_DEFINITION) return { points: 1, nodes: 0 };
  const points = Math.max(1, Math.round(walk(op.selectionSet, 1) / 100));
  return { points, nodes };
}

class ApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export class GitHubTestServer {
  static async start(
    options: { token?: string; mutationIntervalMs?: number; limits?: GitHubLimits; app?: AppPlatformOptions } = {},
  ): Promise<GitHubTestServer> {
    const s = new GitHubTestServer(options.token ?? 'test-token', options.mutationIntervalMs ?? 0);
    s.limiter = options.limits && new RateLimiter(options.limits, () => s.now());
    if (options.app) s.app = new AppPlatform(options.app, () => s.now());
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    s.release = own('GitHub test server', () => {
      s.server.closeAllConnections();
      return new Promise<void>((resolve) => s.server.close(() => resolve()));
    });
    return s;
  }

  readonly requests: RequestRecord[] = [];
  /** The webhook: its deliveries, and the REST API that lists and redelivers them. */
  readonly hook = new HookDeliveries();
  /** The GitHub App platform, when started with `app`. */
  app?: AppPlatform;
  private readonly repos = new Map<string, Repo>();
  private readonly faults: Array<Fault & { times: number }> = [];
  private down = false;
  private readonly server: http.Server;
  private nextId = 1;
  private lastMutationAt = -Infinity;
  /** How far this server's clock runs ahead of the machine's, for its timestamps (negative: behind). */
  clockSkewMs = 0;
  /** Points left in the hour's budget, as `rateLimit.remaining` reports it. */
  private remaining = 5000;
  private release: () => Promise<void> = async () => undefined;
  /** GitHub's limits on this server's token, when started with them. */
  limiter?: RateLimiter;

  private constructor(
    readonly token: string,
    private readonly mutationIntervalMs: number,
  ) {
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
      this.repos.set(fullName.toLowerCase(), {
        id: this.id('R'),
        fullName,
        labels: [],
        refs: new Map(),
        prs: [],
        commits: new Map(),
        lastNumber: 0,
      });
    }
  }

  addLabel(fullName: string, name: string): void {
    const repo = this.repo(fullName);
    if (!findLabel(repo, name)) repo.labels.push({ id: this.id('LA'), name, color: 'ededed', description: '' });
  }

  setBranch(fullName: string, branch: string, oid: string): void {
    this.repo(fullName).refs.set(branch, oid);
  }

  /** A push: `branch` now points at a new commit `oid` by `author`, committed now; returns the push time (ms). */
  push(fullName: string, branch: string, oid: string, author: CommitAuthor): number {
    const at = this.now();
    this.repo(fullName).commits.set(oid, { author, committedAt: iso(at) });
    this.setBranch(fullName, branch, oid);
    return at;
  }

  /** Now, on this server's clock. */
  now(): number {
    return Date.now() + this.clockSkewMs;
  }

  /**
   * Opens a PR into `fullName` for `branch` of `head` (default: the same repository), carrying `labels`
   * (created in the repository when missing); returns its number.
   */
  openPullRequest(fullName: string, branch: string, labels: string[] = [], options: { head?: string } = {}): number {
    const repo = this.repo(fullName);
    labels.forEach((l) => this.addLabel(fullName, l));
    const number = ++repo.lastNumber;
    const head = this.repo(options.head ?? fullName).fullName;
    const labelIds = labels.map((l) => findLabel(repo, l)!.id);
    const labelEvents = labelIds.map((labelId) => ({ labelId, at: iso(this.now()) }));
    const at = iso(this.now());
    repo.prs.push({
      id: this.id('PR'),
      number,
      head,
      headRefName: branch,
      state: 'OPEN',
      isDraft: false,
      closedAt: null,
      updatedAt: at,
      labelIds,
      labelEvents,
      comments: [],
    });
    return number;
  }

  /** A PR GitHub no longer has. Its number is not reused. */
  deletePullRequest(fullName: string, number: number): void {
    const repo = this.repo(fullName);
    this.pr(fullName, number);
    repo.prs = repo.prs.filter((p) => p.number !== number);
  }

  /** Closes a PR unmerged, now; returns the time GitHub records (ms). */
  closePullRequest(fullName: string, number: number): number {
    return this.end(this.pr(fullName, number), 'CLOSED');
  }

  /** Merges a PR, now: GitHub closes it too; returns the time (ms). */
  mergePullRequest(fullName: string, number: number): number {
    return this.end(this.pr(fullName, number), 'MERGED');
  }

  /** Converts an open PR to a draft, now; returns the time (ms). */
  convertToDraft(fullName: string, number: number): number {
    const pr = this.pr(fullName, number);
    pr.isDraft = true;
    return this.touch(pr);
  }

  private end(pr: PullRequest, state: 'CLOSED' | 'MERGED'): number {
    pr.state = state;
    const at = this.touch(pr);
    pr.closedAt = pr.updatedAt;
    return at;
  }

  /** Stamps a change of the PR, as GitHub's `updatedAt`; returns the time (ms, whole seconds). */
  private touch(pr: PullRequest): number {
    pr.updatedAt = iso(this.now());
    return Date.parse(pr.updatedAt);
  }

  /** Adds a label to a PR, as an agent would; the timeline records when. */
  labelPullRequest(fullName: string, number: number, name: string): void {
    this.addLabel(fullName, name);
    this.addLabels(this.pr(fullName, number), [findLabel(this.repo(fullName), name)!.id]);
  }

  /** Removes a label from a PR, as an agent or a person would. */
  unlabelPullRequest(fullName: string, number: number, name: string): void {
    const pr = this.pr(fullName, number);
    const id = findLabel(this.repo(fullName), name)?.id;
    pr.labelIds = pr.labelIds.filter((l) => l !== id);
  }

  private addLabels(pr: PullRequest, ids: string[]): void {
    for (const id of ids) {
      if (pr.labelIds.includes(id)) continue;
      pr.labelIds.push(id);
      pr.labelEvents.push({ labelId: id, at: iso(this.now()) });
      this.touch(pr);
    }
  }

  prLabels(fullName: string, number: number): string[] {
    const repo = this.repo(fullName);
    return this.pr(fullName, number)
      .labelIds.map((id) => repo.labels.find((l) => l.id === id)!.name)
      .sort();
  }

  prComments(fullName: string, number: number): string[] {
    return this.pr(fullName, number).comments.map((c) => c.body);
  }

  repoLabels(fullName: string): Label[] {
    return this.repo(fullName).labels;
  }

  setCommitAuthor(fullName: string, oid: string, author: CommitAuthor): void {
    const commits = this.repo(fullName).commits;
    commits.set(oid, { committedAt: iso(this.now()), ...commits.get(oid), author });
  }

  /** While on, every request is answered 502, as in a GitHub outage. */
  outage(on: boolean): void {
    this.down = on;
  }

  inject(fault: Fault): void {
    this.faults.push({ ...fault, times: fault.times ?? 1 });
  }

  /** Drops the faults not met yet. */
  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Deletes a repository label, which also takes it off every PR, as GitHub does. */
  deleteLabel(fullName: string, name: string): void {
    const repo = this.repo(fullName);
    const label = findLabel(repo, name);
    if (!label) return;
    repo.labels = repo.labels.filter((l) => l !== label);
    for (const pr of repo.prs) pr.labelIds = pr.labelIds.filter((id) => id !== label.id);
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

  private takeFault(operation: string): Fault | undefined {
    const at = this.faults.findIndex((f) => !f.operation || f.operation === operation);
    if (at < 0) return undefined;
    const f = this.faults[at];
    if (--f.times <= 0) this.faults.splice(at, 1);
    return f;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (this.hook.serve(req, res, this.token, (authorization) => !!this.app && !this.app.checkJwt(authorization))) return;
    let operation = '(unparsed)';
    const send = (
      status: number,
      body: unknown,
      headers: Record<string, string> = {},
      fault?: FaultKind,
      errors?: string[],
      points?: number,
    ) => {
      this.requests.push({ operation, status, fault, errors, at: Date.now(), points });
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(body));
    };
    const rest = this.app?.rest(req.method ?? '', req.url ?? '', req.headers.authorization ?? '', Buffer.concat(chunks).toString('utf8'));
    if (rest) {
      operation = rest.operation;
      if (this.down) return send(502, { message: 'Server Error' }, {}, '502');
      return send(rest.status, rest.body, { date: new Date(this.now()).toUTCString() });
    }
    let payload: { query?: string; variables?: Record<string, unknown> };
    try {
      payload = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return send(400, { message: 'Problems parsing JSON' });
    }
    operation = /^\s*(?:query|mutation)\s+(\w+)/.exec(payload.query ?? '')?.[1] ?? '(anonymous)';
    if (req.method !== 'POST' || req.url !== '/graphql') return send(404, { message: 'Not Found' });
    const bearer = (req.headers.authorization ?? '').replace(/^(bearer|token)\s+/i, '');
    const grant = bearer === this.token ? {} : this.app?.grant(bearer);
    if (!grant) return send(401, { message: 'Bad credentials' });

    const fault: Fault | undefined = this.down ? { kind: '502' } : this.takeFault(operation);
    if (fault?.kind === 'drop') {
      this.requests.push({ operation, status: 0, fault: 'drop', at: Date.now() });
      req.socket.destroy();
      return;
    }
    if (fault?.kind === '502') return send(502, { message: 'Server Error' }, {}, '502');
    if (fault?.kind === 'secondary') {
      const headers = { 'retry-after': String(fault.retryAfter ?? 1) };
      if (fault.status === 200) return send(200, { errors: [{ message: SECONDARY_MESSAGE }] }, headers, 'secondary', [SECONDARY_MESSAGE]);
      return send(403, { message: SECONDARY_MESSAGE }, headers, 'secondary');
    }
    if (fault?.kind === 'primary') {
      const headers = { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + (fault.retryAfter ?? 1)) };
      if (fault.status === 403) return send(403, { message: 'API rate limit exceeded for installation.' }, headers, 'primary');
      return send(200, { errors: [{ type: 'RATE_LIMITED', message: 'API rate limit exceeded' }] }, headers, 'primary');
    }
    if (fault?.kind === 'slow') await new Promise((r) => setTimeout(r, fault.delayMs ?? 3000));
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
    const mutation = document.definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION && d.operation === OperationTypeNode.MUTATION);
    if (mutation && this.mutationIntervalMs > 0) {
      const wait = this.lastMutationAt + this.mutationIntervalMs - Date.now();
      if (wait > 0) return send(403, { message: SECONDARY_MESSAGE }, { 'retry-after': String(Math.ceil(wait / 1000)) }, 'secondary');
      this.lastMutationAt = Date.now();
    }
    if (fault?.kind === 'timeout' && !fault.applied)
      return send(200, { data: null, errors: [{ message: TIMEOUT_MESSAGE }] }, {}, 'timeout', [TIMEOUT_MESSAGE]);
    if (fault?.kind === 'delete-label') {
      for (const repo of this.repos.values()) this.deleteLabel(repo.fullName, fault.label!);
    }
    let cost: { points: number; nodes: number };
    try {
      cost = queryCost(document, payload.variables ?? {});
    } catch (e) {
      const error = e as ApiError;
      return send(200, { errors: [{ type: error.type, message: error.message }] }, {}, undefined, [error.message]);
    }
    if (cost.nodes > MAX_NODES) {
      const message = `By the time this query traverses to the nodes connection, it is requesting up to ${cost.nodes} possible nodes which exceeds the maximum limit of ${MAX_NODES}.`;
      return send(200, { errors: [{ type: 'MAX_NODE_LIMIT_EXCEEDED', message }] }, {}, undefined, [message]);
    }
    const points = cost.points;
    const refused = this.limiter?.charge({ points, mutation, contents: contentCreations(document) });
    if (refused?.kind === 'secondary')
      return send(403, { message: SECONDARY_MESSAGE }, { 'retry-after': String(Math.ceil(refused.retryAfterMs / 1000)) }, 'secondary');
    if (refused) {
      const headers = { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.ceil(refused.resetAt / 1000)) };
      return send(200, { errors: [{ type: 'RATE_LIMITED', message: 'API rate limit exceeded' }] }, headers, 'primary');
    }
    this.remaining = this.limiter?.remaining ?? Math.max(0, this.remaining - points);
    const rateLimit = {
      cost: points,
      remaining: this.remaining,
      limit: 5000,
      used: 5000 - this.remaining,
      nodeCount: cost.nodes,
      resetAt: iso(this.now() + 3_600_000),
    };
    const root = { ...this.root(fault?.kind === 'forbidden' ? fault.field : undefined, grant), rateLimit };
    const result = await execute({ schema: githubSchema(), document, variableValues: payload.variables ?? {}, rootValue: root });
    if (fault?.kind === 'timeout')
      return send(200, { data: null, errors: [{ message: TIMEOUT_MESSAGE }] }, {}, 'timeout', [TIMEOUT_MESSAGE]);
    if (fault?.kind === 'applied-502') return send(fault.status ?? 502, { message: 'Server Error' }, {}, 'applied-502');
    if (fault?.kind === 'applied-drop') {
      this.requests.push({ operation, status: 0, fault: 'applied-drop', at: Date.now() });
      req.socket.destroy();
      return;
    }
    const errors = result.errors?.map((e: GraphQLError) => ({
      message: e.message,
      type: (e.originalError as ApiError | undefined)?.type,
      path: e.path,
    }));
    send(
      200,
      errors ? { data: result.data, errors } : { data: result.data },
      {},
      fault?.kind,
      errors?.map((e) => e.message),
      points,
    );
  }

  /** The resolvers; `forbidden` names a root field that answers FORBIDDEN (the others run); `grant` is what the token may touch. */
  private root(forbidden?: string, grant?: Grant): Record<string, unknown> {
    const commitNode = (repo: Repo, oid: string) => {
      const c = repo.commits.get(oid);
      return (
        c && {
          __typename: 'Commit',
          oid,
          committedDate: c.committedAt,
          author: { name: c.author.name, email: c.author.email ?? null, user: c.author.login ? { login: c.author.login } : null },
        }
      );
    };
    const prNode = (repo: Repo, pr: PullRequest) => {
      const headRepo = this.repo(pr.head);
      const head = headRepo.refs.get(pr.headRefName) ?? '0'.repeat(40);
      return {
        __typename: 'PullRequest',
        id: pr.id,
        number: pr.number,
        state: pr.state,
        isDraft: pr.isDraft,
        isCrossRepository: !sameName(pr.head, repo.fullName),
        closedAt: pr.closedAt,
        mergedAt: pr.state === 'MERGED' ? pr.closedAt : null,
        updatedAt: pr.updatedAt,
        headRefName: pr.headRefName,
        headRefOid: head,
        baseRepository: { id: repo.id, nameWithOwner: repo.fullName },
        labels: (a: { first?: number }) => ({
          nodes: pr.labelIds.slice(0, a.first ?? 100).map((id) => repo.labels.find((l) => l.id === id)),
        }),
        comments: (a: { last?: number }) => ({
          nodes: pr.comments.slice(-(a.last ?? 100)).map((c) => ({ id: c.id, body: c.body, viewerDidAuthor: c.byViewer })),
        }),
        timelineItems: (a: { itemTypes?: string[]; last?: number }) => {
          if (a.itemTypes?.join() !== 'LABELED_EVENT')
            throw new Error('test server: only timelineItems(itemTypes: [LABELED_EVENT]) is modelled');
          return {
            // A deleted label's events go with it.
            nodes: pr.labelEvents
              .filter((e) => repo.labels.some((l) => l.id === e.labelId))
              .slice(-(a.last ?? 100))
              .map((e) => ({ __typename: 'LabeledEvent', createdAt: e.at, label: repo.labels.find((l) => l.id === e.labelId) })),
          };
        },
        // Only the head commit is modelled: what `commits(last: 1)` asks for.
        commits: (a: { last?: number }) => {
          if (a.last !== 1) throw new Error('test server: only commits(last: 1) is modelled');
          const commit = commitNode(headRepo, head);
          return { nodes: commit ? [{ commit }] : [] };
        },
      };
    };
    const findPr = (id: string): [Repo, PullRequest] => {
      for (const repo of this.repos.values()) {
        const pr = repo.prs.find((p) => p.id === id);
        if (!pr) continue;
        checkRepository(grant, repo.fullName, `Could not resolve to a node with the global id of '${id}'.`);
        return [repo, pr];
      }
      throw new ApiError('NOT_FOUND', `Could not resolve to a node with the global id of '${id}'.`);
    };
    const labelIds = (repo: Repo, ids: string[]) =>
      ids.map((id) => {
        if (!repo.labels.some((l) => l.id === id))
          throw new ApiError('NOT_FOUND', `Could not resolve to a node with the global id of '${id}'.`);
        return id;
      });
    const repoNode = (repo: Repo) => ({
      __typename: 'Repository',
      id: repo.id,
      label: (b: { name: string }) => findLabel(repo, b.name) ?? null,
      pullRequest: (b: { number: number }) => {
        checkPermission(grant, 'read', 'pull_requests');
        const pr = repo.prs.find((p) => p.number === b.number);
        if (!pr) throw new ApiError('NOT_FOUND', `Could not resolve to a PullRequest with the number of ${b.number}.`);
        return prNode(repo, pr);
      },
      // Creation order, or newest first with orderBy CREATED_AT DESC; other orders are not modelled.
      pullRequests: (b: {
        states?: string[];
        labels?: string[];
        headRefName?: string;
        first?: number;
        orderBy?: { field: string; direction: string };
      }) => {
        if (b.orderBy && b.orderBy.field !== 'CREATED_AT') throw new Error('test server: only orderBy CREATED_AT is modelled');
        checkPermission(grant, 'read', 'pull_requests');
        const prs = repo.prs
          .filter((p) => !b.states || b.states.includes(p.state))
          .filter((p) => b.headRefName === undefined || p.headRefName === b.headRefName)
          .filter((p) => !b.labels || p.labelIds.some((id) => b.labels!.some((n) => findLabel(repo, n)?.id === id)));
        if (b.orderBy?.direction === 'DESC') prs.reverse();
        return { nodes: prs.slice(0, b.first ?? 100).map((p) => prNode(repo, p)) };
      },
      object: (b: { oid: string }) => (checkPermission(grant, 'read', 'contents'), commitNode(repo, b.oid) ?? null),
      ref: (b: { qualifiedName: string }) => {
        checkPermission(grant, 'read', 'contents');
        const branch = b.qualifiedName.replace(/^refs\/heads\//, '');
        const oid = repo.refs.get(branch);
        if (oid === undefined) return null;
        return {
          target: { __typename: 'Commit', oid },
          // Every PR with this branch as head, whichever repository of the network it goes into.
          associatedPullRequests: (c: { states?: string[]; first?: number }) => ({
            nodes: (checkPermission(grant, 'read', 'pull_requests'), [...this.repos.values()])
              .flatMap((base) => base.prs.map((p) => [base, p] as const))
              .filter(([, p]) => sameName(p.head, repo.fullName) && p.headRefName === branch && (!c.states || c.states.includes(p.state)))
              // Oldest first: ids are allocated in order.
              .sort(([, x], [, y]) => (x.id < y.id ? -1 : 1))
              .slice(0, c.first ?? 100)
              .map(([base, p]) => prNode(base, p)),
          }),
        };
      },
    });
    const resolvers: Record<string, (args: any) => unknown> = {
      repository: (a: { owner: string; name: string }) => {
        const repo = this.repos.get(`${a.owner}/${a.name}`.toLowerCase());
        if (!repo) throw new ApiError('NOT_FOUND', `Could not resolve to a Repository with the name '${a.owner}/${a.name}'.`);
        checkRepository(grant, repo.fullName, `Could not resolve to a Repository with the name '${a.owner}/${a.name}'.`);
        return repoNode(repo);
      },
      // Repositories only: what the Job looks up by id.
      node: (a: { id: string }) => {
        const repo = [...this.repos.values()].find((r) => r.id === a.id);
        if (repo) checkRepository(grant, repo.fullName, `Could not resolve to a node with the global id of '${a.id}'.`);
        return repo ? repoNode(repo) : null;
      },
      removeLabelsFromLabelable: ({ input }: { input: { labelableId: string; labelIds: string[] } }) => {
        const [repo, pr] = findPr(input.labelableId);
        checkPermission(grant, 'write', 'pull_requests', 'issues');
        const drop = labelIds(repo, input.labelIds);
        pr.labelIds = pr.labelIds.filter((id) => !drop.includes(id));
        return { clientMutationId: null };
      },
      addLabelsToLabelable: ({ input }: { input: { labelableId: string; labelIds: string[] } }) => {
        const [repo, pr] = findPr(input.labelableId);
        checkPermission(grant, 'write', 'pull_requests', 'issues');
        this.addLabels(pr, labelIds(repo, input.labelIds));
        return { clientMutationId: null };
      },
      addComment: ({ input }: { input: { subjectId: string; body: string } }) => {
        const [, pr] = findPr(input.subjectId);
        checkPermission(grant, 'write', 'pull_requests', 'issues');
        pr.comments.push({ id: this.id('IC'), body: checkBody(input.body), byViewer: true });
        return { clientMutationId: null };
      },
      // An edit is not content creation (limits.ts counts addComment only); only its author may make it.
      updateIssueComment: ({ input }: { input: { id: string; body: string } }) => {
        const found = [...this.repos.values()]
          .flatMap((repo) => repo.prs.map((pr) => [repo, pr] as const))
          .map(([repo, pr]) => [repo, pr.comments.find((c) => c.id === input.id)] as const)
          .find(([, c]) => c);
        if (!found) throw new ApiError('NOT_FOUND', `Could not resolve to a node with the global id of '${input.id}'.`);
        const [repo, comment] = found;
        checkRepository(grant, repo.fullName, `Could not resolve to a node with the global id of '${input.id}'.`);
        checkPermission(grant, 'write', 'pull_requests', 'issues');
        if (!comment!.byViewer) throw new ApiError('FORBIDDEN', 'Resource not accessible by integration');
        comment!.body = checkBody(input.body);
        return { clientMutationId: null };
      },
      createLabel: ({ input }: { input: { repositoryId: string; name: string; color: string; description?: string } }) => {
        const repo = [...this.repos.values()].find((r) => r.id === input.repositoryId);
        if (!repo) throw new ApiError('NOT_FOUND', `Could not resolve to a node with the global id of '${input.repositoryId}'.`);
        checkRepository(grant, repo.fullName, `Could not resolve to a node with the global id of '${input.repositoryId}'.`);
        checkPermission(grant, 'write', 'pull_requests', 'issues');
        if (findLabel(repo, input.name)) throw new ApiError('UNPROCESSABLE', 'Name has already been taken');
        const label = { id: this.id('LA'), name: input.name, color: input.color, description: input.description ?? '' };
        repo.labels.push(label);
        return { label };
      },
    };
    if (forbidden) {
      resolvers[forbidden] = () => {
        throw new ApiError('FORBIDDEN', 'Resource not accessible by integration');
      };
    }
    return resolvers;
  }
}

const sameName = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** GitHub's DateTime: ISO 8601 in whole seconds. */
function iso(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** GitHub's cap on a comment body, in characters. */
export const MAX_COMMENT_CHARS = 65_536;

function checkBody(body: string): string {
  if ([...body].length > MAX_COMMENT_CHARS)
    throw new ApiError('UNPROCESSABLE', `Body is too long (maximum is ${MAX_COMMENT_CHARS} characters)`);
  return body;
}

function findLabel(repo: Repo, name: string): Label | undefined {
  return repo.labels.find((l) => l.name.toLowerCase() === name.toLowerCase());
}
