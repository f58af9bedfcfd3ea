/**
 * The reconciler's decisions, pure so that each is a table test: what a recorded state needs, whether it needs
 * GitHub at all, when a failed repair raises the alert, and which lost event a task's PR shows.
 */
import { RemediationMode, TriggerEvent } from '../../contract/env';
import { CommitAuthor, PullRequestView, sameLabel } from '../github/github';
import { JobInput, ReconcileInput, taskSelector } from '../input';
import { KubeObject, Lease } from '../kube/kube';
import { expired } from '../kube/lease';
import { qaRestartedAfterPush, rulesFor, splitRuns } from '../event/ordering';
import { PrState, relabels } from '../kube/pr-state';
import { optedOut } from '../event/remediate';

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
  /** undefined: GitHub could not be read (or was not asked) this pass; null: no such PR. */
  readonly pr: PullRequestView | null | undefined;
  readonly viewError?: string;
  /** QA CodeRuns of the task (of its repository) that the state's push made stale, by the ordering rules. */
  readonly staleRuns: readonly KubeObject[];
  readonly commit?: CommitAuthor | null;
}

export const pending = (s: PrState) => s.phase === 'running' || s.phase === 'failed';

/** A commit is a bot's when its GitHub login is a bot login, or its git name or email is a bot's commit identity. */
export function isBot(commit: CommitAuthor, bots: ReconcileInput['bots']): boolean {
  const norm = (v: string) => (bots.caseInsensitive ? v.toLowerCase() : v);
  const known = new Set([...bots.logins, ...bots.commitAuthors].map(norm));
  return [commit.login, commit.name, commit.email].some((v) => typeof v === 'string' && known.has(norm(v)));
}

/**
 * The decision for a state that needs no look at GitHub (held, due for collection, finished for good, or still
 * within its Job's time); undefined when the PR must be read. The pass asks GitHub only about the others.
 */
export function decideWithoutGitHub(lease: Lease, state: PrState, cfg: ReconcileInput, now: number): Action | undefined {
  const holder = lease.spec.holderIdentity;
  if (holder && !expired(lease, now)) return { kind: 'busy', holder };
  const age = now - Date.parse(state.updatedAt);
  const idle = (why: string): Action => (holder ? { kind: 'release' } : { kind: 'none', why });
  if (!pending(state) && age >= cfg.retentionSeconds * 1000) return { kind: 'gc' };
  if (state.phase === 'compensated' || state.phase === 'observed' || state.phase === 'skipped') return idle(state.phase);
  if (pending(state) && age < cfg.pendingSeconds * 1000) return idle('pending; its Job may still be retrying');
  return undefined;
}

/**
 * The repair one state needs, from what was observed (README: the state machine). Forward-only, except that
 * labels are restored when the push's PR is no longer open or its head commit is not the bot's: the CodeRuns it
 * deleted cannot come back.
 */
