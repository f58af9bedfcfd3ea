/**
 * Writes the configuration and environment tables of docs/configuration.md from DEFAULTS and the env contract,
 * between markers `<!-- tables:NAME -->` and `<!-- /tables:NAME -->`. `npm run docs` rewrites that page; a unit
 * test checks that it is up to date.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DEFAULTS } from '../src/config/defaults';
import { APP_ENV, EVENT_ENV, RECONCILE_ENV, STATIC_ENV } from '../src/contract/env';

/** One row of the configuration table: its fields (sharing the first one's parent) and what they mean. */
interface ConfigRow {
  readonly fields: string[];
  readonly meaning: string;
  /** Shown instead of the defaults, for a field whose default is another field. */
  readonly defaultText?: string;
}

const CONFIG_ROWS: ConfigRow[] = [
  { fields: ['name'], meaning: 'prefix of every object name' },
  { fields: ['namespace'], meaning: 'namespace of the CodeRuns; the Job, its RBAC and Leases go here' },
  { fields: ['eventsNamespace'], meaning: 'namespace of the EventSource and Sensor (needs an EventBus)', defaultText: '= `namespace`' },
  { fields: ['eventBusName'], meaning: 'EventBus they use' },
  {
    fields: ['mode'],
    meaning: '`observe`: shadow mode, decide and record, change nothing ([Operator control](operations.md#operator-control))',
  },
  { fields: ['codeRun.group', 'codeRun.version', 'codeRun.kind', 'codeRun.plural'], meaning: 'the CodeRun resource' },
  { fields: ['qaSelector.key', 'qaSelector.values'], meaning: 'QA agents: `key in (values)`' },
  { fields: ['implementationAgent.key', 'implementationAgent.value'], meaning: 'always excluded: `key!=value` is part of the selector' },
  { fields: ['taskIdLabel'], meaning: 'the Job adds `<taskIdLabel>=<id>` to every selection' },
  { fields: ['github.repositories'], meaning: '`owner/name` accepted by the Sensor and the Job' },
  {
    fields: ['github.organizations'],
    meaning:
      'organization-wide webhook of these organizations instead of one per repository; the Sensor still accepts only `github.repositories`',
  },
  { fields: ['github.bots'], meaning: '`sender.login` of Rex, matched whole' },
  { fields: ['github.botLoginCase'], meaning: '`exact` also rejects case variants' },
  {
    fields: ['github.botCommitAuthors'],
    meaning: 'git names or emails the bots commit with, for the resync (besides `github.bots` as logins)',
  },
  { fields: ['github.branchPattern'], meaning: '`{id}` is the numeric task id' },
  { fields: ['github.readyForQaLabel'], meaning: 'removed' },
  { fields: ['github.optOutLabel'], meaning: 'a PR carrying it is left alone by the Job and the reconciler' },
  {
    fields: ['github.remediationLabel.name', 'github.remediationLabel.color', 'github.remediationLabel.description'],
    meaning: 'added (created once if missing)',
  },
  { fields: ['github.graphqlUrl'], meaning: 'GitHub Enterprise: `https://HOST/api/graphql`' },
  { fields: ['github.tokenSecret'], meaning: 'existing Secret with the GitHub token; exclusive with `github.app`' },
  {
    fields: ['github.app.appId', 'github.app.installationId', 'github.app.privateKeySecret'],
    meaning: 'act as a GitHub App, a token minted per run ([GitHub App](github-app.md)); setting it drops the default `tokenSecret`',
    defaultText: 'none (a token) / looked up / —',
  },
  { fields: ['ordering.clockSkewSeconds'], meaning: 'a QA run created less than this before the push is kept ([Ordering](ordering.md))' },
  {
    fields: ['ordering.revision'],
    meaning: '`label:<key>`, `annotation:<key>` or `field:<path>`: where CodeRuns record the commit they review; empty: off',
  },
  { fields: ['webhook.port', 'webhook.endpoint'], meaning: 'where the EventSource listens' },
  { fields: ['webhook.url'], meaning: 'public URL GitHub posts to (informational: Argo manages no hooks here)' },
  { fields: ['webhook.secret'], meaning: "existing Secret with the webhook's HMAC secret" },
  { fields: ['job.mode'], meaning: '`configmap`: bundle in a ConfigMap on `job.nodeImage`; `image`: `job.image`' },
  { fields: ['job.image'], meaning: 'built from the `Dockerfile`' },
  { fields: ['job.nodeImage'], meaning: 'must be pinned by digest; the `Dockerfile` builds on the same image' },
  { fields: ['job.backoffLimit', 'job.activeDeadlineSeconds', 'job.ttlSecondsAfterFinished'], meaning: 'Job bounds' },
  {
    fields: ['job.githubDeadlineSeconds', 'job.githubRequestTimeoutMs', 'job.leaseDurationSeconds', 'job.lockWaitSeconds'],
    meaning: 'runtime bounds',
  },
  {
    fields: ['admissionPolicy.enabled'],
    meaning:
      "the [admission policy](architecture.md#admission-policy) confining the Job's ServiceAccount; `false` for clusters before 1.30",
  },
  {
    fields: ['sensor.retry.steps', 'sensor.retry.durationSeconds', 'sensor.retry.factor', 'sensor.retry.jitter'],
    meaning: 'retries of the Job creation',
  },
  { fields: ['reconciler.enabled', 'reconciler.schedule'], meaning: 'the reconciler CronJob' },
  { fields: ['reconciler.pendingSeconds'], meaning: 'a pending push untouched this long is resumed' },
  {
    fields: ['reconciler.maxFailures', 'reconciler.attentionSeconds'],
    meaning: 'failed repairs, or age of a pending push, before the needs-attention alert',
  },
  { fields: ['reconciler.retentionSeconds'], meaning: 'finished state Leases are deleted this long after their last update' },
  { fields: ['reconciler.alertWebhookSecret'], meaning: 'Secret with the alert webhook URL; optional (no Secret, no webhook)' },
  {
    fields: ['reconciler.redelivery.hook', 'reconciler.redelivery.credentialSecret', 'reconciler.redelivery.restUrl'],
    meaning: 'GitHub\'s redelivery of failed webhook deliveries (docs/reliability.md): `org:<org>/<hook id>` or `app:<app id>`, `""` off',
  },
  {
    fields: ['reconciler.compensateForeignCommits'],
    meaning: "restore the labels when the remediated commit's author is none of `github.bots`",
  },
  { fields: ['monitoring.enabled'], meaning: 'PodMonitors, a PrometheusRule and a Grafana dashboard ([Monitoring](monitoring.md))' },
  {
    fields: ['monitoring.labels'],
    meaning: "on the PodMonitors and the PrometheusRule, for the Prometheus' selectors (kube-prometheus-stack: `release: <release>`)",
    defaultText: 'none',
  },
  {
    fields: ['monitoring.dashboardNamespace'],
    meaning: "where Grafana's sidecar looks for the dashboard ConfigMap",
    defaultText: '= `namespace`',
  },
  { fields: ['monitoring.runbookUrl'], meaning: "the page the alerts' `runbook_url` point to, each at its anchor" },
];

