import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { Sensor, SensorSpecDependenciesFiltersData, SensorSpecTriggersTemplateK8SParameters } from '../../imports/argoproj.io';
import { DEFAULTS } from '../config/defaults';
import { eventSources, EventValues, input, PAYLOAD } from './event-parameters';
import { SHA } from '../contract/env';
import { branchRefRegex, branchRegex, exactAlternation, NULL_SHA, repositoryAlternation } from '../contract/filters';
import { BotLoginCase, EVENT_ENV, PR_ACTIONS } from '../contract/env';
import { enumValue, wholeSeconds } from './prop-checks';
import { PART_OF } from './common-labels';
import { RemediationJob } from './remediation-job';

/** The retry of the Job creation; Argo Events only honours it because the trigger is `atLeastOnce`. */
export interface TriggerRetry {
  /** Retry steps before the trigger gives up. @default DEFAULTS.sensor.retry.steps */
  readonly steps?: number;
  /** Wait before the first retry, in whole seconds, at least 1. @default Duration.seconds(DEFAULTS.sensor.retry.durationSeconds) */
  readonly duration?: Duration;
  /** Each wait is the previous one times this. @default DEFAULTS.sensor.retry.factor */
  readonly factor?: number;
  /** Random extra fraction of each wait. @default DEFAULTS.sensor.retry.jitter */
  readonly jitter?: number;
}

/**
 * The EventSource event a Sensor subscribes to: a GitHubPushEventSource, or one the cluster already has, such as
 * an organization's EventSource delivering every event type (the Sensor checks `X-GitHub-Event` either way).
 */
export interface EventSourceReference {
  /** The EventSource's `metadata.name`, in the Sensor's namespace. */
  readonly name: string;
  /** The key of its `github` entry. */
  readonly eventName: string;
}

export interface RemediationSensorProps {
  /** Namespace of the Sensor and its ServiceAccount; it needs an EventBus. */
  readonly namespace: string;
  /** Name of the Sensor and its ServiceAccount. */
  readonly name: string;
  /** The EventSource event that delivers GitHub pushes and pull_request events. */
  readonly eventSource: EventSourceReference;
  /** `owner/name` of each accepted repository (GitHub compares them case-insensitively, and so does the filter). */
  readonly repositories: string[];
  /** `sender.login` of the implementation bot, matched whole. */
  readonly bots: string[];
  /** @default DEFAULTS.github.botLoginCase */
  readonly botLoginCase?: BotLoginCase;
  /** The implementation branch, `{id}` standing for the task id. @default DEFAULTS.github.branchPattern */
  readonly branchPattern?: string;
  /** The Job each matching push launches. */
  readonly job: RemediationJob;
  /** @default DEFAULTS.eventBusName */
  readonly eventBusName?: string;
  /** @default DEFAULTS.sensor.retry */
  readonly retry?: TriggerRetry;
}

const PUSH = 'rex-push';
const PR_ENDED = 'task-pr-ended';
/** `updated_at` of a pull_request payload: ISO 8601 in UTC, whole seconds. */
const ISO_TIME = '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$';

/**
 * The Sensor: it accepts a push by the implementation bot to a task branch of an allowed repository, and a task
 * branch's PR closed, merged or converted to draft, and creates one remediation Job per such event, with the
 * event's fields as the Job's env.
 */
export class RemediationSensor extends Construct {
  public readonly serviceAccount: kplus.ServiceAccount;
  /** The push dependency's data filters, in order, as Argo Events evaluates them (all must pass). */
  public readonly filters: SensorSpecDependenciesFiltersData[];
  /** The PR dependency's data filters: closed or converted to draft, on a task branch of an allowed repository. */
  public readonly prFilters: SensorSpecDependenciesFiltersData[];
  public readonly name: string;
  public readonly namespace: string;
  /** The triggers creating the Job, as Argo Events' metrics label them (`trigger_name`). */
  public readonly triggerNames: string[];
  /** Their dead-letter triggers, which fire once a trigger's retries are exhausted. */
  public readonly deadLetterTriggerNames: string[];

