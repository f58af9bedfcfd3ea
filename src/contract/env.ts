/**
 * The environment contract between the constructs, which write the Job's and the reconciler's env, and the
 * runtime, which reads it. Each variable is declared once here with its name, its format and its unit: the
 * constructs encode through `encodeEnv` and the runtime decodes through `decodeEnv`, so neither side spells a
 * name or a format of its own.
 */
import { canonicalTaskId } from './filters';
import { LABEL_KEY } from './labels';
import { BOOL, EnvError, EnvField, fail, field, integer, list, LOCATION, oneOf, text } from './env-codecs';
import { GITHUB_SPELLING, HOST } from './repository-scope';

/**
 * How the Job and the reconciler act. `observe` (shadow mode) runs every decision against the real cluster and
 * GitHub and records it, changing no CodeRun and no label.
 */
export enum RemediationMode {
  ENFORCE = 'enforce',
  OBSERVE = 'observe',
}

/** How bot logins compare: GitHub treats logins case-insensitively; `EXACT` also rejects case variants. */
export enum BotLoginCase {
  INSENSITIVE = 'insensitive',
  EXACT = 'exact',
}

/** Where the Job's script comes from. */
export enum JobMode {
  /** The bundle in a ConfigMap, run on `nodeImage`. */
  CONFIGMAP = 'configmap',
  /** The project image, which contains the bundle. */
  IMAGE = 'image',
}

/** pull_request actions that end QA for a task: its PR no longer awaits review. Labels are not changed for them. */
export const PR_ACTIONS = ['closed', 'converted_to_draft'] as const;

/** What reported the runs stale: a push, or one of PR_ACTIONS. */
export type TriggerEvent = 'push' | (typeof PR_ACTIONS)[number];

/** Exit codes of the runtime. Kubernetes counts only 0 as success, so the Job sets its skip exit code to 0. */
export const EXIT = {
  done: 0,
  nothingToDo: 3,
  badInput: 64,
  retryable: 75,
  needsAttention: 78,
} as const;

/** The shortest timeout of one GitHub request: the constructs, the schema and the runtime hold to it. */
export const MIN_REQUEST_TIMEOUT_MS = 100;

export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const HTTP_URL = /^https?:\/\/\S+$/;
/** A commit SHA: SHA-1, or SHA-256 for repositories that use it; one source for the Sensor's (Go RE2) filter and the Job. */
export const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
/** A CodeRun phase as controllers write it: `Running`, `Succeeded`, … */
export const PHASE = /^[A-Za-z][A-Za-z0-9_-]*$/;
/** GitHub's `owner/name`. */
export const REPOSITORY = /^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}$/;
/** An allowlist entry: a repository, or `owner/*` for every repository of an owner (the schema's pattern too). */
export const REPOSITORY_OR_OWNER = /^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/([A-Za-z0-9._-]{1,100}|\*)$/;

/** A mounted file, such as a private key's. */
const FILE_PATH = text('an absolute file path', /^\/\S*$/);