/** One row of an env table: its variables, who sets them, and the defaults (as config fields) they carry. */
interface EnvRow {
  readonly names: string[];
  readonly setBy: string;
  readonly meaning: string;
  /** The config field each variable is set from, whose default the table shows. */
  readonly from?: string[];
}

const JOB_ENV_ROWS: EnvRow[] = [
  {
    names: [EVENT_ENV.repository, EVENT_ENV.branch, EVENT_ENV.headSha, EVENT_ENV.deliveryId, EVENT_ENV.taskId],
    setBy: 'Sensor parameters',
    meaning: 'the push',
  },
  {
    names: [EVENT_ENV.pushedAtMs, EVENT_ENV.beforeSha],
    setBy: 'Sensor parameters',
    meaning: '`repository.pushed_at` (epoch seconds) and `before`: when and from what; for a PR event its time (epoch seconds) and head',
  },
  {
    names: [EVENT_ENV.event, EVENT_ENV.prNumber],
    setBy: 'Sensor parameters',
    meaning: '`push`, `closed` or `converted_to_draft`; the PR of a PR event (empty for a push)',
  },
  {
    names: [STATIC_ENV.mode, STATIC_ENV.optOutLabel],
    setBy: 'config',
    meaning: '`enforce` or `observe`, anything else exits 64; the opt-out label ([Operator control](operations.md#operator-control))',
    from: ['mode', 'github.optOutLabel'],
  },
  {
    names: [STATIC_ENV.clockSkewSeconds, STATIC_ENV.revisionFrom],
    setBy: 'config',
    meaning: 'the [ordering](ordering.md) rules',
    from: ['ordering.clockSkewSeconds', 'ordering.revision'],
  },
  {
    names: [STATIC_ENV.namespace, STATIC_ENV.codeRunGroup, STATIC_ENV.codeRunVersion, STATIC_ENV.codeRunPlural],
    setBy: 'config',
    meaning: 'where the CodeRuns are',
  },
  { names: [STATIC_ENV.qaSelector, STATIC_ENV.taskIdLabel], setBy: 'config', meaning: 'the selector; `<label>=<id>` is always added' },
  {
    names: [STATIC_ENV.allowedRepositories],
    setBy: 'config',
    meaning: 'comma-separated `owner/name` or `owner/*`; anything else is bad input',
  },
  {
    names: [STATIC_ENV.repositoryFrom, STATIC_ENV.repositoryFormat],
    setBy: 'config',
    meaning: "where each CodeRun names its repository, and how; a label's term joins the selector",
    from: ['repositoryScope.from', 'repositoryScope.format'],
  },
  {
    names: [STATIC_ENV.labelReady, STATIC_ENV.labelRemediation, STATIC_ENV.labelRemediationColor, STATIC_ENV.labelRemediationDescription],
    setBy: 'config',
    meaning: 'the labels',
  },
  {
    names: [STATIC_ENV.githubGraphqlUrl, STATIC_ENV.githubToken],
    setBy: 'config, Secret',
    meaning: 'GitHub (the token is never logged); no token with a GitHub App',
  },
  {
    names: [APP_ENV.appId, APP_ENV.installationId, APP_ENV.privateKeyPath],
    setBy: 'config (GitHub App only)',
    meaning: 'the App, its installation (empty: looked up) and the key file of its Secret volume',
  },
  {
    names: [STATIC_ENV.deadlineSeconds, STATIC_ENV.githubRequestTimeoutMs],
    setBy: 'config',
    meaning: 'GitHub retry deadline and per-request timeout',
    from: ['job.githubDeadlineSeconds', 'job.githubRequestTimeoutMs'],
  },
  {
    names: [STATIC_ENV.leaseDurationSeconds, STATIC_ENV.lockWaitSeconds],
    setBy: 'config',
    meaning: 'the lock',
    from: ['job.leaseDurationSeconds', 'job.lockWaitSeconds'],
  },
  { names: [STATIC_ENV.runId], setBy: 'pod name', meaning: 'Lease holder' },
  { names: [STATIC_ENV.skipExitCode], setBy: 'Job template (`0`)', meaning: 'exit code of "nothing to do"' },
  { names: ['KUBECONFIG'], setBy: 'optional', meaning: 'outside a cluster' },
];

