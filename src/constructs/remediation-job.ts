import * as fs from 'fs';
import * as path from 'path';
import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { GitHubAppConfig, labelDescriptionLimit, SecretRef } from '../config/config';
import { DEFAULTS } from '../config/defaults';
import {
  APP_FIELDS,
  encodeEnv,
  EVENT_ENV,
  EXIT,
  GITHUB_APP_KEY_PATH,
  INSTALLATION_FIELDS,
  RemediationMode,
  STATIC_ENV,
} from '../contract/env';
import { scopeIssues } from '../contract/repository-scope';
import { CodeRunLocation } from './code-run-location';
import { OrderingOptions } from './ordering-options';
import { packageRoot } from '../config/package-root';
import { checkInteger, enumValue, wholeMillis, wholeSeconds } from './prop-checks';
import { deadlineIssues, ImplementationAgent, QaSelector, qaSelectorString, selectorIssues } from '../config/safety-rules';

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
   * `https://github.com/{owner}/{name}` for a URL. Without `{owner}`, the repositories' single owner.
   * @default DEFAULTS.repositoryScope.format
   */
  readonly format?: string;
}

/** Where the Job's script comes from. */
export enum JobMode {
  /** The bundle in a ConfigMap, run on `nodeImage`. */
  CONFIGMAP = 'configmap',
  /** The project image, which contains the bundle. */
  IMAGE = 'image',
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

const CONTAINER = 'remediation';
const BUNDLE_FILE = 'remediation-job.js';
const BUNDLE_DIR = '/opt/agent-cancellation';
/** Kubernetes caps a ConfigMap at 1 MiB; leave room for metadata. */
const CONFIGMAP_BUNDLE_LIMIT = 900 * 1024;
/** The non-root `node` user of the official Node.js images, and of the project's image. */
const NODE_UID = 1000;

/** Path of the bundled Job script, built by `npm run build`. */
export function bundlePath(): string {
  return path.join(packageRoot(), 'lib', 'bundle', BUNDLE_FILE);
}

/**
 * Checks the props where they enter, with the same rules the configuration applies, and fills the defaults the
 * checks need; throws naming the prop and its value.
 */
function checkedProps(props: RemediationJobProps) {
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
  checkInteger('backoffLimit', props.backoffLimit, 0);
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
    activeDeadlineSeconds: wholeSeconds('activeDeadline', props.activeDeadline ?? Duration.seconds(d.activeDeadlineSeconds), 30),
    lockWaitSeconds: wholeSeconds('lockWait', props.lockWait ?? Duration.seconds(d.lockWaitSeconds), 0),
    githubDeadlineSeconds: wholeSeconds('githubDeadline', props.githubDeadline ?? Duration.seconds(d.githubDeadlineSeconds), 5),
  };
  const times = {
    ttlSecondsAfterFinished: wholeSeconds('ttlAfterFinished', props.ttlAfterFinished ?? Duration.seconds(d.ttlSecondsAfterFinished), 0),
    githubRequestTimeoutMs: wholeMillis(
      'githubRequestTimeout',
      props.githubRequestTimeout ?? Duration.millis(d.githubRequestTimeoutMs),
      100,
    ),
    leaseDurationSeconds: wholeSeconds('leaseDuration', props.leaseDuration ?? Duration.seconds(d.leaseDurationSeconds), 5),
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
  const scope = { from: props.repositoryScope?.location, format: props.repositoryScope?.format ?? DEFAULTS.repositoryScope.format };
  const scopeProblems = scopeIssues(props.repositories, scope, 'repositoryScope');
  if (scopeProblems.length) throw new Error(scopeProblems.join('; '));
  return { mode, nodeImage, remediationMode, optOutLabel, deadlines, times, scope };
}

/**
 * The remediation Job's template, its least-privilege ServiceAccount and Role, and (in configmap mode)
 * the bundled script. Nothing here creates a Job: a Sensor trigger does, from `manifest`, once per event.
 */
export class RemediationJob extends Construct {
  /** The identity the Job runs as. */
  public readonly serviceAccount: kplus.ServiceAccount;
  /** The Job object a trigger creates; `metadata.generateName` gives each run its own name. */
  public readonly manifest: Record<string, any>;
  /** Label put on every Job and pod, with the task id as value, for `kubectl get jobs -l`. */
  public readonly taskIdJobLabel = 'agent-cancellation.5dlabs.io/task-id';
  public readonly namespace: string;
  /** The label selector of the QA runs to cancel, before the per-event task-id term. */
  public readonly qaSelector: string;
  /** The custom resource the Job cancels. */
  public readonly codeRun: CodeRunResource;
  /** Prefix of object names. */
  public readonly prefix: string;
  private launchBinding?: kplus.RoleBinding;
  private readonly runtime: {
    readonly image: string;
    readonly env: k8s.EnvVar[];
    readonly volumes: Array<{ readonly volume: k8s.Volume; readonly mountPath: string }>;
    /** Set for a GitHub App: the group that may read the key file. */
    readonly fsGroup?: number;
  };

