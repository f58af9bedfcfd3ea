import * as fs from 'fs';
import * as path from 'path';
import Ajv, { ErrorObject } from 'ajv';
import * as YAML from 'yaml';
import { packageRoot } from './package-root';

/** A Kubernetes Secret key that already exists in the cluster; only its name and key reach the manifests. */
export interface SecretRef {
  readonly name: string;
  readonly key: string;
}

/** How the remediation Job runs; shared by the configuration and the RemediationJob construct. */
export interface JobOptions {
  /** `configmap` runs the bundle from a ConfigMap on `nodeImage`; `image` runs `image`. @default "configmap" */
  readonly mode?: 'configmap' | 'image';
  /** @default "ghcr.io/5dlabs/agent-cancellation:0.1.0" */
  readonly image?: string;
  /** Digest-pinned Node.js image for configmap mode. @default node:22-alpine pinned by digest */
  readonly nodeImage?: string;
  /** @default 4 */
  readonly backoffLimit?: number;
  /** @default 900 */
  readonly activeDeadlineSeconds?: number;
  /** @default 86400 */
  readonly ttlSecondsAfterFinished?: number;
  /** How long the Job keeps retrying GitHub. @default 300 */
  readonly githubDeadlineSeconds?: number;
  /** @default 60 */
  readonly leaseDurationSeconds?: number;
  /** @default 120 */
  readonly lockWaitSeconds?: number;
}

/** How the reconciler runs; shared by the configuration and the ReconcilerCronJob props. */
export interface ReconcilerOptions {
  /** When passes run, as a 5-field cron expression. @default "*\/5 * * * *" */
  readonly schedule?: string;
  /** A pending push untouched this long is resumed by the reconciler. @default 300 */
  readonly pendingSeconds?: number;
  /** Failed repairs of one PR before it is flagged for a person. @default 3 */
  readonly maxFailures?: number;
  /** A push still pending this long after it started is flagged for a person. @default 3600 */
  readonly attentionSeconds?: number;
  /** Finished state Leases are deleted this long after their last update. @default 604800 (7 days) */
  readonly retentionSeconds?: number;
  /**
   * Secret key holding the URL that needs-attention alerts are POSTed to (Slack-compatible JSON). The reference
   * is optional at run time: without the Secret, alerts are the Event and the Lease label only.
   * @default - no webhook (the app's configuration defaults to agent-cancellation-alert-webhook / url)
   */
  readonly alertWebhookSecret?: SecretRef;
  /** Restore the labels of a remediated PR whose head commit's author is none of the bots. @default false */
  readonly compensateForeignCommits?: boolean;
}

/**
 * The configuration of one agent-cancellation installation, as read from YAML.
 * Every field is optional; `resolveConfig` fills the defaults (the user's card) from `schema/config.schema.json`.
 */
