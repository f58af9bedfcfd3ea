export * from './agent-cancellation';
export * from './config';
export * from './filters';
export * from './github-push-event-source';
export * from './job-env';
export * from './reconciler-cron-job';
export * from './remediation-job';
export * from './remediation-sensor';
