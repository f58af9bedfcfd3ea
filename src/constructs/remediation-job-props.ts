import { Duration } from 'cdk8s';
import { GitHubAppConfig, SecretRef } from '../config/config';
import { labelDescriptionLimit } from '../config/resolve-config';
import { DEFAULTS } from '../config/defaults';
import { deadlineIssues, ImplementationAgent, QaSelector, selectorIssues } from '../config/safety-rules';
import { JobMode, MIN_REQUEST_TIMEOUT_MS, PHASE, RemediationMode } from '../contract/env';
import { scopeIssues, webHost } from '../contract/repository-scope';
import { CodeRunLocation } from './code-run-location';
import { OrderingOptions } from './ordering-options';
import { checkInteger, enumValue, wholeMillis, wholeSeconds } from './prop-checks';

/** The custom resource the Job cancels. */
export interface CodeRunResource {
  /** API group, e.g. `agents.platform`. */
  readonly group: string;
  /** API version, e.g. `v1`. */
  readonly version: string;
  /** Lower-case plural, as in the REST path. */
  readonly plural: string;
}

/** GitHub labels of the transition. */
export interface TransitionLabels {
  /** Removed from the PR when remediation starts. */
  readonly readyForQa: string;
  /** Added to the PR when remediation starts. */
  readonly remediation: string;
  /** Colour (6 hex digits) used if the remediation label must be created. */
  readonly remediationColor: string;
  /** Description used if the remediation label must be created; GitHub allows at most 100 characters. */
  readonly remediationDescription: string;
}

/** Where each CodeRun names its repository: a task id means a task of one repository. */
export interface RepositoryScopeOptions {
  /** The label (the platform's `service`), annotation or field (`spec.repositoryUrl`) holding it. */
  readonly location: CodeRunLocation;
  /**
   * How its value spells the repository, `{owner}` and `{name}` standing for the parts, e.g.
   * `https://github.com/{owner}/{name}` for a URL. Without `{owner}`, the repositories' single owner. Or
   * `GITHUB_SPELLING` (`github`): any spelling GitHub and git use for a repository of `host`.
   * @default DEFAULTS.repositoryScope.format
   */
  readonly format?: string;
  /** The GitHub host whose URLs `GITHUB_SPELLING` reads. @default - the web host of `githubGraphqlUrl` (github.com) */
  readonly host?: string;
}

/** Which CodeRuns are finished: history, kept whatever the event, since deleting one takes its record and logs. */
export interface RunPhaseOptions {
  /** Where a run records its phase. @default CodeRunLocation.parse('codeRun.phaseFrom', DEFAULTS.codeRun.phaseFrom) */
  readonly location?: CodeRunLocation;
  /** The phases of a finished run; a run with no phase yet is active. Empty: every run is active. @default DEFAULTS.codeRun.finishedPhases */
  readonly finished?: string[];
}

