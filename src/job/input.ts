import { branchRefRegex, canonicalTaskId, NULL_SHA } from '../contract/filters';
import { EVENT_ENV, PR_ACTIONS, RECONCILE_ENV, REDELIVERY_HOOK, RemediationMode, STATIC_ENV, TriggerEvent } from '../contract/env';
import { LABEL_KEY } from '../contract/labels';
import { parseRevisionSource } from '../contract/revision';
import { OrderingRules } from './ordering';
import { HookIdentity } from './redeliver';

/** What the Job and the reconciler share: the installation's settings, fixed per synthesized manifest. */
export interface StaticInput {
  readonly namespace: string;
  readonly runId: string;
  readonly codeRun: { readonly group: string; readonly version: string; readonly plural: string };
  /** Selects QA CodeRuns of every task; `taskSelector` narrows it to one. */
  readonly qaSelector: string;
  readonly taskIdLabel: string;
  /** Lower-case `owner/name`s. */
  readonly repositories: string[];
  readonly labels: {
    readonly ready: string;
    readonly remediation: string;
    readonly color: string;
    readonly description: string;
  };
  readonly graphqlUrl: string;
  readonly token: string;
  readonly deadlineSeconds: number;
  readonly requestTimeoutMs: number;
  readonly leaseDurationSeconds: number;
  readonly lockWaitSeconds: number;
  readonly skipExitCode: number;
  /** Which QA runs a push made stale. */
  readonly ordering: OrderingRules;
  /** `observe`: decide and record, change nothing. */
  readonly mode: RemediationMode;
  /** A PR carrying this label is left alone; empty: none. */
  readonly optOutLabel: string;
}

/** Everything one push's run needs, read from the environment and checked before anything is touched. */
export interface JobInput extends StaticInput {
  readonly repository: string;
  readonly owner: string;
  readonly name: string;
  readonly branch: string;
  readonly headSha: string;
  readonly deliveryId: string;
  readonly taskId: string;
  /** The QA selector AND the task-id term: the task's QA runs, stale or not. */
  readonly selector: string;
  /** When GitHub took the push (ms since epoch, whole seconds). */
  readonly pushedAtMs: number;
  readonly beforeSha: string;
  /** What reported the push: its webhook, or the reconciler's resync when the webhook was lost. */
  readonly source: 'webhook' | 'resync';
  /** A push, or a PR closed or converted to draft: then `pushedAtMs` is that event's time. */
  readonly event: TriggerEvent;
  /** The PR of a pull_request event; a push's PR is found by its branch. */
  readonly prNumber?: number;
}

/** The reconciler's settings on top of the shared ones. */
export interface ReconcileInput extends StaticInput {
  /** A pending state untouched this long is resumed. */
  readonly pendingSeconds: number;
  /** Failed repairs of one PR before it is flagged for a person. */
  readonly maxFailures: number;
  /** A push still pending this long after it started is flagged for a person. */
  readonly attentionSeconds: number;
  /** Finished states older than this are deleted. */
  readonly retentionSeconds: number;
  readonly alertWebhookUrl?: string;
  /** Who the implementation bots are: GitHub logins, and the git names or emails they commit with. */
  readonly bots: { readonly logins: string[]; readonly commitAuthors: string[]; readonly caseInsensitive: boolean };
  /** Restore the labels of a remediated PR whose head commit is none of the bots'. */
  readonly compensateForeignCommits: boolean;
  /** Matches `refs/heads/<task branch>`, group 1 the task id: the resync's PRs. */
  readonly branchRef: RegExp;
  /** The webhook whose failed deliveries are redelivered; none when unset. */
  readonly redelivery?: { readonly restUrl: string; readonly hook: HookIdentity };
}

export function taskSelector(s: StaticInput, taskId: string): string {
  return `${s.qaSelector},${s.taskIdLabel}=${taskId}`;
}

/** Bad input: never retried, nothing changed. */
export class BadInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadInputError';
  }
}

type Env = Record<string, string | undefined>;

function required(env: Env, name: string): string {
  const v = env[name];
  if (v === undefined || v.trim() === '') throw new BadInputError(`${name} is missing or empty`);
  return v.trim();
}

function matching(env: Env, name: string, re: RegExp, expected: string): string {
  const v = required(env, name);
  if (!re.test(v)) throw new BadInputError(`${name}=${JSON.stringify(v)} is not ${expected}`);
  return v;
}

