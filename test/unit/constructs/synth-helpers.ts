import { App, Testing } from 'cdk8s';
import * as path from 'path';
import { AgentCancellation, AgentCancellationConfig, loadConfigFile, ResolvedConfig } from '../../../src';

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
