import { RemediationMode } from '../../contract/env';
import { REASON } from './event-reasons';
import { PullRequestState, ResolvedPush, sameLabel } from '../github/github';
import { JobInput, StaticInput } from '../input';
import { acquire, leaseName, save } from '../kube/lease';
import { PrState } from '../kube/pr-state';
import { completeSteps, event, HeldLease, StepDeps } from './steps';

export type Outcome =
  | { readonly kind: 'done' | 'observed'; readonly pr: number; readonly deleted: string[]; readonly relabel: string }
  | { readonly kind: 'nothing-to-do'; readonly reason: string; readonly pr?: number };

export type RemediateDeps = StepDeps;

/**
 * One event: resolve the PR, lock it, cancel the task's QA CodeRuns, flip the labels (pushes only), record
 * each step. Every step is skipped when the PR's state already records it, so a rerun after a crash resumes.
 */
export async function remediate(input: JobInput, deps: RemediateDeps): Promise<Outcome> {
  const resolvedAt = new Date(deps.clock.now()).toISOString();
  if (input.event === 'push')
    return handleEvent(input, await deps.github.resolve(input.owner, input.name, input.branch, input.labels), resolvedAt, deps);
  // A PR event names its PR, which is closed or a draft now: read it by number, not as the branch's open PR.
  const view = await deps.github.view(input.owner, input.name, [input.prNumber!], input.labels);
  const pr = view.prs.get(input.prNumber!);
  return handleEvent(
    input,
    {
      repositoryId: view.repositoryId,
      branchHead: input.headSha,
      pr: pr?.headRefName === input.branch ? pr : undefined,
      remediationLabelId: view.remediationLabelId,
    },
    resolvedAt,
    deps,
  );
}

/** The PR carries the opt-out label: its runs and labels are left alone. */
export function optedOut(labels: ReadonlyArray<{ readonly name: string }>, s: Pick<StaticInput, 'optOutLabel'>): boolean {
  return !!s.optOutLabel && labels.some((l) => sameLabel(l.name, s.optOutLabel));
}

/** What superseded the runs, for Events: the event, its head, its time and where it came from. */
export function provenance(state: Pick<PrState, 'event' | 'sha' | 'pushedAt' | 'source' | 'delivery'>): string {
  return `${state.event ?? 'push'} ${state.sha.slice(0, 12)} at ${state.pushedAt} (${state.source} ${state.delivery})`;
}

/** What the event decision reads: GitHub's answer and, once the PR's Lease is held, its recorded state. */
export interface EventObserved {
  readonly resolved: Pick<ResolvedPush, 'branchHead' | 'pr'>;
  /** The PR's state before this run: absent until the Lease is held, `undefined` inside when none is recorded. */
  readonly previous?: { readonly state: PrState | undefined };
}

/**
 * Skip the event (with the log fields saying why), take the PR's Lease, or start or resume its remediation;
 * an opted-out PR's run is recorded as skipped instead.
 */
export type EventDecision =
  | { readonly kind: 'skip'; readonly reason: 'no-open-pr' | 'superseded' | 'duplicate'; readonly log: Record<string, unknown> }
  | { readonly kind: 'lock' }
  | { readonly kind: 'start' | 'resume'; readonly optedOut?: true };

/** The same delivery's unfinished run: an observation or a skip changed nothing, so those start afresh. */
function resumes(previous: PrState | undefined, input: Pick<JobInput, 'deliveryId'>): boolean {
  return previous?.delivery === input.deliveryId && previous.phase !== 'observed' && previous.phase !== 'skipped';
}

/**
 * The event decision, pure so that every branch is a table test (like the reconciler's `decide`): before the
 * lock, whether there is a PR and a push is still its head; under the lock, from the PR's recorded state,
 * whether this delivery or head was already handled or a newer run took over, else whether it resumes, and
 * whether the PR opted out.
 */
