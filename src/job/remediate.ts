import { GitHubApi, markerComment } from './github';
import { JobInput } from './input';
import { KubeApi, Lease } from './kube';
import { acquire, leaseName, MAX_DELIVERIES, PrState, readState, save } from './lease';
import { Logger } from './log';
import { RetryableError, sleep } from './retry';

export type Outcome =
  | { readonly kind: 'done'; readonly pr: number; readonly deleted: string[]; readonly relabel: string }
  | { readonly kind: 'nothing-to-do'; readonly reason: string; readonly pr?: number };

export interface RemediateDeps {
  readonly kube: KubeApi;
  readonly github: GitHubApi;
  readonly log: Logger;
  /** How long deleted CodeRuns may take to disappear (finalizers). @default 30000 */
  readonly verifyTimeoutMs?: number;
  readonly now?: () => number;
}

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
  let lease: Lease = await acquire(kube, {
    namespace: input.namespace,
    name,
    holder: input.runId,
    durationSeconds: input.leaseDurationSeconds,
    waitMs: input.lockWaitSeconds * 1000,
    repository: input.repository,
    pr: pr.number,
    onWait: (holder) => log('lock-wait', { pr: pr.number, holder }),
    now,
  });
  const previous = readState(lease);
  log('lock', { pr: pr.number, lease: name, resumed: previous?.delivery === input.deliveryId && previous.phase !== 'done' });

  const release = async (state: PrState) => {
    lease = await save(kube, lease, state, true);
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
    if (!state.steps.cancel) {
      const deleted = await kube.deleteCollection(input.namespace, input.codeRun, input.selector);
      log('cancel', { pr: pr.number, selector: input.selector, deleted: deleted.length, names: deleted });
      await verifyGone(kube, input, deps.verifyTimeoutMs ?? 30_000);
      state.steps.cancel = { at: new Date(now()).toISOString(), deleted };
      lease = await save(kube, lease, state);
      log('verify', { pr: pr.number, remaining: 0 });
    }

    if (!state.steps.relabel) {
      const result = await relabel(input, github, resolved.repositoryId, pr, resolved.remediationLabelId, state);
      state.steps.relabel = { at: new Date(now()).toISOString(), result };
      log('relabel', { pr: pr.number, result });
    }

    state.phase = 'done';
    state.deliveries = [...state.deliveries, input.deliveryId].slice(-MAX_DELIVERIES);
    await release(state);
    await event(kube, input, lease, 'Normal', 'RemediationDone', `PR #${pr.number} at ${input.headSha.slice(0, 12)}: ${state.steps.cancel!.deleted.length} QA CodeRun(s) cancelled, labels ${state.steps.relabel!.result}`, log);
    log('finish', { pr: pr.number, outcome: 'done', deleted: state.steps.cancel!.deleted.length });
    return { kind: 'done', pr: pr.number, deleted: state.steps.cancel!.deleted, relabel: state.steps.relabel!.result };
  } catch (e) {
    state.phase = 'failed';
    state.lastError = (e as Error).message;
    await release(state).catch((err) => log('release-failed', { error: (err as Error).message }));
    await event(kube, input, lease, 'Warning', 'RemediationFailed', `PR #${pr.number}: ${state.lastError}`, log);
    throw e;
  }
}

async function relabel(
  input: JobInput,
  github: GitHubApi,
  repositoryId: string,
  pr: { id: string; labels: ReadonlyArray<{ id: string; name: string }>; markers: ReadonlyArray<{ delivery: string }> },
  remediationLabelId: string | undefined,
  state: PrState,
): Promise<'transitioned' | 'already' | 'marker-present'> {
  if (pr.markers.some((m) => m.delivery === input.deliveryId)) return 'marker-present';
  const ready = pr.labels.find((l) => l.name === input.labels.ready);
  const hasRemediation = pr.labels.some((l) => l.name === input.labels.remediation);
  if (!ready && hasRemediation) return 'already';
  let add: string | undefined;
  if (!hasRemediation) {
    add = remediationLabelId ?? (await github.createLabel(repositoryId, input.labels.remediation, input.labels.color, input.labels.description));
  }
  await github.transition(pr.id, {
    remove: ready?.id,
    add,
    // The marker goes with the label it explains, so GitHub shows when remediation started.
    comment: add ? markerComment({ delivery: input.deliveryId, sha: input.headSha, startedAt: state.startedAt }, state.steps.cancel?.deleted.length ?? 0) : undefined,
  });
  return 'transitioned';
}

async function verifyGone(kube: KubeApi, input: JobInput, timeoutMs: number): Promise<void> {
  const giveUp = Date.now() + timeoutMs;
  for (;;) {
    const left = await kube.list(input.namespace, input.codeRun, input.selector);
    if (left.length === 0) return;
    if (Date.now() >= giveUp) {
      throw new RetryableError(`${left.length} CodeRun(s) still present after delete: ${left.map((m) => m.name).join(', ')}`);
    }
    await sleep(500);
  }
}

/** Events are for people; failing to write one never fails the run. */
async function event(kube: KubeApi, input: JobInput, lease: Lease, type: 'Normal' | 'Warning', reason: string, message: string, log: Logger) {
  try {
    await kube.createEvent(input.namespace, { type, reason, message, involved: { name: lease.metadata.name, uid: lease.metadata.uid } });
  } catch (e) {
    log('event-failed', { reason, error: (e as Error).message });
  }
}
