/**
 * Happens-before rules: which QA runs a push made stale, and whether its label flip still applies.
 * Pure functions of what was observed, so each rule is a table test.
 *
 * A QA run reviews what the branch held when it started. A push makes stale the runs that started before it,
 * never the ones that started after it: those are the platform's next QA cycle. Where a missed cancellation is
 * repaired later (the reconciler's resync) but a killed fresh run is lost, every doubt keeps the run.
 */
import { TriggerEvent } from '../../contract/env';
import { ObjectLocation, readLocation } from '../../contract/location';
import { RepositoryScope, runRepository } from '../../contract/repository-scope';
import { KubeObject } from '../kube/kube';

export interface OrderingRules {
  /**
   * How far GitHub's clock may run ahead of the cluster's. A run created less than this before the push time is
   * kept: it may have started after the push.
   */
  readonly clockSkewMs: number;
  /** When set, a run that records its revision is judged by it, whatever its age. */
  readonly revision?: ObjectLocation;
  /**
   * When set, a run whose phase is a finished one is history, kept whatever the event: deleting it would take its
   * record, and through garbage collection its Pods and logs. A run with no phase yet is active.
   */
  readonly phase?: RunPhase;
}

/** Where a CodeRun records its phase, and the phases of a finished run. */
export interface RunPhase {
  readonly from: ObjectLocation;
  readonly finished: readonly string[];
}

/** The push a decision is about, as GitHub reported it. */
export interface PushMark {
  readonly headSha: string;
  /** `repository.pushed_at` in ms (GitHub's clock, whole seconds). */
  readonly pushedAtMs: number;
}

export type RunVerdict =
  | { readonly stale: true; readonly why: 'older-revision' | 'created-before-push' }
  | {
      readonly stale: false;
      readonly why: 'head-revision' | 'created-at-or-after-push' | 'within-clock-skew' | 'terminating' | 'finished';
    };

/** The revision a run records, lower-cased; undefined when it records none. */
export function revisionOf(run: KubeObject, source: ObjectLocation): string | undefined {
  return readLocation(run, source)?.toLowerCase();
}

/** A recorded revision names the head when it is the head SHA or an unambiguous prefix of it (7+ digits). */
function isHead(revision: string, headSha: string): boolean {
  return revision.length >= 7 && headSha.toLowerCase().startsWith(revision);
}

export function judgeRun(run: KubeObject, push: PushMark, rules: OrderingRules): RunVerdict {
  if (run.metadata.deletionTimestamp) return { stale: false, why: 'terminating' };
  if (rules.phase && isFinished(run, rules.phase)) return { stale: false, why: 'finished' };
  const revision = rules.revision && revisionOf(run, rules.revision);
  if (revision !== undefined)
    return isHead(revision, push.headSha) ? { stale: false, why: 'head-revision' } : { stale: true, why: 'older-revision' };
  // Both times have whole seconds; a run created in the push's own second may have started after it.
  const created = Date.parse(run.metadata.creationTimestamp ?? '');
  if (!(created < push.pushedAtMs)) return { stale: false, why: 'created-at-or-after-push' };
  if (created >= push.pushedAtMs - rules.clockSkewMs) return { stale: false, why: 'within-clock-skew' };
  return { stale: true, why: 'created-before-push' };
}

/** True when the run records one of the finished phases. */
export function isFinished(run: KubeObject, phase: RunPhase): boolean {
  const value = readLocation(run, phase.from);
  return value !== undefined && phase.finished.includes(value);
}

/**
 * The rules for an event. A closed or draft PR makes stale every active run that started before it, the head's
 * too, so the revision rule is dropped; the time and phase rules hold for every event.
 */
export function rulesFor(event: TriggerEvent | undefined, rules: OrderingRules): OrderingRules {
  return (event ?? 'push') === 'push' ? rules : { clockSkewMs: rules.clockSkewMs, phase: rules.phase };
}

/**
 * The listed runs that belong to `repository`. A run whose repository cannot be read is never cancelled: it is
 * kept, with the reason. Runs of other repositories are not this task's and are left out.
 */
export function ownRuns(
  runs: readonly KubeObject[],
  scope: RepositoryScope,
  allowed: readonly string[],
  repository: string,
): { readonly mine: KubeObject[]; readonly unreadable: Array<{ readonly name: string; readonly why: string }> } {
  const mine: KubeObject[] = [];
  const unreadable: Array<{ name: string; why: string }> = [];
  for (const run of runs) {
    const of = runRepository(run, scope, allowed);
    if ('unreadable' in of) unreadable.push({ name: run.metadata.name, why: `repository-unreadable: ${of.unreadable}` });
    else if (of.repository === repository.toLowerCase()) mine.push(run);
  }
  return { mine, unreadable };
}

export interface RunSplit {
  readonly stale: KubeObject[];
  /** Every run left alone, with the reason, for the log and the state. */
  readonly kept: Array<{ readonly name: string; readonly why: string }>;
}

export function splitRuns(runs: readonly KubeObject[], push: PushMark, rules: OrderingRules): RunSplit {
  const split: RunSplit = { stale: [], kept: [] };
  for (const run of runs) {
    const v = judgeRun(run, push, rules);
    if (v.stale) split.stale.push(run);
    else split.kept.push({ name: run.metadata.name, why: v.why });
  }
  return split;
}

/** The runs a recorded push (or PR event) made stale: its head, its time, and the rules for its event. */
export function splitForRecord(
  runs: readonly KubeObject[],
  record: { readonly sha: string; readonly pushedAt: string; readonly event?: TriggerEvent },
  rules: OrderingRules,
): RunSplit {
  return splitRuns(runs, { headSha: record.sha, pushedAtMs: Date.parse(record.pushedAt) }, rulesFor(record.event, rules));
}

/**
 * True when the ready label was last added at or after the push: the platform already started the next QA
 * cycle for this head, so the push's label flip would undo it. Both times are GitHub's, in whole seconds, so a
 * label added in the push's own second counts as after it.
 */
export function qaRestartedAfterPush(readyLabeledAt: string | null, pushedAtMs: number): boolean {
  return readyLabeledAt !== null && Date.parse(readyLabeledAt) >= pushedAtMs;
}