export function decideEvent(
  input: Pick<JobInput, 'event' | 'prNumber' | 'headSha' | 'deliveryId' | 'optOutLabel'>,
  o: EventObserved,
  resolvedAt: string,
): EventDecision {
  const { pr, branchHead } = o.resolved;
  if (!pr) {
    const reason = input.event === 'push' ? 'no open pull request for the branch' : `no pull request #${input.prNumber} for the branch`;
    return { kind: 'skip', reason: 'no-open-pr', log: { reason } };
  }
  if (input.event === 'push' && branchHead !== input.headSha)
    return { kind: 'skip', reason: 'superseded', log: { reason: 'superseded', branchHead } };
  if (!o.previous) return { kind: 'lock' };
  const previous = o.previous.state;
  const kind = resumes(previous, input) ? ('resume' as const) : ('start' as const);
  const act: EventDecision = optedOut(pr.labels, input) ? { kind, optedOut: true } : { kind };
  if (!previous) return act;
  if (previous.deliveries.includes(input.deliveryId)) return { kind: 'skip', reason: 'duplicate', log: { reason: 'duplicate delivery' } };
  // A webhook arriving after the resync handled its push (or the reverse): the head is done either way.
  const sameEvent = (previous.event ?? 'push') === input.event;
  if (sameEvent && previous.sha === input.headSha && previous.phase === 'done' && previous.delivery !== input.deliveryId) {
    return { kind: 'skip', reason: 'duplicate', log: { reason: 'head already handled', by: previous.delivery, source: previous.source } };
  }
  if (previous.sha !== input.headSha && previous.resolvedAt > resolvedAt) {
    return { kind: 'skip', reason: 'superseded', log: { reason: 'superseded by a newer run', newerSha: previous.sha } };
  }
  return act;
}

/** The record of a run that starts afresh, at `stamp`. */
function newState(input: JobInput, pr: number, previous: PrState | undefined, resolvedAt: string, stamp: string): PrState {
  // The labels an earlier push changed, kept on a PR event's record so compensation can still restore them.
  const earlier = previous && ['running', 'failed', 'done'].includes(previous.phase) ? previous.steps.relabel : undefined;
  return {
    phase: 'running',
    event: input.event,
    repository: input.repository,
    pr,
    taskId: input.taskId,
    sha: input.headSha,
    before: input.beforeSha,
    pushedAt: new Date(input.pushedAtMs).toISOString(),
    source: input.source,
    delivery: input.deliveryId,
    resolvedAt,
    startedAt: stamp,
    updatedAt: stamp,
    attempts: 1,
    steps:
      input.event === 'push' ? {} : { relabel: { at: stamp, result: 'not-applicable', removed: earlier?.removed, added: earlier?.added } },
    deliveries: previous?.deliveries ?? [],
  };
}

/** One event's run on one PR, once GitHub has been read: what the phases below share. */
interface EventRun {
  readonly input: JobInput;
  readonly resolved: ResolvedPush;
  readonly pr: PullRequestState;
  readonly deps: RemediateDeps;
  readonly held: HeldLease;
}

/**
 * An event once GitHub has been read: the Job's path, and the reconciler's resync of a push whose webhook was
 * lost, which reads GitHub in its own batched query. Phases: the skips before the lock, the lock (with the
 * write-ahead record), the skips under it, then the opt-out record or the steps.
 */
export async function handleEvent(input: JobInput, resolved: ResolvedPush, resolvedAt: string, deps: RemediateDeps): Promise<Outcome> {
  const before = decideEvent(input, { resolved }, resolvedAt);
  if (before.kind === 'skip') {
    const pr = resolved.pr && { pr: resolved.pr.number };
    deps.log('resolve', { ...pr, outcome: 'nothing-to-do', ...before.log });
    return { kind: 'nothing-to-do', reason: before.reason, ...pr };
  }
  // Past the skips, there is a PR.
  const pr = resolved.pr!;
  deps.log('resolve', { pr: pr.number, event: input.event, labels: pr.labels.map((l) => l.name) });

  const stamp = new Date(deps.clock.now()).toISOString();
  const decideOn = (previous: PrState | undefined) => decideEvent(input, { resolved, previous: { state: previous } }, resolvedAt);
  /** The state this run works on, given the PR's recorded one; undefined when it skips. */
  const begin = (decision: EventDecision, previous: PrState | undefined): PrState | undefined =>
    decision.kind === 'skip' || decision.kind === 'lock'
      ? undefined
      : decision.kind === 'resume'
        ? { ...previous!, phase: 'running', attempts: previous!.attempts + 1, lastError: undefined }
        : newState(input, pr.number, previous, resolvedAt, stamp);
  // Write-ahead with the lock: the steps to come are on record before any delete. Observe mode and an
  // opted-out PR change nothing, so they record only their outcome, on release.
  const writeAhead = (previous: PrState | undefined) => {
    const decision = decideOn(previous);
    return optsOut(decision) ? undefined : begin(decision, previous);
  };
  const { held, previous } = await lockPr(input, pr, input.mode === RemediationMode.ENFORCE ? writeAhead : undefined, deps);
  const run: EventRun = { input, resolved, pr, deps, held };

  const decision = decideOn(previous);
  if (decision.kind === 'skip') {
    await release(run, previous!);
    deps.log('finish', { pr: pr.number, outcome: 'nothing-to-do', ...decision.log });
    return { kind: 'nothing-to-do', reason: decision.reason, pr: pr.number };
  }
  const state = begin(decision, previous)!;
  return optsOut(decision) ? recordOptOut(run, state) : runSteps(run, state);
}

