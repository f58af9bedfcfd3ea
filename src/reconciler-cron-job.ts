import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { ReconcilerOptions } from './config';
import { DEFAULTS } from './defaults';
import { branchRefRegex } from './filters';
import { RECONCILE_ENV } from './job-env';
import { checkInteger, RemediationJob } from './remediation-job';

export interface ReconcilerCronJobProps extends ReconcilerOptions {
  /** The remediation Job whose bundle, ServiceAccount, RBAC and settings the reconciler shares. */
  readonly job: RemediationJob;
  /** Logins of the implementation bots: the resync acts on their pushes, compensation on everyone else's. */
  readonly bots: string[];
  /** Git author names or emails the bots commit with, for commits GitHub links to no login. @default DEFAULTS.github.botCommitAuthors */
  readonly botCommitAuthors?: string[];
  /** The implementation branch, `{id}` standing for the task id: the resync's PRs. @default DEFAULTS.github.branchPattern */
  readonly branchPattern?: string;
  /** @default DEFAULTS.github.botLoginCase */
  readonly botLoginCase?: 'insensitive' | 'exact';
  /** @default false */
  readonly suspend?: boolean;
}

const CRON = /^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\S+\s+){4}\S+)$/;

function integer(field: string, value: number, min: number): string {
  checkInteger(field, value, min);
  return String(value);
}

/**
 * The reconciler: a CronJob running the Job's bundle with `reconcile`, as the Job's ServiceAccount, so it has
 * exactly the Job's permissions and takes the same per-PR Leases. Run a pass now with
 * `kubectl create job --from=cronjob/<prefix>-reconciler <name>`.
 */
export class ReconcilerCronJob extends Construct {
  public readonly name: string;
  public readonly schedule: string;

  constructor(scope: Construct, id: string, props: ReconcilerCronJobProps) {
    super(scope, id);
    const { job } = props;
    this.schedule = props.schedule ?? DEFAULTS.reconciler.schedule;
    if (!CRON.test(this.schedule.trim())) throw new Error(`schedule: ${JSON.stringify(this.schedule)} must be a cron expression of 5 fields`);
    const compensate = props.compensateForeignCommits ?? DEFAULTS.reconciler.compensateForeignCommits;
    const bots = props.bots;
    const commitAuthors = props.botCommitAuthors ?? DEFAULTS.github.botCommitAuthors;
    if (bots.length + commitAuthors.length === 0) throw new Error('bots: [] must name the implementation bot (or set botCommitAuthors)');
    const branchPattern = props.branchPattern ?? DEFAULTS.github.branchPattern;
    branchRefRegex(branchPattern);

    const env: k8s.EnvVar[] = [
      { name: RECONCILE_ENV.pendingSeconds, value: integer('pendingSeconds', props.pendingSeconds ?? DEFAULTS.reconciler.pendingSeconds, 0) },
      { name: RECONCILE_ENV.maxFailures, value: integer('maxFailures', props.maxFailures ?? DEFAULTS.reconciler.maxFailures, 1) },
      { name: RECONCILE_ENV.attentionSeconds, value: integer('attentionSeconds', props.attentionSeconds ?? DEFAULTS.reconciler.attentionSeconds, 1) },
      { name: RECONCILE_ENV.retentionSeconds, value: integer('retentionSeconds', props.retentionSeconds ?? DEFAULTS.reconciler.retentionSeconds, 0) },
      { name: RECONCILE_ENV.compensateForeignCommits, value: String(compensate) },
      { name: RECONCILE_ENV.bots, value: bots.join(',') },
      { name: RECONCILE_ENV.botCommitAuthors, value: commitAuthors.join(',') },
      { name: RECONCILE_ENV.branchPattern, value: branchPattern },
      { name: RECONCILE_ENV.botLoginCase, value: props.botLoginCase ?? DEFAULTS.github.botLoginCase },
    ];
    if (props.alertWebhookSecret) {
      const { name, key } = props.alertWebhookSecret;
      env.push({ name: RECONCILE_ENV.alertWebhookUrl, valueFrom: { secretKeyRef: { name, key, optional: true } } });
    }

    this.name = `${job.prefix}-reconciler`;
    const template = job.podTemplate('reconciler', ['reconcile'], env);
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
