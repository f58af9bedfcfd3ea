import { App, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import * as path from 'path';
import {
  AgentCancellation,
  AgentCancellationConfig,
  GitHubPushEventSource,
  GitHubPushEventSourceProps,
  JobMode,
  loadConfigFile,
  RemediationJob,
  RemediationJobProps,
  RemediationSensor,
  RemediationSensorProps,
  ResolvedConfig,
} from '../../../src';

export const repoRoot = path.resolve(__dirname, '..', '..', '..');

/** Every object the bundle synthesizes for `config`. */
export function synth(config: AgentCancellationConfig = {}): Record<string, any>[] {
  const app: App = Testing.app();
  const chart = new AgentCancellation(app, 'test', { config, disableResourceNameHashes: true });
  return Testing.synth(chart);
}

export function preset(name: string): ResolvedConfig {
  return loadConfigFile(path.join(repoRoot, 'presets', `${name}.yaml`));
}

export function find(objects: Record<string, any>[], kind: string, name?: string): Record<string, any> {
  const hit = objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (!hit) throw new Error(`no ${kind} ${name ?? ''} synthesized`);
  return hit;
}

/** RemediationJob props with every required field, in image mode so that no bundle is needed. */
export const JOB_PROPS: RemediationJobProps = {
  namespace: 'ns',
  mode: JobMode.IMAGE,
  codeRun: { group: 'platform.5dlabs.com', version: 'v1', plural: 'coderuns' },
  qaSelector: { key: 'agent-type', values: ['cleo', 'tess'] },
  implementationAgent: { key: 'agent-type', value: 'rex' },
  taskIdLabel: 'task-id',
  repositories: ['5dlabs/cto'],
  labels: { readyForQa: 'ready-for-qa', remediation: 'remediation-in-progress', remediationColor: 'd93f0b', remediationDescription: '' },
  githubTokenSecret: { name: 'gh', key: 'token' },
};

/** An EventSource for 5dlabs/cto and a Sensor launching `job`, in namespace `events`; `o` overrides their props. */
export function sensorFor(
  scope: Construct,
  job: RemediationJob,
  o: { eventSource?: Partial<GitHubPushEventSourceProps>; sensor?: Partial<RemediationSensorProps> } = {},
) {
  const eventSource = new GitHubPushEventSource(scope, 'EventSource', {
    namespace: 'events',
    name: 'hook',
    repositories: ['5dlabs/cto'],
    webhookSecret: { name: 'webhook', key: 'secret' },
    ...o.eventSource,
  });
  const sensor = new RemediationSensor(scope, 'Sensor', {
    namespace: 'events',
    name: 'sensor',
    eventSource,
    repositories: ['5dlabs/cto'],
    bots: ['rex-5dlabs[bot]'],
    job,
    ...o.sensor,
  });
  return { eventSource, sensor };
}
