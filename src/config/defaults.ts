import type { ResolvedConfig } from './config';

/**
 * Every default of agent-cancellation, and the only place each is written: `resolveConfig` fills a configuration
 * from it, the constructs fall back to it for an optional prop, and `npm run docs` writes the tables of
 * docs/configuration.md from it. The JSON schema checks shape only, and the Job's runtime has no defaults: its
 * template sets every variable it reads. It is the user's card (presets/card.yaml).
 */
export const DEFAULTS: Omit<ResolvedConfig, 'eventsNamespace'> = {
  name: 'agent-cancellation',
  namespace: 'agent-platform',
  eventBusName: 'default',
  existingEventSource: { name: '', eventName: '' },
  mode: 'enforce',
  codeRun: {
    group: 'platform.5dlabs.com',
    version: 'v1',
    kind: 'CodeRun',
    plural: 'coderuns',
    phaseFrom: 'field:status.phase',
    finishedPhases: ['Succeeded', 'Failed'],
  },
  qaSelector: { key: 'agent-type', values: ['cleo', 'tess'] },
  implementationAgent: { key: 'agent-type', value: 'rex' },
  taskIdLabel: 'task-id',
  repositoryScope: { from: '', format: '{name}', host: '' },
  github: {
    repositories: ['5dlabs/cto'],
    organizations: [],
    bots: ['5DLabs-Rex[bot]', '5DLabs-Rex'],
    botLoginCase: 'insensitive',
    botCommitAuthors: [],
    branchPattern: 'feature/task-{id}-implementation',
    readyForQaLabel: 'ready-for-qa',
    optOutLabel: 'agent-cancellation/skip',
    remediationLabel: {
      name: 'remediation-in-progress',
      color: 'd93f0b',
      description: 'Implementation agent is fixing QA findings; QA runs were cancelled.',
    },
    graphqlUrl: 'https://api.github.com/graphql',
    tokenSecret: { name: 'agent-cancellation-github', key: 'token' },
  },
  webhook: {
    port: 12000,
    endpoint: '/agent-cancellation/github',
    url: '',
    secret: { name: 'agent-cancellation-webhook', key: 'secret' },
  },
  ordering: { clockSkewSeconds: 5, revision: '' },
  job: {
    mode: 'configmap',
    image: 'ghcr.io/5dlabs/agent-cancellation:0.1.0',
    // The Dockerfile's NODE_IMAGE is the same (test/unit/constructs/job-runtime.test.ts).
    nodeImage: 'node:22-alpine@sha256:8094c002d08262dba12645a3b4a15cd6cd627d30bc782f53229a2ec13ee22a00',
    backoffLimit: 4,
    activeDeadlineSeconds: 900,
    ttlSecondsAfterFinished: 86400,
    githubDeadlineSeconds: 300,
    githubRequestTimeoutMs: 20000,
    leaseDurationSeconds: 60,
    lockWaitSeconds: 120,
  },
  admissionPolicy: {
    enabled: true,
  },
  reconciler: {
    enabled: true,
    schedule: '*/5 * * * *',
    pendingSeconds: 300,
    maxFailures: 3,
    attentionSeconds: 3600,
    retentionSeconds: 604800,
    alertWebhookSecret: { name: 'agent-cancellation-alert-webhook', key: 'url' },
    compensateForeignCommits: false,
    redelivery: {
      hook: '',
      credentialSecret: { name: 'agent-cancellation-github-hook', key: 'credential' },
      restUrl: 'https://api.github.com',
    },
  },
  sensor: { retry: { steps: 5, durationSeconds: 1, factor: 2, jitter: 0.2 } },
  monitoring: {
    enabled: false,
    labels: {},
    dashboardNamespace: '',
    runbookUrl: 'https://github.com/5dlabs/agent-cancellation/blob/main/docs/monitoring.md',
  },
};
