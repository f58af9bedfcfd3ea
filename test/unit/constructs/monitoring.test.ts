import * as fs from 'fs';
import * as path from 'path';
import Ajv from 'ajv';
import { Chart, Testing } from 'cdk8s';
import * as YAML from 'yaml';
import { ConfigError, Monitoring, resolveConfig } from '../../../src';
import { longestCronGapSeconds } from '../../../src/constructs/cron-gap';
import { find, repoRoot, synth } from './synth-helpers';

const MONITORING_KINDS = ['PodMonitor', 'PrometheusRule'];
const enabled = synth({ monitoring: { enabled: true, labels: { release: 'kube-prometheus-stack' } } });

/** The openAPIV3Schema of each prometheus-operator CRD that `cdk8s import` read, by kind. */
function crdSchemas(): Record<string, any> {
  const docs = YAML.parseAllDocuments(fs.readFileSync(path.join(repoRoot, 'schema', 'prometheus-operator-subset.crds.yaml'), 'utf8'));
  // Go's (?i) has no JavaScript spelling: the one pattern using it is left to the apiserver.
  const drop = (v: any): any =>
    Array.isArray(v)
      ? v.map(drop)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v)
              .filter(([k, x]) => !(k === 'pattern' && String(x).includes('(?i)')))
              .map(([k, x]) => [k, drop(x)]),
          )
        : v;
  return Object.fromEntries(
    docs.map((d) => drop(d.toJSON())).map((crd) => [crd.spec.names.kind, crd.spec.versions[0].schema.openAPIV3Schema]),
  );
}

