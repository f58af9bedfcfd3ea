import { BotLoginCase, JobMode, RemediationMode } from '../contract/env';
import { MonitoringConfig } from './monitoring-config';
import { ImplementationAgent, QaSelector } from './safety-rules';

/** A Kubernetes Secret key that already exists in the cluster; only its name and key reach the manifests. */
export interface SecretRef {
  readonly name: string;
  readonly key: string;
}

/** A GitHub App the Job and the reconciler act as, instead of a token (docs/github-app.md). */
export interface GitHubAppConfig {
  /** The App's id (its settings page: "App ID"). */
  readonly appId: number;
  /** The installation on the repositories' owner. @default - looked up from the repository, once per run */
  readonly installationId?: number;
  /** Existing Secret key holding the App's private key (PEM); mounted as a file, never an env variable. */
  readonly privateKeySecret: SecretRef;
}

/** How the remediation Job runs, as the configuration says it (AgentCancellation turns it into RemediationJobProps). */
export interface JobConfig {
  /** `configmap` runs the bundle from a ConfigMap on `nodeImage`; `image` runs `image`. @default DEFAULTS.job.mode */
  readonly mode?: JobMode | `${JobMode}`;
  /** @default DEFAULTS.job.image */
  readonly image?: string;
  /** Digest-pinned Node.js image for configmap mode. @default DEFAULTS.job.nodeImage */
  readonly nodeImage?: string;
  /** @default DEFAULTS.job.backoffLimit */
  readonly backoffLimit?: number;
  /** @default DEFAULTS.job.activeDeadlineSeconds */
  readonly activeDeadlineSeconds?: number;
  /** @default DEFAULTS.job.ttlSecondsAfterFinished */
  readonly ttlSecondsAfterFinished?: number;
  /** How long the Job keeps retrying GitHub. @default DEFAULTS.job.githubDeadlineSeconds */
  readonly githubDeadlineSeconds?: number;
  /** Timeout of each GitHub request, in milliseconds. @default DEFAULTS.job.githubRequestTimeoutMs */
  readonly githubRequestTimeoutMs?: number;
  /** @default DEFAULTS.job.leaseDurationSeconds */
  readonly leaseDurationSeconds?: number;
  /** @default DEFAULTS.job.lockWaitSeconds */
  readonly lockWaitSeconds?: number;
}

/** How the reconciler runs, as the configuration says it (AgentCancellation turns it into ReconcilerCronJobProps). */
export interface ReconcilerConfig {
  /** When passes run, as a 5-field cron expression. @default DEFAULTS.reconciler.schedule */
  readonly schedule?: string;
  /** A pending push untouched this long is resumed by the reconciler. @default DEFAULTS.reconciler.pendingSeconds */
  readonly pendingSeconds?: number;
  /** Failed repairs of one PR before it is flagged for a person. @default DEFAULTS.reconciler.maxFailures */
  readonly maxFailures?: number;
  /** A push still pending this long after it started is flagged for a person. @default DEFAULTS.reconciler.attentionSeconds */
  readonly attentionSeconds?: number;
  /** Finished state Leases are deleted this long after their last update. @default DEFAULTS.reconciler.retentionSeconds */
  readonly retentionSeconds?: number;
  /**
   * Secret key holding the URL that needs-attention alerts are POSTed to (Slack-compatible JSON). The reference
   * is optional at run time: without the Secret, alerts are the Event and the Lease label only.
   * @default - no webhook (the app's configuration defaults to agent-cancellation-alert-webhook / url)
   */
  readonly alertWebhookSecret?: SecretRef;
  /** Restore the labels of a remediated PR whose head commit's author is none of the bots. @default DEFAULTS.reconciler.compensateForeignCommits */
  readonly compensateForeignCommits?: boolean;
  /** GitHub's redelivery of the webhook's failed deliveries, beside the resync. @default DEFAULTS.reconciler.redelivery (off) */
  readonly redelivery?: RedeliveryConfig;
}

