import { DEFAULTS, EXIT } from '../../../src';
import { EVENT_ENV } from '../../../src/contract/env';
import { find, preset, synth } from './synth-helpers';

const card = synth(preset('card'));
const cto = synth(preset('5dlabs-cto'));
/** The card preset is the defaults (config.test.ts): what the card synthesizes is read from DEFAULTS, never re-spelled. */
const { name: NAME, namespace: NS, codeRun, github, job: jobDefaults } = DEFAULTS;

function rules(objects: Record<string, any>[], role: string) {
  return find(objects, 'Role', role).rules;
}

function subjects(objects: Record<string, any>[], binding: string) {
  const b = find(objects, 'RoleBinding', binding);
  return { role: b.roleRef.name, subjects: b.subjects.map((s: any) => `${s.namespace}/${s.name}`) };
}

const namespaced = (objects: Record<string, any>[]) => objects.filter((o) => !o.kind.startsWith('ValidatingAdmissionPolicy'));

describe('synthesized bundle (card)', () => {
  test('emits exactly these objects, all namespaced in the default namespace but the cluster-scoped admission policy', () => {
    expect(card.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      `ConfigMap/${NAME}-job-bundle`,
      `CronJob/${NAME}-reconciler`,
      `EventSource/${NAME}-github`,
      `Role/${NAME}-job`,
      `Role/${NAME}-launch-job`,
      `Role/${NAME}-sensor-record-dropped`,
      `RoleBinding/${NAME}-job`,
      `RoleBinding/${NAME}-launch-job`,
      `RoleBinding/${NAME}-sensor-record-dropped`,
      `Sensor/${NAME}-sensor`,
      `ServiceAccount/${NAME}-github`,
      `ServiceAccount/${NAME}-job`,
      `ServiceAccount/${NAME}-sensor`,
      `ValidatingAdmissionPolicy/${NAME}-job-scope.${NS}`,
      `ValidatingAdmissionPolicyBinding/${NAME}-job-scope.${NS}`,
    ]);
    expect(new Set(namespaced(card).map((o) => o.metadata.namespace))).toEqual(new Set([NS]));
  });

  test('the Sensor filters are exact, anchored and typed', () => {
    const dep = find(card, 'Sensor').spec.dependencies[0];
    expect(dep).toMatchObject({ name: 'rex-push', eventSourceName: 'agent-cancellation-github', eventName: 'push' });
    expect(dep.filters).toEqual({
      dataLogicalOperator: 'and',
      data: [
        { path: 'body.X-GitHub-Event', type: 'string', value: ['^push$'] },
        { path: 'body.repository.full_name', type: 'string', value: ['(?i)^(?:5dlabs/cto)$'] },
        { path: 'body.sender.login', type: 'string', value: ['(?i)^(?:5DLabs-Rex\\[bot\\]|5DLabs-Rex)$'] },
        { path: 'body.ref', type: 'string', value: ['^refs/heads/feature/task-0*([0-9]+)-implementation$'] },
        { path: 'body.deleted', type: 'bool', value: ['false'] },
        { path: 'body.after', type: 'string', value: ['^[0-9a-f]{40}([0-9a-f]{24})?$'] },
        { path: 'body.after', type: 'string', value: ['^0+$'], comparator: '!=' },
      ],
    });
  });

  test('the trigger creates one Job per event, at least once, with retries', () => {
    const trigger = find(card, 'Sensor').spec.triggers[0];
    expect(trigger.atLeastOnce).toBe(true);
    const { durationSeconds, ...retry } = DEFAULTS.sensor.retry;
    expect(trigger.retryStrategy).toEqual({ ...retry, duration: `${durationSeconds}s` });
    expect(trigger.template.k8s.operation).toBe('create');
    expect(trigger.template.k8s.source.resource.metadata.generateName).toBe(`${NAME}-`);
    expect(trigger.template.k8s.source.resource.metadata.name).toBeUndefined();
  });

  test('parameters carry repository, branch, SHA, delivery id, task id, push time and previous head into the Job env', () => {
    const { parameters, source } = find(card, 'Sensor').spec.triggers[0].template.k8s;
    const env = source.resource.spec.template.spec.containers[0].env;
    const byEnv = Object.fromEntries(
      parameters
        .filter((p: any) => p.dest.startsWith('spec.template.spec.containers.0.env.'))
        .map((p: any) => [env[Number(p.dest.split('.')[6])].name, p.src]),
    );
    const ref = '^refs/heads/feature/task-0*([0-9]+)-implementation$';
    expect(byEnv).toEqual({
      [EVENT_ENV.repository]: { dependencyName: 'rex-push', dataKey: 'body.repository.full_name' },
      [EVENT_ENV.branch]: { dependencyName: 'rex-push', dataTemplate: '{{ trimPrefix "refs/heads/" .Input.body.ref }}' },
      [EVENT_ENV.headSha]: { dependencyName: 'rex-push', dataKey: 'body.after' },
      [EVENT_ENV.pushedAtMs]: { dependencyName: 'rex-push', dataKey: 'body.repository.pushed_at' },
      [EVENT_ENV.beforeSha]: { dependencyName: 'rex-push', dataKey: 'body.before' },
      [EVENT_ENV.deliveryId]: { dependencyName: 'rex-push', dataKey: 'body.X-GitHub-Delivery' },
      [EVENT_ENV.taskId]: { dependencyName: 'rex-push', dataTemplate: `{{ regexReplaceAll \`${ref}\` .Input.body.ref "\${1}" }}` },
      [EVENT_ENV.event]: { dependencyName: 'rex-push', dataKey: 'body.X-GitHub-Event' },
      [EVENT_ENV.prNumber]: { dependencyName: 'rex-push', value: '' },
    });
    expect(parameters.filter((p: any) => !p.dest.startsWith('spec.template.spec.containers.0.env.')).map((p: any) => p.dest)).toEqual([
      'metadata.labels.agent-cancellation\\.5dlabs\\.io/task-id',
    ]);
  });

  test('two dependencies, a trigger for each: its conditions name its own dependency, its parameters set every event env var from it', () => {
    const { dependencies, triggers } = find(card, 'Sensor').spec;
    expect(dependencies.map((d: any) => [d.name, d.eventSourceName, d.eventName])).toEqual([
      ['rex-push', 'agent-cancellation-github', 'push'],
      ['task-pr-ended', 'agent-cancellation-github', 'push'],
    ]);
    expect(triggers.map((t: any) => [t.template.name, t.template.conditions])).toEqual([
      ['launch-remediation-job', 'rex-push'],
      ['launch-pr-ended-job', 'task-pr-ended'],
    ]);
    for (const t of triggers) {
      const { parameters, source } = t.template.k8s;
      const env = source.resource.spec.template.spec.containers[0].env;
      const set = parameters
        .filter((p: any) => p.dest.startsWith('spec.template.spec.containers.0.env.'))
        .map((p: any) => env[Number(p.dest.split('.')[6])].name);
      expect(set.sort()).toEqual(Object.values(EVENT_ENV).sort());
      expect(new Set(parameters.map((p: any) => p.src.dependencyName))).toEqual(new Set([t.template.conditions]));
    }
  });

  test("each trigger's dead-letter trigger records a Warning Event on the Sensor, from the trigger's own dependency", () => {
    for (const t of find(card, 'Sensor').spec.triggers) {
      const dlq = t.dlqTrigger.template;
      expect([dlq.name, dlq.conditions]).toEqual([`${t.template.name}-dropped`, t.template.conditions]);
      expect(dlq.k8s.source.resource).toMatchObject({
        kind: 'Event',
        metadata: { namespace: 'agent-platform' },
        involvedObject: { kind: 'Sensor', name: 'agent-cancellation-sensor', namespace: 'agent-platform' },
        type: 'Warning',
        reason: 'RemediationJobNotCreated',
      });
      expect(dlq.k8s.parameters.map((p: any) => [p.dest, p.src.dependencyName])).toEqual([
        ['message', t.template.conditions],
        ['firstTimestamp', t.template.conditions],
        ['lastTimestamp', t.template.conditions],
      ]);
    }
  });

  test('the Job spec: non-root, read-only, bounded, failing fast on non-retryable exits', () => {
    const job = find(card, 'Sensor').spec.triggers[0].template.k8s.source.resource;
    expect(job.spec).toMatchObject({
      backoffLimit: jobDefaults.backoffLimit,
      activeDeadlineSeconds: jobDefaults.activeDeadlineSeconds,
      ttlSecondsAfterFinished: jobDefaults.ttlSecondsAfterFinished,
      podFailurePolicy: {
        rules: [
          {
            action: 'FailJob',
            onExitCodes: { containerName: 'remediation', operator: 'In', values: [EXIT.badInput, EXIT.needsAttention] },
          },
        ],
      },
    });
    const pod = job.spec.template.spec;
    expect(pod).toMatchObject({
      serviceAccountName: `${NAME}-job`,
      automountServiceAccountToken: true,
      restartPolicy: 'Never',
      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
      volumes: [{ name: 'bundle', configMap: { name: `${NAME}-job-bundle`, defaultMode: 0o444 } }],
    });
    const [container] = pod.containers;
    expect(container.image).toBe(jobDefaults.nodeImage);
    expect(container.image).toMatch(/^node:22-alpine@sha256:[0-9a-f]{64}$/);
    expect(container.command).toEqual(['node', '/opt/agent-cancellation/remediation-job.js', 'run']);
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    const env = Object.fromEntries(container.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
    expect(env).toMatchObject({
      AC_NAMESPACE: NS,
      AC_CODERUN_GROUP: codeRun.group,
      AC_CODERUN_VERSION: codeRun.version,
      AC_CODERUN_PLURAL: codeRun.plural,
      AC_QA_SELECTOR: `${DEFAULTS.qaSelector.key} in (${DEFAULTS.qaSelector.values.join(',')}),${DEFAULTS.implementationAgent.key}!=${DEFAULTS.implementationAgent.value}`,
      AC_TASK_ID_LABEL: DEFAULTS.taskIdLabel,
      AC_ALLOWED_REPOSITORIES: github.repositories.join(','),
      AC_LABEL_READY: github.readyForQaLabel,
      AC_LABEL_REMEDIATION: github.remediationLabel.name,
      AC_SKIP_EXIT_CODE: '0',
      AC_RUN_ID: { fieldRef: { fieldPath: 'metadata.name' } },
      GITHUB_TOKEN: { secretKeyRef: github.tokenSecret },
    });
  });

  test('RBAC: the Job may only touch CodeRuns, Leases and Events', () => {
    expect(rules(card, `${NAME}-job`)).toEqual([
      { apiGroups: [codeRun.group], resources: [codeRun.plural], verbs: ['get', 'list', 'delete'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create'] },
    ]);
    expect(subjects(card, `${NAME}-job`)).toEqual({ role: `${NAME}-job`, subjects: [`${NS}/${NAME}-job`] });
  });

  test('RBAC: the Sensor may only create Jobs, and Events for those it could not create; the EventSource has no token', () => {
    expect(rules(card, `${NAME}-launch-job`)).toEqual([{ apiGroups: ['batch'], resources: ['jobs'], verbs: ['create'] }]);
    expect(subjects(card, `${NAME}-launch-job`)).toEqual({ role: `${NAME}-launch-job`, subjects: [`${NS}/${NAME}-sensor`] });
    expect(rules(card, `${NAME}-sensor-record-dropped`)).toEqual([{ apiGroups: [''], resources: ['events'], verbs: ['create'] }]);
    expect(subjects(card, `${NAME}-sensor-record-dropped`)).toEqual({
      role: `${NAME}-sensor-record-dropped`,
      subjects: [`${NS}/${NAME}-sensor`],
    });
    expect(find(card, 'ServiceAccount', `${NAME}-github`).automountServiceAccountToken).toBe(false);
    const bound = card.filter((o) => o.kind === 'RoleBinding').flatMap((b) => b.subjects.map((s: any) => s.name));
    expect(bound).not.toContain(`${NAME}-github`);
  });

  test('no secret values: only Secret references', () => {
    expect(card.filter((o) => o.kind === 'Secret')).toEqual([]);
    const es = find(card, 'EventSource');
    expect(es.spec.github.push.webhookSecret).toEqual(DEFAULTS.webhook.secret);
    expect(es.spec.github.push.apiToken).toBeUndefined();
  });
});

describe('synthesized bundle (real platform preset)', () => {
  test('targets agents.platform CodeRuns in cto, selected by workflow-stage', () => {
    expect(rules(cto, 'agent-cancellation-job')[0]).toEqual({
      apiGroups: ['agents.platform'],
      resources: ['coderuns'],
      verbs: ['get', 'list', 'delete'],
    });
    const env = find(cto, 'Sensor').spec.triggers[0].template.k8s.source.resource.spec.template.spec.containers[0].env;
    expect(env.find((e: any) => e.name === 'AC_QA_SELECTOR').value).toBe(
      'workflow-stage in (quality,security,testing),workflow-stage!=implementation',
    );
    // The Sensor and what records its dropped deliveries live beside the platform's EventSource; the rest in cto.
    const byNamespace = (ns: string) =>
      namespaced(cto)
        .filter((o) => o.metadata.namespace === ns)
        .map((o) => `${o.kind}/${o.metadata.name}`);
    expect(byNamespace('automation').sort()).toEqual([
      'Role/agent-cancellation-sensor-record-dropped',
      'RoleBinding/agent-cancellation-sensor-record-dropped',
      'Sensor/agent-cancellation-sensor',
      'ServiceAccount/agent-cancellation-sensor',
    ]);
    expect(new Set(namespaced(cto).map((o) => o.metadata.namespace))).toEqual(new Set(['cto', 'automation']));
    const sender = find(cto, 'Sensor').spec.dependencies[0].filters.data.find((f: any) => f.path === 'body.sender.login');
    expect(sender.value).toEqual(['(?i)^(?:rex-5dlabs\\[bot\\])$']);
  });

  test("the platform's organization EventSource is subscribed to, not made: no EventSource, Service or webhook Secret reference", () => {
    expect(cto.filter((o) => ['EventSource', 'Service'].includes(o.kind))).toEqual([]);
    for (const d of find(cto, 'Sensor').spec.dependencies) expect([d.eventSourceName, d.eventName]).toEqual(['github', 'org']);
    // Every event type arrives from it: the Sensor checks the header itself.
    const events = find(cto, 'Sensor').spec.dependencies.map(
      (d: any) => d.filters.data.find((f: any) => f.path === 'body.X-GitHub-Event').value,
    );
    expect(events).toEqual([['^push$'], ['^pull_request$']]);
    expect(JSON.stringify(cto)).not.toContain(DEFAULTS.webhook.secret.name);
  });

  test('one organization-wide webhook of our own: the EventSource names the organization and no repository', () => {
    const own = synth({
      github: { organizations: ['5dlabs'], repositories: ['5dlabs/*'] },
      repositoryScope: { from: 'field:spec.repositoryUrl', format: 'github' },
    });
    const github = find(own, 'EventSource').spec.github.push;
    expect(github.organizations).toEqual(['5dlabs']);
    expect(github.repositories).toBeUndefined();
    expect(find(card, 'EventSource').spec.github.push).toMatchObject({ repositories: [{ owner: '5dlabs', names: ['cto'] }] });
    expect(find(card, 'EventSource').spec.github.push.organizations).toBeUndefined();
  });

  test('EventSource and Sensor can run in another namespace; the Sensor still only creates Jobs in cto', () => {
    const objects = synth({ ...preset('5dlabs-cto'), eventsNamespace: 'argo-events' });
    expect(find(objects, 'Sensor').metadata.namespace).toBe('argo-events');
    expect(find(objects, 'Role', 'agent-cancellation-launch-job').metadata.namespace).toBe('cto');
    expect(subjects(objects, 'agent-cancellation-launch-job').subjects).toEqual(['argo-events/agent-cancellation-sensor']);
  });

  test('image mode runs the project image and ships no ConfigMap', () => {
    const objects = synth({ job: { mode: 'image', image: 'registry.example/agent-cancellation:1' } });
    expect(objects.some((o) => o.kind === 'ConfigMap')).toBe(false);
    const pod = find(objects, 'Sensor').spec.triggers[0].template.k8s.source.resource.spec.template.spec;
    expect(pod.containers[0].image).toBe('registry.example/agent-cancellation:1');
    expect(pod.volumes).toEqual([]);
  });
});
