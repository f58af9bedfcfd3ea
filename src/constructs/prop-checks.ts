import { Duration } from 'cdk8s';

/** Throws for a prop that is set but not an integer of at least `min`, naming the field and the value. */
export function checkInteger(field: string, value: number | undefined, min: number): void {
  if (value !== undefined && (!Number.isInteger(value) || value < min)) {
    throw new Error(`${field}: ${JSON.stringify(value)} must be an integer of at least ${min}`);
  }
}

/** `duration` in seconds, as the manifests and the Job's env carry it; throws naming the prop if not whole or below `min` seconds. */
export function wholeSeconds(field: string, duration: Duration, min: number): number {
  const seconds = duration.toSeconds({ integral: false });
  if (!Number.isInteger(seconds) || seconds < min) {
    throw new Error(`${field}: ${duration.toHumanString()} must be a whole number of seconds, at least ${min}`);
  }
  return seconds;
}

/** `duration` in milliseconds; throws naming the prop if not whole or below `min` milliseconds. */
export function wholeMillis(field: string, duration: Duration, min: number): number {
  const millis = duration.toMilliseconds({ integral: false });
  if (!Number.isInteger(millis) || millis < min) {
    throw new Error(`${field}: ${duration.toHumanString()} must be a whole number of milliseconds, at least ${min}`);
  }
  return millis;
}

/** `value`, or `fallback` when unset; throws naming the prop if it is not one of the string enum's values. */
export function enumValue<T extends string>(field: string, values: Record<string, T>, value: T | undefined, fallback: string): T {
  const chosen = (value ?? fallback) as T;
  if (!Object.values(values).includes(chosen)) {
    throw new Error(`${field}: ${JSON.stringify(chosen)} must be one of ${Object.values(values).join(', ')}`);
  }
  return chosen;
}
