import { RemediationMode } from '../contract/env';
import { Alert, AlertSender } from './alert';
import { CommitAuthor, PullRequestView, RepositoryView, sameLabel } from './github';
import { JobInput, ReconcileInput, taskSelector } from './input';
import { ConflictError, KubeApi, KubeObject, Lease } from './kube';
import { MANAGED_BY } from '../contract/labels';
import { acquire, expired, LockTimeoutError, readState, save } from './lease';
import { PrState, recordDelivery, relabelled, relabels } from './pr-state';
import { qaRestartedAfterPush, splitForRecord, splitRuns } from './ordering';
import { handlePush, optedOut, provenance } from './remediate';
import { RetryableError } from './retry';
import { completeSteps, deleteRuns, event, HeldLease, StepDeps } from './steps';

export interface ReconcileDeps extends StepDeps {
  /** Sends the needs-attention webhook; absent when no URL is configured. */
  readonly alert?: AlertSender;
}

/** What one pass decided for one state Lease. */
export type Action =
  | { readonly kind: 'none'; readonly why: string }
  | { readonly kind: 'busy'; readonly holder: string }
  | { readonly kind: 'resume' }
  | { readonly kind: 'repair'; readonly removeReady: boolean; readonly stale: readonly KubeObject[] }
  | { readonly kind: 'compensate'; readonly reason: string }
  | { readonly kind: 'release' }
  | { readonly kind: 'gc' }
  | { readonly kind: 'fail'; readonly error: string }
  | { readonly kind: 'skip'; readonly skipped: 'opted-out' };

/** Everything a decision reads: the Lease and its state, GitHub's view of the PR, the task's QA CodeRuns. */
export interface Observed {
  readonly lease: Lease;
  readonly state: PrState;
  /** undefined: GitHub could not be read this pass; null: no such PR. */
  readonly pr: PullRequestView | null | undefined;
  readonly viewError?: string;
  /** QA CodeRuns of the task that the state's push made stale, by the ordering rules. */
  readonly staleRuns: readonly KubeObject[];
  readonly commit?: CommitAuthor | null;
}

export interface ReconcileReport {
  readonly scanned: number;
  readonly actions: Record<Action['kind'], number>;
  readonly failed: number;
  readonly alerted: number;
  /** Open PRs carrying the remediation label that no state Lease explains: reported, never changed. */
  readonly unmanaged: string[];
  /** Pushes found by the resync (their webhook was lost) and handled as the Job would, as `repo#pr@sha`. */
  readonly resynced: string[];
  /** `observe`: every decision above was logged, none carried out (resyncs recorded as observations). */
  readonly mode: RemediationMode;
  /** What reading GitHub cost this pass: requests, and points by `rateLimit.cost`. */
  readonly github: { readonly requests: number; readonly points: number; readonly remaining: number | null };
}

const pending = (s: PrState) => s.phase === 'running' || s.phase === 'failed';

/** A commit is a bot's when its GitHub login is a bot login, or its git name or email is a bot's commit identity. */
export function isBot(commit: CommitAuthor, bots: ReconcileInput['bots']): boolean {
  const norm = (v: string) => (bots.caseInsensitive ? v.toLowerCase() : v);
  const known = new Set([...bots.logins, ...bots.commitAuthors].map(norm));
  return [commit.login, commit.name, commit.email].some((v) => typeof v === 'string' && known.has(norm(v)));
}

/**
 * The repair one state needs, from what was observed; pure, so every transition of the state machine
 * (README) is a table test. Forward-only, except that labels are restored when the push's PR is no longer
 * open or its head commit is not the bot's: the CodeRuns it deleted cannot come back.
 */
