import { Duration } from 'cdk8s';
import { LABEL_KEY } from '../contract/labels';
import { formatRevisionSource, parseRevisionSource, RevisionSource } from '../contract/revision';
const FIELD_PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_-]*)+$/;

/** Where the platform records which commit a QA CodeRun reviews. */
export class RevisionLocation {
  /** A label on the CodeRun, such as `agents.platform/revision`. */
  public static label(key: string): RevisionLocation {
    return new RevisionLocation('label', key, LABEL_KEY, 'a label key');
  }

  /** An annotation on the CodeRun. */
  public static annotation(key: string): RevisionLocation {
    return new RevisionLocation('annotation', key, LABEL_KEY, 'an annotation key');
  }

  /** A string field of the CodeRun, as a dotted path such as `spec.commitSha`. */
  public static field(path: string): RevisionLocation {
    return new RevisionLocation('field', path, FIELD_PATH, 'a dotted field path such as spec.commitSha');
  }

  /** From its text form, `label:<key>`, `annotation:<key>` or `field:<path>`; undefined for "". */
  public static parse(text: string): RevisionLocation | undefined {
    let r: RevisionSource | undefined;
    try {
      r = parseRevisionSource(text);
    } catch (e) {
      throw new Error(`ordering.revision: ${(e as Error).message}`, { cause: e });
    }
    return r && RevisionLocation[r.kind](r.key);
  }

  private constructor(
    public readonly kind: RevisionSource['kind'],
    public readonly key: string,
    valid: RegExp,
    expected: string,
  ) {
    if (!valid.test(key)) throw new Error(`ordering.revision.${kind}: ${JSON.stringify(key)} is not ${expected}`);
  }

  /** The form the Job reads from its environment. */
  public toString(): string {
    return formatRevisionSource(this);
  }
}

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
  readonly revision?: RevisionLocation;
}
