import { Reason } from './event-reasons';
import { RemediationMode } from '../../contract/env';
import { GitHubApi, markerComment, PullRequestState, sameLabel } from '../github/github';
import { StaticInput, taskSelector } from '../input';
import { KubeApi, KubeObject, Lease } from '../kube/kube';
import { save } from '../kube/lease';
import { PrState, recordDelivery, relabelled, relabels } from '../kube/pr-state';
import { Logger } from '../log';
import { ownRuns, qaRestartedAfterPush, splitForRecord } from './ordering';
import { Clock } from '../clock';
import { RetryableError, TransitionError } from '../errors';

export interface StepDeps {
  readonly kube: KubeApi;
  readonly github: GitHubApi;
  readonly log: Logger;
  /** How long deleted CodeRuns may take to disappear (finalizers). @default 30000 */
  readonly verifyTimeoutMs?: number;
  /** The one clock of a run: Lease stamps, step times, the waits for deleted runs to go. */
  readonly clock: Clock;
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
 *
 * In observe mode the same decisions are made on the same reads and recorded as what enforce mode would do
 * (phase `observed`); nothing is deleted, no label changes, and the delivery is not marked handled, so the
 * same input in enforce mode later acts.
 */
export async function completeSteps(s: StaticInput, state: PrState, held: HeldLease, target: StepTarget, deps: StepDeps): Promise<void> {
  const { kube, log } = deps;
  const { now } = deps.clock;
  const enforce = s.mode === RemediationMode.ENFORCE;
  const pr = target.pr.number;
  if (!state.steps.cancel) {
    // Enforce mode: the caller recorded the state before this step (write-ahead), so a crash between the
    // deletes and the release resumes here; the resumed list finds the deleted runs gone.
    const selector = taskSelector(s, state.repository, state.taskId);
    const { mine, unreadable } = ownRuns(await kube.list(s.namespace, s.codeRun, selector), s.scope, s.repositories, state.repository);
    const { stale, kept } = splitForRecord(mine, state, s.ordering);
    kept.push(...unreadable);
    const { deleted, held: finalized } = enforce
      ? await deleteRuns(kube, s, stale)
      : { deleted: stale.map((r) => r.metadata.name), held: [] };
    log('cancel', { pr, mode: s.mode, selector, event: state.event ?? 'push', pushedAt: state.pushedAt, deleted, kept });
    await verifyGone(kube, s, selector, finalized, deps.verifyTimeoutMs ?? 30_000, deps.clock);
    state.steps.cancel = { at: new Date(now()).toISOString(), deleted, kept };
    // After a wait for finalizers: renew the Lease, and spare a resume the wait.
    if (finalized.length) held.lease = await save(kube, held.lease, state, false, now);
    if (enforce) log('verify', { pr, remaining: 0, waitedFor: finalized.length });
  }
  if (!relabelled(state)) {
    const change = enforce
      ? await relabel(s, deps, target, state, async () => {
          held.lease = await save(kube, held.lease, state, false, now);
        })
      : previewRelabel(target.pr, s.labels, state);
    state.steps.relabel = { at: new Date(now()).toISOString(), ...change };
    log('relabel', { pr, mode: s.mode, ...change });
  }
  state.phase = enforce ? 'done' : 'observed';
  state.lastError = undefined;
  state.repair = undefined;
  state.attention = undefined;
  if (enforce) recordDelivery(state);
  held.lease = await save(kube, held.lease, state, true, now);
}

type Relabel = Pick<NonNullable<PrState['steps']['relabel']>, 'result' | 'removed' | 'added'>;

export interface RelabelPlan {
  /** Id of the ready label to remove. */
  readonly remove?: string;
  readonly add: boolean;
  readonly comment: boolean;
}

/**
 * What the PR still needs for this push, from the labels and markers seen on it and what this push changed
 * before. Labels decide: a marker never stands in for a label. The marker explains a remediation label this
 * push added, so it is posted with that label or after it, and once.
 */
export function planRelabel(
  pr: PullRequestState,
  labels: StaticInput['labels'],
  delivery: string,
  changed: { readonly added?: string },
): RelabelPlan {
  const ready = pr.labels.find((l) => sameLabel(l.name, labels.ready));
  const add = !pr.labels.some((l) => sameLabel(l.name, labels.remediation));
  const marked = pr.markers.some((m) => m.delivery === delivery);
  return { remove: ready?.id, add, comment: !marked && (add || !!changed.added) };
}

/** What the relabel step would do for this PR as seen now, for observe mode: the first round of `relabel`, unsent. */
export function previewRelabel(pr: PullRequestState, labels: StaticInput['labels'], state: PrState): Relabel {
  if (!relabels(state)) return { result: 'not-applicable' };
  if (qaRestartedAfterPush(pr.readyLabeledAt, Date.parse(state.pushedAt))) return { result: 'qa-restarted-after-push' };
  const plan = planRelabel(pr, labels, state.delivery, {});
  return {
    result: plan.remove || plan.add ? 'transitioned' : 'already',
    ...(plan.remove ? { removed: labels.ready } : {}),
    ...(plan.add ? { added: labels.remediation } : {}),
  };
}

/** Reads after a failed transition before giving up: enough for a lost answer and a label deleted meanwhile. */
const RELABEL_ROUNDS = 3;

/**
 * Brings the PR's labels to the plan: one mutation when all goes well. After a transition GitHub applied in
 * part, records what it did (`record` saves the state), reads the PR again and finishes the rest.
 */
async function relabel(s: StaticInput, deps: StepDeps, target: StepTarget, state: PrState, record: () => Promise<void>): Promise<Relabel> {
  const { github } = deps;
  const { now } = deps.clock;
  let { pr, remediationLabelId } = target;
  const previous = state.steps.relabel;
  const changed: { removed?: string; added?: string } = { removed: previous?.removed, added: previous?.added };
  const finished = (): Relabel => ({ result: changed.removed || changed.added ? 'transitioned' : 'already', ...changed });
  if (!relabels(state)) return { result: 'not-applicable', ...changed };
  for (let round = 1; ; round++) {
    if (qaRestartedAfterPush(pr.readyLabeledAt, Date.parse(state.pushedAt))) return { result: 'qa-restarted-after-push', ...changed };
    const plan = planRelabel(pr, s.labels, state.delivery, changed);
    if (!plan.remove && !plan.add && !plan.comment) return finished();
    const add = plan.add
      ? (remediationLabelId ?? (await github.createLabel(target.repositoryId, s.labels.remediation, s.labels.color, s.labels.description)))
      : undefined;
    // One marker comment per PR, edited in place by later pushes: GitHub limits content creation, not edits.
    const comment = plan.comment
      ? markerComment(
          { delivery: state.delivery, sha: state.sha, startedAt: state.startedAt },
          state.steps.cancel?.deleted ?? [],
          pr.markerComment?.body,
        )
      : undefined;
    try {
      await github.transition(pr.id, { remove: plan.remove, add, comment, commentId: comment && pr.markerComment?.id });
      if (plan.remove) changed.removed = s.labels.ready;
      if (add) changed.added = s.labels.remediation;
      return finished();
    } catch (e) {
      if (!(e instanceof TransitionError)) throw e;
      // What GitHub did or may have done: compensation checks the labels before undoing any of it.
      if (plan.remove && e.applied.remove !== false) changed.removed = s.labels.ready;
      if (add && e.applied.add !== false) changed.added = s.labels.remediation;
      state.steps.relabel = { at: new Date(now()).toISOString(), result: 'partial', ...changed };
      await record();
      if (!e.reread || round === RELABEL_ROUNDS) throw e.error;
      const [owner, name] = state.repository.split('/');
      const view = await github.view(owner, name, [pr.number], s.labels);
      const seen = view.prs.get(pr.number);
      if (seen?.state !== 'OPEN')
        throw new RetryableError(`pr #${pr.number} is ${seen ? seen.state.toLowerCase() : 'gone'} since the transition began`);
      pr = seen;
      remediationLabelId = view.remediationLabelId;
    }
  }
}

/**
 * Deletes each run by name with a uid precondition, so a run replaced since it was listed is a new run and is
 * never hit; returns the names it deleted and the uids of those a finalizer still holds.
 */
export async function deleteRuns(
  kube: KubeApi,
  s: StaticInput,
  runs: readonly KubeObject[],
): Promise<{ deleted: string[]; held: string[] }> {
  const deleted: string[] = [];
  const held: string[] = [];
  for (const run of runs) {
    const result = await kube.deleteNamed(s.namespace, s.codeRun, run.metadata.name, run.metadata.uid!);
    if (result) deleted.push(run.metadata.name);
    if (result === 'terminating') held.push(run.metadata.uid!);
  }
  return { deleted, held };
}

/**
 * Waits until none of the runs a finalizer held (by uid) is listed. Only those: a delete that answered with
 * no finalizer removed its run then, and a list right after it would only confirm that.
 */
async function verifyGone(
  kube: KubeApi,
  s: StaticInput,
  selector: string,
  uids: string[],
  timeoutMs: number,
  { now, sleep }: Clock,
): Promise<void> {
  if (uids.length === 0) return;
  const giveUp = now() + timeoutMs;
  for (;;) {
    const left = (await kube.list(s.namespace, s.codeRun, selector)).filter((r) => uids.includes(r.metadata.uid!));
    if (left.length === 0) return;
    if (now() >= giveUp) {
      throw new RetryableError(`${left.length} CodeRun(s) still present after delete: ${left.map((r) => r.metadata.name).join(', ')}`);
    }
    await sleep(500);
  }
}

/** Events are for people; failing to write one never fails the run. */
export async function event(
  kube: KubeApi,
  namespace: string,
  lease: Lease,
  type: 'Normal' | 'Warning',
  reason: Reason,
  message: string,
  log: Logger,
): Promise<void> {
  try {
    await kube.createEvent(namespace, { type, reason, message, involved: { name: lease.metadata.name, uid: lease.metadata.uid } });
  } catch (e) {
    log('event-failed', { reason, error: (e as Error).message });
  }
}
