/**
 * Where a CodeRun records a fact about itself (the commit it reviews, the repository it belongs to): written by
 * the constructs as text, read by the Job from each run.
 */

export interface ObjectLocation {
  readonly kind: 'label' | 'annotation' | 'field';
  /** A label or annotation key, or a dotted path into the object (`spec.commitSha`). */
  readonly key: string;
}

/** `label:<key>`, `annotation:<key>` or `field:<path>`; empty means none. Throws for anything else. */
export function parseLocation(text: string): ObjectLocation | undefined {
  if (text === '') return undefined;
  const m = /^(label|annotation|field):(\S+)$/.exec(text);
  if (!m) throw new Error(`${JSON.stringify(text)} is not label:<key>, annotation:<key> or field:<path>`);
  return { kind: m[1] as ObjectLocation['kind'], key: m[2] };
}

export function formatLocation(r: ObjectLocation | undefined): string {
  return r ? `${r.kind}:${r.key}` : '';
}

/** The non-empty string an object holds at `location`, or undefined. */
export function readLocation(
  object: { readonly metadata: { readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> } },
  location: ObjectLocation,
): string | undefined {
  let v: unknown;
  if (location.kind === 'label') v = object.metadata.labels?.[location.key];
  else if (location.kind === 'annotation') v = object.metadata.annotations?.[location.key];
  else v = location.key.split('.').reduce<any>((o, k) => (o === null || typeof o !== 'object' ? undefined : o[k]), object);
  return typeof v === 'string' && v !== '' ? v : undefined;
}
