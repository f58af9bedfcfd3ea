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
  const { kube, github, log } = deps;
  const now = deps.now ?? Date.now;
  const resolvedAt = new Date(now()).toISOString();
  const resolved = await github.resolve(input.owner, input.name, input.branch, input.labels);
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
    await event(kube, input.namespace, held.lease, 'Normal', 'RemediationDone', `PR #${pr.number} at ${input.headSha.slice(0, 12)}: ${state.steps.cancel!.deleted.length} QA CodeRun(s) cancelled, labels ${state.steps.relabel!.result}`, log);
    log('finish', { pr: pr.number, outcome: 'done', deleted: state.steps.cancel!.deleted.length });
    return { kind: 'done', pr: pr.number, deleted: state.steps.cancel!.deleted, relabel: state.steps.relabel!.result };
  } catch (e) {
    state.phase = 'failed';
    state.lastError = (e as Error).message;
    await release(state).catch((err) => log('release-failed', { error: (err as Error).message }));
    await event(kube, input.namespace, held.lease, 'Warning', 'RemediationFailed', `PR #${pr.number}: ${state.lastError}`, log);
    throw e;
  }
}
