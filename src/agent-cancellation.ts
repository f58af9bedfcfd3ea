import { Chart, ChartProps, Duration } from 'cdk8s';
import { Construct } from 'constructs';
import { AgentCancellationConfig, qaSelectorString, resolveConfig } from './config';
import { GitHubPushEventSource } from './github-push-event-source';
import { RevisionLocation } from './ordering-options';
import { ReconcilerCronJob } from './reconciler-cron-job';
import { RemediationJob } from './remediation-job';
import { RemediationSensor } from './remediation-sensor';
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
  public readonly eventSource: GitHubPushEventSource;
  public readonly sensor: RemediationSensor;
  public readonly job: RemediationJob;
  /** Absent when `reconciler.enabled` is false. */
  public readonly reconciler?: ReconcilerCronJob;
  /** Absent when `admissionPolicy.enabled` is false. */
  public readonly scopePolicy?: ScopeAdmissionPolicy;

  constructor(scope: Construct, id: string, props: AgentCancellationProps = {}) {
    super(scope, id, props);
    const c = resolveConfig(props.config ?? {}, 'config');

    this.job = new RemediationJob(this, 'Job', {
      namespace: c.namespace,
      name: c.name,
      codeRun: c.codeRun,
      qaSelector: qaSelectorString(c),
      taskIdLabel: c.taskIdLabel,
      repositories: c.github.repositories,
      labels: {
        readyForQa: c.github.readyForQaLabel,
        remediation: c.github.remediationLabel.name,
        remediationColor: c.github.remediationLabel.color,
        remediationDescription: c.github.remediationLabel.description,
      },
      githubTokenSecret: c.github.tokenSecret,
      githubGraphqlUrl: c.github.graphqlUrl,
      ordering: { clockSkew: Duration.seconds(c.ordering.clockSkewSeconds), revision: RevisionLocation.parse(c.ordering.revision) },
      ...c.job,
    });

    if (c.admissionPolicy.enabled) {
      this.scopePolicy = new ScopeAdmissionPolicy(this, 'ScopePolicy', {
        job: this.job,
        qaSelector: c.qaSelector,
        implementationAgent: c.implementationAgent,
      });
    }

    if (c.reconciler.enabled) {
      const { enabled: _, ...reconciler } = c.reconciler;
      this.reconciler = new ReconcilerCronJob(this, 'Reconciler', {
        job: this.job,
        ...reconciler,
        bots: c.github.bots,
        botLoginCase: c.github.botLoginCase,
        botCommitAuthors: c.github.botCommitAuthors,
        branchPattern: c.github.branchPattern,
      });
    }

    this.eventSource = new GitHubPushEventSource(this, 'EventSource', {
      namespace: c.eventsNamespace,
      name: `${c.name}-github`,
      repositories: c.github.repositories,
      webhookSecret: c.webhook.secret,
      port: c.webhook.port,
      endpoint: c.webhook.endpoint,
      url: c.webhook.url,
      eventBusName: c.eventBusName,
    });

    this.sensor = new RemediationSensor(this, 'Sensor', {
      namespace: c.eventsNamespace,
      name: `${c.name}-sensor`,
      eventSourceName: this.eventSource.name,
      eventName: this.eventSource.eventName,
      repositories: c.github.repositories,
      bots: c.github.bots,
      botLoginCase: c.github.botLoginCase,
      branchPattern: c.github.branchPattern,
      job: this.job,
      eventBusName: c.eventBusName,
      retry: c.sensor.retry,
    });
  }
}