/** Set per event by the Sensor's trigger parameters; the Job's template leaves them empty. */
export const EVENT_FIELDS = {
  repository: field('AC_REPOSITORY', text('owner/name', REPOSITORY)),
  branch: field('AC_BRANCH', text('a branch name', /^[^\s~^:?*[\\]+$/)),
  headSha: field('AC_HEAD_SHA', text('a commit SHA', SHA)),
  deliveryId: field('AC_DELIVERY_ID', text('a delivery id', /^[A-Za-z0-9._-]{1,100}$/)),
  /** Leading zeros are dropped: `feature/task-007-…` is task 7, as the platform labels its runs. */
  taskId: field('AC_TASK_ID', {
    format: 'a number',
    encode: (v: string) => v,
    decode: (t) => (/^[0-9]{1,18}$/.test(t) ? canonicalTaskId(t) : fail('a number', t)),
  }),
  /** `repository.pushed_at`: when GitHub took the push, in epoch seconds (ten digits: 2001 to 5138). */
  pushedAtMs: field('AC_PUSHED_AT', {
    format: 'epoch seconds',
    encode: (ms: number) => String(Math.floor(ms / 1000)),
    decode: (t) => (/^[1-9][0-9]{9}$/.test(t) ? Number(t) * 1000 : fail('epoch seconds', t)),
  }),
  /** The branch head before the push (all zeros for a new branch). */
  beforeSha: field('AC_BEFORE_SHA', text('a commit SHA', SHA)),
  /** What happened: `push`, or a pull_request action in PR_ACTIONS. */
  event: field('AC_EVENT', oneOf<TriggerEvent>(['push', ...PR_ACTIONS])),
  /** The PR of a pull_request event; empty for a push, whose PR the Job looks up by branch. */
  prNumber: field('AC_PR_NUMBER', {
    format: 'a PR number or empty',
    encode: (v: number | undefined) => (v === undefined ? '' : String(v)),
    decode: (t) => (t === '' ? undefined : /^[1-9][0-9]{0,9}$/.test(t) ? Number(t) : fail('a PR number', t)),
  }),
} as const;

/** Fixed per installation, from the synthesized configuration; shared by the Job and the reconciler. */
export const INSTALLATION_FIELDS = {
  namespace: field('AC_NAMESPACE', text('a namespace name', DNS_LABEL)),
  /** The pod's name (fieldRef): the Lease holder. */
  runId: field('AC_RUN_ID', text('a run id')),
  codeRunGroup: field('AC_CODERUN_GROUP', text('an API group')),
  codeRunVersion: field('AC_CODERUN_VERSION', text('an API version')),
  codeRunPlural: field('AC_CODERUN_PLURAL', text('a resource plural', DNS_LABEL)),
  /** Selects QA CodeRuns of every task; the task-id term (and the repository's, when scoped by label) is added. */
  qaSelector: field('AC_QA_SELECTOR', text('a label selector')),
  taskIdLabel: field('AC_TASK_ID_LABEL', text('a label key', LABEL_KEY)),
  /** Lower-cased `owner/name`s, or `owner/*` for a whole owner. */
  allowedRepositories: field('AC_ALLOWED_REPOSITORIES', list(text('owner/name or owner/*', REPOSITORY_OR_OWNER), true)),
  /** Where a CodeRun names its repository; empty: the installation serves one repository. */
  repositoryFrom: field('AC_REPOSITORY_FROM', LOCATION),
  /** How that value spells `owner/name`: with `{owner}` and `{name}`, or any GitHub spelling (GITHUB_SPELLING). */
  repositoryFormat: field(
    'AC_REPOSITORY_FORMAT',
    text(`a format with {name}, or ${GITHUB_SPELLING}`, new RegExp(`\\{name\\}|^${GITHUB_SPELLING}$`), true),
  ),
  /** The GitHub host whose URLs GITHUB_SPELLING reads. */
  repositoryHost: field('AC_REPOSITORY_HOST', text('a host name', HOST)),
  /** Where a CodeRun records its phase; empty: every run is active. */
  phaseFrom: field('AC_PHASE_FROM', LOCATION),
  /** Phases of a finished run: history, never cancelled. */
  finishedPhases: field('AC_FINISHED_PHASES', list(text('a phase', PHASE))),
  labelReady: field('AC_LABEL_READY', text('a label name')),
  labelRemediation: field('AC_LABEL_REMEDIATION', text('a label name')),
  labelRemediationColor: field('AC_LABEL_REMEDIATION_COLOR', text('a 6-digit hex colour', /^[0-9a-fA-F]{6}$/)),
  labelRemediationDescription: field('AC_LABEL_REMEDIATION_DESCRIPTION', text('a label description', /\S/, true)),
  githubGraphqlUrl: field('AC_GITHUB_GRAPHQL_URL', text('an http(s) URL', HTTP_URL)),
  /** From a Secret; never logged. Unset when the installation acts as a GitHub App (APP_FIELDS). */
  githubToken: field('GITHUB_TOKEN', text('a token')),
  deadlineSeconds: field('AC_DEADLINE_SECONDS', integer(1, 'seconds')),
  githubRequestTimeoutMs: field('AC_GITHUB_REQUEST_TIMEOUT_MS', integer(MIN_REQUEST_TIMEOUT_MS, 'milliseconds')),
  leaseDurationSeconds: field('AC_LEASE_DURATION_SECONDS', integer(1, 'seconds')),
  lockWaitSeconds: field('AC_LOCK_WAIT_SECONDS', integer(0, 'seconds')),
  skipExitCode: field('AC_SKIP_EXIT_CODE', integer(0, 'an exit code')),
  clockSkewSeconds: field('AC_CLOCK_SKEW_SECONDS', integer(0, 'seconds')),
  revisionFrom: field('AC_REVISION_FROM', LOCATION),
  mode: field('AC_MODE', oneOf(Object.values(RemediationMode))),
  /** A PR carrying this label is left alone; empty: no opt-out label. */
  optOutLabel: field('AC_OPT_OUT_LABEL', text('a label name', /\S/, true)),
} as const;

/** What each exit code means: `--help` and docs/operations.md are written from it. */
export const EXIT_MEANING: { readonly [K in keyof typeof EXIT]: string } = {
  done: 'done',
  nothingToDo: `nothing to do: no PR, superseded, or a duplicate (${INSTALLATION_FIELDS.skipExitCode.name} overrides; the Job sets 0)`,
  badInput: 'bad input: never retried, nothing changed',
  retryable: 'retryable failure (reconcile: some repair failed)',
  needsAttention: 'needs attention: GitHub or Kubernetes refused in a way a retry will not fix',
};

/** Where the App's private key file is mounted (a Secret volume, mode 0400); never an env variable. */
export const GITHUB_APP_KEY_PATH = '/var/run/secrets/agent-cancellation/github-app/private-key.pem';

/**
 * Set only when the Job and the reconciler act as a GitHub App, instead of GITHUB_TOKEN: the App, its
 * installation (empty: looked up from the repository) and the private key's file.
 */
export const APP_FIELDS = {
  appId: field('AC_GITHUB_APP_ID', integer(1, 'a GitHub App id')),
  installationId: field('AC_GITHUB_APP_INSTALLATION_ID', {
    format: 'an installation id or empty',
    encode: (v: number | undefined) => (v === undefined ? '' : String(v)),
    decode: (t) => (t === '' ? undefined : /^[1-9][0-9]{0,17}$/.test(t) ? Number(t) : fail('an installation id', t)),
  }),
  privateKeyPath: field('AC_GITHUB_APP_PRIVATE_KEY_PATH', FILE_PATH),
} as const;

/** The reconciler's own settings, on top of INSTALLATION_FIELDS. */
export const RECONCILE_FIELDS = {
  pendingSeconds: field('AC_RECONCILE_PENDING_SECONDS', integer(0, 'seconds')),
  maxFailures: field('AC_RECONCILE_MAX_FAILURES', integer(1, 'failed repairs')),
  attentionSeconds: field('AC_RECONCILE_ATTENTION_SECONDS', integer(1, 'seconds')),
  retentionSeconds: field('AC_RETENTION_SECONDS', integer(0, 'seconds')),
  compensateForeignCommits: field('AC_COMPENSATE_FOREIGN_COMMITS', BOOL),
  bots: field('AC_BOTS', list(text('a login'))),
  botLoginCase: field('AC_BOT_LOGIN_CASE', oneOf(Object.values(BotLoginCase))),
  botCommitAuthors: field('AC_BOT_COMMIT_AUTHORS', list(text('a git name or email'))),
  branchPattern: field('AC_BRANCH_PATTERN', text('a branch pattern')),
} as const;

/** Optional: from a Secret that may not exist; unset, alerts are Events only. Its value is never shown. */
export const ALERT_WEBHOOK_URL = field('AC_ALERT_WEBHOOK_URL', text('an http(s) URL', HTTP_URL));

/** AC_REDELIVERY_HOOK: group 1 and 2 an organization and its hook id, or group 3 an App id. */
export const REDELIVERY_HOOK = /^(?:org:([A-Za-z0-9-]+)\/([0-9]+)|app:([0-9]+))$/;

/** Where the redelivery App's private key file is mounted when it is not `github.app`'s (a Secret volume, mode 0400). */
export const REDELIVERY_KEY_PATH = '/var/run/secrets/agent-cancellation/redelivery/private-key.pem';

/** Set only when a webhook's failed deliveries are to be redelivered: all, or none; then the hook's credential. */
export const REDELIVERY_FIELDS = {
  /** `org:<org>/<hook id>` or `app:<app id>`: the webhook whose failed deliveries are redelivered. */
  hook: field('AC_REDELIVERY_HOOK', text('org:<org>/<hook id> or app:<app id>', REDELIVERY_HOOK)),
  /** GitHub's REST API. */
  restUrl: field('AC_GITHUB_REST_URL', text('an http(s) URL', HTTP_URL)),
  /** The Lease holding the deliveries seen, `<name prefix>-redelivery`: one per installation. */
  cursorLease: field('AC_REDELIVERY_CURSOR_LEASE', text('a Lease name', DNS_LABEL)),
} as const;

/** An organization hook's credential, from a Secret: a token that may read the hook. Never shown. */
export const REDELIVERY_TOKEN = field('AC_REDELIVERY_TOKEN', text('a token'));
/** An App hook's credential: the App's private key file (`github.app`'s own, or REDELIVERY_KEY_PATH); never an env variable. */
export const REDELIVERY_KEY_FILE = field('AC_REDELIVERY_PRIVATE_KEY_PATH', FILE_PATH);

type Fields = Record<string, EnvField<any>>;
/** The values a set of fields carries, by key. */
export type EnvValues<F extends Fields> = { -readonly [K in keyof F]: F[K] extends EnvField<infer T> ? T : never };

/** The variable names of a set of fields, by key. */
export function envNames<F extends Fields>(fields: F): { readonly [K in keyof F]: string } {
  return Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.name])) as { [K in keyof F]: string };
}