export function decide(o: Observed, cfg: ReconcileInput, now: number): Action {
  const { lease, state, pr } = o;
  const holder = lease.spec.holderIdentity;
  if (holder && !expired(lease, now)) return { kind: 'busy', holder };
  const age = now - Date.parse(state.updatedAt);
  const idle = (why: string): Action => (holder ? { kind: 'release' } : { kind: 'none', why });

  if (!pending(state) && age >= cfg.retentionSeconds * 1000) return { kind: 'gc' };
  if (state.phase === 'compensated' || state.phase === 'observed' || state.phase === 'skipped') return idle(state.phase);
  if (pending(state) && age < cfg.pendingSeconds * 1000) return idle('pending; its Job may still be retrying');
  if (pr === undefined) {
    return pending(state)
      ? { kind: 'fail', error: `GitHub unavailable: ${o.viewError}` }
      : idle('GitHub unavailable; invariant not checked');
  }
  if (pr && optedOut(pr.labels, cfg)) return { kind: 'skip', skipped: 'opted-out' };
  if (pr === null || pr.state !== 'OPEN') {
    // A PR event's cancellation is what a closed PR needs: finish it.
    if (pr && pending(state) && !relabels(state)) return { kind: 'resume' };
    const reason = pr ? `pr-${pr.state.toLowerCase()}` : 'pr-missing';
    const changed = state.steps.relabel?.removed || state.steps.relabel?.added;
    return pending(state) || changed ? { kind: 'compensate', reason } : idle(reason);
  }
  if (pending(state)) return { kind: 'resume' };
  // A draft PR's record: keep its stale runs gone; its labels are not ours to keep.
  if (!relabels(state)) return o.staleRuns.length > 0 ? { kind: 'repair', removeReady: false, stale: o.staleRuns } : idle('converged');

  const has = (name: string) => pr.labels.some((l) => sameLabel(l.name, name));
  // The platform started the next QA cycle after this push: its labels and runs are the platform's now.
  if (qaRestartedAfterPush(pr.readyLabeledAt, Date.parse(state.pushedAt))) return idle('qa restarted after the push');
  if (!has(cfg.labels.remediation)) return idle('remediation over: the remediation label is gone');
  if (cfg.compensateForeignCommits && o.commit && !isBot(o.commit, cfg.bots)) return { kind: 'compensate', reason: 'not-from-bot' };
  // Present, yet last added before the push: the flip did not hold.
  const removeReady = has(cfg.labels.ready);
  if (removeReady || o.staleRuns.length > 0) return { kind: 'repair', removeReady, stale: o.staleRuns };
  return idle('converged');
}

/** What a failed repair escalates to: the alert once per episode, a retry of its failed webhook, or nothing. */
export type Escalation =
  | { readonly kind: 'raise'; readonly reason: 'repairs-failing' | 'pending-too-long' }
  | { readonly kind: 'retry-webhook' }
  | { readonly kind: 'none' };

/**
 * The alert rule, pure: a state whose repairs failed `maxFailures` times, or still pending `attentionSeconds`
 * after its push started, raises the alert once; while it stands, only a webhook that failed is tried again.
 * `state.repair` already counts the failure just made.
 */
export function escalate(state: PrState, cfg: Pick<ReconcileInput, 'maxFailures' | 'attentionSeconds'>, now: number): Escalation {
  if (state.attention) return state.attention.webhook === 'failed' ? { kind: 'retry-webhook' } : { kind: 'none' };
  const failures = state.repair?.failures ?? 0;
  const tooLong = pending(state) && now - Date.parse(state.startedAt) >= cfg.attentionSeconds * 1000;
  if (failures >= cfg.maxFailures) return { kind: 'raise', reason: 'repairs-failing' };
  return tooLong ? { kind: 'raise', reason: 'pending-too-long' } : { kind: 'none' };
}

/**
 * One reconcile pass: reads every state Lease, one GitHub view per repository and the QA CodeRuns once,
 * repairs each PR under the same Lease the Job takes, so the two never act on a PR at once, then resyncs:
 * a bot push whose webhook was lost is found from GitHub alone and handled exactly as its Job would.
 */
