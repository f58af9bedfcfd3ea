/**
 * The synthesized PrometheusRule and dashboard through Prometheus' own promtool: `check rules` on the rules and on
 * every dashboard query (as recording rules), and `test rules` with input series for each alert, firing on the
 * failure series and silent on the healthy ones.
 */
import { find, synth } from '../constructs/synth-helpers';
import { expand, promtool, ruleDir, ruleFile } from '../../fixtures/promtool';

const objects = synth({ monitoring: { enabled: true, labels: { release: 'kube-prometheus-stack' } } });
const rule = find(objects, 'PrometheusRule');
const rules: Array<Record<string, any>> = rule.spec.groups[0].rules;
const dashboard = JSON.parse(Object.values(find(objects, 'ConfigMap', 'agent-cancellation-dashboard').data as Record<string, string>)[0]);

const NS = 'agent-platform';
const SENSOR = { namespace: NS, sensor_name: 'agent-cancellation-sensor' };
const SOURCE = { namespace: NS, eventsource_name: 'agent-cancellation-github', event_name: 'push' };

const series = (metric: string, labels: Record<string, string>, values: string) => ({
  series: `${metric}{${Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ')}}`,
  values,
});

/** The alert `name` as Prometheus would send it for `labels` (its own labels added) and `value`. */
function expected(name: string, labels: Record<string, string>, value = '1') {
  const r = rules.find((x) => x.alert === name)!;
  const annotations = Object.fromEntries(
    Object.entries(r.annotations as Record<string, string>).map(([k, v]) => [k, expand(v, labels, value)]),
  );
  return { exp_labels: { ...labels, ...r.labels }, exp_annotations: annotations };
}

/** One promtool test group: `input` series, and at each time the alerts expected (none: silent). */
function group(name: string, input: unknown[], checks: Array<[eval_time: string, alertname: string, alerts: unknown[]]>) {
  return {
    name,
    interval: '1m',
    input_series: input,
    alert_rule_test: checks.map(([eval_time, alertname, exp_alerts]) => ({ eval_time, alertname, exp_alerts })),
  };
}

const launch = { ...SENSOR, trigger_name: 'launch-remediation-job' };
const dropped = { ...SENSOR, trigger_name: 'launch-remediation-job-dropped' };
const job = (name: string) => ({ namespace: NS, job_name: name });
const cronJob = { namespace: NS, cronjob: 'agent-cancellation-reconciler' };
/** A reconciler succeeding every 5 minutes: its last success, sampled each minute for `minutes`. */
const everyFiveMinutes = (minutes: number) => Array.from({ length: minutes + 1 }, (_, m) => Math.floor(m / 5) * 300).join(' ');

