/**
 * The alerts and the dashboard queries of an installation, as PromQL over the series Argo Events (v1.9.11,
 * pkg/metrics/metrics.go) and kube-state-metrics (v2.20) export. Every selector is built by `selector` below, so
 * the tests can check each metric name and label matcher against what the real exporters serve.
 */
import { escapeRegExp } from '../contract/filters';
import { ATTENTION_LABEL } from '../contract/attention';

/** The objects one installation's monitoring watches, by name. */
export interface MonitoredNames {
  /** The installation, as the alerts' summaries name it. */
  readonly installation: string;
  /** Namespace of the Jobs, the reconciler and the state Leases. */
  readonly namespace: string;
  readonly sensor: { readonly namespace: string; readonly name: string; readonly triggers: string[]; readonly deadLetters: string[] };
  /** Absent when the installation subscribes to an EventSource it does not make. */
  readonly eventSource?: { readonly namespace: string; readonly name: string };
  /** Remediation Jobs are named `<jobPrefix>-` and 5 random characters (generateName). */
  readonly jobPrefix: string;
  /** Absent when the reconciler is off. */
  readonly reconciler?: { readonly name: string; readonly overdueSeconds: number };
  /** Name prefix of the Leases marking a PR that needs a person. */
  readonly attentionLeasePrefix: string;
}

export type Matcher = readonly [label: string, op: '=' | '=~', value: string];

/** One metric selector: a name and its matchers. */
export interface Selector {
  readonly metric: string;
  readonly matchers: readonly Matcher[];
}

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: { readonly severity: 'critical' | 'warning' };
  readonly annotations: { readonly summary: string; readonly description: string };
}

export interface Panel {
  readonly title: string;
  readonly description: string;
  readonly unit: string;
  readonly targets: ReadonlyArray<{ readonly expr: string; readonly legend: string }>;
}

/** `metric{matchers}`, remembered in `used`. PromQL anchors regular expressions itself. */
function selectorOf(used: Selector[]) {
  return (metric: string, ...matchers: Matcher[]): string => {
    used.push({ metric, matchers });
    return `${metric}{${matchers.map(([l, op, v]) => `${l}${op}${JSON.stringify(v)}`).join(', ')}}`;
  };
}

const oneOf = (names: readonly string[]): string => names.map(escapeRegExp).join('|');

/** The generateName suffix Kubernetes appends: 5 characters. */
const jobNames = (prefix: string): string => `${escapeRegExp(prefix)}-[a-z0-9]{5}`;