export async function reconcile(cfg: ReconcileInput, deps: ReconcileDeps): Promise<ReconcileReport> {
  const { kube, github, log } = deps;
  const now = deps.now ?? Date.now;
  const leases = await kube.listLeases(
    cfg.namespace,
    Object.entries(MANAGED_BY)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
  );
  const states: Array<{ lease: Lease; state: PrState }> = [];
  for (const lease of leases) {
    const state = readState(lease);
    // A Lease without state: its run died before its first write, having changed nothing.
    if (state) states.push({ lease, state });
    else if (lease.spec.holderIdentity && expired(lease, now())) await collect(kube, cfg.namespace, lease);
  }

  const cost = { requests: 0, points: 0, remaining: null as number | null };
  const repositories = [...new Set([...cfg.repositories, ...states.map((s) => s.state.repository.toLowerCase())])];
  // An App client mints the pass's token(s), scoped to the repositories it may act on, at once.
  await github.prepare?.(repositories.filter((r) => cfg.repositories.includes(r) && !r.endsWith('/*')));
  const views = new Map<string, { view?: RepositoryView; error?: string; at: number }>();
  for (const repository of repositories) {
    const at = now();
    if (!cfg.repositories.includes(repository)) {
      views.set(repository, { error: `${repository} is not a configured repository`, at });
      continue;
    }
    const mine = states.filter((s) => s.state.repository.toLowerCase() === repository).map((s) => s.state);
    const [owner, name] = repository.split('/');
    try {
      const view = await github.view(owner, name, {
        prs: mine.map((s) => s.pr),
        commits: cfg.compensateForeignCommits ? [...new Set(mine.filter((s) => s.phase === 'done').map((s) => s.sha))] : [],
        labels: { ready: cfg.labels.ready, remediation: cfg.labels.remediation },
      });
      views.set(repository, { view, at });
      cost.requests += view.cost.requests;
      cost.points += view.cost.points;
      cost.remaining = view.cost.remaining ?? cost.remaining;
    } catch (e) {
      views.set(repository, { error: (e as Error).message, at });
      log('github-view-failed', { repository, error: (e as Error).message });
    }
  }

  const qaRuns = await kube.list(cfg.namespace, cfg.codeRun, cfg.qaSelector);
  const runsOf = (taskId: string) => qaRuns.filter((r) => r.metadata.labels?.[cfg.taskIdLabel] === taskId);
  const report: { -readonly [K in keyof ReconcileReport]: ReconcileReport[K] } = {
    scanned: states.length,
    actions: { none: 0, busy: 0, resume: 0, repair: 0, compensate: 0, release: 0, gc: 0, fail: 0, skip: 0 },
    failed: 0,
    alerted: 0,
    unmanaged: [],
    resynced: [],
    mode: cfg.mode,
    github: cost,
  };
  const managed = new Set(states.map((s) => `${s.state.repository.toLowerCase()}#${s.state.pr}`));
  for (const [repository, { view }] of views) {
    for (const pr of view?.labelled ?? []) {
      if (!managed.has(`${repository}#${pr.number}`) && pr.labels.some((l) => sameLabel(l.name, cfg.labels.remediation)))
        report.unmanaged.push(`${repository}#${pr.number}`);
    }
  }
  if (report.unmanaged.length) log('unmanaged', { prs: report.unmanaged, note: 'remediation label without a state Lease; left alone' });

  for (const { lease, state } of states) {
    const v = views.get(state.repository.toLowerCase())!;
    const observed: Observed = {
      lease,
      state,
      pr: v.view ? (v.view.prs.get(state.pr) ?? null) : undefined,
      viewError: v.error,
      staleRuns: splitForRecord(runsOf(state.taskId), state, cfg.ordering).stale,
      commit: v.view?.commits.get(state.sha),
    };
    const action = decide(observed, cfg, now());
    report.actions[action.kind]++;
    const result = await apply(cfg, deps, observed, action, v.view);
    if (result === 'failed') report.failed++;
    if (result === 'alerted') {
      report.failed++;
      report.alerted++;
    }
  }

  const byPr = new Map(states.map((s) => [`${s.state.repository.toLowerCase()}#${s.state.pr}`, s.state]));
  for (const [repository, { view, at }] of views) {
    if (!view) continue;
    for (const pr of view.labelled) {
      const push = lostPush(cfg, repository, pr, byPr.get(`${repository}#${pr.number}`), runsOf);
      if (!push) continue;
      const outcome = await resync(deps, push, view, pr, new Date(at).toISOString());
      if (outcome === 'failed') report.failed++;
      else if (outcome) report.resynced.push(`${repository}#${pr.number}@${push.headSha.slice(0, 12)}`);
    }
  }
  log('reconcile-done', { ...report });
  return report;
}

/**
 * The push a PR's head shows when its webhook was lost: an open PR on a task branch whose head commit is a
 * bot's, is newer than the last ready-for-qa, is not yet handled, and still has QA runs that started before
 * it. The commit time stands in for the push time; it is never later, so the rule errs toward keeping runs.
 */
