import { branchRefRegex, NULL_SHA } from '../contract/filters';
import {
  ALERT_WEBHOOK_URL,
  APP_FIELDS,
  BotLoginCase,
  decodeEnv,
  EVENT_FIELDS,
  INSTALLATION_FIELDS,
  RECONCILE_FIELDS,
  REDELIVERY_FIELDS,
  REDELIVERY_HOOK,
  REDELIVERY_KEY_FILE,
  REDELIVERY_TOKEN,
  RemediationMode,
  TriggerEvent,
} from '../contract/env';
import { EnvError } from '../contract/env-codecs';
import { allows, RepositoryScope, scopeIssues, scopeSelector } from '../contract/repository-scope';
import { OrderingRules } from './event/ordering';
import { HookIdentity } from './github/hook';
import { BadInputError } from './errors';

/** The GitHub App the runtime acts as; the private key stays in its file until a JWT is signed. */
export interface AppSettings {
  readonly appId: number;
  /** Undefined: looked up from the repository, once per run. */
  readonly installationId?: number;
  readonly privateKeyPath: string;
}

/** What the Job and the reconciler share: the installation's settings, fixed per synthesized manifest. */
export interface StaticInput {
  readonly namespace: string;
  readonly runId: string;
  readonly codeRun: { readonly group: string; readonly version: string; readonly plural: string };
  /** Selects QA CodeRuns of every task; `taskSelector` narrows it to one. */
  readonly qaSelector: string;
  readonly taskIdLabel: string;
  /** Lower-case `owner/name`s, or `owner/*` for every repository of an owner. */
  readonly repositories: string[];
  /** Where a CodeRun names its repository: a task's runs are those of its repository. */
  readonly scope: RepositoryScope;
  readonly labels: {
    readonly ready: string;
    readonly remediation: string;
    readonly color: string;
    readonly description: string;
  };
  readonly graphqlUrl: string;
  /** Exactly one of the two: a token from a Secret, or a GitHub App minting a token per run. */
  readonly token?: string;
  readonly app?: AppSettings;
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
  /** The QA selector AND the task-id term (AND the repository's, for a label scope): the task's QA runs, stale or not. */
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
  /** The task branch, `{id}` standing for the task id: where the pass finds a task's PR. */
  readonly branchPattern: string;
  /** The webhook whose failed deliveries are redelivered; none when unset. */
  readonly redelivery?: { readonly restUrl: string; readonly hook: HookIdentity; readonly cursorLease: string };
}

/** The label selector of one task's QA runs: the repository's term too when the scope is a label. */
export function taskSelector(s: StaticInput, repository: string, taskId: string): string {
  return [s.qaSelector, `${s.taskIdLabel}=${taskId}`, scopeSelector(s.scope, repository)].filter(Boolean).join(',');
}

type Env = Record<string, string | undefined>;

/** The contract's decoding, with its errors as bad input. */
function decoded<T>(read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof EnvError) throw new BadInputError(e.message);
    throw e;
  }
}

/** A token or an App, from whichever of GITHUB_TOKEN and AC_GITHUB_APP_ID is set; both is bad input, neither a missing token. */
function readCredentials(env: Env): Pick<StaticInput, 'token' | 'app'> {
  const { githubToken } = INSTALLATION_FIELDS;
  const hasApp = env[APP_FIELDS.appId.name] !== undefined;
  if (hasApp && env[githubToken.name] !== undefined) {
    throw new BadInputError(`${githubToken.name} and ${APP_FIELDS.appId.name} are both set: set exactly one (a token, or a GitHub App)`);
  }
  return hasApp
    ? { app: decoded(() => decodeEnv(APP_FIELDS, env)) }
    : decoded(() => ({ token: decodeEnv({ githubToken }, env).githubToken }));
}

function readStatic(env: Env): StaticInput {
  const { githubToken: _credentials, ...fields } = INSTALLATION_FIELDS;
  const v = decoded(() => decodeEnv(fields, env));
  const scope = { from: v.repositoryFrom, format: v.repositoryFormat, host: v.repositoryHost };
  const issues = scopeIssues(v.allowedRepositories, scope, 'repository scope');
  if (v.allowedRepositories.length === 0) issues.push(`${INSTALLATION_FIELDS.allowedRepositories.name} is empty`);
  if (issues.length) throw new BadInputError(issues.join('; '));
  return {
    namespace: v.namespace,
    runId: v.runId,
    codeRun: { group: v.codeRunGroup, version: v.codeRunVersion, plural: v.codeRunPlural },
    qaSelector: v.qaSelector,
    taskIdLabel: v.taskIdLabel,
    repositories: v.allowedRepositories,
    scope,
    labels: {
      ready: v.labelReady,
      remediation: v.labelRemediation,
      color: v.labelRemediationColor,
      description: v.labelRemediationDescription,
    },
    graphqlUrl: v.githubGraphqlUrl,
    ...readCredentials(env),
    deadlineSeconds: v.deadlineSeconds,
    requestTimeoutMs: v.githubRequestTimeoutMs,
    leaseDurationSeconds: v.leaseDurationSeconds,
    lockWaitSeconds: v.lockWaitSeconds,
    skipExitCode: v.skipExitCode,
    ordering: {
      clockSkewMs: v.clockSkewSeconds * 1000,
      revision: v.revisionFrom,
      phase: v.phaseFrom && { from: v.phaseFrom, finished: v.finishedPhases },
    },
    mode: v.mode,
    optOutLabel: v.optOutLabel,
  };
}