const RECONCILE_ENV_ROWS: EnvRow[] = [
  {
    names: [RECONCILE_ENV.pendingSeconds],
    setBy: 'config',
    meaning: 'resume a pending push untouched this long',
    from: ['reconciler.pendingSeconds'],
  },
  {
    names: [RECONCILE_ENV.maxFailures, RECONCILE_ENV.attentionSeconds],
    setBy: 'config',
    meaning: 'alert thresholds',
    from: ['reconciler.maxFailures', 'reconciler.attentionSeconds'],
  },
  { names: [RECONCILE_ENV.retentionSeconds], setBy: 'config', meaning: 'state retention', from: ['reconciler.retentionSeconds'] },
  { names: [RECONCILE_ENV.alertWebhookUrl], setBy: 'optional Secret', meaning: 'unset without the Secret; never logged' },
  {
    names: [RECONCILE_ENV.compensateForeignCommits],
    setBy: 'config',
    meaning: 'foreign-commit compensation',
    from: ['reconciler.compensateForeignCommits'],
  },
  {
    names: [RECONCILE_ENV.bots, RECONCILE_ENV.botCommitAuthors, RECONCILE_ENV.botLoginCase],
    setBy: 'config',
    meaning: 'who the bots are: the resync and compensation',
    from: ['github.bots', 'github.botCommitAuthors', 'github.botLoginCase'],
  },
  { names: [RECONCILE_ENV.branchPattern], setBy: 'config', meaning: "the resync's task branches", from: ['github.branchPattern'] },
  {
    names: [RECONCILE_ENV.redeliveryHook, RECONCILE_ENV.githubRestUrl],
    setBy: 'config',
    meaning: "GitHub's redelivery of failed deliveries; unset: off",
    from: ['reconciler.redelivery.hook', 'reconciler.redelivery.restUrl'],
  },
  { names: [RECONCILE_ENV.redeliveryCredential], setBy: 'Secret', meaning: 'set with the hook; never logged' },
];

