import { GitHubApi, markerComment, PullRequestState } from './github';
import { StaticInput, taskSelector } from './input';
import { KubeApi, Lease } from './kube';
import { PrState, recordDelivery, save } from './lease';
import { Logger } from './log';
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
    // Write-ahead: a crash between the delete and the next write still leaves a record to resume from.
    held.lease = await save(kube, held.lease, state);
    const selector = taskSelector(s, state.taskId);
    const deleted = await kube.deleteCollection(s.namespace, s.codeRun, selector);
    log('cancel', { pr, selector, deleted: deleted.length, names: deleted });
    await verifyGone(kube, s, selector, deps.verifyTimeoutMs ?? 30_000);
    state.steps.cancel = { at: new Date(now()).toISOString(), deleted };
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

async function verifyGone(kube: KubeApi, s: StaticInput, selector: string, timeoutMs: number): Promise<void> {
  const giveUp = Date.now() + timeoutMs;
  for (;;) {
    const left = await kube.list(s.namespace, s.codeRun, selector);
    if (left.length === 0) return;
    if (Date.now() >= giveUp) {
      throw new RetryableError(`${left.length} CodeRun(s) still present after delete: ${left.map((m) => m.name).join(', ')}`);
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