/** Reads the Job's env (src/contract/env.ts); throws BadInputError naming the variable and its value. */
export function readInput(env: Env): JobInput {
  const s = readStatic(env);
  const e = decoded(() => decodeEnv(EVENT_FIELDS, env));
  if (!allows(s.repositories, e.repository)) {
    throw new BadInputError(
      `${EVENT_FIELDS.repository.name}=${JSON.stringify(e.repository)} is not one of ` +
        `${INSTALLATION_FIELDS.allowedRepositories.name} (${s.repositories.join(',')})`,
    );
  }
  if (e.event !== 'push' && e.prNumber === undefined)
    throw new BadInputError(`${EVENT_FIELDS.prNumber.name} is missing or empty (a ${e.event} event names its PR)`);
  if (new RegExp(NULL_SHA).test(e.headSha))
    throw new BadInputError(`${EVENT_FIELDS.headSha.name}=${JSON.stringify(e.headSha)} is no commit`);
  const [owner, name] = e.repository.split('/');
  return {
    ...s,
    ...e,
    owner,
    name,
    selector: taskSelector(s, e.repository, e.taskId),
    source: 'webhook',
    prNumber: e.event === 'push' ? undefined : e.prNumber,
  };
}

/** Reads the reconciler's env: the installation's fields plus RECONCILE_FIELDS. */
export function readReconcileInput(env: Env): ReconcileInput {
  const s = readStatic(env);
  const r = decoded(() => decodeEnv(RECONCILE_FIELDS, env));
  // From an optional Secret: unset when there is none, and then alerts go to Events only.
  const webhook = env[ALERT_WEBHOOK_URL.name]?.trim();
  if (webhook) {
    try {
      ALERT_WEBHOOK_URL.decode(webhook);
    } catch {
      // The URL is a secret: name the variable, not the value.
      throw new BadInputError(`${ALERT_WEBHOOK_URL.name} is not an http(s) URL`);
    }
  }
  const bots = { logins: r.bots, commitAuthors: r.botCommitAuthors, caseInsensitive: r.botLoginCase === BotLoginCase.INSENSITIVE };
  if (bots.logins.length + bots.commitAuthors.length === 0) {
    throw new BadInputError(
      `${RECONCILE_FIELDS.bots.name} and ${RECONCILE_FIELDS.botCommitAuthors.name} are both empty: the resync needs the bots' identities`,
    );
  }
  try {
    branchRefRegex(r.branchPattern);
  } catch (e) {
    throw new BadInputError(`${RECONCILE_FIELDS.branchPattern.name}=${JSON.stringify(r.branchPattern)}: ${(e as Error).message}`);
  }
  return {
    ...s,
    pendingSeconds: r.pendingSeconds,
    maxFailures: r.maxFailures,
    attentionSeconds: r.attentionSeconds,
    retentionSeconds: r.retentionSeconds,
    alertWebhookUrl: webhook || undefined,
    bots,
    compensateForeignCommits: r.compensateForeignCommits,
    branchPattern: r.branchPattern,
    redelivery: redelivery(env),
  };
}

/**
 * The redelivery settings: none when AC_REDELIVERY_HOOK is unset; else the REST URL, and the hook's credential: an
 * organization's token, or the file of an App's private key.
 */
function redelivery(env: Env): ReconcileInput['redelivery'] {
  if (!env[REDELIVERY_FIELDS.hook.name]?.trim()) return undefined;
  const r = decoded(() => decodeEnv(REDELIVERY_FIELDS, env));
  const [, org, hookId, appId] = REDELIVERY_HOOK.exec(r.hook)!;
  const hook: HookIdentity = appId
    ? { kind: 'app', appId: Number(appId), privateKeyPath: decoded(() => decodeEnv({ key: REDELIVERY_KEY_FILE }, env)).key }
    : { kind: 'org', org, hookId, token: decoded(() => decodeEnv({ token: REDELIVERY_TOKEN }, env)).token };
  return { restUrl: r.restUrl, hook, cursorLease: r.cursorLease };
}