function defaultAt(field: string): unknown {
  const value = field.split('.').reduce<any>((v, k) => v?.[k], DEFAULTS);
  if (value === undefined) throw new Error(`readme-tables: ${JSON.stringify(field)} has no default in DEFAULTS`);
  return value;
}

/** A default as the tables show it; digests are shortened to their first and last four digits. */
function shown(value: unknown): string {
  if (Array.isArray(value)) return `\`[${value.join(', ')}]\``;
  if (typeof value === 'object' && value !== null && 'name' in value && 'key' in value)
    return `\`${String(value.name)}\` / \`${String(value.key)}\``;
  if (value === '') return '`""`';
  const text = String(value).replace(/@sha256:([0-9a-f]{4})[0-9a-f]{56}([0-9a-f]{4})/, '@sha256:$1…$2');
  return `\`${text}\``;
}

const cell = (text: string) => text.replace(/\|/g, '\\|');

function configTable(): string {
  const rows = CONFIG_ROWS.map(({ fields, meaning, defaultText }) => {
    const names = fields.map((f, i) => `\`${i === 0 ? f : f.split('.').pop()}\``).join(' / ');
    const defaults = defaultText ?? fields.map((f) => shown(defaultAt(f))).join(' / ');
    return `| ${names} | ${cell(defaults)} | ${meaning} |`;
  });
  return ['| field | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

function envTable(rows: EnvRow[], names: string[]): string {
  const listed = rows.flatMap((r) => r.names);
  const missing = names.filter((n) => !listed.includes(n));
  if (missing.length) throw new Error(`readme-tables: no row for ${missing.join(', ')}`);
  const lines = rows.map(({ names: vars, setBy, meaning, from }) => {
    const withDefaults = vars.map((n, i) => (from?.[i] === undefined ? `\`${n}\`` : `\`${n}\` (${shown(defaultAt(from[i]))})`));
    return `| ${cell(withDefaults.join(', '))} | ${setBy} | ${meaning} |`;
  });
  return ['| variable (default) | set by | meaning |', '|---|---|---|', ...lines].join('\n');
}

/** The generated tables, by marker name. */
export function tables(): Record<string, string> {
  return {
    config: configTable(),
    'job-env': envTable(JOB_ENV_ROWS, [...Object.values(EVENT_ENV), ...Object.values(STATIC_ENV), ...Object.values(APP_ENV)]),
    'reconciler-env': envTable(RECONCILE_ENV_ROWS, Object.values(RECONCILE_ENV)),
  };
}

/** The page that holds the generated tables, relative to the repository root. */
export const TABLES_PAGE = 'docs/configuration.md';

/** `page` with every marked table replaced by its generated text; throws for a missing marker. */
export function withTables(page: string): string {
  return Object.entries(tables()).reduce((text, [name, table]) => {
    const start = `<!-- tables:${name} -->\n`;
    const end = `<!-- /tables:${name} -->`;
    const from = text.indexOf(start);
    const to = text.indexOf(end, from);
    if (from < 0 || to < 0) throw new Error(`readme-tables: ${TABLES_PAGE} has no ${start.trim()} … ${end} markers`);
    return `${text.slice(0, from + start.length)}${table}\n${text.slice(to)}`;
  }, page);
}

if (require.main === module) {
  const page = path.resolve(process.argv[2] ?? TABLES_PAGE);
  fs.writeFileSync(page, withTables(fs.readFileSync(page, 'utf8')));
}
