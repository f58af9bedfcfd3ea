import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { MANAGED_BY } from '../contract/labels';
import { RemediationJob } from './remediation-job';

export interface ScopeAdmissionPolicyProps {
  /** The Job whose ServiceAccount the policy confines, and the CodeRun resource it deletes. */
  readonly job: RemediationJob;
  /** The QA agents the Job may delete: `key in (values)`. */
  readonly qaSelector: { readonly key: string; readonly values: string[] };
  /** The implementation agent's label: a CodeRun carrying it is never deleted. */
  readonly implementationAgent: { readonly key: string; readonly value: string };
}

const API_VERSION = 'admissionregistration.k8s.io/v1';
const LEASES = 'coordination.k8s.io';

/** A CEL string literal: JSON's escapes are CEL's. */
const cel = (s: string) => JSON.stringify(s);

/** CEL: `obj` (object or oldObject) has label `key` with one of `values`. */
function labelIn(obj: string, key: string, values: string[]): string {
  const labels = `${obj}.metadata.labels`;
  return `(has(${labels}) && ${cel(key)} in ${labels} && ${labels}[${cel(key)}] in [${values.map(cel).join(', ')}])`;
}

/**
 * A ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, Kubernetes 1.30+) and its binding that confine
 * the Job's ServiceAccount beyond what RBAC can say, since RBAC cannot select by label: it may delete only
 * CodeRuns labelled as QA agents and never the implementation agent's, whatever selector a request carries, and
 * may create, update and delete only Leases carrying the managed-by label. The apiserver enforces it on each
 * object, so a delete-collection is checked per CodeRun (README: "Admission policy").
 */
export class ScopeAdmissionPolicy extends Construct {
  /** Name of the policy and of its binding; cluster-scoped, so it names the namespace. */
  public readonly name: string;

  constructor(scope: Construct, id: string, props: ScopeAdmissionPolicyProps) {
    super(scope, id);
    const { job, qaSelector, implementationAgent: impl } = props;
    this.name = `${job.prefix}-job-scope.${job.namespace}`;
    const user = `system:serviceaccount:${job.namespace}:${job.serviceAccount.name}`;
    const [managedKey, managedValue] = Object.entries(MANAGED_BY)[0];
    const isLease = `request.resource.group == ${cel(LEASES)}`;
    const notLease = `request.resource.group != ${cel(LEASES)}`;
    const metadata = { name: this.name, labels: job.serviceAccount.metadata.toJson().labels };

    new ApiObject(this, 'Policy', {
      apiVersion: API_VERSION,
      kind: 'ValidatingAdmissionPolicy',
      metadata,
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          // Versions named, not '*', so the controller-manager type-checks the CEL against their schemas;
          // Equivalent still matches requests through any other version of the same resources.
          matchPolicy: 'Equivalent',
          resourceRules: [
            { apiGroups: [job.codeRun.group], apiVersions: [job.codeRun.version], resources: [job.codeRun.plural], operations: ['DELETE'] },
            { apiGroups: [LEASES], apiVersions: ['v1'], resources: ['leases'], operations: ['CREATE', 'UPDATE', 'DELETE'] },
          ],
        },
        matchConditions: [{ name: 'job-service-account', expression: `request.userInfo.username == ${cel(user)}` }],
        validations: [
          {
            // A DELETE's oldObject is the CodeRun being deleted, also for each object of a delete-collection.
            expression: `${isLease} || (${labelIn('oldObject', qaSelector.key, qaSelector.values)} && !${labelIn('oldObject', impl.key, [impl.value])})`,
            message: `${user} may delete only QA CodeRuns (${qaSelector.key} in (${qaSelector.values.join(',')})), never ${impl.key}=${impl.value}`,
            reason: 'Forbidden',
          },
          {
            expression: `${notLease} || request.operation == "CREATE" || ${labelIn('oldObject', managedKey, [managedValue])}`,
            message: `${user} may update or delete only Leases labelled ${managedKey}=${managedValue}`,
            reason: 'Forbidden',
          },
          {
            expression: `${notLease} || request.operation == "DELETE" || ${labelIn('object', managedKey, [managedValue])}`,
            message: `${user} may create or update only Leases that keep the label ${managedKey}=${managedValue}`,
            reason: 'Forbidden',
          },
        ],
      },
    });

    new ApiObject(this, 'Binding', {
      apiVersion: API_VERSION,
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata,
      spec: { policyName: this.name, validationActions: ['Deny'] },
    });
  }
}
