import { GitHubApi, markerComment, PullRequestState } from './github';
import { StaticInput, taskSelector } from './input';
import { KubeApi, Lease } from './kube';
import { PrState, recordDelivery, save } from './lease';
import { Logger } from './log';
import { qaRestartedAfterPush, splitRuns } from './ordering';
import { RetryableError, sleep } from './retry';

export interface StepDeps {
  readonly kube: KubeApi;
  readonly github: GitHubApi;
  readonly log: Logger;
  /** How long deleted CodeRuns may take to disappear (finalizers). @default 30000 */
  readonly verifyTimeoutMs?: number;
  readonly now?: () => number;
}

/** The PR a push's steps act on, as GitHub showed it in this run. */
export interface StepTarget {
  readonly repositoryId: string;
  readonly pr: PullRequestState;
  readonly remediationLabelId?: string;
}

/** The held Lease, replaced after every write so that a caller handling a failure writes the latest version. */
export interface HeldLease {
  lease: Lease;
}

/**
 * Runs whatever steps `state` does not record yet (cancel and verify, then relabel), writing the state after
 * each, and ends released with phase `done`. Shared by the Job and the reconciler, so a resumed push takes
 * exactly the path a fresh one does. `state` and `held` are updated in place.
 */
export async function completeSteps(s: StaticInput, state: PrState, held: HeldLease, target: StepTarget, deps: StepDeps): Promise<void> {
  const { kube, log } = deps;
  const now = deps.now ?? Date.now;
  const pr = target.pr.number;
  if (!state.steps.cancel) {
    // Write-ahead: a crash between the deletes and the next write still leaves a record to resume from.
    held.lease = await save(kube, held.lease, state);
    const selector = taskSelector(s, state.taskId);
    const runs = await kube.list(s.namespace, s.codeRun, selector);
    const { stale, kept } = splitRuns(runs, { headSha: state.sha, pushedAtMs: Date.parse(state.pushedAt) }, s.ordering);
    // By name with a uid precondition: a run replaced since the list is a new run, and is never hit.
    const deleted: string[] = [];
    for (const run of stale) {
      if (await kube.deleteNamed(s.namespace, s.codeRun, run.metadata.name, run.metadata.uid!)) deleted.push(run.metadata.name);
    }
    log('cancel', { pr, selector, pushedAt: state.pushedAt, deleted, kept });
    await verifyGone(kube, s, selector, stale.map((r) => r.metadata.uid!), deps.verifyTimeoutMs ?? 30_000);
    state.steps.cancel = { at: new Date(now()).toISOString(), deleted, kept };
    held.lease = await save(kube, held.lease, state);
    log('verify', { pr, remaining: 0 });
  }
  if (!state.steps.relabel) {
    const change = await relabel(s, deps.github, target, state);
    state.steps.relabel = { at: new Date(now()).toISOString(), ...change };
    log('relabel', { pr, ...change });
  }
  state.phase = 'done';
  state.lastError = undefined;
  state.repair = undefined;
  state.attention = undefined;
  recordDelivery(state);
  held.lease = await save(kube, held.lease, state, true);
}

type Relabel = Pick<NonNullable<PrState['steps']['relabel']>, 'result' | 'removed' | 'added'>;

async function relabel(s: StaticInput, github: GitHubApi, target: StepTarget, state: PrState): Promise<Relabel> {
  const { pr } = target;
  if (qaRestartedAfterPush(pr.readyLabeledAt, Date.parse(state.pushedAt))) return { result: 'qa-restarted-after-push' };
  if (pr.markers.some((m) => m.delivery === state.delivery)) return { result: 'marker-present' };
  const ready = pr.labels.find((l) => l.name === s.labels.ready);
  const hasRemediation = pr.labels.some((l) => l.name === s.labels.remediation);
  if (!ready && hasRemediation) return { result: 'already' };
  let add: string | undefined;
  if (!hasRemediation) {
    add = target.remediationLabelId ?? (await github.createLabel(target.repositoryId, s.labels.remediation, s.labels.color, s.labels.description));
  }
  await github.transition(pr.id, {
    remove: ready?.id,
    add,
    // The marker goes with the label it explains, so GitHub shows when remediation started.
    comment: add ? markerComment({ delivery: state.delivery, sha: state.sha, startedAt: state.startedAt }, state.steps.cancel?.deleted.length ?? 0) : undefined,
  });
  return { result: 'transitioned', removed: ready ? s.labels.ready : undefined, added: add ? s.labels.remediation : undefined };
}

/** Waits until none of the deleted runs (by uid) is listed: finalizers may hold them a while. */
async function verifyGone(kube: KubeApi, s: StaticInput, selector: string, uids: string[], timeoutMs: number): Promise<void> {
  if (uids.length === 0) return;
  const giveUp = Date.now() + timeoutMs;
  for (;;) {
    const left = (await kube.list(s.namespace, s.codeRun, selector)).filter((r) => uids.includes(r.metadata.uid!));
    if (left.length === 0) return;
    if (Date.now() >= giveUp) {
      throw new RetryableError(`${left.length} CodeRun(s) still present after delete: ${left.map((r) => r.metadata.name).join(', ')}`);
    }
    await sleep(500);
  }
}

/** Events are for people; failing to write one never fails the run. */
export async function event(kube: KubeApi, namespace: string, lease: Lease, type: 'Normal' | 'Warning', reason: string, message: string, log: Logger): Promise<void> {
  try {
    await kube.createEvent(namespace, { type, reason, message, involved: { name: lease.metadata.name, uid: lease.metadata.uid } });
  } catch (e) {
    log('event-failed', { reason, error: (e as Error).message });
  }
}