/** Which webhook the reconciler lists the deliveries of, and redelivers the failed ones. */
export interface RedeliveryConfig {
  /** `org:<org>/<hook id>` (an organization webhook), `app:<app id>` (the GitHub App's webhook), or empty: off. @default DEFAULTS.reconciler.redelivery.hook */
  readonly hook?: string;
  /**
   * Secret key with a token that may read the organization's hook (an env variable), or the App's private key (PEM),
   * mounted as a read-only file; unused for the App of `github.app`, whose key file is reused.
   * @default DEFAULTS.reconciler.redelivery.credentialSecret
   */
  readonly credentialSecret?: SecretRef;
  /** GitHub's REST API. @default DEFAULTS.reconciler.redelivery.restUrl */
  readonly restUrl?: string;
}

/**
 * The configuration of one agent-cancellation installation, as read from YAML.
 * Every field is optional; `resolveConfig` fills the defaults (the user's card) from DEFAULTS (src/config/defaults.ts).
 */
export interface AgentCancellationConfig {
  /** Prefix of every object name. @default DEFAULTS.name */
  readonly name?: string;
  /** Namespace of the CodeRuns; the Job, its RBAC and its Leases live there too. @default DEFAULTS.namespace */
  readonly namespace?: string;
  /** Namespace of the EventSource and Sensor, which needs an EventBus. @default - same as `namespace` */
  readonly eventsNamespace?: string;
  /** EventBus the EventSource and Sensor use. @default DEFAULTS.eventBusName */
  readonly eventBusName?: string;
  /**
   * An EventSource already in `eventsNamespace` that delivers the organization's webhooks (every event type),
   * for the Sensor to subscribe to: then no EventSource, Service or second webhook is made, and `webhook` and
   * `github.organizations` do not apply. Both fields or neither. @default DEFAULTS.existingEventSource (none: make one)
   */
  readonly existingEventSource?: {
    /** Its `metadata.name`. */
    readonly name?: string;
    /** The event name its `github` entry has, the key under `spec.github`. */
    readonly eventName?: string;
  };
  /** `observe` decides and records without changing anything (shadow mode). @default DEFAULTS.mode */
  readonly mode?: RemediationMode | `${RemediationMode}`;
  /** The CodeRun custom resource. @default DEFAULTS.codeRun */
  readonly codeRun?: {
    readonly group?: string;
    readonly version?: string;
    readonly kind?: string;
    readonly plural?: string;
    /** `label:<key>`, `annotation:<key>` or `field:<path>`: where a run records its phase. @default DEFAULTS.codeRun.phaseFrom */
    readonly phaseFrom?: string;
    /**
     * Phases of a finished run, which is history and never cancelled; a run with no phase yet is active. Empty:
     * every run is active. @default DEFAULTS.codeRun.finishedPhases
     */
    readonly finishedPhases?: string[];
  };
  /** QA agents to cancel, as `key in (values)`; the task-id term is always added. @default DEFAULTS.qaSelector */
  readonly qaSelector?: Partial<QaSelector>;
  /** The implementation agent's label, which the selector excludes. @default DEFAULTS.implementationAgent */
  readonly implementationAgent?: Partial<ImplementationAgent>;
  /** Label holding the task id on CodeRuns. @default DEFAULTS.taskIdLabel */
  readonly taskIdLabel?: string;
  /**
   * Where each CodeRun names its repository (README: "One organization, many repositories"). Task ids are per
   * repository, so this is required when `github.repositories` allows more than one.
   */
  readonly repositoryScope?: {
    /** `label:<key>`, `annotation:<key>` or `field:<path>`; empty: a single repository. @default DEFAULTS.repositoryScope.from */
    readonly from?: string;
    /**
     * How the value spells `owner/name`: with `{owner}` and `{name}`, or `github` for any spelling GitHub and git
     * use (`owner/name`, its https or ssh URL, with or without `.git`, any case). @default DEFAULTS.repositoryScope.format
     */
    readonly format?: string;
    /** The GitHub host of the URLs that the `github` format reads. @default - the web host of `github.graphqlUrl` (github.com) */
    readonly host?: string;
  };
  readonly github?: {
    /** `owner/name` of every repository served, or `owner/*` for all of an owner's. @default DEFAULTS.github.repositories */
    readonly repositories?: string[];
    /**
     * Organizations whose organization-wide webhook delivers to the EventSource, instead of one webhook per
     * repository. The Sensor still accepts only `repositories`. @default DEFAULTS.github.organizations
     */
    readonly organizations?: string[];
    /** `sender.login` of the implementation bot, matched whole. @default DEFAULTS.github.bots */
    readonly bots?: string[];
    /** How logins and repositories compare: GitHub treats them case-insensitively. @default DEFAULTS.github.botLoginCase */
    readonly botLoginCase?: BotLoginCase | `${BotLoginCase}`;
    /** Git author names or emails the bots commit with, for the reconciler's resync. @default DEFAULTS.github.botCommitAuthors */
    readonly botCommitAuthors?: string[];
    /** The implementation branch, `{id}` standing for the numeric task id. @default DEFAULTS.github.branchPattern */
    readonly branchPattern?: string;
    /** @default DEFAULTS.github.readyForQaLabel */
    readonly readyForQaLabel?: string;
    /** A PR carrying this label is left alone by the Job and the reconciler. @default DEFAULTS.github.optOutLabel */
    readonly optOutLabel?: string;
    /** @default DEFAULTS.github.remediationLabel */
    readonly remediationLabel?: { readonly name?: string; readonly color?: string; readonly description?: string };
    /** @default DEFAULTS.github.graphqlUrl */
    readonly graphqlUrl?: string;
    /**
     * Secret with a token allowed to read PRs and write labels. Exclusive with `app`: setting `app` alone drops
     * this default. @default DEFAULTS.github.tokenSecret
     */
    readonly tokenSecret?: SecretRef;
    /** Act as this GitHub App, minting a token per run. Exclusive with `tokenSecret`. @default - none: a token */
    readonly app?: GitHubAppConfig;
  };
  readonly webhook?: {
    /** @default DEFAULTS.webhook.port */
    readonly port?: number;
    /** @default DEFAULTS.webhook.endpoint */
    readonly endpoint?: string;
    /** Public URL GitHub delivers to, recorded in the EventSource. @default DEFAULTS.webhook.url */
    readonly url?: string;
    /** Secret with the webhook's HMAC secret. @default DEFAULTS.webhook.secret */
    readonly secret?: SecretRef;
  };
  /** Which QA runs a push made stale (docs/ordering.md). */
  readonly ordering?: {
    /** How far GitHub's clock may run ahead of the cluster's, in seconds. @default DEFAULTS.ordering.clockSkewSeconds */
    readonly clockSkewSeconds?: number;
    /** `label:<key>`, `annotation:<key>` or `field:<path>`: where CodeRuns record their revision. @default DEFAULTS.ordering.revision */
    readonly revision?: string;
  };
  readonly job?: JobConfig;
  /** The reconciler CronJob. @default DEFAULTS.reconciler */
  readonly reconciler?: ReconcilerConfig & {
    /** @default DEFAULTS.reconciler.enabled */
    readonly enabled?: boolean;
  };
  /**
   * The ValidatingAdmissionPolicy that lets the Job's ServiceAccount delete only QA CodeRuns and touch only its own
   * Leases (admissionregistration.k8s.io/v1: Kubernetes 1.30+; turn off for older clusters).
   */
  readonly admissionPolicy?: {
    /** @default DEFAULTS.admissionPolicy.enabled */
    readonly enabled?: boolean;
  };
  readonly sensor?: {
    /** Retries of the Job creation by the Sensor. @default DEFAULTS.sensor.retry */
    readonly retry?: {
      readonly steps?: number;
      readonly durationSeconds?: number;
      readonly factor?: number;
      readonly jitter?: number;
    };
  };
  /** PodMonitors, alerts and a dashboard for prometheus-operator and Grafana. @default DEFAULTS.monitoring (off) */
  readonly monitoring?: MonitoringConfig;
}

type DeepRequired<T> = T extends (infer U)[] ? U[] : T extends object ? { readonly [K in keyof T]-?: DeepRequired<T[K]> } : T;

type GitHubSection = NonNullable<AgentCancellationConfig['github']>;

/** A configuration with every default applied and every rule checked; exactly one of `github.tokenSecret` and `github.app`. */
export type ResolvedConfig = DeepRequired<Omit<AgentCancellationConfig, 'github'>> & {
  readonly github: DeepRequired<Omit<GitHubSection, 'tokenSecret' | 'app'>> & {
    readonly tokenSecret?: SecretRef;
    readonly app?: GitHubAppConfig;
  };
};