/** The rules and panels of `n`, and every selector they use. */
export function monitoringQueries(n: MonitoredNames): { alerts: AlertRule[]; panels: Panel[]; selectors: Selector[] } {
  const selectors: Selector[] = [];
  const sel = selectorOf(selectors);
  const sensor: Matcher[] = [
    ['namespace', '=', n.sensor.namespace],
    ['sensor_name', '=', n.sensor.name],
  ];
  const triggers: Matcher = ['trigger_name', '=~', oneOf(n.sensor.triggers)];
  const deadLetters: Matcher = ['trigger_name', '=~', oneOf(n.sensor.deadLetters)];
  const byTrigger = 'sum by (namespace, sensor_name, trigger_name)';
  const jobs: Matcher[] = [
    ['namespace', '=', n.namespace],
    ['job_name', '=~', jobNames(n.jobPrefix)],
  ];
  const who = `agent-cancellation ${JSON.stringify(n.installation)} (namespace ${n.namespace})`;
  const alerts: AlertRule[] = [
    {
      alert: 'AgentCancellationTriggerFailing',
      expr: `${byTrigger} (increase(${sel('argo_events_action_failed_total', ...sensor, triggers)}[5m])) > 0`,
      for: '10m',
      labels: { severity: 'warning' },
      annotations: {
        summary: `${who}: the Sensor keeps failing to create remediation Jobs`,
        description:
          'Trigger {{ $labels.trigger_name }} of Sensor {{ $labels.sensor_name }} has failed attempts in every 5 minutes for 10 minutes; retries still run.',
      },
    },
    {
      alert: 'AgentCancellationTriggerExhausted',
      // A dead-letter trigger's counters start when it first fires: a new series counts as a firing too.
      expr: [
        `${byTrigger} (increase(${sel('argo_events_action_retries_failed_total', ...sensor, triggers)}[15m])) > 0`,
        `${byTrigger} (increase(${sel('argo_events_action_triggered_total', ...sensor, deadLetters)}[15m])) > 0`,
        `${byTrigger} (${sel('argo_events_action_triggered_total', ...sensor, deadLetters)} unless ${sel('argo_events_action_triggered_total', ...sensor, deadLetters)} offset 15m) > 0`,
      ].join('\nor\n'),
      labels: { severity: 'critical' },
      annotations: {
        summary: `${who}: a push or PR event was dropped without its remediation Job`,
        description:
          'Trigger {{ $labels.trigger_name }} of Sensor {{ $labels.sensor_name }} gave up after its retries (or its dead-letter trigger fired); the reconciler repairs the PR on its next pass.',
      },
    },
  ];
  if (n.eventSource) {
    const source: Matcher[] = [
      ['namespace', '=', n.eventSource.namespace],
      ['eventsource_name', '=', n.eventSource.name],
    ];
    const bySource = 'sum by (namespace, eventsource_name, event_name)';
    alerts.push({
      alert: 'AgentCancellationEventSourceFailing',
      expr: [
        `${bySource} (increase(${sel('argo_events_events_sent_failed_total', ...source)}[10m])) > 0`,
        `${bySource} (increase(${sel('argo_events_events_processing_failed_total', ...source)}[10m])) > 0`,
      ].join('\nor\n'),
      labels: { severity: 'critical' },
      annotations: {
        summary: `${who}: the EventSource fails to publish or process GitHub deliveries`,
        description:
          'EventSource {{ $labels.eventsource_name }} failed on event {{ $labels.event_name }} in the last 10 minutes; GitHub shows the deliveries as failed.',
      },
    });
  }
  alerts.push({
    alert: 'AgentCancellationJobsFailing',
    // Only Jobs started in the last hour: a failed Job stays for ttlSecondsAfterFinished. A pod that failed
    // and was retried to success leaves the Job complete, not failed.
    expr: `count by (namespace) (\n  ${sel('kube_job_failed', ...jobs, ['condition', '=', 'true'])} == 1\n  and on (namespace, job_name)\n  (time() - ${sel('kube_job_status_start_time', ...jobs)}) < 3600\n) > 0`,
    labels: { severity: 'warning' },
    annotations: {
      summary: `${who}: remediation Jobs failed in the last hour`,
      description: '{{ $value }} remediation Jobs started in the last hour ended Failed in namespace {{ $labels.namespace }}.',
    },
  });
  if (n.reconciler) {
    const cronJob: Matcher[] = [
      ['namespace', '=', n.namespace],
      ['cronjob', '=', n.reconciler.name],
    ];
    const overdue = n.reconciler.overdueSeconds;
    const lastSuccess = sel('kube_cronjob_status_last_successful_time', ...cronJob);
    alerts.push({
      alert: 'AgentCancellationReconcilerOverdue',
      expr: [
        `(time() - ${lastSuccess} > ${overdue}`,
        `or time() - ${sel('kube_cronjob_created', ...cronJob)} > ${overdue} unless on (namespace, cronjob) ${lastSuccess})`,
        `unless on (namespace, cronjob) ${sel('kube_cronjob_spec_suspend', ...cronJob)} == 1`,
      ].join('\n'),
      labels: { severity: 'warning' },
      annotations: {
        summary: `${who}: the reconciler has not finished a pass in ${overdue} seconds (3 schedules)`,
        description: 'CronJob {{ $labels.cronjob }} has no successful pass for 3 of its schedules; lost events are not being repaired.',
      },
    });
  }
  const attention = sel('kube_lease_owner', ['namespace', '=', n.namespace], ['lease', '=~', `${escapeRegExp(n.attentionLeasePrefix)}.+`]);
  alerts.push({
    alert: 'AgentCancellationNeedsAttention',
    expr: `count by (namespace) (${attention}) > 0`,
    labels: { severity: 'warning' },
    annotations: {
      summary: `${who}: {{ $value }} PRs need a person`,
      description: `The reconciler gave up repairing these PRs: kubectl get leases -n ${n.namespace} -l ${ATTENTION_LABEL}`,
    },
  });
  const range = '$__rate_interval';
  const succeeded = sel('kube_job_complete', ...jobs, ['condition', '=', 'true']);
  const panels: Panel[] = [
    {
      title: 'Pushes handled and Jobs run',
      description: "Events the Sensor turned into remediation Jobs, and those Jobs that completed (each cancels its task's stale QA runs).",
      unit: 'short',
      targets: [
        {
          expr: `sum by (trigger_name) (increase(${sel('argo_events_action_triggered_total', ...sensor, triggers)}[${range}]))`,
          legend: '{{trigger_name}}',
        },
        { expr: `count(${succeeded} == 1)`, legend: 'Jobs completed (kept for their TTL)' },
      ],
    },
    {
      title: 'Job outcomes and durations',
      description: 'Remediation Jobs by outcome, and how long the completed ones ran.',
      unit: 's',
      targets: [
        { expr: `count(${sel('kube_job_failed', ...jobs, ['condition', '=', 'true'])} == 1)`, legend: 'failed' },
        { expr: `sum(${sel('kube_job_status_active', ...jobs)})`, legend: 'running' },
        {
          expr: `max(${sel('kube_job_status_completion_time', ...jobs)} - on (namespace, job_name) ${sel('kube_job_status_start_time', ...jobs)})`,
          legend: 'longest completed run (s)',
        },
      ],
    },
    {
      title: 'Sensor trigger latency and failures',
      description: 'Mean time of a trigger attempt (Argo exports a summary without quantiles), failed attempts and exhausted retries.',
      unit: 'ms',
      targets: [
        {
          expr: `sum by (trigger_name) (rate(${sel('argo_events_action_duration_milliseconds_sum', ...sensor, triggers)}[${range}])) / sum by (trigger_name) (rate(${sel('argo_events_action_duration_milliseconds_count', ...sensor, triggers)}[${range}]))`,
          legend: 'mean {{trigger_name}}',
        },
        {
          expr: `sum by (trigger_name) (increase(${sel('argo_events_action_failed_total', ...sensor, triggers)}[${range}]))`,
          legend: 'failed {{trigger_name}}',
        },
        {
          expr: `sum by (trigger_name) (increase(${sel('argo_events_action_retries_failed_total', ...sensor, triggers)}[${range}]))`,
          legend: 'exhausted {{trigger_name}}',
        },
      ],
    },
    {
      title: 'PRs needing attention',
      description: 'PRs the reconciler flagged for a person.',
      unit: 'short',
      targets: [{ expr: `count(${attention}) or vector(0)`, legend: 'PRs' }],
    },
  ];
  if (n.reconciler) {
    panels.splice(3, 0, {
      title: "Reconciler's last success",
      description: 'Time since the last pass that succeeded.',
      unit: 's',
      targets: [
        {
          expr: `time() - ${sel('kube_cronjob_status_last_successful_time', ['namespace', '=', n.namespace], ['cronjob', '=', n.reconciler.name])}`,
          legend: 'since last success',
        },
      ],
    });
  }
  return { alerts, panels, selectors };
}
