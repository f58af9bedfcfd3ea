/**
 * Carrying out one decision of a pass: a guard takes the PR's Lease (the one the Job takes, so the two never act
 * on a PR at once) and checks the state is still the one decided on; one executor per action does the work; a
 * failure is counted on the state and may raise the alert.
 */
import { RemediationMode } from '../../contract/env';
import { Alert, AlertSender } from './alert';
import { REASON } from '../event/event-reasons';
import { RedeliveryReport } from './redeliver';
import { PullRequestView, RepositoryView, sameLabel } from '../github/github';
import { ReconcileInput } from '../input';
import { KubeApi, Lease } from '../kube/kube';
import { acquire, readState, save } from '../kube/lease';
import { PrState, recordDelivery, relabelled } from '../kube/pr-state';
import { provenance } from '../event/remediate';
import { completeSteps, deleteRuns, event, HeldLease, StepDeps } from '../event/steps';
import { Action, escalate, Observed } from './decide';
import { ConflictError, LockTimeoutError, RetryableError } from '../errors';

export interface ReconcileDeps extends StepDeps {
  /** Sends the needs-attention webhook; absent when no URL is configured. */
  readonly alert?: AlertSender;
  /** GitHub's redelivery of the webhook's failed deliveries (redeliver.ts); absent when no hook is configured. */
  readonly redeliver?: () => Promise<RedeliveryReport>;
}

export type Result = 'ok' | 'skipped' | 'failed' | 'alerted';

/** What an executor works on: the decision, what was seen, and the state under the held Lease. */
interface Held {
  readonly cfg: ReconcileInput;
  readonly deps: ReconcileDeps;
  readonly o: Observed;
  readonly view: RepositoryView | undefined;
  readonly state: PrState;
  readonly held: HeldLease;
}

type Executor<K extends Action['kind']> = (h: Held, action: Extract<Action, { kind: K }>) => Promise<Record<string, unknown>>;

const EXECUTORS: { [K in 'release' | 'fail' | 'resume' | 'repair' | 'compensate']: Executor<K> } = {
  release: () => Promise.resolve({}),
  fail: (_h, action) => Promise.reject(new RetryableError(action.error)),
  resume: async ({ cfg, deps, o, view, state, held }) => {
    const missing = [...(state.steps.cancel ? [] : ['cancel']), ...(relabelled(state) ? [] : ['relabel'])];
    await completeSteps(
      cfg,
      state,
      held,
      { repositoryId: view!.repositoryId, pr: o.pr!, remediationLabelId: view!.remediationLabelId },
      deps,
    );
    const message = `PR #${state.pr}: ${missing.join(' and ')} completed by the reconciler`;
    await event(deps.kube, cfg.namespace, held.lease, 'Normal', REASON.resumed, message, deps.log);
    return { completed: missing, relabel: state.steps.relabel!.result };
  },
  repair: async ({ cfg, deps, o, state, held }, action) => {
    const ready = o.pr!.labels.find((l) => sameLabel(l.name, cfg.labels.ready));
    if (action.removeReady && ready) await deps.github.transition(o.pr!.id, { remove: ready.id });
    const { deleted } = await deleteRuns(deps.kube, cfg, action.stale);
    const runs = `${deleted.length} QA CodeRun(s) deleted${deleted.length ? ` (${deleted.join(', ')})` : ''}`;
    const message = `PR #${state.pr}: ${provenance(state)}: ${action.removeReady ? `removed ${cfg.labels.ready}, ` : ''}${runs}`;
    await event(deps.kube, cfg.namespace, held.lease, 'Normal', REASON.restored, message, deps.log);
    return { removed: action.removeReady ? cfg.labels.ready : undefined, deleted };
  },
  compensate: async ({ cfg, deps, o, view, state, held }, action) => {
    const restored = await compensate(cfg, deps, state, o.pr, view);
    state.phase = 'compensated';
    state.compensation = { at: new Date(deps.clock.now()).toISOString(), reason: action.reason, restored };
    recordDelivery(state);
    const message = `PR #${state.pr} (${action.reason}): ${restored.length ? restored.join(', ') : 'no label to restore'}; cancelled CodeRuns are not restored`;
    await event(deps.kube, cfg.namespace, held.lease, 'Normal', REASON.compensated, message, deps.log);
    return { reason: action.reason, restored };
  },
};