export interface RemediationJobProps {
  /** Namespace of the CodeRuns, the Job, its ServiceAccount and its Leases. */
  readonly namespace: string;
  /** Prefix of object names. @default DEFAULTS.name */
  readonly name?: string;
  /** The CodeRun custom resource, whose runs the Job deletes. */
  readonly codeRun: CodeRunResource;
  /** The QA agents whose runs a push makes stale; the Job ANDs `<taskIdLabel>=<id>` to it. */
  readonly qaSelector: QaSelector;
  /** The implementation agent: excluded from every selection, and never one of `qaSelector.values`. */
  readonly implementationAgent: ImplementationAgent;
  /** Label holding the task id on CodeRuns; not `qaSelector.key`. */
  readonly taskIdLabel: string;
  /** `owner/name` of each repository the Job may act on, or `owner/*` for every repository of an owner. */
  readonly repositories: string[];
  /**
   * Where CodeRuns name their repository, so a push cancels only its own repository's runs. Required when
   * `repositories` allows more than one repository.
   * @default - none: `repositories` must be one repository, and every CodeRun is its
   */
  readonly repositoryScope?: RepositoryScopeOptions;
  /** Which runs are finished, and so never cancelled. @default - `status.phase`, finished when DEFAULTS.codeRun.finishedPhases */
  readonly runPhase?: RunPhaseOptions;
  /** The PR labels the Job swaps, and how it creates the remediation label. */
  readonly labels: TransitionLabels;
  /** Secret holding the GitHub token; exclusive with `githubApp`. @default - none: `githubApp` must be set */
  readonly githubTokenSecret?: SecretRef;
  /**
   * Act as a GitHub App instead: each run mints a token scoped to its repositories. Its private key reaches the
   * pod as a read-only file (mode 0400, group `NODE_UID` through fsGroup). @default - none: `githubTokenSecret` must be set
   */
  readonly githubApp?: GitHubAppConfig;
  /** @default DEFAULTS.github.graphqlUrl */
  readonly githubGraphqlUrl?: string;
  /** Which QA runs a push made stale. @default DEFAULTS.ordering (clock skew, no revision tracking) */
  readonly ordering?: OrderingOptions;
  /** `OBSERVE` decides and records, changing no CodeRun and no label (shadow mode). @default DEFAULTS.mode */
  readonly remediationMode?: RemediationMode;
  /** A PR carrying this label is left alone by the Job and the reconciler. @default DEFAULTS.github.optOutLabel */
  readonly optOutLabel?: string;
  /** `CONFIGMAP` runs the bundle from a ConfigMap on `nodeImage`; `IMAGE` runs `image`. @default DEFAULTS.job.mode */
  readonly mode?: JobMode;
  /** The project image, for `JobMode.IMAGE`. @default DEFAULTS.job.image */
  readonly image?: string;
  /** Digest-pinned Node.js image, for `JobMode.CONFIGMAP`. @default DEFAULTS.job.nodeImage */
  readonly nodeImage?: string;
  /** Pod retries of one run. @default DEFAULTS.job.backoffLimit */
  readonly backoffLimit?: number;
  /** How long one run may take, in whole seconds, at least 30; more than `lockWait` + `githubDeadline`. @default Duration.seconds(DEFAULTS.job.activeDeadlineSeconds) */
  readonly activeDeadline?: Duration;
  /** How long a finished Job is kept, in whole seconds. @default Duration.seconds(DEFAULTS.job.ttlSecondsAfterFinished) */
  readonly ttlAfterFinished?: Duration;
  /** How long the Job keeps retrying GitHub, in whole seconds, at least 5. @default Duration.seconds(DEFAULTS.job.githubDeadlineSeconds) */
  readonly githubDeadline?: Duration;
  /** Timeout of each GitHub request, in whole milliseconds, at least 100. @default Duration.millis(DEFAULTS.job.githubRequestTimeoutMs) */
  readonly githubRequestTimeout?: Duration;
  /** Duration of the per-PR Lease, in whole seconds, at least 5. @default Duration.seconds(DEFAULTS.job.leaseDurationSeconds) */
  readonly leaseDuration?: Duration;
  /** How long a run waits for the per-PR Lease, in whole seconds. @default Duration.seconds(DEFAULTS.job.lockWaitSeconds) */
  readonly lockWait?: Duration;
}

/** The least value of each bounded Job setting, in its unit; the configuration's schema holds the same (a unit test). */
export const JOB_MINIMUM = {
  backoffLimit: 0,
  activeDeadlineSeconds: 30,
  ttlSecondsAfterFinished: 0,
  githubDeadlineSeconds: 5,
  githubRequestTimeoutMs: MIN_REQUEST_TIMEOUT_MS,
  leaseDurationSeconds: 5,
  lockWaitSeconds: 0,
} as const;

/**
 * Checks the props where they enter, with the same rules the configuration applies, and fills the defaults the
 * checks need; throws naming the prop and its value.
 */
