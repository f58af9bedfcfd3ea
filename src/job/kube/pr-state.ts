/** The record of what a run did for one PR, and the rules over it; kept on the PR's Lease (lease.ts). */
import { TriggerEvent } from '../../contract/env';

/** What a run did for one PR, kept on its Lease so a rerun resumes instead of repeating. */
export interface PrState {
  /**
   * running/failed: steps pending; done: QA cancelled and labels flipped; compensated: labels restored;
   * observed: decided in observe mode, `steps` saying what enforce mode would do, nothing changed;
   * skipped: left alone, `skipped` saying why.
   */
  phase: 'running' | 'done' | 'failed' | 'compensated' | 'observed' | 'skipped';
  /** What made the runs stale: a push, or the PR closed or converted to draft (absent: a push). */
  event?: TriggerEvent;
  skipped?: 'opted-out';
  repository: string;
  pr: number;
  taskId: string;
  sha: string;
  /** The branch head before the push. */
  before: string;
  /** When GitHub took the push, or the PR event happened (ISO): only QA that started before it is stale. */
  pushedAt: string;
  /** What reported the push: its webhook, or the reconciler's resync of a lost one. */
  source: 'webhook' | 'resync';
  delivery: string;
  /** When this run read the branch head: a later reader of a different head means ours is older. */
  resolvedAt: string;
  startedAt: string;
  updatedAt: string;
  attempts: number;
  steps: {
    /** `kept`: the task's QA runs left alone, each with the ordering rule that kept it. */
    cancel?: { at: string; deleted: string[]; kept: Array<{ name: string; why: string }> };
    relabel?: {
      at: string;
      /**
       * partial: a transition GitHub applied only in part (or may have); the step is still to finish.
       * qa-restarted-after-push: ready-for-qa was added after the push, so no label was changed.
       * not-applicable: a PR event, which changes no label; `removed`/`added` are the previous push's, kept for compensation.
       */
      result: 'transitioned' | 'already' | 'partial' | 'qa-restarted-after-push' | 'not-applicable';
      /** What the transition changed (or may have, its answer lost), so compensation can undo exactly that. */
      removed?: string;
      added?: string;
    };
  };
  /** Delivery ids already handled for this PR, newest last (bounded). */
  deliveries: string[];
  lastError?: string;
  /** The reconciler's failed repairs since its last success. */
  repair?: { failures: number; lastAt: string; lastError: string };
  /** Set when automatic recovery gave up; cleared when a later repair succeeds. */
  attention?: { since: string; reason: string; webhook: 'sent' | 'failed' | 'none' };
  compensation?: { at: string; reason: string; restored: string[] };
}

const MAX_DELIVERIES = 20;

/** The relabel step is finished: labels as intended, not just partly changed. */
export const relabelled = (state: PrState) => !!state.steps.relabel && state.steps.relabel.result !== 'partial';

/** Only a push flips labels; a PR closed or converted to draft cancels its task's QA and nothing else. */
export const relabels = (state: Pick<PrState, 'event'>) => (state.event ?? 'push') === 'push';

/** Records the state's delivery as handled, newest last, so a redelivery of it is a no-op. */
export function recordDelivery(state: PrState): void {
  state.deliveries = [...state.deliveries.filter((d) => d !== state.delivery), state.delivery].slice(-MAX_DELIVERIES);
}