/** A variable the template sets but may leave empty (an empty list, no opt-out label). */
function present(env: Env, name: string): string {
  const v = env[name];
  if (v === undefined) throw new BadInputError(`${name} is missing`);
  return v.trim();
}

function integer(env: Env, name: string, min: number): number {
  const raw = required(env, name);
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new BadInputError(`${name}=${JSON.stringify(raw)} is not an integer >= ${min}`);
  return n;
}

const HTTP_URL = /^https?:\/\/\S+$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function readStatic(env: Env): StaticInput {
  const repositories = required(env, STATIC_ENV.allowedRepositories)
    .split(',')
    .map((r) => r.trim().toLowerCase())
    .filter(Boolean);
  const url = required(env, STATIC_ENV.githubGraphqlUrl);
  if (!HTTP_URL.test(url)) throw new BadInputError(`${STATIC_ENV.githubGraphqlUrl}=${JSON.stringify(url)} is not an http(s) URL`);
  return {
    namespace: matching(env, STATIC_ENV.namespace, DNS_LABEL, 'a namespace name'),
    runId: required(env, STATIC_ENV.runId),
    codeRun: {
      group: required(env, STATIC_ENV.codeRunGroup),
      version: required(env, STATIC_ENV.codeRunVersion),
      plural: matching(env, STATIC_ENV.codeRunPlural, DNS_LABEL, 'a resource plural'),
    },
    qaSelector: required(env, STATIC_ENV.qaSelector),
    taskIdLabel: matching(env, STATIC_ENV.taskIdLabel, LABEL_KEY, 'a label key'),
    repositories,
    labels: {
      ready: required(env, STATIC_ENV.labelReady),
      remediation: required(env, STATIC_ENV.labelRemediation),
      color: matching(env, STATIC_ENV.labelRemediationColor, /^[0-9a-fA-F]{6}$/, 'a 6-digit hex colour'),
      description: present(env, STATIC_ENV.labelRemediationDescription),
    },
    graphqlUrl: url,
    token: required(env, STATIC_ENV.githubToken),
    deadlineSeconds: integer(env, STATIC_ENV.deadlineSeconds, 1),
    requestTimeoutMs: integer(env, STATIC_ENV.githubRequestTimeoutMs, 100),
    leaseDurationSeconds: integer(env, STATIC_ENV.leaseDurationSeconds, 1),
    lockWaitSeconds: integer(env, STATIC_ENV.lockWaitSeconds, 0),
    skipExitCode: integer(env, STATIC_ENV.skipExitCode, 0),
    ordering: {
      clockSkewMs: integer(env, STATIC_ENV.clockSkewSeconds, 0) * 1000,
      revision: revisionSource(env),
    },
    mode: oneOf(env, STATIC_ENV.mode, Object.values(RemediationMode)),
    optOutLabel: present(env, STATIC_ENV.optOutLabel),
  };
}

function oneOf<T extends string>(env: Env, name: string, values: readonly T[]): T {
  const v = required(env, name);
  if (!values.includes(v as T)) throw new BadInputError(`${name}=${JSON.stringify(v)} is not one of ${values.join(', ')}`);
  return v as T;
}

function revisionSource(env: Env): OrderingRules['revision'] {
  const text = present(env, STATIC_ENV.revisionFrom);
  try {
    return parseRevisionSource(text);
  } catch (e) {
    throw new BadInputError(`${STATIC_ENV.revisionFrom}=${(e as Error).message}`);
  }
}

const SHA = /^([0-9a-f]{40}|[0-9a-f]{64})$/;

