import { Chart, ChartProps, Duration } from 'cdk8s';
import { Construct } from 'constructs';
import { AgentCancellationConfig, ResolvedConfig } from '../config/config';
import { resolveConfig } from '../config/resolve-config';
import { GitHubPushEventSource, GitHubPushEventSourceProps } from './github-push-event-source';
import { BotLoginCase, JobMode, RemediationMode } from '../contract/env';
import { CodeRunLocation } from './code-run-location';
import { parseCron, ReconcilerCronJob, ReconcilerCronJobProps } from './reconciler-cron-job';
import { RemediationJob } from './remediation-job';
import { RemediationJobProps } from './remediation-job-props';
import { Monitoring } from './monitoring';
import { EventSourceReference, RemediationSensor, RemediationSensorProps } from './remediation-sensor';
import { ScopeAdmissionPolicy } from './scope-admission-policy';

export interface AgentCancellationProps extends ChartProps {
  /** The installation's configuration; validated and defaulted here. @default the user's card (see README) */
  readonly config?: AgentCancellationConfig;
}

/**
 * The whole bundle: a GitHub EventSource, the Sensor that filters Rex's pushes, and the Job (with its RBAC)
 * that cancels one task's QA CodeRuns and flips the PR's labels, with the admission policy that confines it.
 */
export class AgentCancellation extends Chart {
  /** Absent when `existingEventSource` names one the cluster has. */
  public readonly eventSource?: GitHubPushEventSource;
  public readonly sensor: RemediationSensor;
  public readonly job: RemediationJob;
  /** Absent when `reconciler.enabled` is false. */
  public readonly reconciler?: ReconcilerCronJob;
  /** Absent when `admissionPolicy.enabled` is false. */
  public readonly scopePolicy?: ScopeAdmissionPolicy;
  /** Present when `monitoring.enabled` is true. */
  public readonly monitoring?: Monitoring;

  constructor(scope: Construct, id: string, props: AgentCancellationProps = {}) {
    super(scope, id, props);
    const c = resolveConfig(props.config ?? {}, 'config');
    this.job = new RemediationJob(this, 'Job', jobProps(c));
    if (c.admissionPolicy.enabled) {
      this.scopePolicy = new ScopeAdmissionPolicy(this, 'ScopePolicy', {
        job: this.job,
        qaSelector: c.qaSelector,
        implementationAgent: c.implementationAgent,
      });
    }
    if (c.reconciler.enabled) this.reconciler = new ReconcilerCronJob(this, 'Reconciler', reconcilerProps(c, this.job));
    const existing = c.existingEventSource.name ? c.existingEventSource : undefined;
    this.eventSource = existing ? undefined : new GitHubPushEventSource(this, 'EventSource', eventSourceProps(c));
    this.sensor = new RemediationSensor(this, 'Sensor', sensorProps(c, existing ?? this.eventSource!, this.job));
    if (c.monitoring.enabled) {
      this.monitoring = new Monitoring(this, 'Monitoring', {
        sensor: this.sensor,
        job: this.job,
        // An existing EventSource is monitored by whoever made it.
        eventSource: this.eventSource,
        reconciler: this.reconciler,
        labels: c.monitoring.labels,
        dashboardNamespace: c.monitoring.dashboardNamespace,
        runbookUrl: c.monitoring.runbookUrl,
      });
    }
  }
}

// The configuration's plain numbers and strings become the constructs' typed props below, and only here.

function jobProps(c: ResolvedConfig): RemediationJobProps {
  return {
    namespace: c.namespace,
    name: c.name,
    codeRun: { group: c.codeRun.group, version: c.codeRun.version, plural: c.codeRun.plural },
    qaSelector: c.qaSelector,
    implementationAgent: c.implementationAgent,
    taskIdLabel: c.taskIdLabel,
    repositoryScope: c.repositoryScope.from
      ? {
          location: CodeRunLocation.parse('repositoryScope.from', c.repositoryScope.from)!,
          format: c.repositoryScope.format,
          host: c.repositoryScope.host,
        }
      : undefined,
    runPhase: { location: CodeRunLocation.parse('codeRun.phaseFrom', c.codeRun.phaseFrom), finished: c.codeRun.finishedPhases },
    repositories: c.github.repositories,
    labels: {
      readyForQa: c.github.readyForQaLabel,
      remediation: c.github.remediationLabel.name,
      remediationColor: c.github.remediationLabel.color,
      remediationDescription: c.github.remediationLabel.description,
    },
    githubTokenSecret: c.github.tokenSecret,
    githubApp: c.github.app,
    githubGraphqlUrl: c.github.graphqlUrl,
    ordering: {
      clockSkew: Duration.seconds(c.ordering.clockSkewSeconds),
      revision: CodeRunLocation.parse('ordering.revision', c.ordering.revision),
    },
    remediationMode: c.mode as RemediationMode,
    optOutLabel: c.github.optOutLabel,
    mode: c.job.mode as JobMode,
    image: c.job.image,
    nodeImage: c.job.nodeImage,
    backoffLimit: c.job.backoffLimit,
    activeDeadline: Duration.seconds(c.job.activeDeadlineSeconds),
    ttlAfterFinished: Duration.seconds(c.job.ttlSecondsAfterFinished),
    githubDeadline: Duration.seconds(c.job.githubDeadlineSeconds),
    githubRequestTimeout: Duration.millis(c.job.githubRequestTimeoutMs),
    leaseDuration: Duration.seconds(c.job.leaseDurationSeconds),
    lockWait: Duration.seconds(c.job.lockWaitSeconds),
  };
}

function reconcilerProps(c: ResolvedConfig, job: RemediationJob): ReconcilerCronJobProps {
  const r = c.reconciler;
  return {
    job,
    schedule: parseCron('reconciler.schedule', r.schedule),
    pendingAfter: Duration.seconds(r.pendingSeconds),
    maxFailures: r.maxFailures,
    attentionAfter: Duration.seconds(r.attentionSeconds),
    retention: Duration.seconds(r.retentionSeconds),
    alertWebhookSecret: r.alertWebhookSecret,
    compensateForeignCommits: r.compensateForeignCommits,
    redelivery: r.redelivery,
    bots: c.github.bots,
    botLoginCase: c.github.botLoginCase as BotLoginCase,
    botCommitAuthors: c.github.botCommitAuthors,
    branchPattern: c.github.branchPattern,
  };
}

function eventSourceProps(c: ResolvedConfig): GitHubPushEventSourceProps {
  return {
    namespace: c.eventsNamespace,
    name: `${c.name}-github`,
    // An organization-wide webhook delivers every repository's pushes; the Sensor keeps the allowlist.
    ...(c.github.organizations.length ? { organizations: c.github.organizations } : { repositories: c.github.repositories }),
    webhookSecret: c.webhook.secret,
    port: c.webhook.port,
    endpoint: c.webhook.endpoint,
    url: c.webhook.url,
    eventBusName: c.eventBusName,
  };
}

function sensorProps(c: ResolvedConfig, eventSource: EventSourceReference, job: RemediationJob): RemediationSensorProps {
  return {
    namespace: c.eventsNamespace,
    name: `${c.name}-sensor`,
    eventSource,
    repositories: c.github.repositories,
    bots: c.github.bots,
    botLoginCase: c.github.botLoginCase as BotLoginCase,
    branchPattern: c.github.branchPattern,
    job,
    eventBusName: c.eventBusName,
    retry: {
      steps: c.sensor.retry.steps,
      duration: Duration.seconds(c.sensor.retry.durationSeconds),
      factor: c.sensor.retry.factor,
      jitter: c.sensor.retry.jitter,
    },
  };
}