describe('monitoring', () => {
  it('is off by default: no PodMonitor, PrometheusRule or dashboard', () => {
    expect(resolveConfig({}).monitoring.enabled).toBe(false);
    const objects = synth();
    expect(objects.filter((o) => MONITORING_KINDS.includes(o.kind))).toEqual([]);
    expect(objects.filter((o) => o.metadata?.labels?.grafana_dashboard)).toEqual([]);
  });

  it("synthesizes PodMonitors selecting the pods Argo Events runs, on their 'metrics' port (7777)", () => {
    const sensor = find(enabled, 'PodMonitor', 'agent-cancellation-sensor');
    // Argo Events v1.9.11 labels: pkg/reconciler/sensor/controller.go and pkg/reconciler/eventsource/controller.go.
    expect(sensor.spec.selector.matchLabels).toEqual({ controller: 'sensor-controller', 'sensor-name': 'agent-cancellation-sensor' });
    expect(sensor.spec.podMetricsEndpoints).toEqual([{ port: 'metrics', path: '/metrics' }]);
    expect(sensor.metadata.labels.release).toBe('kube-prometheus-stack');
    const source = find(enabled, 'PodMonitor', 'agent-cancellation-eventsource');
    expect(source.spec.selector.matchLabels).toEqual({
      controller: 'eventsource-controller',
      'eventsource-name': 'agent-cancellation-github',
    });
    expect(source.metadata.namespace).toBe('agent-platform');
  });

  it('puts the PodMonitors beside the Argo objects, in eventsNamespace', () => {
    const objects = synth({ eventsNamespace: 'argo-events', monitoring: { enabled: true } });
    expect(find(objects, 'PodMonitor', 'agent-cancellation-sensor').metadata.namespace).toBe('argo-events');
    expect(find(objects, 'PrometheusRule').metadata.namespace).toBe('agent-platform');
  });

  it('has one alert per failure mode, each with a severity, a summary naming the installation and a runbook anchor', () => {
    const rules = find(enabled, 'PrometheusRule').spec.groups[0].rules;
    expect(rules.map((r: any) => r.alert)).toEqual([
      'AgentCancellationTriggerFailing',
      'AgentCancellationTriggerExhausted',
      'AgentCancellationEventSourceFailing',
      'AgentCancellationJobsFailing',
      'AgentCancellationReconcilerOverdue',
      'AgentCancellationNeedsAttention',
    ]);
    const runbook = fs.readFileSync(path.join(repoRoot, 'docs', 'monitoring.md'), 'utf8');
    for (const r of rules) {
      expect(['critical', 'warning']).toContain(r.labels.severity);
      expect(r.annotations.summary).toContain('"agent-cancellation" (namespace agent-platform)');
      expect(r.annotations.runbook_url).toBe(
        `https://github.com/5dlabs/agent-cancellation/blob/main/docs/monitoring.md#${r.alert.toLowerCase()}`,
      );
      expect(runbook).toContain(`### ${r.alert}\n`);
    }
  });

  it('watches the Sensor by its name and trigger names, and the reconciler at 3 schedules', () => {
    const rules = find(enabled, 'PrometheusRule').spec.groups[0].rules;
    const exhausted = rules.find((r: any) => r.alert === 'AgentCancellationTriggerExhausted').expr;
    expect(exhausted).toContain('sensor_name="agent-cancellation-sensor"');
    expect(exhausted).toContain('trigger_name=~"launch-remediation-job-dropped|launch-pr-ended-job-dropped"');
    const overdue = rules.find((r: any) => r.alert === 'AgentCancellationReconcilerOverdue').expr;
    expect(overdue).toContain('> 900');
    expect(synth({ reconciler: { schedule: '0 * * * *' }, monitoring: { enabled: true } }).length).toBeGreaterThan(0);
    const hourly = find(synth({ reconciler: { schedule: '0 * * * *' }, monitoring: { enabled: true } }), 'PrometheusRule');
    expect(hourly.spec.groups[0].rules.find((r: any) => r.alert === 'AgentCancellationReconcilerOverdue').expr).toContain('> 10800');
    const off = find(synth({ reconciler: { enabled: false }, monitoring: { enabled: true } }), 'PrometheusRule');
    expect(off.spec.groups[0].rules.map((r: any) => r.alert)).not.toContain('AgentCancellationReconcilerOverdue');
  });

  it('synthesizes objects valid against the prometheus-operator CRDs it imported', () => {
    const schemas = crdSchemas();
    const ajv = new Ajv({ strict: false, allErrors: true, formats: { int32: true, int64: true } });
    for (const kind of MONITORING_KINDS) {
      const validate = ajv.compile(schemas[kind]);
      for (const o of enabled.filter((x) => x.kind === kind)) {
        expect({ kind, errors: validate(o) ? null : validate.errors }).toEqual({ kind, errors: null });
      }
    }
    const broken = { ...find(enabled, 'PodMonitor'), spec: { podMetricsEndpoints: [{ port: 7777 }] } };
    expect(ajv.compile(schemas.PodMonitor)(broken)).toBe(false);
  });

  it("ships the dashboard in a ConfigMap for kube-prometheus-stack's Grafana sidecar", () => {
    const cm = find(enabled, 'ConfigMap', 'agent-cancellation-dashboard');
    expect(cm.metadata.labels.grafana_dashboard).toBe('1');
    const dashboard = JSON.parse(cm.data['agent-cancellation.json']);
    expect(dashboard.panels.map((p: any) => p.title)).toEqual([
      'Pushes handled and Jobs run',
      'Job outcomes and durations',
      'Sensor trigger latency and failures',
      "Reconciler's last success",
      'PRs needing attention',
    ]);
    expect(dashboard.uid.length).toBeLessThanOrEqual(40);
    const elsewhere = find(
      synth({ monitoring: { enabled: true, dashboardNamespace: 'monitoring' } }),
      'ConfigMap',
      'agent-cancellation-dashboard',
    );
    expect(elsewhere.metadata.namespace).toBe('monitoring');
  });

  it('refuses, naming the field, labels a selector cannot match and a bad runbook URL', () => {
    const issues = (monitoring: unknown) => {
      try {
        resolveConfig({ monitoring });
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).issues.join('\n');
      }
      throw new Error('accepted');
    };
    expect(issues({ enabled: true, labels: { 'bad key': 'x' } })).toMatch(/monitoring\.labels: key "bad key" must match pattern/);
    expect(issues({ enabled: true, labels: { release: 'kube prometheus' } })).toMatch(/monitoring\.labels\.release: "kube prometheus"/);
    expect(issues({ enabled: true, runbookUrl: 'docs/monitoring.md' })).toMatch(/monitoring\.runbookUrl: "docs\/monitoring\.md"/);
    expect(issues({ enabled: 'yes' })).toMatch(/monitoring\.enabled: "yes"/);
  });

  it('composes alone, from plain names, and checks its own props', () => {
    const props = {
      sensor: { name: 's', namespace: 'events', triggerNames: ['t'], deadLetterTriggerNames: ['t-dropped'] },
      job: { prefix: 'ac', namespace: 'work' },
    };
    const chart = new Chart(Testing.app(), 'c');
    const m = new Monitoring(chart, 'M', props);
    const kinds = Testing.synth(chart).map((o) => o.kind);
    expect(kinds.sort()).toEqual(['ConfigMap', 'PodMonitor', 'PrometheusRule']);
    expect(m.alerts.map((a) => a.alert)).not.toContain('AgentCancellationEventSourceFailing');
    const fails = (extra: object) => () => new Monitoring(new Chart(Testing.app(), 'c'), 'M', { ...props, ...extra });
    expect(fails({ labels: { release: '-x' } })).toThrow('labels: "release": "-x" is not a Kubernetes label value');
    expect(fails({ labels: { 'a b': 'x' } })).toThrow('labels: "a b" is not a Kubernetes label key');
    expect(fails({ runbookUrl: 'ftp://x' })).toThrow('runbookUrl: "ftp://x"');
    expect(fails({ sensor: { ...props.sensor, triggerNames: [] } })).toThrow('sensor: "s" has no triggerNames');
    expect(fails({ reconciler: { name: 'r', schedule: '0 0 30 2 *' } })).toThrow('"0 0 30 2 *" runs at most once in four years');
  });

  it.each([
    ['*/5 * * * *', 300],
    ['0 * * * *', 3600],
    ['30 9 * * MON-FRI', 3 * 86400],
    ['0 0 1 * *', 31 * 86400],
    ['*/7 * * * *', 420],
    ['0 12 1 * MON', 7 * 86400],
  ])('longest gap of %s is %d s', (expression, seconds) => {
    expect(longestCronGapSeconds(expression)).toBe(seconds);
  });
});
