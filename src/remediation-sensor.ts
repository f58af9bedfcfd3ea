import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { Sensor, SensorSpecDependenciesFiltersData, SensorSpecTriggersTemplateK8SParameters } from '../imports/argoproj.io';
import { branchRefRegex, exactAlternation } from './filters';
import { EVENT_ENV } from './job-env';
import { RemediationJob } from './remediation-job';

/** The retry of the Job creation; Argo Events only honours it because the trigger is `atLeastOnce`. */
export interface TriggerRetry {
  /** @default 5 */
  readonly steps?: number;
  /** @default 1 */
  readonly durationSeconds?: number;
  /** @default 2 */
  readonly factor?: number;
  /** @default 0.2 */
  readonly jitter?: number;
}

export interface RemediationSensorProps {
  readonly namespace: string;
  /** Name of the Sensor and its ServiceAccount. */
  readonly name: string;
  /** The EventSource and event that deliver GitHub pushes. */
  readonly eventSourceName: string;
  /** @default "push" */
  readonly eventName?: string;
  /** `owner/name` of each accepted repository (GitHub compares them case-insensitively, and so does the filter). */
  readonly repositories: string[];
  /** `sender.login` of the implementation bot, matched whole. */
  readonly bots: string[];
  /** GitHub logins are case-insensitive; `exact` also rejects case variants. @default "insensitive" */
  readonly botLoginCase?: 'insensitive' | 'exact';
  /** @default "feature/task-{id}-implementation" */
  readonly branchPattern?: string;
  /** The Job each matching push launches. */
  readonly job: RemediationJob;
  /** @default "default" */
  readonly eventBusName?: string;
  /** @default 5 steps from 1 s, factor 2, jitter 0.2 */
  readonly retry?: TriggerRetry;
}

const DEPENDENCY = 'rex-push';

/**
 * The Sensor: it accepts only a push by the implementation bot to a task branch of an allowed repository,
 * and creates one remediation Job per such push, with the event's fields as the Job's env.
 */
export class RemediationSensor extends Construct {
  public readonly serviceAccount: kplus.ServiceAccount;
  /** The data filters, in order, as Argo Events evaluates them (all must pass). */
  public readonly filters: SensorSpecDependenciesFiltersData[];

  constructor(scope: Construct, id: string, props: RemediationSensorProps) {
    super(scope, id);
    if (props.bots.length === 0) throw new Error('bots: [] must name at least one login');
    if (props.repositories.length === 0) throw new Error('repositories: [] must name at least one owner/name');
    const botCase = props.botLoginCase ?? 'insensitive';
    if (botCase !== 'insensitive' && botCase !== 'exact') {
      throw new Error(`botLoginCase: ${JSON.stringify(botCase)} must be "insensitive" or "exact"`);
    }
    const refRegex = branchRefRegex(props.branchPattern ?? 'feature/task-{id}-implementation');
    const retry = props.retry ?? {};

    this.filters = [
      { path: 'body.X-GitHub-Event', type: 'string', value: ['^push$'] },
      { path: 'body.repository.full_name', type: 'string', value: [exactAlternation(props.repositories, true)] },
      { path: 'body.sender.login', type: 'string', value: [exactAlternation(props.bots, botCase === 'insensitive')] },
      { path: 'body.ref', type: 'string', value: [refRegex] },
      // A branch deletion is a push too; it has nothing to remediate.
      { path: 'body.deleted', type: 'bool', value: ['false'] },
      { path: 'body.after', type: 'string', value: ['^[0-9a-f]{40}([0-9a-f]{24})?$'] },
    ];

    const fromData = (key: keyof typeof EVENT_ENV, src: { dataKey: string } | { dataTemplate: string }) => ({
      src: { dependencyName: DEPENDENCY, ...src },
      dest: props.job.eventEnvPaths[key],
    });
    const taskIdTemplate = `{{ regexReplaceAll \`${refRegex}\` .Input.body.ref "\${1}" }}`;
    const parameters: SensorSpecTriggersTemplateK8SParameters[] = [
      fromData('repository', { dataKey: 'body.repository.full_name' }),
      fromData('branch', { dataTemplate: '{{ trimPrefix "refs/heads/" .Input.body.ref }}' }),
      fromData('headSha', { dataKey: 'body.after' }),
      fromData('deliveryId', { dataKey: 'body.X-GitHub-Delivery' }),
      fromData('taskId', { dataTemplate: taskIdTemplate }),
      // Epoch seconds in push payloads: the Job orders QA runs against it.
      fromData('pushedAt', { dataKey: 'body.repository.pushed_at' }),
      fromData('beforeSha', { dataKey: 'body.before' }),
      {
        src: { dependencyName: DEPENDENCY, dataTemplate: taskIdTemplate },
        // sjson path: the dots inside the label key are escaped.
        dest: `metadata.labels.${props.job.taskIdJobLabel.replace(/\./g, '\\.')}`,
      },
    ];

    const metadata = { name: props.name, namespace: props.namespace, labels: { 'app.kubernetes.io/part-of': 'agent-cancellation' } };
    this.serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', { metadata, automountToken: true });
    props.job.grantLaunch(this.serviceAccount);

    new Sensor(this, 'Resource', {
      metadata,
      spec: {
        eventBusName: props.eventBusName ?? 'default',
        template: { serviceAccountName: this.serviceAccount.name },
        dependencies: [
          {
            name: DEPENDENCY,
            eventSourceName: props.eventSourceName,
            eventName: props.eventName ?? 'push',
            filters: { dataLogicalOperator: 'and', data: this.filters },
          },
        ],
        triggers: [
          {
            template: {
              name: 'launch-remediation-job',
              k8S: { operation: 'create', source: { resource: props.job.manifest }, parameters },
            },
            atLeastOnce: true,
            retryStrategy: {
              steps: retry.steps ?? 5,
              duration: `${retry.durationSeconds ?? 1}s`,
              factor: retry.factor ?? 2,
              jitter: retry.jitter ?? 0.2,
            },
          },
        ],
      },
    });
  }
}