export function lostPush(
  cfg: ReconcileInput,
  repository: string,
  pr: PullRequestView,
  state: PrState | undefined,
  runsOf: (taskId: string) => readonly KubeObject[],
): JobInput | undefined {
  const task = cfg.branchRef.exec(`refs/heads/${pr.headRefName}`);
  if (!task || !pr.head || !isBot(pr.head.author, cfg.bots) || optedOut(pr.labels, cfg)) return undefined;
  // Handled, or already observed in observe mode; a skip, or an observation once enforcing, is not handled.
  if (state?.sha === pr.head.oid && state.phase !== 'skipped' && (state.phase !== 'observed' || cfg.mode === RemediationMode.OBSERVE))
    return undefined;
  const pushedAtMs = Date.parse(pr.head.committedAt);
  if (qaRestartedAfterPush(pr.readyLabeledAt, pushedAtMs)) return undefined;
  const taskId = task[1];
  if (splitRuns(runsOf(taskId), { headSha: pr.head.oid, pushedAtMs }, cfg.ordering).stale.length === 0) return undefined;
  const [owner, name] = repository.split('/');
  return {
    ...cfg,
    repository,
    owner,
    name,
    branch: pr.headRefName,
    headSha: pr.head.oid,
    // One id per head: a second pass, or the webhook arriving late, finds the head handled.
    deliveryId: `resync-${pr.head.oid.slice(0, 12)}`,
    taskId,
    selector: taskSelector(cfg, repository, taskId),
    pushedAtMs,
    beforeSha: state?.sha ?? '0'.repeat(40),
    source: 'resync',
    event: 'push',
  };
}

/** Handles a lost push through the Job's own path; a busy Lease leaves it to the next pass. */
async function resync(
  deps: ReconcileDeps,
  push: JobInput,
  view: RepositoryView,
  pr: PullRequestView,
  resolvedAt: string,
): Promise<boolean | 'failed'> {
  try {
    const outcome = await handlePush(
      { ...push, lockWaitSeconds: 0 },
      { repositoryId: view.repositoryId, branchHead: push.headSha, pr, remediationLabelId: view.remediationLabelId },
      resolvedAt,
      deps,
    );
    deps.log('resync', {
      repository: push.repository,
      pr: pr.number,
      sha: push.headSha,
      pushedAt: new Date(push.pushedAtMs).toISOString(),
      outcome,
    });
    return outcome.kind !== 'nothing-to-do';
  } catch (e) {
    const busy = e instanceof LockTimeoutError;
    deps.log('resync', {
      repository: push.repository,
      pr: pr.number,
      sha: push.headSha,
      outcome: busy ? 'busy' : 'failed',
      error: (e as Error).message,
    });
    return busy ? false : 'failed';
  }
}

type Result = 'ok' | 'skipped' | 'failed' | 'alerted';

