/** In-memory stand-ins for the Job's two interfaces, for unit tests of its logic only. */
import {
  GitHubApi,
  PullRequestState,
  PullRequestView,
  RepositoryView,
  ResolvedPush,
  Survey,
  SurveyAsk,
  TransitionChange,
} from '../../../src/job/github/github';
import { RemediationMode } from '../../../src/contract/env';
import { ReconcileInput } from '../../../src/job/input';
import { KubeApi, KubeEvent, KubeObject, Lease } from '../../../src/job/kube/kube';
import { Clock } from '../../../src/job/clock';
import { ConflictError } from '../../../src/job/errors';

/** A clock whose time moves only when the code sleeps on it or a test sets it: a wait takes no time, and is kept. */
export interface FakeClock extends Clock {
  /** Every sleep asked for, in ms. */
  readonly slept: number[];
  set(ms: number): void;
  advance(ms: number): void;
}

/** Starts at `start` (ms since epoch); `random` is the jitter every retry draws. */
export function fakeClock(start = Date.now(), random = 0.5): FakeClock {
  let t = start;
  const slept: number[] = [];
  return {
    now: () => t,
    sleep: async (ms) => {
      slept.push(ms);
      t += ms;
    },
    random: () => random,
    slept,
    set: (ms) => void (t = ms),
    advance: (ms) => void (t += ms),
  };
}

/** A CodeRun as the fake keeps it; `created` defaults to an hour before now, long before any push in a test. */
export interface FakeRun {
  name: string;
  labels: Record<string, string>;
  created?: string;
  annotations?: Record<string, string>;
  spec?: Record<string, unknown>;
  /** The controller's `status.phase`; none yet when unset. */
  phase?: string;
}

export class FakeKube implements KubeApi {
  leases = new Map<string, Lease>();
  codeRuns: FakeRun[] = [];
  events: KubeEvent[] = [];
  calls: string[] = [];
  /** Objects that survive deletion for this many lists (finalizers). */
  lingering = 0;
  private rv = 1;

  async getLease(_ns: string, name: string) {
    this.calls.push('getLease');
    return this.leases.get(name);
  }
  async createLease(l: Lease) {
    this.calls.push('createLease');
    if (this.leases.has(l.metadata.name)) throw new ConflictError('exists');
    return this.store(l);
  }
  async updateLease(l: Lease) {
    this.calls.push('updateLease');
    if (this.leases.get(l.metadata.name)?.metadata.resourceVersion !== l.metadata.resourceVersion) throw new ConflictError('stale');
    return this.store(l);
  }
  /** Runs after a list of Leases is answered and before its caller goes on: what another writer did meanwhile. */
  afterListLeases?: () => Promise<void>;
  async listLeases(_ns: string, selector: string) {
    this.calls.push('listLeases');
    const hits = [...this.leases.values()].filter((l) => matches(l.metadata.labels ?? {}, selector));
    await this.afterListLeases?.();
    return hits;
  }
  /** As the apiserver: gone already is no error; a resourceVersion precondition that fails is a conflict. */
  async deleteLease(_ns: string, name: string, resourceVersion: string) {
    this.calls.push('deleteLease');
    const lease = this.leases.get(name);
    if (!lease) return;
    if (lease.metadata.resourceVersion !== resourceVersion) throw new ConflictError(`lease ${name} changed`);
    this.leases.delete(name);
  }
  /** Deleted runs that a finalizer still holds, listed with a deletionTimestamp while `lingering` lasts. */
  private terminating: FakeRun[] = [];
  async deleteNamed(_ns: string, _r: unknown, _name: string, uid: string) {
    this.calls.push('deleteNamed');
    const hit = this.codeRuns.find((c) => `uid-${c.name}` === uid);
    if (!hit) return undefined;
    this.codeRuns = this.codeRuns.filter((c) => c !== hit);
    this.terminating.push(hit);
    return this.lingering > 0 ? ('terminating' as const) : ('gone' as const);
  }
  async list(_ns: string, _r: unknown, selector: string): Promise<KubeObject[]> {
    this.calls.push('list');
    const runs = this.codeRuns.filter((c) => matches(c.labels, selector)).map((c) => this.object(c));
    if (this.lingering <= 0) return runs;
    this.lingering--;
    const held = this.terminating.filter((c) => matches(c.labels, selector)).map((c) => this.object(c));
    return [...runs, ...held.map((o) => ({ metadata: { ...o.metadata, deletionTimestamp: new Date().toISOString() } }))];
  }
  private object(c: FakeRun): KubeObject {
    return {
      metadata: {
        name: c.name,
        uid: `uid-${c.name}`,
        labels: c.labels,
        annotations: c.annotations,
        creationTimestamp: c.created ?? new Date(Date.now() - 3_600_000).toISOString(),
      },
      spec: c.spec,
      ...(c.phase === undefined ? {} : { status: { phase: c.phase } }),
    };
  }
  async createEvent(_ns: string, e: KubeEvent) {
    this.events.push(e);
  }
  private store(l: Lease): Lease {
    const saved = { ...l, metadata: { ...l.metadata, resourceVersion: String(this.rv++) } };
    this.leases.set(l.metadata.name, saved);
    return saved;
  }
}

