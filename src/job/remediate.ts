import { ResolvedPush } from './github';
import { JobInput } from './input';
import { acquire, leaseName, PrState, readState, save } from './lease';
import { completeSteps, event, HeldLease, StepDeps } from './steps';

export type Outcome =
  | { readonly kind: 'done'; readonly pr: number; readonly deleted: string[]; readonly relabel: string }
  | { readonly kind: 'nothing-to-do'; readonly reason: string; readonly pr?: number };

export type RemediateDeps = StepDeps;

/**
 * One push: resolve the PR, lock it, cancel the task's QA CodeRuns, flip the labels, record each step.
 * Every step is skipped when the PR's state already records it, so a rerun after a crash resumes.
 */
export async function remediate(input: JobInput, deps: RemediateDeps): Promise<Outcome> {
  const resolvedAt = new Date((deps.now ?? Date.now)()).toISOString();
  return handlePush(input, await deps.github.resolve(input.owner, input.name, input.branch, input.labels), resolvedAt, deps);
}

/**
 * A push once GitHub has been read: the Job's path, and the reconciler's resync of a push whose webhook was
 * lost, which reads GitHub in its own batched query.
 */
export async function handlePush(input: JobInput, resolved: ResolvedPush, resolvedAt: string, deps: RemediateDeps): Promise<Outcome> {
  const { kube, log } = deps;
  const now = deps.now ?? Date.now;
  const pr = resolved.pr;
  if (!pr) {
    log('resolve', { outcome: 'nothing-to-do', reason: 'no open pull request for the branch' });
    return { kind: 'nothing-to-do', reason: 'no-open-pr' };
  }
  if (resolved.branchHead !== input.headSha) {
    log('resolve', { pr: pr.number, outcome: 'nothing-to-do', reason: 'superseded', branchHead: resolved.branchHead });
    return { kind: 'nothing-to-do', reason: 'superseded', pr: pr.number };
  }
  log('resolve', { pr: pr.number, labels: pr.labels.map((l) => l.name) });

  const name = leaseName(input.repository, pr.number);
  const held: HeldLease = { lease: await acquire(kube, {
    namespace: input.namespace,
    name,
    holder: input.runId,
    durationSeconds: input.leaseDurationSeconds,
    waitMs: input.lockWaitSeconds * 1000,
    repository: input.repository,
    pr: pr.number,
    onWait: (holder) => log('lock-wait', { pr: pr.number, holder }),
    now,
  }) };
  const previous = readState(held.lease);
  log('lock', { pr: pr.number, lease: name, resumed: previous?.delivery === input.deliveryId && previous.phase !== 'done' });

  const release = async (state: PrState) => {
    held.lease = await save(kube, held.lease, state, true);
  };

  if (previous?.deliveries.includes(input.deliveryId)) {
    await release(previous);
    log('finish', { pr: pr.number, outcome: 'nothing-to-do', reason: 'duplicate delivery' });
    return { kind: 'nothing-to-do', reason: 'duplicate', pr: pr.number };
  }
  // A webhook arriving after the resync handled its push (or the reverse): the head is done either way.
  if (previous && previous.sha === input.headSha && previous.phase === 'done' && previous.delivery !== input.deliveryId) {
    await release(previous);
    log('finish', { pr: pr.number, outcome: 'nothing-to-do', reason: 'head already handled', by: previous.delivery, source: previous.source });
    return { kind: 'nothing-to-do', reason: 'duplicate', pr: pr.number };
  }
  if (previous && previous.sha !== input.headSha && previous.resolvedAt > resolvedAt) {
    await release(previous);
    log('finish', { pr: pr.number, outcome: 'nothing-to-do', reason: 'superseded by a newer run', newerSha: previous.sha });
    return { kind: 'nothing-to-do', reason: 'superseded', pr: pr.number };
  }

  const stamp = new Date(now()).toISOString();
  const resuming = previous?.delivery === input.deliveryId;
  const state: PrState = resuming
    ? { ...previous!, phase: 'running', attempts: previous!.attempts + 1, lastError: undefined }
    : {
        phase: 'running',
        repository: input.repository,
        pr: pr.number,
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
        steps: {},
        deliveries: previous?.deliveries ?? [],
      };

  try {
    await completeSteps(input, state, held, { repositoryId: resolved.repositoryId, pr, remediationLabelId: resolved.remediationLabelId }, deps);
    const { cancel, relabel } = state.steps;
    await event(
      kube,
      input.namespace,
      held.lease,
      'Normal',
      'RemediationDone',
      `PR #${pr.number}: push ${input.headSha.slice(0, 12)} at ${state.pushedAt} (${input.source} ${input.deliveryId}): ` +
        `${cancel!.deleted.length} QA CodeRun(s) cancelled, ${cancel!.kept.length} kept, labels ${relabel!.result}`,
      log,
    );
    log('finish', { pr: pr.number, outcome: 'done', source: input.source, deleted: cancel!.deleted.length, kept: cancel!.kept.length, relabel: relabel!.result });
    return { kind: 'done', pr: pr.number, deleted: state.steps.cancel!.deleted, relabel: state.steps.relabel!.result };
  } catch (e) {
    state.phase = 'failed';
    state.lastError = (e as Error).message;
    await release(state).catch((err) => log('release-failed', { error: (err as Error).message }));
    await event(kube, input.namespace, held.lease, 'Warning', 'RemediationFailed', `PR #${pr.number}: ${state.lastError}`, log);
    throw e;
  }
}
