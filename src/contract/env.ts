/**
 * The environment contract between the Sensor's Job template and the remediation Job runtime.
 * The construct writes these names and the runtime reads them, so both import them from here.
 */

/** Set per event by the Sensor's trigger parameters (src/event-parameters.ts); the Job's template leaves them empty. */
export const EVENT_ENV = {
  repository: 'AC_REPOSITORY',
  branch: 'AC_BRANCH',
  headSha: 'AC_HEAD_SHA',
  deliveryId: 'AC_DELIVERY_ID',
  taskId: 'AC_TASK_ID',
  /** `repository.pushed_at`: when GitHub took the push, in epoch seconds. */
  pushedAt: 'AC_PUSHED_AT',
  /** The branch head before the push (all zeros for a new branch). */
  beforeSha: 'AC_BEFORE_SHA',
  /** What happened: `push`, or a pull_request action in PR_ACTIONS. */
  event: 'AC_EVENT',
  /** The PR of a pull_request event; empty for a push, whose PR the Job looks up by branch. */
  prNumber: 'AC_PR_NUMBER',
} as const;

/**
 * How the Job and the reconciler act. `observe` (shadow mode) runs every decision against the real cluster and
 * GitHub and records it, changing no CodeRun and no label.
 */
export enum RemediationMode {
  ENFORCE = 'enforce',
  OBSERVE = 'observe',
}

/** pull_request actions that end QA for a task: its PR no longer awaits review. Labels are not changed for them. */
export const PR_ACTIONS = ['closed', 'converted_to_draft'] as const;

/** What reported the runs stale: a push, or one of PR_ACTIONS. */
export type TriggerEvent = 'push' | (typeof PR_ACTIONS)[number];

/** Fixed per installation, from the synthesized configuration. */
export const STATIC_ENV = {
  namespace: 'AC_NAMESPACE',
  runId: 'AC_RUN_ID',
  codeRunGroup: 'AC_CODERUN_GROUP',
  codeRunVersion: 'AC_CODERUN_VERSION',
  codeRunPlural: 'AC_CODERUN_PLURAL',
  qaSelector: 'AC_QA_SELECTOR',
  taskIdLabel: 'AC_TASK_ID_LABEL',
  allowedRepositories: 'AC_ALLOWED_REPOSITORIES',
  labelReady: 'AC_LABEL_READY',
  labelRemediation: 'AC_LABEL_REMEDIATION',
  labelRemediationColor: 'AC_LABEL_REMEDIATION_COLOR',
  labelRemediationDescription: 'AC_LABEL_REMEDIATION_DESCRIPTION',
  githubGraphqlUrl: 'AC_GITHUB_GRAPHQL_URL',
  githubToken: 'GITHUB_TOKEN',
  deadlineSeconds: 'AC_DEADLINE_SECONDS',
  githubRequestTimeoutMs: 'AC_GITHUB_REQUEST_TIMEOUT_MS',
  leaseDurationSeconds: 'AC_LEASE_DURATION_SECONDS',
  lockWaitSeconds: 'AC_LOCK_WAIT_SECONDS',
  skipExitCode: 'AC_SKIP_EXIT_CODE',
  clockSkewSeconds: 'AC_CLOCK_SKEW_SECONDS',
  revisionFrom: 'AC_REVISION_FROM',
  /** A RemediationMode; unset means enforce. */
  mode: 'AC_MODE',
  /** A PR carrying this label is left alone; empty means no opt-out label. */
  optOutLabel: 'AC_OPT_OUT_LABEL',
} as const;

/** The reconciler's own settings, on top of STATIC_ENV. */
export const RECONCILE_ENV = {
  pendingSeconds: 'AC_RECONCILE_PENDING_SECONDS',
  maxFailures: 'AC_RECONCILE_MAX_FAILURES',
  attentionSeconds: 'AC_RECONCILE_ATTENTION_SECONDS',
  retentionSeconds: 'AC_RETENTION_SECONDS',
  alertWebhookUrl: 'AC_ALERT_WEBHOOK_URL',
  compensateForeignCommits: 'AC_COMPENSATE_FOREIGN_COMMITS',
  bots: 'AC_BOTS',
  botLoginCase: 'AC_BOT_LOGIN_CASE',
  botCommitAuthors: 'AC_BOT_COMMIT_AUTHORS',
  branchPattern: 'AC_BRANCH_PATTERN',
  /** `org:<org>/<hook id>` or `app:<app id>`: the webhook whose failed deliveries are redelivered; unset: none. */
  redeliveryHook: 'AC_REDELIVERY_HOOK',
  /** The token that may read the organization's hook, or the App's private key (PEM). */
  redeliveryCredential: 'AC_REDELIVERY_CREDENTIAL',
  githubRestUrl: 'AC_GITHUB_REST_URL',
} as const;

/** AC_REDELIVERY_HOOK: group 1 and 2 an organization and its hook id, or group 3 an App id. */
export const REDELIVERY_HOOK = /^(?:org:([A-Za-z0-9-]+)\/([0-9]+)|app:([0-9]+))$/;

/** Exit codes of the runtime. Kubernetes counts only 0 as success, so the Job sets AC_SKIP_EXIT_CODE=0. */
export const EXIT = {
  done: 0,
  nothingToDo: 3,
  badInput: 64,
  retryable: 75,
  needsAttention: 78,
} as const;
