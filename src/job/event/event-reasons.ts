/** The reasons of the Kubernetes Events the Job and the reconciler write: what operators filter on. */
export const REASON = {
  done: 'RemediationDone',
  observed: 'RemediationObserved',
  skipped: 'RemediationSkipped',
  failed: 'RemediationFailed',
  resumed: 'RemediationResumed',
  restored: 'InvariantRestored',
  compensated: 'RemediationCompensated',
  needsAttention: 'RemediationNeedsAttention',
  recovered: 'RemediationRecovered',
} as const;

export type Reason = (typeof REASON)[keyof typeof REASON];
