/**
 * Regular expressions for Argo Events data filters. Argo compiles each string value with Go's regexp and
 * matches it unanchored, so every value here is escaped and anchored: a bare `5DLabs-Rex[bot]` would be a
 * character class, and `5DLabs-Rex` would match `evil-5DLabs-Rex`.
 */

/** Escapes the characters that are special in Go (RE2) and JavaScript regular expressions. */
export function escapeRegExp(literal: string): string {
  return literal.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}

/** Matches exactly one of `values`, whole; `(?i)` makes the match case-insensitive in Go. */
export function exactAlternation(values: readonly string[], caseInsensitive: boolean): string {
  if (values.length === 0) throw new Error('exactAlternation: values must not be empty');
  return `${caseInsensitive ? '(?i)' : ''}^(?:${values.map(escapeRegExp).join('|')})$`;
}

/**
 * Matches one of an allowlist of repositories, case-insensitively as GitHub compares them: `owner/name` whole,
 * or `owner/*` as any repository name of that owner.
 */
export function repositoryAlternation(allowed: readonly string[]): string {
  if (allowed.length === 0) throw new Error('repositoryAlternation: allowed must not be empty');
  const one = (a: string) => (a.endsWith('/*') ? `${escapeRegExp(a.slice(0, -1))}[A-Za-z0-9._-]+` : escapeRegExp(a));
  return `(?i)^(?:${allowed.map(one).join('|')})$`;
}

/**
 * `feature/task-{id}-implementation` -> a regex over the branch name, after `prefix` (`refs/heads/` for a push's
 * `body.ref`), whose group 1 is the numeric task id without leading zeros: the platform labels task 7's runs `7`,
 * so `task-007` must select them too (the Sensor's template, the Job's label and the reconciler all take group 1).
 */
export function branchRegex(branchPattern: string, prefix = ''): string {
  const parts = branchPattern.split('{id}');
  if (parts.length !== 2) {
    throw new Error(`branchPattern: ${JSON.stringify(branchPattern)} must contain {id} exactly once`);
  }
  return `^${prefix}${escapeRegExp(parts[0])}0*([0-9]+)${escapeRegExp(parts[1])}$`;
}

/** `feature/task-{id}-implementation` -> a regex over `body.ref` whose group 1 is the numeric task id. */
export function branchRefRegex(branchPattern: string): string {
  return branchRegex(branchPattern, 'refs/heads/');
}

/** A task id as the platform labels runs: its digits without leading zeros (`007` -> `7`, `000` -> `0`). */
export function canonicalTaskId(digits: string): string {
  return digits.replace(/^0+(?=[0-9])/, '');
}

/** A commit SHA of zeros: GitHub's `after` of a deleted branch, never a commit the Job could remediate. */
export const NULL_SHA = '^0+$';