/** Carries out one decision under the PR's Lease; a failure is counted on the state and may raise the alert. */
export async function apply(
  cfg: ReconcileInput,
  deps: ReconcileDeps,
  o: Observed,
  action: Action,
  view: RepositoryView | undefined,
): Promise<Result> {
  const { log } = deps;
  const saw = {
    pr: o.state.pr,
    repository: o.state.repository,
    task: o.state.taskId,
    phase: o.state.phase,
    holder: o.lease.spec.holderIdentity ?? null,
    labels: o.pr ? o.pr.labels.map((l) => l.name) : o.pr,
    staleRuns: o.staleRuns.map((r) => r.metadata.name),
  };
  if (action.kind === 'none' || action.kind === 'busy') {
    log('reconcile', { saw, did: action.kind, why: action.kind === 'none' ? action.why : `held by ${action.holder}` });
    return 'ok';
  }
  if (action.kind === 'skip') {
    log('reconcile', { saw, did: 'skip', skipped: action.skipped, label: cfg.optOutLabel });
    return 'ok';
  }
  if (cfg.mode === RemediationMode.OBSERVE && action.kind !== 'gc' && action.kind !== 'release') {
    // Reported, never carried out: only the collection of this program's own finished records goes on.
    log('reconcile', { saw, did: 'observe', would: action.kind, ...wouldDo(action) });
    return 'ok';
  }
  if (action.kind === 'gc') {
    const gone = await collect(deps.kube, cfg.namespace, o.lease);
    log('reconcile', {
      saw,
      did: gone ? 'gc' : 'none',
      why: gone ? `finished more than ${cfg.retentionSeconds} s ago` : 'state changed since it was read',
    });
    return gone ? 'ok' : 'skipped';
  }
  const guarded = await guard(cfg, deps, o);
  if (typeof guarded === 'string') {
    log('reconcile', {
      saw,
      did: guarded === 'busy' ? 'busy' : 'none',
      why: guarded === 'busy' ? 'taken by another run meanwhile' : 'state changed since it was read',
    });
    return 'skipped';
  }
  const h: Held = { cfg, deps, o, view, ...guarded };
  const wasAttention = !!h.state.attention;
  try {
    const did = await (EXECUTORS[action.kind] as Executor<typeof action.kind>)(h, action);
    h.state.repair = undefined;
    h.state.attention = undefined;
    if (action.kind !== 'resume') h.held.lease = await save(deps.kube, h.held.lease, h.state, true, deps.clock.now);
    if (wasAttention) {
      await event(
        deps.kube,
        cfg.namespace,
        h.held.lease,
        'Normal',
        REASON.recovered,
        `PR #${h.state.pr}: automatic recovery succeeded`,
        log,
      );
    }
    log('reconcile', { saw, did: action.kind, ...did });
    return 'ok';
  } catch (e) {
    const alerted = await recordFailure(h, (e as Error).message);
    log('reconcile', { saw, did: action.kind, failed: (e as Error).message, failures: h.state.repair!.failures, alerted });
    return alerted ? 'alerted' : 'failed';
  }
}

/** The fields an observe-mode log line adds: what enforce mode would do. */
function wouldDo(action: Action): Record<string, unknown> {
  if (action.kind === 'repair') return { removeReady: action.removeReady, stale: action.stale.map((r) => r.metadata.name) };
  if (action.kind === 'compensate') return { reason: action.reason };
  return action.kind === 'fail' ? { error: action.error } : {};
}

/**
 * Takes the PR's Lease without waiting and re-reads the state under it: `busy` when another run holds it,
 * `changed` (after releasing) when someone wrote the state since it was read, since the decision is then stale.
 */