/** Carries out one decision under the PR's Lease; a failure is counted on the state and may raise the alert. */
async function apply(
  cfg: ReconcileInput,
  deps: ReconcileDeps,
  o: Observed,
  action: Action,
  view: RepositoryView | undefined,
): Promise<Result> {
  const { kube, log } = deps;
  const now = deps.now ?? Date.now;
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
    const would =
      action.kind === 'repair'
        ? { removeReady: action.removeReady, stale: action.stale.map((r) => r.metadata.name) }
        : action.kind === 'compensate'
          ? { reason: action.reason }
          : action.kind === 'fail'
            ? { error: action.error }
            : {};
    log('reconcile', { saw, did: 'observe', would: action.kind, ...would });
    return 'ok';
  }
  if (action.kind === 'gc') {
    const gone = await collect(kube, cfg.namespace, o.lease);
    log('reconcile', {
      saw,
      did: gone ? 'gc' : 'none',
      why: gone ? `finished more than ${cfg.retentionSeconds} s ago` : 'state changed since it was read',
    });
    return gone ? 'ok' : 'skipped';
  }

  const held = {} as HeldLease;
  try {
    held.lease = await acquire(kube, {
      namespace: cfg.namespace,
      name: o.lease.metadata.name,
      holder: cfg.runId,
      durationSeconds: cfg.leaseDurationSeconds,
      waitMs: 0,
      repository: o.state.repository,
      pr: o.state.pr,
      now,
    });
  } catch (e) {
    if (!(e instanceof LockTimeoutError)) throw e;
    log('reconcile', { saw, did: 'busy', why: 'taken by another run meanwhile' });
    return 'skipped';
  }
  const state = readState(held.lease)!;
  if (state.updatedAt !== o.state.updatedAt) {
    // Someone wrote this state after we read it: our observation is stale, so decide again next pass.
    await save(kube, held.lease, state, true, now);
    log('reconcile', { saw, did: 'none', why: 'state changed since it was read' });
    return 'skipped';
  }
  const wasAttention = !!state.attention;
  const did: Record<string, unknown> = {};
  try {
    switch (action.kind) {
      case 'release':
        break;
      case 'fail':
        throw new RetryableError(action.error);
      case 'resume': {
        const missing = [...(state.steps.cancel ? [] : ['cancel']), ...(relabelled(state) ? [] : ['relabel'])];
        await completeSteps(
          cfg,
          state,
          held,
          { repositoryId: view!.repositoryId, pr: o.pr!, remediationLabelId: view!.remediationLabelId },
          deps,
        );
        Object.assign(did, { completed: missing, relabel: state.steps.relabel!.result });
        await event(
          kube,
          cfg.namespace,
          held.lease,
          'Normal',
          'RemediationResumed',
          `PR #${state.pr}: ${missing.join(' and ')} completed by the reconciler`,
          log,
        );
        break;
      }
      case 'repair': {
        const ready = o.pr!.labels.find((l) => sameLabel(l.name, cfg.labels.ready));
        if (action.removeReady && ready) await deps.github.transition(o.pr!.id, { remove: ready.id });
        const deleted = await deleteRuns(kube, cfg, action.stale);
        Object.assign(did, { removed: action.removeReady ? cfg.labels.ready : undefined, deleted });
        await event(
          kube,
          cfg.namespace,
          held.lease,
          'Normal',
          'InvariantRestored',
          `PR #${state.pr}: ${provenance(state)}: ${action.removeReady ? `removed ${cfg.labels.ready}, ` : ''}${deleted.length} QA CodeRun(s) deleted${deleted.length ? ` (${deleted.join(', ')})` : ''}`,
          log,
        );
        break;
      }
      case 'compensate': {
        const restored = await compensate(cfg, deps, state, o.pr, view);
        state.phase = 'compensated';
        state.compensation = { at: new Date(now()).toISOString(), reason: action.reason, restored };
        recordDelivery(state);
        Object.assign(did, { reason: action.reason, restored });
        await event(
          kube,
          cfg.namespace,
          held.lease,
          'Normal',
          'RemediationCompensated',
          `PR #${state.pr} (${action.reason}): ${restored.length ? restored.join(', ') : 'no label to restore'}; cancelled CodeRuns are not restored`,
          log,
        );
        break;
      }
    }
    state.repair = undefined;
    state.attention = undefined;
    if (action.kind !== 'resume') held.lease = await save(kube, held.lease, state, true, now);
    if (wasAttention)
      await event(kube, cfg.namespace, held.lease, 'Normal', 'RemediationRecovered', `PR #${state.pr}: automatic recovery succeeded`, log);
    log('reconcile', { saw, did: action.kind, ...did });
    return 'ok';
  } catch (e) {
    const error = (e as Error).message;
    state.repair = { failures: (state.repair?.failures ?? 0) + 1, lastAt: new Date(now()).toISOString(), lastError: error };
    const step = escalate(state, cfg, now());
    const alerted = step.kind === 'raise';
    if (step.kind === 'raise') await raise(cfg, deps, state, held.lease, step.reason);
    else if (step.kind === 'retry-webhook') state.attention!.webhook = await notify(cfg, deps, state, held.lease);
    await save(kube, held.lease, state, true, now).catch((err) => log('release-failed', { error: (err as Error).message }));
    log('reconcile', { saw, did: action.kind, failed: error, failures: state.repair.failures, alerted });
    return alerted ? 'alerted' : 'failed';
  }
}

/** Deletes a Lease only if it is still the version read; false when it changed meanwhile. */
async function collect(kube: KubeApi, namespace: string, lease: Lease): Promise<boolean> {
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
  state.attention = { since: new Date((deps.now ?? Date.now)()).toISOString(), reason, webhook: 'none' };
  state.attention.webhook = await notify(cfg, deps, state, lease);
  await event(
    deps.kube,
    cfg.namespace,
    lease,
    'Warning',
    'RemediationNeedsAttention',
    `PR #${state.pr} (task ${state.taskId}) needs attention: ${reason}, ${state.repair?.failures ?? 0} failed repair(s): ${state.repair?.lastError ?? ''}`,
    deps.log,
  );
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