/** Supports the selector forms the Job builds: `k in (a,b)`, `k!=v`, `k=v`, comma-joined. */
function matches(labels: Record<string, string>, selector: string): boolean {
  return selector.split(/,(?![^(]*\))/).every((term) => {
    let m = /^(\S+) in \((.*)\)$/.exec(term);
    if (m) return m[2].split(',').includes(labels[m[1]]);
    m = /^(\S+)!=(.*)$/.exec(term);
    if (m) return labels[m[1]] !== m[2];
    m = /^(\S+)=(.*)$/.exec(term);
    return !!m && labels[m[1]] === m[2];
  });
}

/** A transition that fails: `did` are the parts the fake GitHub carries out before failing. */
export interface FakeFailure {
  readonly error: Error;
  readonly did?: ReadonlyArray<keyof TransitionChange>;
  /** What else changed at GitHub meanwhile. */
  readonly meanwhile?: () => void;
}

export class FakeGitHub implements GitHubApi {
  calls: string[] = [];
  branchHead: string | null;
  pr?: PullRequestState & { labels: Array<{ id: string; name: string }>; markers: any[] };
  remediationLabelId?: string = 'LA_rem';
  transitions: TransitionChange[] = [];
  failTransition?: Error;
  /** Failures for the coming transitions, in order. */
  failures: FakeFailure[] = [];
  /** The PR's state as `view` reports it. */
  prState: 'OPEN' | 'CLOSED' | 'MERGED' = 'OPEN';

  constructor(sha: string, labels = ['ready-for-qa']) {
    this.branchHead = sha;
    this.pr = { id: 'PR_1', number: 1, labels: labels.map((name) => ({ id: `LA_${name}`, name })), markers: [], readyLabeledAt: null };
  }
  async resolve(): Promise<ResolvedPush> {
    this.calls.push('resolve');
    return {
      repositoryId: 'R_1',
      branchHead: this.branchHead,
      pr: this.pr && structuredClone(this.pr),
      remediationLabelId: this.remediationLabelId,
    };
  }
  async view(): Promise<RepositoryView> {
    this.calls.push('view');
    const pr: PullRequestView | undefined = this.pr && {
      ...structuredClone(this.pr),
      state: this.prState,
      isDraft: false,
      closedAt: null,
      updatedAt: new Date().toISOString(),
      headRefName: 'feature/task-7-implementation',
      head: null,
    };
    return {
      repositoryId: 'R_1',
      remediationLabelId: this.remediationLabelId,
      prs: new Map(pr ? [[pr.number, pr]] : []),
      branches: new Map(pr ? [[pr.headRefName, pr]] : []),
      commits: new Map(),
    };
  }
  /** Each repository as `view` shows it, or the error `view` throws. */
  async survey(asks: readonly SurveyAsk[]): Promise<Survey> {
    const repositories = new Map<string, RepositoryView | { error: string }>();
    for (const ask of asks) repositories.set(ask.repository, await this.view().catch((e: Error) => ({ error: e.message })));
    return { repositories, cost: { requests: 1, points: 1, remaining: 4999 } };
  }
  async createLabel() {
    this.calls.push('createLabel');
    this.remediationLabelId = 'LA_created';
    return this.remediationLabelId;
  }
  async transition(_id: string, change: TransitionChange) {
    this.calls.push('transition');
    if (this.failTransition) throw this.failTransition;
    this.transitions.push(change);
    const failure = this.failures.shift();
    failure?.meanwhile?.();
    const does = (part: keyof TransitionChange) => !!change[part] && (!failure || !!failure.did?.includes(part));
    const pr = this.pr!;
    if (does('remove')) pr.labels = pr.labels.filter((l) => l.id !== change.remove);
    if (does('add')) pr.labels.push({ id: change.add!, name: 'remediation-in-progress' });
    if (does('comment')) pr.markers.push(JSON.parse(/<!-- agent-cancellation (\{.*?\}) -->/.exec(change.comment!)![1]));
    if (failure) throw failure.error;
  }
}

/** The reconciler's settings the unit tests share: a five-minute pending time, one day's retention, enforce. */
export const RECONCILE_SETTINGS = {
  labels: { ready: 'ready-for-qa', remediation: 'remediation-in-progress', color: 'd93f0b', description: '' },
  pendingSeconds: 300,
  retentionSeconds: 86400,
  bots: { logins: ['5DLabs-Rex[bot]'], commitAuthors: [], caseInsensitive: true },
  compensateForeignCommits: false,
  ordering: { clockSkewMs: 5000 },
  branchPattern: 'feature/task-{id}-implementation',
  scope: { format: '{name}' },
  optOutLabel: 'agent-cancellation/skip',
  mode: RemediationMode.ENFORCE,
} as unknown as ReconcileInput;
