/**
 * One reconcile pass, level-triggered and starting from the cluster: it reads what exists (the QA runs and the
 * state Leases), asks GitHub only about the repositories and tasks those name, repairs each recorded state, then
 * handles what a lost webhook left undone: a bot push, or a PR closed, merged or turned to draft.
 */
import { RemediationMode } from '../../contract/env';
import { MANAGED_BY } from '../../contract/labels';
import { allows, runRepository } from '../../contract/repository-scope';
import { GitHubCost, PullRequestView, RepositoryView, sameLabel, SurveyAsk } from '../github/github';
import { JobInput, ReconcileInput } from '../input';
import { KubeObject, Lease } from '../kube/kube';
import { expired, readState } from '../kube/lease';
import { isFinished, splitForRecord } from '../event/ordering';
import { PrState } from '../kube/pr-state';
import { handleEvent } from '../event/remediate';
import { apply, collect, ReconcileDeps } from './apply';
import { Action, decide, decideWithoutGitHub, lostPrEvent, lostPush, taskBranch } from './decide';
import { LockTimeoutError, StateSchemaError } from '../errors';
import { syncAttentionMarkers } from './attention-markers';

export interface ReconcileReport {
  readonly scanned: number;
  /** Tasks (repository and task id) with QA runs this pass. */
  readonly tasks: number;
  readonly actions: Record<Action['kind'], number>;
  /** Repairs and resyncs that failed, and repositories GitHub could not be read for. */
  readonly failed: number;
  readonly alerted: number;
  /** Open task PRs carrying the remediation label that no state Lease explains: reported, never changed. */
  readonly unmanaged: string[];
  /** Events found from GitHub's state (their webhook was lost) and handled as the Job would, as `repo#pr@sha event`. */
  readonly resynced: string[];
  /** QA runs left alone because their repository could not be read, with the reason. */
  readonly unreadable: Array<{ readonly name: string; readonly why: string }>;
  /** `observe`: every decision above was logged, none carried out (resyncs recorded as observations). */
  readonly mode: RemediationMode;
  /** What reading GitHub cost this pass. */
  readonly github: GitHubCost;
}

interface Recorded {
  readonly lease: Lease;
  readonly state: PrState;
}

/** One task's QA runs: a task id is a task of one repository. */
interface TaskRuns {
  readonly repository: string;
  readonly taskId: string;
  readonly runs: KubeObject[];
}

const key = (repository: string, id: string | number) => `${repository.toLowerCase()}#${id}`;
/** Every Lease the Job and the reconciler write: state Leases, and the markers beside them. */
const MANAGED_SELECTOR = Object.entries(MANAGED_BY)
  .map(([k, v]) => `${k}=${v}`)
  .join(',');

/** Phase 1: the state Leases (collecting those whose run died before its first write) and the QA runs by task. */
async function readCluster(cfg: ReconcileInput, deps: ReconcileDeps) {
  const states: Recorded[] = [];
  for (const lease of await deps.kube.listLeases(cfg.namespace, MANAGED_SELECTOR)) {
    let state: PrState | undefined;
    try {
      state = readState(lease);
    } catch (e) {
      if (!(e instanceof StateSchemaError)) throw e;
      deps.log('state-unreadable', { lease: lease.metadata.name, error: e.message, note: 'left alone' });
      continue;
    }
    // A Lease without state: its run died before its first write, having changed nothing.
    if (state) states.push({ lease, state });
    else if (lease.spec.holderIdentity && expired(lease, deps.clock.now())) await collect(deps.kube, cfg.namespace, lease);
  }
  const tasks = new Map<string, TaskRuns>();
  const unreadable: Array<{ name: string; why: string }> = [];
  for (const run of await deps.kube.list(cfg.namespace, cfg.codeRun, cfg.qaSelector)) {
    const taskId = run.metadata.labels?.[cfg.taskIdLabel];
    // A finished run is history, never cancelled: its task needs no look at GitHub, whose cost would otherwise
    // grow with the history the cluster keeps.
    if (!taskId || (cfg.ordering.phase && isFinished(run, cfg.ordering.phase))) continue;
    const of = runRepository(run, cfg.scope, cfg.repositories);
    if ('unreadable' in of) {
      unreadable.push({ name: run.metadata.name, why: of.unreadable });
      continue;
    }
    const task = tasks.get(key(of.repository, taskId)) ?? { repository: of.repository, taskId, runs: [] };
    task.runs.push(run);
    tasks.set(key(of.repository, taskId), task);
  }
  if (unreadable.length) deps.log('runs-unreadable', { runs: unreadable, note: 'their repository cannot be read: never cancelled' });
  return { states, tasks, unreadable };
}

/**
 * Phase 2, pure: what to ask GitHub. The PRs of states that need a look, each task's branch, and (for
 * compensation) the commits of finished pushes; nothing for a repository with no runs and no such state.
 */
export function planSurvey(states: readonly Recorded[], tasks: Iterable<TaskRuns>, cfg: ReconcileInput, now: number): SurveyAsk[] {
  const asks = new Map<string, { repository: string; branches: Set<string>; prs: Set<number>; commits: Set<string> }>();
  const of = (repository: string) => {
    const r = repository.toLowerCase();
    if (!asks.has(r)) asks.set(r, { repository: r, branches: new Set(), prs: new Set(), commits: new Set() });
    return asks.get(r)!;
  };
  for (const { lease, state } of states) {
    if (!allows(cfg.repositories, state.repository) || decideWithoutGitHub(lease, state, cfg, now)) continue;
    of(state.repository).prs.add(state.pr);
    if (cfg.compensateForeignCommits && state.phase === 'done') of(state.repository).commits.add(state.sha);
  }
  for (const t of tasks) of(t.repository).branches.add(taskBranch(cfg, t.taskId));
  return [...asks.values()].map((a) => ({ repository: a.repository, branches: [...a.branches], prs: [...a.prs], commits: [...a.commits] }));
}