export function checkedProps(props: RemediationJobProps) {
  const mode = enumValue('mode', JobMode, props.mode, DEFAULTS.job.mode);
  const nodeImage = props.nodeImage ?? DEFAULTS.job.nodeImage;
  if (mode === JobMode.CONFIGMAP && !/@sha256:[0-9a-f]{64}$/.test(nodeImage)) {
    throw new Error(`nodeImage: ${JSON.stringify(nodeImage)} must be pinned by digest (…@sha256:<64 hex>)`);
  }
  if (props.repositories.length === 0) throw new Error('repositories: [] must name at least one owner/name');
  const remediationMode = enumValue('remediationMode', RemediationMode, props.remediationMode, DEFAULTS.mode);
  const optOutLabel = props.optOutLabel ?? DEFAULTS.github.optOutLabel;
  if (optOutLabel.trim() === '' || optOutLabel.includes(','))
    throw new Error(`optOutLabel: ${JSON.stringify(optOutLabel)} must be a GitHub label name`);
  checkInteger('backoffLimit', props.backoffLimit, JOB_MINIMUM.backoffLimit);
  if (!props.githubTokenSecret === !props.githubApp) {
    const got = props.githubApp ? 'both' : 'neither';
    throw new Error(`githubTokenSecret and githubApp: set exactly one (a token, or a GitHub App), got ${got}`);
  }
  if (props.githubApp) {
    checkInteger('githubApp.appId', props.githubApp.appId, 1);
    checkInteger('githubApp.installationId', props.githubApp.installationId, 1);
  }
  const d = DEFAULTS.job;
  const deadlines = {
    activeDeadlineSeconds: wholeSeconds(
      'activeDeadline',
      props.activeDeadline ?? Duration.seconds(d.activeDeadlineSeconds),
      JOB_MINIMUM.activeDeadlineSeconds,
    ),
    lockWaitSeconds: wholeSeconds('lockWait', props.lockWait ?? Duration.seconds(d.lockWaitSeconds), JOB_MINIMUM.lockWaitSeconds),
    githubDeadlineSeconds: wholeSeconds(
      'githubDeadline',
      props.githubDeadline ?? Duration.seconds(d.githubDeadlineSeconds),
      JOB_MINIMUM.githubDeadlineSeconds,
    ),
  };
  const times = {
    ttlSecondsAfterFinished: wholeSeconds(
      'ttlAfterFinished',
      props.ttlAfterFinished ?? Duration.seconds(d.ttlSecondsAfterFinished),
      JOB_MINIMUM.ttlSecondsAfterFinished,
    ),
    githubRequestTimeoutMs: wholeMillis(
      'githubRequestTimeout',
      props.githubRequestTimeout ?? Duration.millis(d.githubRequestTimeoutMs),
      JOB_MINIMUM.githubRequestTimeoutMs,
    ),
    leaseDurationSeconds: wholeSeconds(
      'leaseDuration',
      props.leaseDuration ?? Duration.seconds(d.leaseDurationSeconds),
      JOB_MINIMUM.leaseDurationSeconds,
    ),
  };
  const issues = [...selectorIssues(props), ...deadlineIssues(deadlines, 'activeDeadline')];
  if (issues.length) throw new Error(issues.join('; '));
  // GitHub refuses a longer description when the Job creates the label: refuse it here, at synth.
  const description = props.labels.remediationDescription;
  const limit = labelDescriptionLimit();
  if ([...description].length > limit) {
    throw new Error(
      `labels.remediationDescription: ${JSON.stringify(description)} has ${[...description].length} characters; GitHub allows at most ${limit}`,
    );
  }
  const scope = {
    from: props.repositoryScope?.location,
    format: props.repositoryScope?.format ?? DEFAULTS.repositoryScope.format,
    host: props.repositoryScope?.host ?? webHost(props.githubGraphqlUrl ?? DEFAULTS.github.graphqlUrl),
  };
  const scopeProblems = scopeIssues(props.repositories, scope, 'repositoryScope');
  if (scopeProblems.length) throw new Error(scopeProblems.join('; '));
  return { mode, nodeImage, remediationMode, optOutLabel, deadlines, times, scope, phase: runPhase(props.runPhase) };
}

function runPhase(options: RunPhaseOptions = {}) {
  const finished = options.finished ?? DEFAULTS.codeRun.finishedPhases;
  const bad = finished.find((p) => !PHASE.test(p));
  if (bad !== undefined)
    throw new Error(`runPhase.finished: ${JSON.stringify(bad)} is not a phase name (a letter, then letters, digits, - or _)`);
  return { location: options.location ?? CodeRunLocation.parse('codeRun.phaseFrom', DEFAULTS.codeRun.phaseFrom)!, finished };
}