/** Reads the env contract of src/job-env.ts; throws BadInputError naming the variable and its value. */
export function readInput(env: Env): JobInput {
  const s = readStatic(env);
  const repository = matching(env, EVENT_ENV.repository, /^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}$/, 'owner/name');
  if (!s.repositories.includes(repository.toLowerCase())) {
    throw new BadInputError(
      `${EVENT_ENV.repository}=${JSON.stringify(repository)} is not one of ${STATIC_ENV.allowedRepositories} (${s.repositories.join(',')})`,
    );
  }
  const [owner, name] = repository.split('/');
  // The Sensor strips leading zeros; one synthesized before it did may still pass `007`.
  const taskId = canonicalTaskId(matching(env, EVENT_ENV.taskId, /^[0-9]{1,18}$/, 'a number'));
  const headSha = matching(env, EVENT_ENV.headSha, SHA, 'a commit SHA');
  if (new RegExp(NULL_SHA).test(headSha)) throw new BadInputError(`${EVENT_ENV.headSha}=${JSON.stringify(headSha)} is no commit`);
  const event = oneOf<TriggerEvent>(env, EVENT_ENV.event, ['push', ...PR_ACTIONS]);
  return {
    ...s,
    repository,
    owner,
    name,
    branch: matching(env, EVENT_ENV.branch, /^[^\s~^:?*[\\]+$/, 'a branch name'),
    headSha,
    deliveryId: matching(env, EVENT_ENV.deliveryId, /^[A-Za-z0-9._-]{1,100}$/, 'a delivery id'),
    taskId,
    selector: taskSelector(s, taskId),
    // Epoch seconds since 2001 and before 5138: ten digits. The Sensor converts a PR event's ISO time to these.
    pushedAtMs: Number(matching(env, EVENT_ENV.pushedAt, /^[1-9][0-9]{9}$/, 'epoch seconds')) * 1000,
    beforeSha: matching(env, EVENT_ENV.beforeSha, SHA, 'a commit SHA'),
    source: 'webhook',
    event,
    prNumber: event === 'push' ? undefined : Number(matching(env, EVENT_ENV.prNumber, /^[1-9][0-9]{0,9}$/, 'a PR number')),
  };
}

/** Reads the reconciler's env: the shared contract plus RECONCILE_ENV. */
export function readReconcileInput(env: Env): ReconcileInput {
  const s = readStatic(env);
  // From an optional Secret: unset when there is none, and then alerts go to Events only.
  const webhook = env[RECONCILE_ENV.alertWebhookUrl]?.trim();
  if (webhook && !HTTP_URL.test(webhook)) {
    // The URL is a secret: name the variable, not the value.
    throw new BadInputError(`${RECONCILE_ENV.alertWebhookUrl} is not an http(s) URL`);
  }
  const compensate = required(env, RECONCILE_ENV.compensateForeignCommits);
  if (compensate !== 'true' && compensate !== 'false') {
    throw new BadInputError(`${RECONCILE_ENV.compensateForeignCommits}=${JSON.stringify(compensate)} is not "true" or "false"`);
  }
  const list = (name: string) =>
    present(env, name)
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean);
  const caseInsensitive = oneOf(env, RECONCILE_ENV.botLoginCase, ['insensitive', 'exact']) === 'insensitive';
  const bots = { logins: list(RECONCILE_ENV.bots), commitAuthors: list(RECONCILE_ENV.botCommitAuthors), caseInsensitive };
  if (bots.logins.length + bots.commitAuthors.length === 0) {
    throw new BadInputError(
      `${RECONCILE_ENV.bots} and ${RECONCILE_ENV.botCommitAuthors} are both empty: the resync needs the bots' identities`,
    );
  }
  const pattern = required(env, RECONCILE_ENV.branchPattern);
  let branchRef: RegExp;
  try {
    branchRef = new RegExp(branchRefRegex(pattern));
  } catch (e) {
    throw new BadInputError(`${RECONCILE_ENV.branchPattern}=${JSON.stringify(pattern)}: ${(e as Error).message}`);
  }
  return {
    ...s,
    pendingSeconds: integer(env, RECONCILE_ENV.pendingSeconds, 0),
    maxFailures: integer(env, RECONCILE_ENV.maxFailures, 1),
    attentionSeconds: integer(env, RECONCILE_ENV.attentionSeconds, 1),
    retentionSeconds: integer(env, RECONCILE_ENV.retentionSeconds, 0),
    alertWebhookUrl: webhook || undefined,
    bots,
    compensateForeignCommits: compensate === 'true',
    branchRef,
    redelivery: redelivery(env),
  };
}

function redelivery(env: Env): ReconcileInput['redelivery'] {
  if (!env[RECONCILE_ENV.redeliveryHook]?.trim()) return undefined;
  const [, org, hookId, appId] = matching(env, RECONCILE_ENV.redeliveryHook, REDELIVERY_HOOK, 'org:<org>/<hook id> or app:<app id>').match(
    REDELIVERY_HOOK,
  )!;
  const url = matching(env, RECONCILE_ENV.githubRestUrl, HTTP_URL, 'an http(s) URL');
  // A secret: never in a message.
  const credential = required(env, RECONCILE_ENV.redeliveryCredential);
  const hook: HookIdentity = appId ? { kind: 'app', appId, privateKey: credential } : { kind: 'org', org, hookId, token: credential };
  return { restUrl: url, hook };
}
