/** In-memory stand-ins for the Job's two interfaces, for unit tests of its logic only. */
import { GitHubApi, PullRequestState, RepositoryView, ResolvedPush, TransitionChange } from '../../../src/job/github';
import { ConflictError, KubeApi, KubeEvent, Lease, ObjectMeta } from '../../../src/job/kube';

export class FakeKube implements KubeApi {
  leases = new Map<string, Lease>();
  codeRuns: Array<{ name: string; labels: Record<string, string> }> = [];
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
  async listLeases() {
    return [...this.leases.values()];
  }
  async deleteLease(_ns: string, name: string) {
    this.leases.delete(name);
  }
  async deleteCollection(_ns: string, _r: unknown, selector: string) {
    this.calls.push('deleteCollection');
    const hit = this.codeRuns.filter((c) => matches(c.labels, selector));
    this.codeRuns = this.codeRuns.filter((c) => !hit.includes(c));
    return hit.map((c) => c.name);
  }
  async deleteNamed(_ns: string, _r: unknown, name: string) {
    this.calls.push('deleteNamed');
    const before = this.codeRuns.length;
    this.codeRuns = this.codeRuns.filter((c) => c.name !== name);
    return this.codeRuns.length < before;
  }
  async list(_ns: string, _r: unknown, selector: string): Promise<ObjectMeta[]> {
    this.calls.push('list');
    if (this.lingering > 0) {
      this.lingering--;
      return [{ name: 'still-terminating' }];
    }
    return this.codeRuns.filter((c) => matches(c.labels, selector)).map((c) => ({ name: c.name }));
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

  constructor(sha: string, labels = ['ready-for-qa']) {
    this.branchHead = sha;
    this.pr = { id: 'PR_1', number: 1, labels: labels.map((name) => ({ id: `LA_${name}`, name })), markers: [] };
  }
  async resolve(): Promise<ResolvedPush> {
    this.calls.push('resolve');
    return { repositoryId: 'R_1', branchHead: this.branchHead, pr: this.pr && structuredClone(this.pr), remediationLabelId: this.remediationLabelId };
  }
  async view(): Promise<RepositoryView> {
    this.calls.push('view');
    const pr = this.pr && { ...structuredClone(this.pr), state: 'OPEN' as const, headRefOid: this.branchHead ?? '' };
    return { repositoryId: 'R_1', remediationLabelId: this.remediationLabelId, prs: new Map(pr ? [[pr.number, pr]] : []), labelled: pr ? [pr] : [], commits: new Map() };
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
