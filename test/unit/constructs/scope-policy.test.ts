/** The admission policy as synthesized; test/integration/scope-policy proves what the apiserver does with it. */
import { MANAGED_BY } from '../../../src/contract/labels';
import { find, preset, synth } from './synth-helpers';

const policyOf = (objects: Record<string, any>[]) => find(objects, 'ValidatingAdmissionPolicy').spec;

test("matches only the Job's ServiceAccount, on CodeRun deletes and Lease writes", () => {
  const policy = policyOf(synth(preset('5dlabs-cto')));
  expect(policy.matchConditions).toEqual([
    { name: 'job-service-account', expression: 'request.userInfo.username == "system:serviceaccount:cto:agent-cancellation-job"' },
  ]);
  // Named versions (a wildcard turns the controller-manager's type check off); Equivalent matches the others.
  expect(policy.matchConstraints.matchPolicy).toBe('Equivalent');
  expect(policy.matchConstraints.resourceRules.map((r: any) => [r.apiGroups, r.apiVersions, r.resources, r.operations])).toEqual([
    [['agents.platform'], ['v1'], ['coderuns'], ['DELETE']],
    [['coordination.k8s.io'], ['v1'], ['leases'], ['CREATE', 'UPDATE', 'DELETE']],
  ]);
  expect(policy.failurePolicy).toBe('Fail');
});

test("the CodeRun rule names the preset's QA agents and its implementation agent; the Lease rules the managed-by label", () => {
  const [codeRuns, ...leases] = policyOf(synth(preset('5dlabs-cto'))).validations.map((v: any) => v.expression);
  expect(codeRuns).toContain('oldObject.metadata.labels["workflow-stage"] in ["quality", "security", "testing"]');
  expect(codeRuns).toContain(
    '!(has(oldObject.metadata.labels) && "workflow-stage" in oldObject.metadata.labels && oldObject.metadata.labels["workflow-stage"] in ["implementation"])',
  );
  const [[key, value]] = Object.entries(MANAGED_BY);
  expect(leases[0]).toContain(`oldObject.metadata.labels[${JSON.stringify(key)}] in [${JSON.stringify(value)}]`);
  expect(leases[1]).toContain(`object.metadata.labels[${JSON.stringify(key)}] in [${JSON.stringify(value)}]`);
});

test('the binding denies; admissionPolicy.enabled false leaves both out, for clusters before 1.30', () => {
  const objects = synth();
  const binding = find(objects, 'ValidatingAdmissionPolicyBinding');
  expect(binding.spec).toEqual({ policyName: find(objects, 'ValidatingAdmissionPolicy').metadata.name, validationActions: ['Deny'] });
  expect(synth({ admissionPolicy: { enabled: false } }).filter((o) => o.kind.startsWith('ValidatingAdmissionPolicy'))).toEqual([]);
});
