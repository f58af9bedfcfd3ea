/**
 * The public API of agent-cancellation: the constructs, their props, and the configuration they are made from.
 * Everything else under src/ is internal and may change without notice.
 */
export { AgentCancellation, AgentCancellationProps } from './constructs/agent-cancellation';
export { GitHubPushEventSource, GitHubPushEventSourceProps } from './constructs/github-push-event-source';
export { CodeRunLocation } from './constructs/code-run-location';
export {
  Monitoring,
  MonitoredEventSource,
  MonitoredJob,
  MonitoredReconciler,
  MonitoredSensor,
  MonitoringProps,
} from './constructs/monitoring';
export { AlertRule, Matcher, Panel, Selector } from './constructs/monitoring-rules';
export { OrderingOptions } from './constructs/ordering-options';
export { parseCron, ReconcilerCronJob, ReconcilerCronJobProps } from './constructs/reconciler-cron-job';
export { RemediationJob } from './constructs/remediation-job';
export {
  CodeRunResource,
  RemediationJobProps,
  RepositoryScopeOptions,
  RunPhaseOptions,
  TransitionLabels,
} from './constructs/remediation-job-props';
export { EventSourceReference, RemediationSensor, RemediationSensorProps, TriggerRetry } from './constructs/remediation-sensor';
export { ScopeAdmissionPolicy, ScopeAdmissionPolicyProps } from './constructs/scope-admission-policy';
export {
  AgentCancellationConfig,
  GitHubAppConfig,
  JobConfig,
  ReconcilerConfig,
  RedeliveryConfig,
  ResolvedConfig,
  SecretRef,
} from './config/config';
export { MonitoringConfig } from './config/monitoring-config';
export { ConfigError, loadConfigFile, resolveConfig } from './config/resolve-config';
export { DEFAULTS } from './config/defaults';
export { ImplementationAgent, QaSelector } from './config/safety-rules';
export { BotLoginCase, EXIT, JobMode, RemediationMode } from './contract/env';
export { GITHUB_SPELLING } from './contract/repository-scope';
