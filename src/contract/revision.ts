/** Where CodeRuns record the commit they review: written by the constructs, read by the Job. */

/** Where a CodeRun records the commit it reviews. */
export interface RevisionSource {
  readonly kind: 'label' | 'annotation' | 'field';
  /** A label or annotation key, or a dotted path into the object (`spec.commitSha`). */
  readonly key: string;
}

/** `label:<key>`, `annotation:<key>` or `field:<path>`; empty means off. Throws for anything else. */
export function parseRevisionSource(text: string): RevisionSource | undefined {
  if (text === '') return undefined;
  const m = /^(label|annotation|field):(\S+)$/.exec(text);
  if (!m) throw new Error(`${JSON.stringify(text)} is not label:<key>, annotation:<key> or field:<path>`);
  return { kind: m[1] as RevisionSource['kind'], key: m[2] };
}

export function formatRevisionSource(r: RevisionSource | undefined): string {
  return r ? `${r.kind}:${r.key}` : '';
}