  constructor(scope: Construct, id: string, props: RemediationSensorProps) {
    super(scope, id);
    if (props.bots.length === 0) throw new Error('bots: [] must name at least one login');
    if (props.repositories.length === 0) throw new Error('repositories: [] must name at least one owner/name');
    const botCase = enumValue('botLoginCase', BotLoginCase, props.botLoginCase, DEFAULTS.github.botLoginCase);
    const branchPattern = props.branchPattern ?? DEFAULTS.github.branchPattern;
    const refRegex = branchRefRegex(branchPattern);
    const headRegex = branchRegex(branchPattern);
    const repositories = repositoryAlternation(props.repositories);
    this.filters = pushFilters(repositories, exactAlternation(props.bots, botCase === BotLoginCase.INSENSITIVE), refRegex);
    this.prFilters = prEndedFilters(repositories, headRegex);

    const metadata = { name: props.name, namespace: props.namespace, labels: PART_OF };
    this.serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', { metadata, automountToken: true });
    props.job.grantLaunch(this.serviceAccount);
    // The dead-letter trigger's Events.
    const recordRole = new kplus.Role(this, 'RecordRole', { metadata: { ...metadata, name: `${props.name}-record-dropped` } });
    recordRole.allow(['create'], kplus.ApiResource.EVENTS);
    new kplus.RoleBinding(this, 'RecordRoleBinding', {
      metadata: { ...metadata, name: `${props.name}-record-dropped` },
      role: recordRole,
    }).addSubjects(this.serviceAccount);

    const dependency = (name: string, data: SensorSpecDependenciesFiltersData[]) => ({
      name,
      eventSourceName: props.eventSource.name,
      eventName: props.eventSource.eventName,
      filters: { dataLogicalOperator: 'and', data },
    });
    const parameters = eventParameters(props.job, eventSources(refRegex, headRegex));
    const trigger = jobTrigger(props);
    const triggers = [
      trigger('launch-remediation-job', PUSH, parameters(PUSH, 'push')),
      trigger('launch-pr-ended-job', PR_ENDED, parameters(PR_ENDED, 'prEnded')),
    ];
    this.name = props.name;
    this.namespace = props.namespace;
    this.triggerNames = triggers.map((t) => t.template.name);
    this.deadLetterTriggerNames = triggers.map((t) => t.dlqTrigger.template.name);
    new Sensor(this, 'Resource', {
      metadata,
      spec: {
        eventBusName: props.eventBusName ?? DEFAULTS.eventBusName,
        template: { serviceAccountName: this.serviceAccount.name },
        dependencies: [dependency(PUSH, this.filters), dependency(PR_ENDED, this.prFilters)],
        triggers,
      },
    });
  }
}

/** A bot's push of a commit to a task branch of an allowed repository. */
function pushFilters(repositories: string, bots: string, refRegex: string): SensorSpecDependenciesFiltersData[] {
  return [
    { path: PAYLOAD.event, type: 'string', value: ['^push$'] },
    { path: PAYLOAD.repository, type: 'string', value: [repositories] },
    { path: PAYLOAD.sender, type: 'string', value: [bots] },
    { path: PAYLOAD.ref, type: 'string', value: [refRegex] },
    // A branch deletion is a push too; it has nothing to remediate.
    { path: PAYLOAD.deleted, type: 'bool', value: ['false'] },
    { path: PAYLOAD.after, type: 'string', value: [SHA.source] },
    // `deleted` alone is not enough: GitHub has sent zeros with `deleted: false`, and there is no commit to act on.
    { path: PAYLOAD.after, type: 'string', value: [NULL_SHA], comparator: '!=' },
  ];
}

/**
 * A task branch's PR closed or converted to draft. No sender filter: people, merge bots and GitHub itself close
 * PRs. Only those with write access to the base repository can close or convert a PR whose head is in it, and a
 * fork's PR (head elsewhere) never matches.
 */