async function guard(
  cfg: ReconcileInput,
  deps: ReconcileDeps,
  o: Observed,
): Promise<{ state: PrState; held: HeldLease } | 'busy' | 'changed'> {
  const held = {} as HeldLease;
  try {
    ({ lease: held.lease } = await acquire(deps.kube, {
      namespace: cfg.namespace,
      name: o.lease.metadata.name,
      holder: cfg.runId,
      durationSeconds: cfg.leaseDurationSeconds,
      waitMs: 0,
      repository: o.state.repository,
      pr: o.state.pr,
      clock: deps.clock,
    }));
  } catch (e) {
    if (e instanceof LockTimeoutError) return 'busy';
    throw e;
  }
  const state = readState(held.lease)!;
  if (state.updatedAt === o.state.updatedAt) return { state, held };
  await save(deps.kube, held.lease, state, true, deps.clock.now);
  return 'changed';
}

/** Counts the failure on the state, raises or retries the alert as `escalate` says, and releases; true if raised. */
async function recordFailure(h: Held, error: string): Promise<boolean> {
  const { cfg, deps, state, held } = h;
  state.repair = { failures: (state.repair?.failures ?? 0) + 1, lastAt: new Date(deps.clock.now()).toISOString(), lastError: error };
  const step = escalate(state, cfg, deps.clock.now());
  if (step.kind === 'raise') await raise(cfg, deps, state, held.lease, step.reason);
  else if (step.kind === 'retry-webhook') state.attention!.webhook = await notify(cfg, deps, state, held.lease);
  await save(deps.kube, held.lease, state, true, deps.clock.now).catch((err) =>
    deps.log('release-failed', { error: (err as Error).message }),
  );
  return step.kind === 'raise';
}

/** Deletes a Lease only if it is still the version read; false when it changed meanwhile. */
export async function collect(kube: KubeApi, namespace: string, lease: Lease): Promise<boolean> {
  try {
    await kube.deleteLease(namespace, lease.metadata.name, lease.metadata.resourceVersion!);
    return true;
  } catch (e) {
    if (e instanceof ConflictError) return false;
    throw e;
  }
}

/** Restores the labels this push changed, where they are still as it left them; returns what it restored. */
async function compensate(
  cfg: ReconcileInput,
  deps: ReconcileDeps,
  state: PrState,
  pr: PullRequestView | null | undefined,
  view: RepositoryView | undefined,
): Promise<string[]> {
  const relabel = state.steps.relabel;
  if (!pr || !relabel) return [];
  const remediation = relabel.added ? pr.labels.find((l) => sameLabel(l.name, relabel.added!)) : undefined;
  const addReady = relabel.removed && !pr.labels.some((l) => sameLabel(l.name, relabel.removed!)) ? view?.readyLabelId : undefined;
  if (!remediation && !addReady) return [];
  await deps.github.transition(pr.id, { remove: remediation?.id, add: addReady });
  return [...(remediation ? [`removed ${remediation.name}`] : []), ...(addReady ? [`re-added ${cfg.labels.ready}`] : [])];
}

/** The alert, once per episode: a Warning Event with a stable reason, the mark on the Lease, the webhook. */
async function raise(cfg: ReconcileInput, deps: ReconcileDeps, state: PrState, lease: Lease, reason: string): Promise<void> {
  state.attention = { since: new Date(deps.clock.now()).toISOString(), reason, webhook: 'none' };
  state.attention.webhook = await notify(cfg, deps, state, lease);
  const failures = `${state.repair?.failures ?? 0} failed repair(s): ${state.repair?.lastError ?? ''}`;
  const message = `PR #${state.pr} (task ${state.taskId}) needs attention: ${reason}, ${failures}`;
  await event(deps.kube, cfg.namespace, lease, 'Warning', REASON.needsAttention, message, deps.log);
  deps.log('alert', { pr: state.pr, reason, webhook: state.attention.webhook });
}

async function notify(cfg: ReconcileInput, deps: ReconcileDeps, state: PrState, lease: Lease): Promise<'sent' | 'failed' | 'none'> {
  if (!deps.alert) return 'none';
  const alert: Alert = {
    reason: state.attention!.reason,
    namespace: cfg.namespace,
    lease: lease.metadata.name,
    repository: state.repository,
    pr: state.pr,
    taskId: state.taskId,
    failures: state.repair?.failures ?? 0,
    lastError: state.repair?.lastError,
  };
  try {
    await deps.alert(alert);
    return 'sent';
  } catch (e) {
    deps.log('alert-webhook-failed', { pr: state.pr, error: (e as Error).message });
    return 'failed';
  }
}