const TESTS = [
  group(
    'trigger failing',
    [series('argo_events_action_failed_total', launch, '0+1x30')],
    [
      ['5m', 'AgentCancellationTriggerFailing', []],
      ['20m', 'AgentCancellationTriggerFailing', [expected('AgentCancellationTriggerFailing', launch)]],
    ],
  ),
  group(
    'one failed attempt, retried to success',
    [
      series('argo_events_action_failed_total', launch, '0x5 1x25'),
      series('argo_events_action_triggered_total', launch, '0x5 1x25'),
      series('argo_events_action_retries_failed_total', launch, '0x30'),
    ],
    [
      ['9m', 'AgentCancellationTriggerFailing', []],
      ['20m', 'AgentCancellationTriggerFailing', []],
      ['9m', 'AgentCancellationTriggerExhausted', []],
    ],
  ),
  group(
    'retries exhausted',
    [series('argo_events_action_retries_failed_total', launch, '0x5 1x30')],
    [
      ['10m', 'AgentCancellationTriggerExhausted', [expected('AgentCancellationTriggerExhausted', launch)]],
      ['30m', 'AgentCancellationTriggerExhausted', []],
    ],
  ),
  group(
    'dead-letter trigger fired for the first time',
    [series('argo_events_action_triggered_total', launch, '0x40'), series('argo_events_action_triggered_total', dropped, '_x5 1x35')],
    [
      ['4m', 'AgentCancellationTriggerExhausted', []],
      ['10m', 'AgentCancellationTriggerExhausted', [expected('AgentCancellationTriggerExhausted', dropped)]],
      ['30m', 'AgentCancellationTriggerExhausted', []],
    ],
  ),
  group(
    'eventsource failing to publish',
    [
      series('argo_events_events_sent_total', SOURCE, '0+1x30'),
      series('argo_events_events_sent_failed_total', SOURCE, '0x5 1x25'),
      series('argo_events_events_processing_failed_total', SOURCE, '0x30'),
    ],
    [
      ['4m', 'AgentCancellationEventSourceFailing', []],
      ['10m', 'AgentCancellationEventSourceFailing', [expected('AgentCancellationEventSourceFailing', SOURCE)]],
    ],
  ),
  group(
    'eventsource failing to process',
    [series('argo_events_events_processing_failed_total', SOURCE, '0x5 3x25')],
    [['10m', 'AgentCancellationEventSourceFailing', [expected('AgentCancellationEventSourceFailing', SOURCE)]]],
  ),
  group(
    'healthy eventsource',
    [
      series('argo_events_events_sent_total', SOURCE, '0+1x30'),
      series('argo_events_events_sent_failed_total', SOURCE, '0x30'),
      series('argo_events_events_processing_failed_total', SOURCE, '0x30'),
    ],
    [['20m', 'AgentCancellationEventSourceFailing', []]],
  ),
  group(
    'remediation Jobs failed',
    [
      series('kube_job_failed', { ...job('agent-cancellation-x7k2p'), condition: 'true' }, '1x20'),
      series('kube_job_status_start_time', job('agent-cancellation-x7k2p'), '300x20'),
      series('kube_job_failed', { ...job('agent-cancellation-b4nq9'), condition: 'true' }, '1x20'),
      series('kube_job_status_start_time', job('agent-cancellation-b4nq9'), '360x20'),
    ],
    [['10m', 'AgentCancellationJobsFailing', [expected('AgentCancellationJobsFailing', { namespace: NS }, '2')]]],
  ),
  group(
    'a Job whose pod failed once, then succeeded',
    [
      series('kube_job_status_failed', { ...job('agent-cancellation-x7k2p'), reason: 'BackoffLimitExceeded' }, '1x20'),
      series('kube_job_failed', { ...job('agent-cancellation-x7k2p'), condition: 'true' }, '0x20'),
      series('kube_job_failed', { ...job('agent-cancellation-x7k2p'), condition: 'false' }, '1x20'),
      series('kube_job_complete', { ...job('agent-cancellation-x7k2p'), condition: 'true' }, '1x20'),
      series('kube_job_status_start_time', job('agent-cancellation-x7k2p'), '300x20'),
    ],
    [['10m', 'AgentCancellationJobsFailing', []]],
  ),
  group(
    'a failed Job started over an hour ago, and a failed reconciler pass',
    [
      series('kube_job_failed', { ...job('agent-cancellation-x7k2p'), condition: 'true' }, '1x90'),
      series('kube_job_status_start_time', job('agent-cancellation-x7k2p'), '0x90'),
      series('kube_job_failed', { ...job('agent-cancellation-reconciler-29430000'), condition: 'true' }, '1x90'),
      series('kube_job_status_start_time', job('agent-cancellation-reconciler-29430000'), '5000x90'),
    ],
    [['85m', 'AgentCancellationJobsFailing', []]],
  ),
  group(
    'reconciler overdue',
    [
      series('kube_cronjob_created', cronJob, '0x30'),
      series('kube_cronjob_status_last_successful_time', cronJob, '60x30'),
      series('kube_cronjob_spec_suspend', cronJob, '0x30'),
    ],
    [
      ['10m', 'AgentCancellationReconcilerOverdue', []],
      ['20m', 'AgentCancellationReconcilerOverdue', [expected('AgentCancellationReconcilerOverdue', cronJob, '1140')]],
    ],
  ),
  group(
    'reconciler never succeeded',
    [series('kube_cronjob_created', cronJob, '0x30'), series('kube_cronjob_spec_suspend', cronJob, '0x30')],
    [['20m', 'AgentCancellationReconcilerOverdue', [expected('AgentCancellationReconcilerOverdue', cronJob, '1200')]]],
  ),
  group(
    'reconciler on schedule',
    [
      series('kube_cronjob_created', cronJob, '0x60'),
      series('kube_cronjob_status_last_successful_time', cronJob, everyFiveMinutes(60)),
      series('kube_cronjob_spec_suspend', cronJob, '0x60'),
    ],
    [['60m', 'AgentCancellationReconcilerOverdue', []]],
  ),
  group(
    'reconciler suspended on purpose',
    [series('kube_cronjob_created', cronJob, '0x30'), series('kube_cronjob_spec_suspend', cronJob, '1x30')],
    [['20m', 'AgentCancellationReconcilerOverdue', []]],
  ),
  group(
    'PRs needing a person',
    [
      series(
        'kube_lease_owner',
        { namespace: NS, lease: 'ac-attention-0a1b2c3d4e-12', owner_kind: '', owner_name: '', lease_holder: '' },
        '1x10',
      ),
      series('kube_lease_owner', { namespace: NS, lease: 'ac-pr-0a1b2c3d4e-12', owner_kind: '', owner_name: '', lease_holder: '' }, '1x10'),
    ],
    [['5m', 'AgentCancellationNeedsAttention', [expected('AgentCancellationNeedsAttention', { namespace: NS })]]],
  ),
  group(
    'state Leases only',
    [
      series(
        'kube_lease_owner',
        { namespace: NS, lease: 'ac-pr-0a1b2c3d4e-12', owner_kind: '', owner_name: '', lease_holder: 'run-1' },
        '1x10',
      ),
    ],
    [['5m', 'AgentCancellationNeedsAttention', []]],
  ),
];