function prEndedFilters(repositories: string, headRegex: string): SensorSpecDependenciesFiltersData[] {
  return [
    { path: PAYLOAD.event, type: 'string', value: ['^pull_request$'] },
    { path: PAYLOAD.action, type: 'string', value: [exactAlternation(PR_ACTIONS, false)] },
    { path: PAYLOAD.repository, type: 'string', value: [repositories] },
    { path: PAYLOAD.baseRepository, type: 'string', value: [repositories] },
    { path: PAYLOAD.headRepository, type: 'string', value: [repositories] },
    { path: PAYLOAD.headRef, type: 'string', value: [headRegex] },
    { path: PAYLOAD.headSha, type: 'string', value: [SHA.source] },
    { path: PAYLOAD.updatedAt, type: 'string', value: [ISO_TIME] },
    { path: PAYLOAD.prNumber, type: 'number', value: ['0'], comparator: '>' },
  ];
}

/** Each variable of the Job's env from a dependency's event, and the task id also as the Job's label. */
function eventParameters(job: RemediationJob, sources: ReturnType<typeof eventSources>) {
  // sjson path: the dots inside the label key are escaped.
  const taskLabel = `metadata.labels.${job.taskIdJobLabel.replace(/\./g, '\\.')}`;
  return (dependencyName: string, from: keyof EventValues): SensorSpecTriggersTemplateK8SParameters[] => [
    ...(Object.keys(EVENT_ENV) as Array<keyof typeof EVENT_ENV>).map((key) => ({
      src: { dependencyName, ...sources[key][from] },
      dest: job.eventEnvPath(EVENT_ENV[key]),
    })),
    { src: { dependencyName, ...sources.taskId[from] }, dest: taskLabel },
  ];
}

/**
 * A trigger creating the Job from its dependency's event, retried, with a dead-letter record. Without
 * `conditions` a trigger waits for every dependency (Argo Events joins them with &&): each trigger names its own,
 * so either event alone creates a Job.
 */
function jobTrigger(props: RemediationSensorProps) {
  const retry = props.retry ?? {};
  const defaultRetry = DEFAULTS.sensor.retry;
  const retrySeconds = wholeSeconds('retry.duration', retry.duration ?? Duration.seconds(defaultRetry.durationSeconds), 1);
  return (name: string, conditions: string, parameters: SensorSpecTriggersTemplateK8SParameters[]) => ({
    template: { name, conditions, k8S: { operation: 'create', source: { resource: props.job.manifest }, parameters } },
    // Argo acknowledges the event even when the Job was never created: say so where an operator looks.
    dlqTrigger: droppedEvent(`${name}-dropped`, conditions, { name: props.name, namespace: props.namespace }),
    atLeastOnce: true,
    retryStrategy: {
      steps: retry.steps ?? defaultRetry.steps,
      duration: `${retrySeconds}s`,
      factor: retry.factor ?? defaultRetry.factor,
      jitter: retry.jitter ?? defaultRetry.jitter,
    },
  });
}

/** The reason of the Event recording a delivery whose Job the Sensor gave up creating. */
export const DROPPED_REASON = 'RemediationJobNotCreated';

/**
 * A dead-letter trigger: a Warning Event on the Sensor naming the delivery whose Job could not be created after
 * the retries. The reconciler's resync repairs the PR whatever the cause; the Event says why it had to.
 */
function droppedEvent(name: string, dependencyName: string, sensor: { name: string; namespace: string }) {
  const resource = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { generateName: `${sensor.name}.`, namespace: sensor.namespace },
    involvedObject: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Sensor', ...sensor },
    type: 'Warning',
    reason: DROPPED_REASON,
    message: '',
    source: { component: sensor.name },
    count: 1,
  };
  const message =
    `{{ printf "delivery %s (%s, %s) was acknowledged without its remediation Job: creating it failed after every retry;` +
    ` the reconciler repairs the PR" ${input(PAYLOAD.delivery)} ${input(PAYLOAD.event)} ${input(PAYLOAD.repository)} }}`;
  const parameters: SensorSpecTriggersTemplateK8SParameters[] = [
    { src: { dependencyName, dataTemplate: message }, dest: 'message' },
    // When the EventSource published the event.
    { src: { dependencyName, contextKey: 'time' }, dest: 'firstTimestamp' },
    { src: { dependencyName, contextKey: 'time' }, dest: 'lastTimestamp' },
  ];
  // Argo's validation requires atLeastOnce of a dead-letter trigger.
  return {
    atLeastOnce: true,
    template: { name, conditions: dependencyName, k8S: { operation: 'create', source: { resource }, parameters } },
  };
}
