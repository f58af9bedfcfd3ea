/**
 * Which repository a CodeRun belongs to. Task ids are per repository, so a task's QA runs are the runs with its
 * task id AND its repository: one organization's projects all number their tasks from 1. The constructs check a
 * scope with `scopeIssues`; the Job selects and filters runs with the rest.
 */
import { escapeRegExp } from './filters';
import { ObjectLocation, readLocation } from './location';

export interface RepositoryScope {
  /** Where each CodeRun names its repository; undefined when the installation serves a single repository. */
  readonly from?: ObjectLocation;
  /**
   * How the value there spells the repository: `{owner}` and `{name}` stand for its parts, e.g. `{name}`; or
   * GITHUB_SPELLING, any way GitHub and git write it.
   */
  readonly format: string;
  /** The GitHub host of the repositories' URLs, for GITHUB_SPELLING (`github.com`, or an Enterprise host). */
  readonly host: string;
}

/**
 * The format that reads every spelling of a repository on `host`: `owner/name`, `https://host/owner/name` with or
 * without `.git` or a trailing `/`, `git@host:owner/name.git`, `ssh://git@host/owner/name.git`, in any case. The
 * platform writes `spec.repositoryUrl` both as `owner/name` and as a URL, so a template would miss one of them.
 */
export const GITHUB_SPELLING = 'github';

/** A host name (`github.com`, `ghe.example.com`), lower case. */
export const HOST = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$/;

/**
 * The web host of a GitHub GraphQL endpoint: `api.github.com` and GHE.com's `api.<sub>.ghe.com` serve their host
 * without `api.`; GitHub Enterprise Server serves `https://<host>/api/graphql`.
 */
export function webHost(graphqlUrl: string): string {
  const host = new URL(graphqlUrl).hostname.toLowerCase();
  return host.startsWith('api.') ? host.slice(4) : host;
}

const OWNER = '[A-Za-z0-9][A-Za-z0-9-]{0,38}';
const NAME = '[A-Za-z0-9._-]{1,100}';
/** A label value: at most 63 characters of alphanumerics, `-`, `_` and `.`, starting and ending alphanumeric. */
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** `owner/*` allows every repository of the owner; otherwise entries are `owner/name`. Case-insensitive. */
export function allows(allowed: readonly string[], repository: string): boolean {
  const r = repository.toLowerCase();
  return allowed.some((a) => a.toLowerCase() === r || (a.endsWith('/*') && r.startsWith(a.slice(0, -1).toLowerCase())));
}

/** The owners of the allowlist, lower-cased. */
const owners = (allowed: readonly string[]) => [...new Set(allowed.map((a) => a.split('/')[0].toLowerCase()))];

/**
 * Why a scope cannot keep the allowlist's repositories apart, or cannot be read: several repositories (or a
 * whole owner) need a location; the format needs `{name}`, and `{owner}` when several owners are allowed; a
 * label location needs a format whose values are label values.
 */
export function scopeIssues(allowed: readonly string[], scope: RepositoryScope, field: string): string[] {
  const issues: string[] = [];
  const several = allowed.length > 1 || allowed.some((a) => a.endsWith('/*'));
  if (!scope.from) {
    if (several) {
      issues.push(
        `${field}.from: unset while ${JSON.stringify(allowed)} allows several repositories ` +
          '(task ids are per repository: without a scope a push would cancel the same task of every repository)',
      );
    }
    return issues;
  }
  if (scope.format === GITHUB_SPELLING) {
    if (scope.from.kind === 'label') {
      issues.push(`${field}.format: ${JSON.stringify(scope.format)} cannot be read from a label (a label value holds no "/")`);
    }
    if (!HOST.test(scope.host)) issues.push(`${field}.host: ${JSON.stringify(scope.host)} is not a host name`);
    return issues;
  }
  if (!scope.format.includes('{name}')) {
    issues.push(`${field}.format: ${JSON.stringify(scope.format)} must contain {name}, or be ${JSON.stringify(GITHUB_SPELLING)}`);
  }
  if (!scope.format.includes('{owner}') && owners(allowed).length > 1) {
    issues.push(`${field}.format: ${JSON.stringify(scope.format)} has no {owner} while several owners are allowed`);
  }
  if (scope.from.kind === 'label' && !LABEL_VALUE.test(scope.format.replace(/\{owner\}|\{name\}/g, 'x'))) {
    issues.push(`${field}.format: ${JSON.stringify(scope.format)} cannot give a label value (at most 63 of A-Z a-z 0-9 - _ .)`);
  }
  return issues;
}

/** The value a run of `repository` carries at the scope's location. */
export function scopeValue(scope: RepositoryScope, repository: string): string {
  const [owner, name] = repository.split('/');
  return scope.format.replace(/\{owner\}/g, owner).replace(/\{name\}/g, name);
}

/** The label selector term for `repository`, when the scope is a label (the apiserver then filters). */
export function scopeSelector(scope: RepositoryScope, repository: string): string | undefined {
  return scope.from?.kind === 'label' ? `${scope.from.key}=${scopeValue(scope, repository)}` : undefined;
}

const patterns = new Map<string, RegExp>();

/**
 * The format as a regular expression with `owner` and `name` groups, compiled once per format and host. The name
 * of GITHUB_SPELLING is lazy so that a `.git` suffix is not read as part of it.
 */
function formatPattern(scope: RepositoryScope): RegExp {
  const key = `${scope.format}\n${scope.host}`;
  let re = patterns.get(key);
  if (!re) {
    const parts = `(?<owner>${OWNER})/(?<name>${NAME}?)`;
    const host = escapeRegExp(scope.host);
    const pattern =
      scope.format === GITHUB_SPELLING
        ? `(?:(?:https?://(?:[^@/\\s]+@)?${host}(?::[0-9]+)?/|ssh://git@${host}(?::[0-9]+)?/|git@${host}:))?${parts}(?:\\.git)?/?`
        : escapeRegExp(scope.format).replace('\\{owner\\}', `(?<owner>${OWNER})`).replace('\\{name\\}', `(?<name>${NAME})`);
    re = new RegExp(`^${pattern}$`, 'i');
    patterns.set(key, re);
  }
  return re;
}

export type RunRepository = { readonly repository: string } | { readonly unreadable: string };

/**
 * The lower-cased `owner/name` a run belongs to, or why it cannot be read. A format without `{owner}` takes the
 * allowlist's single owner. Unscoped, every run belongs to the single allowed repository.
 */
export function runRepository(run: Parameters<typeof readLocation>[0], scope: RepositoryScope, allowed: readonly string[]): RunRepository {
  if (!scope.from) return { repository: allowed[0].toLowerCase() };
  const value = readLocation(run, scope.from);
  if (value === undefined) return { unreadable: `no ${scope.from.kind} ${scope.from.key}` };
  const m = formatPattern(scope).exec(value);
  if (!m?.groups) {
    const spelling = scope.format === GITHUB_SPELLING ? `a repository of ${scope.host}` : scope.format;
    return { unreadable: `${scope.from.kind} ${scope.from.key}=${JSON.stringify(value)} does not match ${spelling}` };
  }
  const repository = `${m.groups.owner ?? owners(allowed)[0]}/${m.groups.name}`.toLowerCase();
  return allows(allowed, repository) ? { repository } : { unreadable: `${repository} is not an allowed repository` };
}
