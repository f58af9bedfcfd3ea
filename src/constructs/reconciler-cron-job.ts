import { Cron, Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { RedeliveryConfig, SecretRef } from '../config/config';
import { DEFAULTS } from '../config/defaults';
import { branchRefRegex } from '../contract/filters';
import {
  ALERT_WEBHOOK_URL,
  BotLoginCase,
  encodeEnv,
  GITHUB_APP_KEY_PATH,
  RECONCILE_FIELDS,
  REDELIVERY_FIELDS,
  REDELIVERY_HOOK,
  REDELIVERY_KEY_FILE,
  REDELIVERY_KEY_PATH,
  REDELIVERY_TOKEN,
} from '../contract/env';
import { checkInteger, enumValue, wholeSeconds } from './prop-checks';
import { RemediationJob, RuntimeVolume, secretFile } from './remediation-job';

export interface ReconcilerCronJobProps {
  /** The remediation Job whose bundle, ServiceAccount, RBAC and settings the reconciler shares. */
  readonly job: RemediationJob;
  /** Logins of the implementation bots: the resync acts on their pushes, compensation on everyone else's. */
  readonly bots: string[];
  /** Git author names or emails the bots commit with, for commits GitHub links to no login. @default DEFAULTS.github.botCommitAuthors */
  readonly botCommitAuthors?: string[];
  /** The implementation branch, `{id}` standing for the task id: the resync's PRs. @default DEFAULTS.github.branchPattern */
  readonly branchPattern?: string;
  /** @default DEFAULTS.github.botLoginCase */
  readonly botLoginCase?: BotLoginCase;
  /** @default false */
  readonly suspend?: boolean;
  /** When passes run; its expression must have 5 fields. @default DEFAULTS.reconciler.schedule */
  readonly schedule?: Cron;
  /** A pending push untouched this long is resumed, in whole seconds. @default Duration.seconds(DEFAULTS.reconciler.pendingSeconds) */
  readonly pendingAfter?: Duration;
  /** Failed repairs of one PR before it is flagged for a person. @default DEFAULTS.reconciler.maxFailures */
  readonly maxFailures?: number;
  /** A push still pending this long after it started is flagged for a person, in whole seconds, at least 1. @default Duration.seconds(DEFAULTS.reconciler.attentionSeconds) */
  readonly attentionAfter?: Duration;
  /** Finished state Leases are deleted this long after their last update, in whole seconds. @default Duration.seconds(DEFAULTS.reconciler.retentionSeconds) */
  readonly retention?: Duration;
  /**
   * Secret key holding the URL that needs-attention alerts are POSTed to (Slack-compatible JSON). The reference
   * is optional at run time: without the Secret, alerts are the Event and the Lease label only.
   * @default - no webhook (the app's configuration defaults to DEFAULTS.reconciler.alertWebhookSecret)
   */
  readonly alertWebhookSecret?: SecretRef;
  /** Restore the labels of a remediated PR whose head commit's author is none of the bots. @default DEFAULTS.reconciler.compensateForeignCommits */
  readonly compensateForeignCommits?: boolean;
  /** The webhook whose failed deliveries each pass redelivers. @default - none */
  readonly redelivery?: Required<RedeliveryConfig>;
}

/**
 * The redelivery's env, and its key file in `volumes` when it needs one. An organization's hook: the token from its
 * Secret. The App's hook: its private key as a file, `github.app`'s own when it is the same App, else the Secret's
 * key mounted at REDELIVERY_KEY_PATH; a private key is never an env variable.
 */
function redeliveryEnv(job: RemediationJob, r: Required<RedeliveryConfig>, volumes: RuntimeVolume[]): k8s.EnvVar[] {
  const m = REDELIVERY_HOOK.exec(r.hook);
  if (!m) throw new Error(`redelivery.hook: ${JSON.stringify(r.hook)} is not org:<org>/<hook id> or app:<app id>`);
  const env: k8s.EnvVar[] = encodeEnv(REDELIVERY_FIELDS, { hook: r.hook, restUrl: r.restUrl, cursorLease: `${job.prefix}-redelivery` });
  const appId = m[3];
  if (!appId) {
    const { name, key } = r.credentialSecret;
    return [...env, { name: REDELIVERY_TOKEN.name, valueFrom: { secretKeyRef: { name, key } } }];
  }
  const sameApp = job.githubApp?.appId === Number(appId);
  if (!sameApp) volumes.push(secretFile('redelivery-key', r.credentialSecret, REDELIVERY_KEY_PATH));
  return [
    ...env,
    { name: REDELIVERY_KEY_FILE.name, value: REDELIVERY_KEY_FILE.encode(sameApp ? GITHUB_APP_KEY_PATH : REDELIVERY_KEY_PATH) },
  ];
}

/** The 5 fields of the macros Kubernetes accepts, so that a configured macro becomes a `Cron`. */
const CRON_MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** A 5-field cron expression, or one of Kubernetes' `@` macros, as a `Cron`; throws naming `field` otherwise. */
export function parseCron(field: string, expression: string): Cron {
  const fields = (CRON_MACROS[expression.trim()] ?? expression).trim().split(/\s+/);
  if (fields.length !== 5) throw new Error(`${field}: ${JSON.stringify(expression)} must be a cron expression of 5 fields`);
  const [minute, hour, day, month, weekDay] = fields;
  return Cron.schedule({ minute, hour, day, month, weekDay });
}

/**
 * The reconciler: a CronJob running the Job's bundle with `reconcile`, as the Job's ServiceAccount, so it has
 * exactly the Job's permissions and takes the same per-PR Leases. Run a pass now with
 * `kubectl create job --from=cronjob/<prefix>-reconciler <name>`.
 */
export class ReconcilerCronJob extends Construct {
  public readonly name: string;
  /** The schedule's cron expression. */
  public readonly schedule: string;

  constructor(scope: Construct, id: string, props: ReconcilerCronJobProps) {
    super(scope, id);
    const { job } = props;
    this.schedule = parseCron('schedule', props.schedule?.expressionString ?? DEFAULTS.reconciler.schedule).expressionString;
    const d = DEFAULTS.reconciler;
    const compensate = props.compensateForeignCommits ?? d.compensateForeignCommits;
    const maxFailures = props.maxFailures ?? d.maxFailures;
    checkInteger('maxFailures', maxFailures, 1);
    const botLoginCase = enumValue('botLoginCase', BotLoginCase, props.botLoginCase, DEFAULTS.github.botLoginCase);
    const bots = props.bots;
    const commitAuthors = props.botCommitAuthors ?? DEFAULTS.github.botCommitAuthors;
    if (bots.length + commitAuthors.length === 0) throw new Error('bots: [] must name the implementation bot (or set botCommitAuthors)');
    const branchPattern = props.branchPattern ?? DEFAULTS.github.branchPattern;
    branchRefRegex(branchPattern);

    const env: k8s.EnvVar[] = encodeEnv(RECONCILE_FIELDS, {
      pendingSeconds: wholeSeconds('pendingAfter', props.pendingAfter ?? Duration.seconds(d.pendingSeconds), 0),
      maxFailures,
      attentionSeconds: wholeSeconds('attentionAfter', props.attentionAfter ?? Duration.seconds(d.attentionSeconds), 1),
      retentionSeconds: wholeSeconds('retention', props.retention ?? Duration.seconds(d.retentionSeconds), 0),
      compensateForeignCommits: compensate,
      bots,
      botLoginCase,
      botCommitAuthors: commitAuthors,
      branchPattern,
    });
    if (props.alertWebhookSecret) {
      const { name, key } = props.alertWebhookSecret;
      env.push({ name: ALERT_WEBHOOK_URL.name, valueFrom: { secretKeyRef: { name, key, optional: true } } });
    }
    const volumes: RuntimeVolume[] = [];
    if (props.redelivery?.hook) env.push(...redeliveryEnv(job, props.redelivery, volumes));

    this.name = `${job.prefix}-reconciler`;
    const template = job.podTemplate('reconciler', ['reconcile'], env, volumes);
    new k8s.KubeCronJob(this, 'Resource', {
      metadata: { name: this.name, namespace: job.namespace, labels: template.metadata!.labels },
      spec: {
        schedule: this.schedule,
        suspend: props.suspend ?? false,
        // Passes never overlap; the per-PR Leases would keep them apart anyway.
        concurrencyPolicy: 'Forbid',
        startingDeadlineSeconds: 300,
        successfulJobsHistoryLimit: 1,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          metadata: { labels: template.metadata!.labels },
          // A failed pass is not retried: the next one starts from a fresh read.
          spec: { backoffLimit: 0, activeDeadlineSeconds: 900, template },
        },
      },
    });
  }
}
