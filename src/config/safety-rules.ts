/**
 * The rules that keep a cancellation to one task's QA agents and let the Job finish its retries. The configuration
 * (resolveConfig, as ConfigError issues) and the RemediationJob construct (as an Error) both apply them from here.
 */

/** The QA agents to cancel: CodeRuns whose label `key` is one of `values`. */
export interface QaSelector {
  /** Label key naming the agent of a CodeRun, e.g. `agent-type`. */
  readonly key: string;
  /** The QA agents' values of `key`, e.g. `cleo` and `tess`. */
  readonly values: string[];
}

/** The implementation agent's label: its CodeRuns are never selected, whatever the QA selector says. */
export interface ImplementationAgent {
  /** Label key, e.g. `agent-type`. */
  readonly key: string;
  /** Its value for the implementation agent, e.g. `rex`. */
  readonly value: string;
}

/** What the selector rules look at. */
export interface SelectorSettings {
  readonly qaSelector: QaSelector;
  readonly implementationAgent: ImplementationAgent;
  readonly taskIdLabel: string;
}

/** What the deadline rule looks at, in seconds. */
export interface DeadlineSettings {
  readonly activeDeadlineSeconds: number;
  readonly lockWaitSeconds: number;
  readonly githubDeadlineSeconds: number;
}

/** The label selector of the CodeRuns to cancel, without the per-event task-id term the Job adds. */
export function qaSelectorString(s: { readonly qaSelector: QaSelector; readonly implementationAgent: ImplementationAgent }): string {
  const { key, values } = s.qaSelector;
  return `${key} in (${values.join(',')}),${s.implementationAgent.key}!=${s.implementationAgent.value}`;
}

/** The selector names QA agents, never the implementation agent, and its key is not the task-id label. */
export function selectorIssues(s: SelectorSettings): string[] {
  const issues: string[] = [];
  const { qaSelector, implementationAgent: impl } = s;
  if (qaSelector.values.length === 0) issues.push('qaSelector.values: [] must name at least one QA agent');
  if (qaSelector.key === impl.key && qaSelector.values.includes(impl.value)) {
    issues.push(
      `qaSelector.values: ${JSON.stringify(qaSelector.values)} includes the implementation agent ` +
        `${JSON.stringify(impl.value)} (expected only QA agents, never ${impl.key}=${impl.value})`,
    );
  }
  if (s.taskIdLabel === qaSelector.key) {
    issues.push(`taskIdLabel: ${JSON.stringify(s.taskIdLabel)} is also qaSelector.key (expected a separate task-id label)`);
  }
  return issues;
}

/** The Job's deadline exceeds the lock wait plus the GitHub deadline; `field` names the deadline as the caller's input does. */
export function deadlineIssues(d: DeadlineSettings, field: string): string[] {
  const budget = d.lockWaitSeconds + d.githubDeadlineSeconds;
  if (d.activeDeadlineSeconds > budget) return [];
  return [
    `${field}: ${d.activeDeadlineSeconds} is not above lockWaitSeconds + githubDeadlineSeconds ` +
      `(${budget}); expected more, or the Job is killed while still retrying`,
  ];
}