export interface AgentCancellationConfig {
  /** Prefix of every object name. @default "agent-cancellation" */
  readonly name?: string;
  /** Namespace of the CodeRuns; the Job, its RBAC and its Leases live there too. @default "agent-platform" */
  readonly namespace?: string;
  /** Namespace of the EventSource and Sensor, which needs an EventBus. @default - same as `namespace` */
  readonly eventsNamespace?: string;
  /** EventBus the EventSource and Sensor use. @default "default" */
  readonly eventBusName?: string;
  /** The CodeRun custom resource. @default platform.5dlabs.com/v1 CodeRun (coderuns) */
  readonly codeRun?: {
    readonly group?: string;
    readonly version?: string;
    readonly kind?: string;
    readonly plural?: string;
  };
  /** QA agents to cancel, as `key in (values)`; the task-id term is always added. @default agent-type in (cleo,tess) */
  readonly qaSelector?: { readonly key?: string; readonly values?: string[] };
  /** The implementation agent's label, which the selector excludes. @default agent-type=rex */
  readonly implementationAgent?: { readonly key?: string; readonly value?: string };
  /** Label holding the task id on CodeRuns. @default "task-id" */
  readonly taskIdLabel?: string;
  readonly github?: {
    /** `owner/name` of every repository served. @default ["5dlabs/cto"] */
    readonly repositories?: string[];
    /** `sender.login` of the implementation bot, matched whole. @default ["5DLabs-Rex[bot]", "5DLabs-Rex"] */
    readonly bots?: string[];
    /** How logins and repositories compare: GitHub treats them case-insensitively. @default "insensitive" */
    readonly botLoginCase?: 'insensitive' | 'exact';
    /** Git author names or emails the bots commit with, for the reconciler's resync. @default [] */
    readonly botCommitAuthors?: string[];
    /** The implementation branch, `{id}` standing for the numeric task id. @default "feature/task-{id}-implementation" */
    readonly branchPattern?: string;
    /** @default "ready-for-qa" */
    readonly readyForQaLabel?: string;
    /** @default remediation-in-progress, colour d93f0b */
    readonly remediationLabel?: { readonly name?: string; readonly color?: string; readonly description?: string };
    /** @default "https://api.github.com/graphql" */
    readonly graphqlUrl?: string;
    /** Secret with a token allowed to read PRs and write labels. @default agent-cancellation-github / token */
    readonly tokenSecret?: SecretRef;
  };
  readonly webhook?: {
    /** @default 12000 */
    readonly port?: number;
    /** @default "/agent-cancellation/github" */
    readonly endpoint?: string;
    /** Public URL GitHub delivers to, recorded in the EventSource. @default "" */
    readonly url?: string;
    /** Secret with the webhook's HMAC secret. @default agent-cancellation-webhook / secret */
    readonly secret?: SecretRef;
  };
  /** Which QA runs a push made stale (README: "Ordering"). */
  readonly ordering?: {
    /** How far GitHub's clock may run ahead of the cluster's, in seconds. @default 5 */
    readonly clockSkewSeconds?: number;
    /** `label:<key>`, `annotation:<key>` or `field:<path>`: where CodeRuns record their revision. @default "" (off) */
    readonly revision?: string;
  };
  readonly job?: JobOptions;
  /** The reconciler CronJob. @default enabled, every 5 minutes */
  readonly reconciler?: ReconcilerOptions & {
    /** @default true */
    readonly enabled?: boolean;
  };
  /**
   * The ValidatingAdmissionPolicy that lets the Job's ServiceAccount delete only QA CodeRuns and touch only its own
   * Leases (admissionregistration.k8s.io/v1: Kubernetes 1.30+; turn off for older clusters).
   */
  readonly admissionPolicy?: {
    /** @default true */
    readonly enabled?: boolean;
  };
  readonly sensor?: {
    /** Retries of the Job creation by the Sensor. @default 5 steps from 1 s, factor 2, jitter 0.2 */
    readonly retry?: {
      readonly steps?: number;
      readonly durationSeconds?: number;
      readonly factor?: number;
      readonly jitter?: number;
    };
  };
}

type DeepRequired<T> = T extends (infer U)[] ? U[] : T extends object ? { readonly [K in keyof T]-?: DeepRequired<T[K]> } : T;

/** A configuration with every default applied and every rule checked. */
export type ResolvedConfig = DeepRequired<AgentCancellationConfig>;

