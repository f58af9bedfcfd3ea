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
  SecretRef,
} from '../../../src';
import { DEFAULTS } from '../../../src/config/defaults';
import { RECONCILE_ENV, STATIC_ENV } from '../../../src/contract/env';

export const repoRoot = path.resolve(__dirname, '..', '..', '..');

/** Every object the bundle synthesizes for `config`; throws if a container's env holds a private key (keyEnv). */
export function synth(config: AgentCancellationConfig = {}): Record<string, any>[] {
  const app: App = Testing.app();
  const chart = new AgentCancellation(app, 'test', { config, disableResourceNameHashes: true });
  const objects = Testing.synth(chart);
  const found = keyEnv(objects, keySecrets(config));
  if (found.length) throw new Error(`a private key reaches a container's env: ${JSON.stringify(found)}`);
  return objects;
}

/** Variables a Secret may set: tokens and a URL. A private key is a read-only file, never one of these. */
const SECRET_ENV = new Set([STATIC_ENV.githubToken, RECONCILE_ENV.alertWebhookUrl, RECONCILE_ENV.redeliveryToken]);

/** The Secret keys `config` says hold a GitHub App's private key: `github.app`'s, and an App hook's credential. */
export function keySecrets(config: AgentCancellationConfig): SecretRef[] {
  const redelivery = { ...DEFAULTS.reconciler.redelivery, ...config.reconciler?.redelivery };
  return [config.github?.app?.privateKeySecret, redelivery.hook.startsWith('app:') ? redelivery.credentialSecret : undefined].filter(
    (s): s is SecretRef => s !== undefined,
  );
}

/**
 * Every env variable of every container in `objects` (Jobs, CronJobs, the Sensor's Job template) that is set from
 * one of `keys`, or from a Secret without being one of SECRET_ENV: `kind/name container VARIABLE`.
 */
export function keyEnv(objects: unknown, keys: readonly SecretRef[], where = ''): string[] {
  if (Array.isArray(objects)) return objects.flatMap((o, i) => keyEnv(o, keys, `${where}[${i}]`));
  if (typeof objects !== 'object' || objects === null) return [];
  const o = objects as Record<string, any>;
  const here = o.kind && o.metadata ? `${o.kind}/${o.metadata.name ?? o.metadata.generateName}` : where;
  const found: string[] = [];
  for (const c of Array.isArray(o.containers) ? o.containers : []) {
    for (const e of c.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (!ref) continue;
      const isKey = keys.some((k) => k.name === ref.name && k.key === ref.key);
      if (isKey || !SECRET_ENV.has(e.name)) found.push(`${here} ${c.name} ${e.name}`);
    }
  }
  return [...found, ...Object.values(o).flatMap((v) => keyEnv(v, keys, here))];
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