export const EVENT_ENV = envNames(EVENT_FIELDS);
export const STATIC_ENV = envNames(INSTALLATION_FIELDS);
export const APP_ENV = envNames(APP_FIELDS);
export const RECONCILE_ENV = {
  ...envNames(RECONCILE_FIELDS),
  alertWebhookUrl: ALERT_WEBHOOK_URL.name,
  redeliveryHook: REDELIVERY_FIELDS.hook.name,
  redeliveryToken: REDELIVERY_TOKEN.name,
  redeliveryKeyPath: REDELIVERY_KEY_FILE.name,
  githubRestUrl: REDELIVERY_FIELDS.restUrl.name,
  redeliveryCursorLease: REDELIVERY_FIELDS.cursorLease.name,
};

/** `values` as `{ name, value }` pairs, in the fields' order; keys in `except` are left to the caller (fieldRef, Secret). */
export function encodeEnv<F extends Fields, E extends keyof F = never>(
  fields: F,
  values: Omit<EnvValues<F>, E>,
  except: readonly E[] = [],
): Array<{ name: string; value: string }> {
  return Object.entries(fields)
    .filter(([key]) => !except.includes(key as E))
    .map(([key, f]) => ({ name: f.name, value: f.encode((values as Record<string, unknown>)[key]) }));
}

/** Reads every field from `env`, trimmed; throws EnvError naming the first variable that is missing or malformed. */
export function decodeEnv<F extends Fields>(fields: F, env: Record<string, string | undefined>): EnvValues<F> {
  const out: Record<string, unknown> = {};
  for (const [key, f] of Object.entries(fields)) {
    const raw = env[f.name];
    if (raw === undefined) throw new EnvError(`${f.name} is missing`);
    try {
      out[key] = f.decode(raw.trim());
    } catch (e) {
      throw new EnvError(raw.trim() === '' ? `${f.name} is missing or empty` : `${f.name}=${(e as Error).message}`);
    }
  }
  return out as EnvValues<F>;
}