describe('promtool', () => {
  it('check rules accepts the synthesized PrometheusRule', () => {
    const { dir, cleanup } = ruleDir({ 'rules.yaml': ruleFile(rule) });
    try {
      const r = promtool(dir, 'check', 'rules', 'rules.yaml');
      expect(r.output).toContain(`SUCCESS: ${rules.length} rules found`);
      expect(r.status).toBe(0);
    } finally {
      cleanup();
    }
  });

  it('check rules refuses a broken expression (the check can fail)', () => {
    const broken = { groups: [{ name: 'x', rules: [{ ...rules[0], expr: `${rules[0].expr} +` }] }] };
    const { dir, cleanup } = ruleDir({ 'rules.yaml': broken });
    try {
      expect(promtool(dir, 'check', 'rules', 'rules.yaml').status).not.toBe(0);
    } finally {
      cleanup();
    }
  });

  it('test rules: every alert fires on its failure series and stays silent on the healthy ones', () => {
    const alerted = new Set(TESTS.flatMap((t) => t.alert_rule_test.filter((c) => c.exp_alerts.length).map((c) => c.alertname)));
    expect([...alerted].sort()).toEqual(rules.map((r) => r.alert).sort());
    const { dir, cleanup } = ruleDir({
      'rules.yaml': ruleFile(rule),
      'tests.yaml': { rule_files: ['rules.yaml'], evaluation_interval: '1m', tests: TESTS },
    });
    try {
      const r = promtool(dir, 'test', 'rules', 'tests.yaml');
      expect(r.output).toContain('SUCCESS');
      expect(r.status).toBe(0);
    } finally {
      cleanup();
    }
  });

  it('test rules fails when a healthy series is expected to alert (the test can fail)', () => {
    const wrong = [
      group(
        'wrong',
        [series('argo_events_action_retries_failed_total', launch, '0x30')],
        [['10m', 'AgentCancellationTriggerExhausted', [expected('AgentCancellationTriggerExhausted', launch)]]],
      ),
    ];
    const { dir, cleanup } = ruleDir({
      'rules.yaml': ruleFile(rule),
      'tests.yaml': { rule_files: ['rules.yaml'], evaluation_interval: '1m', tests: wrong },
    });
    try {
      expect(promtool(dir, 'test', 'rules', 'tests.yaml').status).not.toBe(0);
    } finally {
      cleanup();
    }
  });

  it("every dashboard query parses (Grafana's $__rate_interval read as 5m)", () => {
    const exprs: string[] = dashboard.panels.flatMap((p: any) => p.targets.map((t: any) => t.expr));
    expect(exprs.length).toBeGreaterThanOrEqual(dashboard.panels.length);
    const recording = exprs.map((expr, i) => ({
      record: `agent_cancellation:panel_query_${i}`,
      expr: expr.replace(/\$__rate_interval/g, '5m'),
    }));
    const { dir, cleanup } = ruleDir({ 'panels.yaml': { groups: [{ name: 'panels', rules: recording }] } });
    try {
      const r = promtool(dir, 'check', 'rules', 'panels.yaml');
      expect(r.output).toContain(`SUCCESS: ${exprs.length} rules found`);
      expect(r.status).toBe(0);
    } finally {
      cleanup();
    }
  });
});