export async function reconcile(cfg: ReconcileInput, deps: ReconcileDeps): Promise<ReconcileReport> {
  const { log } = deps;
  const { states, tasks, unreadable } = await readCluster(cfg, deps);
  const asks = planSurvey(states, tasks.values(), cfg, deps.clock.now());
  await deps.github.prepare?.(asks.map((a) => a.repository));
  const readAt = new Date(deps.clock.now()).toISOString();
  const survey = asks.length
    ? await deps.github.survey(asks, cfg.labels)
    : { repositories: new Map(), cost: { requests: 0, points: 0, remaining: null } };
  const unread = [...survey.repositories].filter(([, read]) => 'error' in read);
  for (const [repository, read] of unread) log('github-survey-failed', { repository, error: (read as { error: string }).error });
  const viewOf = (repository: string): { view?: RepositoryView; error?: string } => {
    if (!allows(cfg.repositories, repository)) return { error: `${repository} is not a configured repository` };
    const read = survey.repositories.get(repository.toLowerCase());
    return !read ? {} : 'error' in read ? { error: read.error } : { view: read };
  };
  const report = {
    scanned: states.length,
    tasks: tasks.size,
    actions: { none: 0, busy: 0, resume: 0, repair: 0, compensate: 0, release: 0, gc: 0, fail: 0, skip: 0 },
    // A repository GitHub could not be read for (down, or an App not installed there) fails the pass: exit 75.
    failed: unread.length,
    alerted: 0,
    unmanaged: [] as string[],
    resynced: [] as string[],
    unreadable,
    mode: cfg.mode,
    github: survey.cost,
  };
  const count = (result: string) => {
    if (result === 'failed' || result === 'alerted') report.failed++;
    if (result === 'alerted') report.alerted++;
  };

  // Phase 3: each recorded state, repaired under its Lease.
  for (const { lease, state } of states) {
    const { view, error } = viewOf(state.repository);
    const runs = tasks.get(key(state.repository, state.taskId))?.runs ?? [];
    const observed = {
      lease,
      state,
      // undefined when GitHub was not asked about it (the decision needs no PR) or could not be read.
      pr: view?.prs.has(state.pr) ? view.prs.get(state.pr) : undefined,
      viewError: error,
      staleRuns: splitForRecord(runs, state, cfg.ordering).stale,
      commit: view?.commits.get(state.sha),
    };
    const action = decide(observed, cfg, deps.clock.now());
    report.actions[action.kind]++;
    count(await apply(cfg, deps, observed, action, view));
  }

  // Phase 4: each task's PR, for the event whose webhook was lost.
  const byPr = new Map(states.map((s) => [key(s.state.repository, s.state.pr), s.state]));
  for (const task of tasks.values()) {
    const { view } = viewOf(task.repository);
    const pr = view?.branches.get(taskBranch(cfg, task.taskId));
    if (!view || !pr) continue;
    const state = byPr.get(key(task.repository, pr.number));
    if (pr.state === 'OPEN' && !state && pr.labels.some((l) => sameLabel(l.name, cfg.labels.remediation))) {
      report.unmanaged.push(key(task.repository, pr.number));
    }
    const seen = { repository: task.repository, taskId: task.taskId, pr, state, runs: task.runs };
    const lost = lostPush(cfg, seen) ?? lostPrEvent(cfg, seen);
    if (!lost) continue;
    const outcome = await resync(deps, lost, view, pr, readAt);
    if (outcome === 'failed') report.failed++;
    else if (outcome) report.resynced.push(`${key(task.repository, pr.number)}@${lost.headSha.slice(0, 12)} ${lost.event}`);
  }
  if (report.unmanaged.length) log('unmanaged', { prs: report.unmanaged, note: 'remediation label without a state Lease; left alone' });
  // Phase 5: the markers the needs-attention alert counts, in step with the marks this pass left.
  const markers = await syncAttentionMarkers(deps.kube, cfg.namespace, MANAGED_SELECTOR);
  if (markers.created.length + markers.deleted.length) log('attention-markers', { ...markers });
  if (deps.redeliver) log('redelivery', { ...(await deps.redeliver()) });
  log('reconcile-done', { ...report });
  return report;
}

/** Handles a lost event through the Job's own path; a busy Lease leaves it to the next pass. */
async function resync(
  deps: ReconcileDeps,
  input: JobInput,
  view: RepositoryView,
  pr: PullRequestView,
  resolvedAt: string,
): Promise<boolean | 'failed'> {
  const fields = {
    repository: input.repository,
    pr: pr.number,
    event: input.event,
    sha: input.headSha,
    at: new Date(input.pushedAtMs).toISOString(),
  };
  try {
    const resolved = { repositoryId: view.repositoryId, branchHead: input.headSha, pr, remediationLabelId: view.remediationLabelId };
    const outcome = await handleEvent({ ...input, lockWaitSeconds: 0 }, resolved, resolvedAt, deps);
    deps.log('resync', { ...fields, outcome });
    return outcome.kind !== 'nothing-to-do';
  } catch (e) {
    const busy = e instanceof LockTimeoutError;
    deps.log('resync', { ...fields, outcome: busy ? 'busy' : 'failed', error: (e as Error).message });
    return busy ? false : 'failed';
  }
}