/** Thrown for a configuration that must not be synthesized; `issues` name each field, value and expectation. */
export class ConfigError extends Error {
  constructor(readonly source: string, readonly issues: string[]) {
    super(`invalid configuration in ${source}:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const SCHEMA_PATH = path.join(packageRoot(), 'schema', 'config.schema.json');
let validator: ReturnType<Ajv['compile']> | undefined;

let schema: any;

function schemaJson(): any {
  schema ??= JSON.parse(fs.readFileSync(SCHEMA_PATH, 'utf8'));
  return schema;
}

function compiledSchema() {
  if (!validator) {
    const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true });
    validator = ajv.compile(schemaJson());
  }
  return validator;
}

/** GitHub's limit on a label description, in characters, as the schema states it for the configuration. */
export function labelDescriptionLimit(): number {
  return schemaJson().properties.github.properties.remediationLabel.properties.description.maxLength;
}

/** `/github/bots/0` -> `github.bots[0]` */
function fieldName(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

function valueAt(root: unknown, pointer: string): unknown {
  return fieldName(pointer)
    .split(/\.|\[|\]/)
    .filter(Boolean)
    .reduce<any>((v, k) => (v === undefined || v === null ? undefined : v[k]), root);
}

function describe(error: ErrorObject, input: unknown): string {
  if (error.keyword === 'additionalProperties') {
    const field = fieldName(`${error.instancePath}/${error.params.additionalProperty}`);
    return `${field}: unknown field (expected one of the documented fields)`;
  }
  const field = fieldName(error.instancePath) || '(root)';
  const expected = error.keyword === 'enum' ? `must be one of ${JSON.stringify(error.params.allowedValues)}` : error.message;
  return `${field}: ${JSON.stringify(valueAt(input, error.instancePath))} ${expected}`;
}

/** Rules a JSON schema cannot say: they keep the cancellation scoped to one task's QA agents. */
function semanticIssues(c: ResolvedConfig): string[] {
  const issues: string[] = [];
  const impl = c.implementationAgent;
  if (c.qaSelector.key === impl.key && c.qaSelector.values.includes(impl.value)) {
    issues.push(
      `qaSelector.values: ${JSON.stringify(c.qaSelector.values)} includes the implementation agent ` +
        `${JSON.stringify(impl.value)} (expected only QA agents, never ${impl.key}=${impl.value})`,
    );
  }
  if (c.taskIdLabel === c.qaSelector.key) {
    issues.push(`taskIdLabel: ${JSON.stringify(c.taskIdLabel)} is also qaSelector.key (expected a separate task-id label)`);
  }
  const budget = c.job.lockWaitSeconds + c.job.githubDeadlineSeconds;
  if (c.job.activeDeadlineSeconds <= budget) {
    issues.push(
      `job.activeDeadlineSeconds: ${c.job.activeDeadlineSeconds} is not above lockWaitSeconds + githubDeadlineSeconds ` +
        `(${budget}); expected more, or the Job is killed while still retrying`,
    );
  }
  if (c.webhook.endpoint === '/') {
    issues.push('webhook.endpoint: "/" (expected a dedicated path such as "/agent-cancellation/github")');
  }
  return issues;
}

/**
 * Validates a parsed configuration and applies its defaults. Throws ConfigError listing every problem;
 * the input is not modified.
 */
export function resolveConfig(input: unknown, source = 'configuration'): ResolvedConfig {
  const candidate = input === undefined || input === null ? {} : structuredClone(input);
  const validate = compiledSchema();
  if (!validate(candidate)) {
    throw new ConfigError(source, (validate.errors ?? []).map((e) => describe(e, input)));
  }
  const withEvents = candidate as AgentCancellationConfig;
  const resolved = { ...withEvents, eventsNamespace: withEvents.eventsNamespace ?? withEvents.namespace } as ResolvedConfig;
  const issues = semanticIssues(resolved);
  if (issues.length) throw new ConfigError(source, issues);
  return resolved;
}

/** Reads and resolves a YAML configuration file. */
export function loadConfigFile(file: string): ResolvedConfig {
  let parsed: unknown;
  try {
    parsed = YAML.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(file, [`(file): ${(e as Error).message}`]);
  }
  return resolveConfig(parsed, file);
}

/** The label selector of the CodeRuns to cancel, without the per-event task-id term the Job adds. */
export function qaSelectorString(c: ResolvedConfig): string {
  const { key, values } = c.qaSelector;
  return `${key} in (${values.join(',')}),${c.implementationAgent.key}!=${c.implementationAgent.value}`;
}
