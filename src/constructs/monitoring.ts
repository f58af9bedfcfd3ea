import { createHash } from 'crypto';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { PodMonitor, PrometheusRule, PrometheusRuleSpecGroupsRulesExpr } from '../../imports/monitoring.coreos.com';
import { DEFAULTS } from '../config/defaults';
import { ATTENTION_LEASE_PREFIX } from '../contract/attention';
import { LABEL_KEY } from '../contract/labels';
import { PART_OF } from './common-labels';
import { longestCronGapSeconds } from './cron-gap';
import { dashboardJson } from './monitoring-dashboard';
import { AlertRule, monitoringQueries, Panel, Selector } from './monitoring-rules';

/** A Sensor, by the names its metrics carry: `sensor_name` and each `trigger_name`. RemediationSensor is one. */
export interface MonitoredSensor {
  readonly name: string;
  readonly namespace: string;
  readonly triggerNames: string[];
  readonly deadLetterTriggerNames: string[];
}

/** An EventSource, by the name its metrics carry (`eventsource_name`). GitHubPushEventSource is one. */
export interface MonitoredEventSource {
  readonly name: string;
  readonly namespace: string;
}

/** The remediation Jobs: `<prefix>-` and 5 random characters, in `namespace`. RemediationJob is one. */
export interface MonitoredJob {
  readonly prefix: string;
  readonly namespace: string;
}

/** The reconciler CronJob, in the Jobs' namespace. ReconcilerCronJob is one. */
export interface MonitoredReconciler {
  readonly name: string;
  /** Its 5-field cron expression: the alert fires after 3 of its longest intervals without a success. */
  readonly schedule: string;
}

export interface MonitoringProps {
  readonly sensor: MonitoredSensor;
  readonly job: MonitoredJob;
  /** @default - none: no EventSource PodMonitor or alert (an EventSource the installation does not make is its owner's to watch) */
  readonly eventSource?: MonitoredEventSource;
  /** @default - none: no overdue alert or panel */
  readonly reconciler?: MonitoredReconciler;
  /**
   * Labels on the PodMonitors and the PrometheusRule, which the Prometheus' `podMonitorSelector` and `ruleSelector`
   * must match (kube-prometheus-stack: `release: <its Helm release>`). @default DEFAULTS.monitoring.labels
   */
  readonly labels?: Record<string, string>;
  /** Namespace of the dashboard ConfigMap, where Grafana's sidecar looks. @default - the Jobs' namespace */
  readonly dashboardNamespace?: string;
  /** Page the alerts' `runbook_url` point to, each alert at its anchor. @default DEFAULTS.monitoring.runbookUrl */
  readonly runbookUrl?: string;
}

/** Labels Argo Events v1.9.11 puts on the pods it runs (pkg/reconciler/{sensor,eventsource}/controller.go). */
const ARGO_POD_LABELS = {
  sensor: (name: string) => ({ controller: 'sensor-controller', 'sensor-name': name }),
  eventSource: (name: string) => ({ controller: 'eventsource-controller', 'eventsource-name': name }),
};
/** The container port Argo Events names for its metrics (7777) on both kinds of pod. */
const METRICS_PORT = 'metrics';
/** A Kubernetes label value; a selector can match no other. */
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
/** The label kube-prometheus-stack's Grafana sidecar loads dashboards from. */
export const GRAFANA_DASHBOARD_LABEL = { grafana_dashboard: '1' };

function checkLabels(labels: Record<string, string>): void {
  for (const [key, value] of Object.entries(labels)) {
    if (!LABEL_KEY.test(key) || key.length > 317) throw new Error(`labels: ${JSON.stringify(key)} is not a Kubernetes label key`);
    if (!LABEL_VALUE.test(value)) {
      throw new Error(
        `labels: ${JSON.stringify(key)}: ${JSON.stringify(value)} is not a Kubernetes label value (a selector could never match it)`,
      );
    }
  }
}

