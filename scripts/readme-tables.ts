/**
 * Writes the tables of the docs that restate code, between markers `<!-- tables:NAME -->` and `<!-- /tables:NAME -->`:
 * the configuration and environment (DEFAULTS, the env contract), the App's token permissions, the exit codes,
 * the Sensor's filters (as synthesized) and the integration suites (their opening comments). `npm run docs`
 * rewrites the pages; a unit test checks that they are up to date.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { DEFAULTS } from '../src/config/defaults';
import { packageRoot } from '../src/config/package-root';
import { AgentCancellation, RemediationSensor } from '../src';
import { APP_ENV, EVENT_ENV, EXIT, EXIT_MEANING, RECONCILE_ENV, STATIC_ENV } from '../src/contract/env';
import { TOKEN_PERMISSIONS } from '../src/job/github/github-app';

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
  {
    fields: ['existingEventSource.name', 'existingEventSource.eventName'],
    meaning:
      "subscribe to this EventSource and event in `eventsNamespace` (an organization's, every event type) instead of making one: no EventSource, Service or webhook; `webhook` and `github.organizations` then do not apply",
    defaultText: 'none: make one',
  },
  { fields: ['codeRun.group', 'codeRun.version', 'codeRun.kind', 'codeRun.plural'], meaning: 'the CodeRun resource' },
  {
    fields: ['codeRun.phaseFrom', 'codeRun.finishedPhases'],
    meaning:
      'where a run records its phase, and the phases of a finished run: history, never cancelled; no phase yet is active; `[]`: every run is active',
  },
  { fields: ['qaSelector.key', 'qaSelector.values'], meaning: 'QA agents: `key in (values)`' },
  { fields: ['implementationAgent.key', 'implementationAgent.value'], meaning: 'always excluded: `key!=value` is part of the selector' },
  { fields: ['taskIdLabel'], meaning: 'the Job adds `<taskIdLabel>=<id>` to every selection' },
  {
    fields: ['repositoryScope.from', 'repositoryScope.format', 'repositoryScope.host'],
    meaning:
      'where each CodeRun names its repository (`label:`, `annotation:` or `field:`), and how: a template with `{owner}` and `{name}`, or `github` for any GitHub spelling of a repository on `host`',
    defaultText: '`""` (one repository) / `{name}` / the web host of `github.graphqlUrl`',
  },
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
    names: [STATIC_ENV.repositoryFrom, STATIC_ENV.repositoryFormat, STATIC_ENV.repositoryHost],
    setBy: 'config',
    meaning:
      "where each CodeRun names its repository, and how (`github`: any GitHub spelling on the host, by default the web host of `github.graphqlUrl`); a label's term joins the selector",
    from: ['repositoryScope.from', 'repositoryScope.format'],
  },
  {
    names: [STATIC_ENV.phaseFrom, STATIC_ENV.finishedPhases],
    setBy: 'config',
    meaning:
      'where a run records its phase, and the comma-separated phases of a finished run (kept, reason `finished`); empty location: every run is active',
    from: ['codeRun.phaseFrom', 'codeRun.finishedPhases'],
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
  { names: [RECONCILE_ENV.redeliveryCursorLease], setBy: 'name prefix', meaning: 'the Lease of the deliveries seen: `<name>-redelivery`' },
  { names: [RECONCILE_ENV.redeliveryToken], setBy: 'Secret', meaning: "an organization hook's token; never logged" },
  {
    names: [RECONCILE_ENV.redeliveryKeyPath],
    setBy: 'config',
    meaning: "an App hook's private key file: `github.app`'s for the same App, else `credentialSecret` mounted read-only",
  },
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

/** What each permission of the App's tokens is for: a row per TOKEN_PERMISSIONS key, checked by GitHub's docs. */
const PERMISSION_USE: Record<string, string> = {
  contents: 'the branch head of a push and the authors of head commits (the resync and compensation)',
  pull_requests:
    "read PRs, their labels, timeline and comments; swap the labels, create the remediation label, post the marker comment (GitHub's REST docs accept Pull requests or Issues write for labels and comments)",
};

function permissionsTable(): string {
  const missing = Object.keys(TOKEN_PERMISSIONS).filter((p) => !(p in PERMISSION_USE));
  if (missing.length) throw new Error(`readme-tables: no use given for permission ${missing.join(', ')}`);
  const rows = Object.entries(TOKEN_PERMISSIONS).map(([p, access]) => `| \`${p}\` | ${access} | ${PERMISSION_USE[p]} |`);
  return ['| permission | access | what for |', '|---|---|---|', ...rows, '| `metadata` | read | given to every token by GitHub |'].join(
    '\n',
  );
}

