/**
 * The constructs used on their own, as another repository composes them: built directly from typed props, with
 * the synthesized values checked.
 */
import { Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { GitHubPushEventSource, RemediationJob, RemediationSensor } from '../../../src';
import { find } from './synth-helpers';

const jobProps = {
  namespace: 'cto',
  mode: 'image' as const,
  codeRun: { group: 'agents.platform', version: 'v1', plural: 'coderuns' },
  qaSelector: { key: 'workflow-stage', values: ['quality', 'testing'] },
  implementationAgent: { key: 'workflow-stage', value: 'implementation' },
  taskIdLabel: 'task-id',
  repositories: ['5dlabs/cto'],
  labels: { readyForQa: 'ready-for-qa', remediation: 'remediation-in-progress', remediationColor: 'd93f0b', remediationDescription: '' },
  githubTokenSecret: { name: 'gh', key: 'token' },
};

describe('RemediationSensor and grantLaunch', () => {
  const chart = Testing.chart();
  const job = new RemediationJob(chart, 'Job', jobProps);
  const eventSource = new GitHubPushEventSource(chart, 'EventSource', {
    namespace: 'events', name: 'org-hook', repositories: ['5dlabs/cto'], webhookSecret: { name: 'webhook', key: 'secret' },
  });
  const sensor = new RemediationSensor(chart, 'Sensor', { namespace: 'events', name: 'sensor', eventSource, repositories: ['5dlabs/cto'], bots: ['rex-5dlabs[bot]'], job });
  const extra = new kplus.ServiceAccount(chart, 'Operator', { metadata: { name: 'operator', namespace: 'ops' } });
  const binding = job.grantLaunch(extra);
  const objects = Testing.synth(chart);

  test('each dependency names the EventSource construct and its event', () => {
    const deps = find(objects, 'Sensor').spec.dependencies;
    expect(deps.map((d: any) => [d.eventSourceName, d.eventName])).toEqual([['org-hook', 'push'], ['org-hook', 'push']]);
  });

  test('grantLaunch returns the one launch binding, and a later call adds its subjects to it', () => {
    expect(binding).toBeInstanceOf(kplus.RoleBinding);
    expect(binding.subjects).toEqual([sensor.serviceAccount, extra]);
    const launch = objects.filter((o) => o.kind === 'RoleBinding' && o.metadata.name === 'agent-cancellation-launch-job');
    expect(launch).toHaveLength(1);
    expect(launch[0].subjects.map((s: any) => `${s.namespace}/${s.name}`)).toEqual(['events/sensor', 'ops/operator']);
    expect(objects.filter((o) => o.kind === 'Role' && o.metadata.name === 'agent-cancellation-launch-job')).toHaveLength(1);
  });
});