/**
 * Monitoring of one installation for prometheus-operator and Grafana: PodMonitors for the Sensor's (and the
 * EventSource's) metrics on Argo's port 7777, a PrometheusRule with one alert per failure mode (docs/monitoring.md)
 * and a dashboard ConfigMap for kube-prometheus-stack's Grafana sidecar. The Jobs', reconciler's and state Leases'
 * series come from kube-state-metrics, which kube-prometheus-stack runs.
 */
export class Monitoring extends Construct {
  public readonly alerts: AlertRule[];
  public readonly panels: Panel[];
  /** Every metric selector the alerts and the dashboard use. */
  public readonly selectors: Selector[];
  /** The Grafana dashboard model in the ConfigMap. */
  public readonly dashboard: Record<string, unknown>;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const labels = props.labels ?? DEFAULTS.monitoring.labels;
    checkLabels(labels);
    const runbookUrl = props.runbookUrl ?? DEFAULTS.monitoring.runbookUrl;
    if (!/^https?:\/\/[^\s#]+$/.test(runbookUrl))
      throw new Error(`runbookUrl: ${JSON.stringify(runbookUrl)} must be an http(s) URL without a fragment`);
    const { sensor, job, eventSource, reconciler } = props;
    if (sensor.triggerNames.length === 0) throw new Error(`sensor: ${JSON.stringify(sensor.name)} has no triggerNames to watch`);
    const overdueSeconds = reconciler ? 3 * longestCronGapSeconds(reconciler.schedule) : 0;
    const queries = monitoringQueries({
      installation: job.prefix,
      namespace: job.namespace,
      sensor: { namespace: sensor.namespace, name: sensor.name, triggers: sensor.triggerNames, deadLetters: sensor.deadLetterTriggerNames },
      eventSource,
      jobPrefix: job.prefix,
      reconciler: reconciler && { name: reconciler.name, overdueSeconds },
      attentionLeasePrefix: ATTENTION_LEASE_PREFIX,
    });
    this.alerts = queries.alerts;
    this.panels = queries.panels;
    this.selectors = queries.selectors;

    const objectLabels = { ...PART_OF, ...labels };
    const podMonitor = (name: string, namespace: string, matchLabels: Record<string, string>) =>
      new PodMonitor(this, name, {
        metadata: { name: `${job.prefix}-${name}`, namespace, labels: objectLabels },
        spec: { selector: { matchLabels }, podMetricsEndpoints: [{ port: METRICS_PORT, path: '/metrics' }] },
      });
    podMonitor('sensor', sensor.namespace, ARGO_POD_LABELS.sensor(sensor.name));
    if (eventSource) podMonitor('eventsource', eventSource.namespace, ARGO_POD_LABELS.eventSource(eventSource.name));

    new PrometheusRule(this, 'Rules', {
      metadata: { name: job.prefix, namespace: job.namespace, labels: objectLabels },
      spec: {
        groups: [
          {
            name: `agent-cancellation.${job.namespace}.${job.prefix}`,
            rules: this.alerts.map((a) => ({
              alert: a.alert,
              expr: PrometheusRuleSpecGroupsRulesExpr.fromString(a.expr),
              for: a.for,
              labels: a.labels,
              annotations: { ...a.annotations, runbook_url: `${runbookUrl}#${a.alert.toLowerCase()}` },
            })),
          },
        ],
      },
    });

    const uid = `ac-${createHash('sha256').update(`${job.namespace}/${job.prefix}`).digest('hex').slice(0, 12)}`;
    this.dashboard = dashboardJson(`agent-cancellation: ${job.prefix} (${job.namespace})`, uid, this.panels);
    new kplus.ConfigMap(this, 'Dashboard', {
      metadata: {
        name: `${job.prefix}-dashboard`,
        namespace: props.dashboardNamespace || job.namespace,
        labels: { ...PART_OF, ...GRAFANA_DASHBOARD_LABEL },
      },
      data: { [`${job.prefix}.json`]: JSON.stringify(this.dashboard, null, 2) },
    });
  }
}