/** What the Job controller does with each exit code of the Job. */
const EXIT_IN_JOB: { readonly [K in keyof typeof EXIT]: string } = {
  done: 'success',
  nothingToDo:
    'the Job sets it to 0: Kubernetes counts only 0 as success, and a skip is not a failure; the outcome is in the termination message',
  badInput: '`podFailurePolicy: FailJob`',
  retryable: 'retried up to `backoffLimit`',
  needsAttention: '`podFailurePolicy: FailJob`',
};

function exitTable(): string {
  const rows = (Object.keys(EXIT) as Array<keyof typeof EXIT>).map((k) => `| ${EXIT[k]} | ${cell(EXIT_MEANING[k])} | ${EXIT_IN_JOB[k]} |`);
  return ['| code | meaning | in the Job |', '|---|---|---|', ...rows].join('\n');
}

/** The Sensor's data filters with the defaults, as synthesized: `filters` of its push or PR dependency. */
function filterTable(which: 'filters' | 'prFilters'): string {
  const chart = new AgentCancellation(Testing.app(), 'docs', { config: { job: { mode: 'image' } } });
  const sensor = chart.node.findAll().find((c): c is RemediationSensor => c instanceof RemediationSensor)!;
  const rows = sensor[which].map(
    (f) => `| \`${f.path}\` | ${f.type} | ${f.comparator ?? '='} | ${f.value.map((v) => `\`${cell(v)}\``).join(', ')} |`,
  );
  return ['| path | type | comparator | value |', '|---|---|---|---|', ...rows].join('\n');
}

/** Every integration suite, and what its file's opening comment says it runs for real. */
function suiteTable(): string {
  const dir = path.join(packageRoot(), 'test', 'integration');
  const rows = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => {
      const comment = /^\/\*\*([\s\S]*?)\*\//.exec(fs.readFileSync(path.join(dir, f), 'utf8'))?.[1];
      if (!comment) throw new Error(`readme-tables: test/integration/${f} opens with no /** comment */ saying what it runs`);
      const text = comment
        .replace(/^\s*\* ?/gm, '')
        .replace(/\s+/g, ' ')
        .trim();
      return `| \`test/integration/${f.replace(/\.test\.ts$/, '')}\` | ${cell(text)} |`;
    });
  return ['| integration suite | what runs for real |', '|---|---|', ...rows].join('\n');
}

/** The generated tables, by page and marker name. */
export function tables(): Record<string, Record<string, () => string>> {
  return {
    'docs/configuration.md': {
      config: configTable,
      'job-env': () => envTable(JOB_ENV_ROWS, [...Object.values(EVENT_ENV), ...Object.values(STATIC_ENV), ...Object.values(APP_ENV)]),
      'reconciler-env': () => envTable(RECONCILE_ENV_ROWS, Object.values(RECONCILE_ENV)),
    },
    'docs/github-app.md': { 'token-permissions': permissionsTable },
    'docs/job.md': { 'exit-codes': exitTable },
    'docs/architecture.md': { 'push-filters': () => filterTable('filters'), 'pr-filters': () => filterTable('prFilters') },
    'docs/development.md': { suites: suiteTable },
  };
}

/** The pages that hold generated tables, relative to the repository root. */
export const TABLES_PAGES = Object.keys(tables());

/** `page` (one of TABLES_PAGES) with every marked table replaced by its generated text; throws for a missing marker. */
export function withTables(name: string, page: string): string {
  return Object.entries(tables()[name]).reduce((text, [marker, table]) => {
    const start = `<!-- tables:${marker} -->\n`;
    const end = `<!-- /tables:${marker} -->`;
    const from = text.indexOf(start);
    const to = text.indexOf(end, from);
    if (from < 0 || to < 0) throw new Error(`readme-tables: ${name} has no ${start.trim()} … ${end} markers`);
    return `${text.slice(0, from + start.length)}${table()}\n${text.slice(to)}`;
  }, page);
}

if (require.main === module) {
  const root = packageRoot();
  for (const name of TABLES_PAGES) {
    const file = path.join(root, name);
    fs.writeFileSync(file, withTables(name, fs.readFileSync(file, 'utf8')));
  }
}