export function decide(o: Observed, cfg: ReconcileInput, now: number): Action {
  const { lease, state, pr } = o;
  const early = decideWithoutGitHub(lease, state, cfg, now);
  if (early) return early;
  const idle = (why: string): Action => (lease.spec.holderIdentity ? { kind: 'release' } : { kind: 'none', why });
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
 * The alert rule: a state whose repairs failed `maxFailures` times, or still pending `attentionSeconds` after its
 * push started, raises the alert once; while it stands, only a webhook that failed is tried again.
 * `state.repair` already counts the failure just made.
 */
export function escalate(state: PrState, cfg: Pick<ReconcileInput, 'maxFailures' | 'attentionSeconds'>, now: number): Escalation {
  if (state.attention) return state.attention.webhook === 'failed' ? { kind: 'retry-webhook' } : { kind: 'none' };
  const failures = state.repair?.failures ?? 0;
  const tooLong = pending(state) && now - Date.parse(state.startedAt) >= cfg.attentionSeconds * 1000;
  if (failures >= cfg.maxFailures) return { kind: 'raise', reason: 'repairs-failing' };
  return tooLong ? { kind: 'raise', reason: 'pending-too-long' } : { kind: 'none' };
}

/** The branch of a task, from the configured pattern. */
export const taskBranch = (cfg: Pick<ReconcileInput, 'branchPattern'>, taskId: string) => cfg.branchPattern.replace('{id}', taskId);

/** A state's record counts as handling `head` in this mode: an observation is not handled once enforcing, a skip never. */
function handles(state: PrState | undefined, head: string, mode: RemediationMode): boolean {
  return state?.sha === head && state.phase !== 'skipped' && (state.phase !== 'observed' || mode === RemediationMode.OBSERVE);
}

/** The JobInput of an event the reconciler found in GitHub's state instead of a webhook. */
function resyncInput(
  cfg: ReconcileInput,
  repository: string,
  taskId: string,
  pr: PullRequestView,
  e: { event: TriggerEvent; headSha: string; pushedAtMs: number; deliveryId: string; beforeSha: string },
): JobInput {
  const [owner, name] = repository.split('/');
  return {
    ...cfg,
    ...e,
    repository,
    owner,
    name,
    branch: pr.headRefName,
    taskId,
    selector: taskSelector(cfg, repository, taskId),
    source: 'resync',
    prNumber: e.event === 'push' ? undefined : pr.number,
  };
}

/** What a pass saw of one task: its repository and id, its PR, that PR's record (if any), its QA runs. */
export interface TaskSeen {
  readonly repository: string;
  readonly taskId: string;
  readonly pr: PullRequestView;
  readonly state: PrState | undefined;
  readonly runs: readonly KubeObject[];
}

/**
 * The push a PR's head shows when its webhook was lost: an open PR on the task's branch whose head commit is a
 * bot's, is newer than the last ready-for-qa, is not yet handled, and still has QA runs that started before it.
 * The commit time stands in for the push time; it is never later, so the rule errs toward keeping runs.
 */
export function lostPush(cfg: ReconcileInput, { repository, taskId, pr, state, runs }: TaskSeen): JobInput | undefined {
  if (pr.state !== 'OPEN' || pr.isDraft || !pr.head || !isBot(pr.head.author, cfg.bots) || optedOut(pr.labels, cfg)) return undefined;
  if (handles(state, pr.head.oid, cfg.mode)) return undefined;
  const pushedAtMs = Date.parse(pr.head.committedAt);
  if (qaRestartedAfterPush(pr.readyLabeledAt, pushedAtMs)) return undefined;
  if (splitRuns(runs, { headSha: pr.head.oid, pushedAtMs }, cfg.ordering).stale.length === 0) return undefined;
  return resyncInput(cfg, repository, taskId, pr, {
    event: 'push',
    headSha: pr.head.oid,
    pushedAtMs,
    // One id per head: a second pass, or the webhook arriving late, finds the head handled.
    deliveryId: `resync-${pr.head.oid.slice(0, 12)}`,
    beforeSha: state?.sha ?? '0'.repeat(40),
  });
}

/**
 * The PR event a task's PR shows when its webhook was lost: closed, merged or a draft, not opted out, with QA
 * runs that started before it and no record of it yet. A closed PR's time is `closedAt`; a draft's is its
 * `updatedAt`, the latest the conversion can have been, as the Sensor takes it from the webhook.
 */
export function lostPrEvent(cfg: ReconcileInput, { repository, taskId, pr, state, runs }: TaskSeen): JobInput | undefined {
  if ((pr.state === 'OPEN' && !pr.isDraft) || !pr.head || optedOut(pr.labels, cfg)) return undefined;
  const event: TriggerEvent = pr.state === 'OPEN' ? 'converted_to_draft' : 'closed';
  const at = Date.parse(pr.state === 'OPEN' ? pr.updatedAt : (pr.closedAt ?? pr.updatedAt));
  if ((state?.event ?? 'push') === event && handles(state, pr.head.oid, cfg.mode) && Date.parse(state!.pushedAt) >= at) return undefined;
  const head = { headSha: pr.head.oid, pushedAtMs: at };
  if (splitRuns(runs, head, rulesFor(event, cfg.ordering)).stale.length === 0) return undefined;
  return resyncInput(cfg, repository, taskId, pr, {
    event,
    ...head,
    deliveryId: `resync-${event}-${pr.number}-${at / 1000}`,
    beforeSha: pr.head.oid,
  });
}
