/** The opt-in monitoring of an installation, as the configuration says it (docs/monitoring.md). */
export interface MonitoringConfig {
  /** PodMonitors, a PrometheusRule and a Grafana dashboard ConfigMap. @default DEFAULTS.monitoring.enabled (off) */
  readonly enabled?: boolean;
  /**
   * Labels on the PodMonitors and the PrometheusRule, which the Prometheus' `podMonitorSelector` and `ruleSelector`
   * must match (kube-prometheus-stack: `release: <its Helm release>`). @default DEFAULTS.monitoring.labels
   */
  readonly labels?: Record<string, string>;
  /** Namespace of the dashboard ConfigMap, where Grafana's sidecar looks. @default - the installation's `namespace` */
  readonly dashboardNamespace?: string;
  /** Page the alerts' `runbook_url` annotations point to, each alert at its anchor. @default DEFAULTS.monitoring.runbookUrl */
  readonly runbookUrl?: string;
}
