import { LABEL_KEY } from '../contract/labels';
import { formatLocation, ObjectLocation, parseLocation } from '../contract/location';

const FIELD_PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_-]*)+$/;

/** Where the platform records a fact on each CodeRun: the commit it reviews, or the repository it belongs to. */
export class CodeRunLocation {
  /** A label on the CodeRun, such as `agents.platform/revision` or `service`. */
  public static label(key: string): CodeRunLocation {
    return new CodeRunLocation('label', key, LABEL_KEY, 'a label key');
  }

  /** An annotation on the CodeRun. */
  public static annotation(key: string): CodeRunLocation {
    return new CodeRunLocation('annotation', key, LABEL_KEY, 'an annotation key');
  }

  /** A string field of the CodeRun, as a dotted path such as `spec.repositoryUrl`. */
  public static field(path: string): CodeRunLocation {
    return new CodeRunLocation('field', path, FIELD_PATH, 'a dotted field path such as spec.commitSha');
  }

  /** From its text form, `label:<key>`, `annotation:<key>` or `field:<path>`; undefined for "". `field` names the input. */
  public static parse(field: string, text: string): CodeRunLocation | undefined {
    let r: ObjectLocation | undefined;
    try {
      r = parseLocation(text);
    } catch (e) {
      throw new Error(`${field}: ${(e as Error).message}`, { cause: e });
    }
    try {
      return r && CodeRunLocation[r.kind](r.key);
    } catch (e) {
      throw new Error(`${field}.${(e as Error).message}`, { cause: e });
    }
  }

  private constructor(
    public readonly kind: ObjectLocation['kind'],
    public readonly key: string,
    valid: RegExp,
    expected: string,
  ) {
    if (!valid.test(key)) throw new Error(`${kind}: ${JSON.stringify(key)} is not ${expected}`);
  }

  /** The form the Job reads from its environment. */
  public toString(): string {
    return formatLocation(this);
  }
}
