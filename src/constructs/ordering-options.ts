import { Duration } from 'cdk8s';
import { CodeRunLocation } from './code-run-location';

/** How a push decides which QA runs it made stale (README: "Ordering"). */
export interface OrderingOptions {
  /**
   * How far GitHub's clock may run ahead of the cluster's. A QA run created less than this before the push time
   * is kept, since it may have started after the push: the margin errs toward keeping runs, because a missed
   * cancellation is repaired by the reconciler's resync and a killed fresh run is not.
   * @default Duration.seconds(DEFAULTS.ordering.clockSkewSeconds)
   */
  readonly clockSkew?: Duration;
  /**
   * Where CodeRuns record the commit they review. When set, a run recording a revision is stale exactly when
   * that revision is not the pushed head, whatever its age; runs that record none are judged by time.
   * @default - off: every run is judged by its creation time
   */
  readonly revision?: CodeRunLocation;
}