  constructor(scope: Construct, id: string, props: RemediationJobProps) {
    super(scope, id);
    this.namespace = props.namespace;
    this.codeRun = props.codeRun;
    this.prefix = props.name ?? DEFAULTS.name;
    const { mode, nodeImage, remediationMode, optOutLabel, deadlines, times, scope: repositoryScope } = checkedProps(props);
    this.qaSelector = qaSelectorString(props);

    const metadata = { name: `${this.prefix}-job`, namespace: props.namespace, labels: this.labels() };
    this.serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', { metadata, automountToken: false });
    const role = new kplus.Role(this, 'Role', { metadata });
    // Deletes by name only: each stale run is named, with a uid precondition (README: "Ordering").
    role.allow(['get', 'list', 'delete'], kplus.ApiResource.custom({ apiGroup: props.codeRun.group, resourceType: props.codeRun.plural }));
    role.allow(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'], kplus.ApiResource.LEASES);
    role.allow(['create'], kplus.ApiResource.EVENTS);
    new kplus.RoleBinding(this, 'RoleBinding', { metadata, role }).addSubjects(this.serviceAccount);

    const volumes: Array<{ volume: k8s.Volume; mountPath: string }> = [];
    if (mode === JobMode.CONFIGMAP) {
      const bundle = this.readBundle();
      const configMap = new kplus.ConfigMap(this, 'Bundle', {
        metadata: { name: `${this.prefix}-job-bundle`, namespace: props.namespace, labels: this.labels() },
        data: { [BUNDLE_FILE]: bundle },
      });
      volumes.push({ volume: { name: 'bundle', configMap: { name: configMap.name, defaultMode: 0o444 } }, mountPath: BUNDLE_DIR });
    }
    const app = props.githubApp;
    if (app) {
      // Mode 0400 and fsGroup: the kubelet gives the file to group NODE_UID and adds group read (0440), no one else.
      const file = path.posix.basename(GITHUB_APP_KEY_PATH);
      const { name, key } = app.privateKeySecret;
      volumes.push({
        volume: { name: 'github-app-key', secret: { secretName: name, defaultMode: 0o400, items: [{ key, path: file, mode: 0o400 }] } },
        mountPath: path.posix.dirname(GITHUB_APP_KEY_PATH),
      });
    }

    const eventEnv = Object.values(EVENT_ENV).map((name) => ({ name, value: '' }));

    const staticEnv = encodeEnv(
      INSTALLATION_FIELDS,
      {
        namespace: props.namespace,
        codeRunGroup: props.codeRun.group,
        codeRunVersion: props.codeRun.version,
        codeRunPlural: props.codeRun.plural,
        qaSelector: this.qaSelector,
        taskIdLabel: props.taskIdLabel,
        allowedRepositories: props.repositories,
        repositoryFrom: repositoryScope.from,
        repositoryFormat: repositoryScope.format,
        labelReady: props.labels.readyForQa,
        labelRemediation: props.labels.remediation,
        labelRemediationColor: props.labels.remediationColor,
        labelRemediationDescription: props.labels.remediationDescription,
        githubGraphqlUrl: props.githubGraphqlUrl ?? DEFAULTS.github.graphqlUrl,
        deadlineSeconds: deadlines.githubDeadlineSeconds,
        githubRequestTimeoutMs: times.githubRequestTimeoutMs,
        leaseDurationSeconds: times.leaseDurationSeconds,
        lockWaitSeconds: deadlines.lockWaitSeconds,
        clockSkewSeconds: props.ordering?.clockSkew?.toSeconds() ?? DEFAULTS.ordering.clockSkewSeconds,
        revisionFrom: props.ordering?.revision,
        mode: remediationMode,
        optOutLabel,
        // A skipped run (no PR, superseded, duplicate) is a success for the Job controller.
        skipExitCode: 0,
      },
      ['runId', 'githubToken'],
    );

    const credentials: k8s.EnvVar[] = app
      ? encodeEnv(APP_FIELDS, { appId: app.appId, installationId: app.installationId, privateKeyPath: GITHUB_APP_KEY_PATH })
      : [
          {
            name: STATIC_ENV.githubToken,
            valueFrom: { secretKeyRef: { name: props.githubTokenSecret!.name, key: props.githubTokenSecret!.key } },
          },
        ];
    this.runtime = {
      image: mode === JobMode.CONFIGMAP ? nodeImage : (props.image ?? DEFAULTS.job.image),
      env: [...staticEnv, { name: STATIC_ENV.runId, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }, ...credentials],
      volumes,
      fsGroup: app ? NODE_UID : undefined,
    };
    const template = this.podTemplate('remediation-job', ['run'], eventEnv);
    const job: k8s.KubeJobProps = {
      metadata: { generateName: `${this.prefix}-`, namespace: props.namespace, labels: template.metadata!.labels },
      spec: {
        backoffLimit: props.backoffLimit ?? DEFAULTS.job.backoffLimit,
        activeDeadlineSeconds: deadlines.activeDeadlineSeconds,
        ttlSecondsAfterFinished: times.ttlSecondsAfterFinished,
        // Bad input and needs-attention outcomes will not improve on retry.
        podFailurePolicy: {
          rules: [
            {
              action: 'FailJob',
              onPodConditions: [],
              onExitCodes: { containerName: CONTAINER, operator: 'In', values: [EXIT.badInput, EXIT.needsAttention] },
            },
          ],
        },
        template,
      },
    };
    this.manifest = k8s.KubeJob.manifest(job);
  }

  /**
   * Where the per-event variable `name` (one of EVENT_ENV) is in `manifest`, as the sjson path of a trigger
   * parameter. sjson addresses list items by index only, so the index is looked up by name.
   */
  public eventEnvPath(name: string): string {
    const index = (this.manifest.spec.template.spec.containers[0].env as k8s.EnvVar[]).findIndex((e) => e.name === name);
    if (index < 0) throw new Error(`eventEnvPath: ${JSON.stringify(name)} is not a variable of the Job's env`);
    return `spec.template.spec.containers.0.env.${index}.value`;
  }

  /**
   * A pod running the bundle with `args` as this Job's ServiceAccount: `env`, then the installation's settings.
   * The reconciler runs the same bundle this way.
   */
  public podTemplate(component: string, args: string[], env: k8s.EnvVar[]): k8s.PodTemplateSpec {
    const { image, volumes, fsGroup } = this.runtime;
    return {
      metadata: { labels: { ...this.labels(), 'app.kubernetes.io/component': component } },
      spec: {
        serviceAccountName: this.serviceAccount.name,
        automountServiceAccountToken: true,
        restartPolicy: 'Never',
        enableServiceLinks: false,
        securityContext: {
          runAsNonRoot: true,
          runAsUser: NODE_UID,
          runAsGroup: NODE_UID,
          ...(fsGroup === undefined ? {} : { fsGroup }),
          seccompProfile: { type: 'RuntimeDefault' },
        },
        containers: [
          {
            name: CONTAINER,
            image,
            command: ['node', `${BUNDLE_DIR}/${BUNDLE_FILE}`, ...args],
            env: [...env, ...this.runtime.env],
            resources: {
              requests: { cpu: k8s.Quantity.fromString('50m'), memory: k8s.Quantity.fromString('64Mi') },
              limits: { memory: k8s.Quantity.fromString('256Mi') },
            },
            securityContext: {
              allowPrivilegeEscalation: false,
              readOnlyRootFilesystem: true,
              capabilities: { drop: ['ALL'] },
            },
            volumeMounts: volumes.map(({ volume, mountPath }) => ({ name: volume.name, mountPath, readOnly: true })),
          },
        ],
        volumes: volumes.map(({ volume }) => volume),
      },
    };
  }

  /** Labels shared by every object of this installation. */
  private labels(): Record<string, string> {
    return { 'app.kubernetes.io/name': this.prefix, 'app.kubernetes.io/part-of': 'agent-cancellation' };
  }

  /**
   * Lets `subjects` create Jobs in this Job's namespace, and nothing else: what a Sensor needs to launch
   * remediation runs. Subjects may live in other namespaces; a later call adds its subjects to the same binding.
   */
  public grantLaunch(...subjects: kplus.ISubject[]): kplus.RoleBinding {
    if (!this.launchBinding) {
      const metadata = { name: `${this.prefix}-launch-job`, namespace: this.namespace, labels: this.labels() };
      const role = new kplus.Role(this, 'LaunchRole', { metadata });
      role.allow(['create'], kplus.ApiResource.JOBS);
      this.launchBinding = new kplus.RoleBinding(this, 'LaunchRoleBinding', { metadata, role });
    }
    this.launchBinding.addSubjects(...subjects);
    return this.launchBinding;
  }

  private readBundle(): string {
    const file = bundlePath();
    if (!fs.existsSync(file)) {
      throw new Error(`mode: "configmap" needs the Job bundle at ${path.relative(process.cwd(), file)}; run "npm run build" first`);
    }
    const bundle = fs.readFileSync(file, 'utf8');
    if (Buffer.byteLength(bundle) > CONFIGMAP_BUNDLE_LIMIT) {
      throw new Error(
        `mode: "configmap" needs a bundle under ${CONFIGMAP_BUNDLE_LIMIT} bytes, got ${Buffer.byteLength(bundle)}; use mode "image"`,
      );
    }
    return bundle;
  }
}