const optsOut = (d: EventDecision) => 'optedOut' in d && d.optedOut === true;

/** Takes the PR's Lease, with `begin` (if any) recorded in the same write. */
async function lockPr(
  input: JobInput,
  pr: PullRequestState,
  begin: ((previous: PrState | undefined) => PrState | undefined) | undefined,
  { kube, log, clock }: RemediateDeps,
): Promise<{ held: HeldLease; previous: PrState | undefined }> {
  const name = leaseName(input.repository, pr.number);
  const lock = await acquire(kube, {
    namespace: input.namespace,
    name,
    holder: input.runId,
    durationSeconds: input.leaseDurationSeconds,
    waitMs: input.lockWaitSeconds * 1000,
    repository: input.repository,
    pr: pr.number,
    createFirst: true,
    begin,
    onWait: (holder) => log('lock-wait', { pr: pr.number, holder }),
    clock,
  });
  const previous = lock.previous;
  log('lock', { pr: pr.number, lease: name, resumed: resumes(previous, input) && previous!.phase !== 'done' });
  return { held: { lease: lock.lease }, previous };
}

async function release({ deps, held }: EventRun, state: PrState): Promise<void> {
  held.lease = await save(deps.kube, held.lease, state, true, deps.clock.now);
}

/** Recorded, not marked handled: once the label is gone, a redelivery or the resync acts. */
async function recordOptOut(run: EventRun, state: PrState): Promise<Outcome> {
  const { input, pr, deps, held } = run;
  await release(run, { ...state, phase: 'skipped', skipped: 'opted-out' });
  const message = `PR #${pr.number}: ${provenance(state)}: skipped: opted-out (label ${input.optOutLabel})`;
  await event(deps.kube, input.namespace, held.lease, 'Normal', REASON.skipped, message, deps.log);
  deps.log('finish', { pr: pr.number, outcome: 'nothing-to-do', reason: 'opted-out', label: input.optOutLabel });
  return { kind: 'nothing-to-do', reason: 'opted-out', pr: pr.number };
}

/** The steps, then their Event; a failure is recorded on the Lease and as a Warning Event, and rethrown. */
async function runSteps(run: EventRun, state: PrState): Promise<Outcome> {
  const { input, resolved, pr, deps, held } = run;
  try {
    await completeSteps(
      input,
      state,
      held,
      { repositoryId: resolved.repositoryId, pr, remediationLabelId: resolved.remediationLabelId },
      deps,
    );
  } catch (e) {
    state.phase = 'failed';
    state.lastError = (e as Error).message;
    await release(run, state).catch((err) => deps.log('release-failed', { error: (err as Error).message }));
    await event(deps.kube, input.namespace, held.lease, 'Warning', REASON.failed, `PR #${pr.number}: ${state.lastError}`, deps.log);
    throw e;
  }
  const { cancel, relabel } = state.steps as Required<PrState['steps']>;
  const observe = input.mode === RemediationMode.OBSERVE;
  const runs = `${cancel.deleted.length} QA CodeRun(s)${cancel.deleted.length ? ` (${cancel.deleted.join(', ')})` : ''}`;
  const labels = `labels ${relabel.result}${relabel.removed ? ` -${relabel.removed}` : ''}${relabel.added ? ` +${relabel.added}` : ''}`;
  // Finished runs are named: history a push never touches, which an operator may look for.
  const finished = cancel.kept.filter((k) => k.why === 'finished').map((k) => k.name);
  const kept = `${cancel.kept.length}${finished.length ? ` (finished: ${finished.join(', ')})` : ''}`;
  await event(
    deps.kube,
    input.namespace,
    held.lease,
    'Normal',
    observe ? REASON.observed : REASON.done,
    observe
      ? `PR #${pr.number}: ${provenance(state)}: observe mode, nothing changed: would cancel ${runs}, keep ${kept}, ${labels}`
      : `PR #${pr.number}: ${provenance(state)}: ${runs} cancelled, ${kept} kept, ${labels}`,
    deps.log,
  );
  const finish = { mode: input.mode, event: input.event, source: input.source, deleted: cancel.deleted.length, kept: cancel.kept.length };
  deps.log('finish', { pr: pr.number, outcome: state.phase, ...finish, relabel: relabel.result });
  return { kind: observe ? 'observed' : 'done', pr: pr.number, deleted: cancel.deleted, relabel: relabel.result };
}
