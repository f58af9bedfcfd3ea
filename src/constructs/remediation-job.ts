import * as fs from 'fs';
import * as path from 'path';
import * as kplus from 'cdk8s-plus-28';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { GitHubAppConfig, SecretRef } from '../config/config';
import { DEFAULTS } from '../config/defaults';
import { packageRoot } from '../config/package-root';
import { qaSelectorString } from '../config/safety-rules';
import { APP_FIELDS, encodeEnv, EVENT_ENV, EXIT, GITHUB_APP_KEY_PATH, INSTALLATION_FIELDS, JobMode, STATIC_ENV } from '../contract/env';
import { checkedProps, CodeRunResource, RemediationJobProps } from './remediation-job-props';
import { PART_OF } from './common-labels';
import { ownKey } from '../contract/labels';

const CONTAINER = 'remediation';
const BUNDLE_FILE = 'remediation-job.js';
const BUNDLE_DIR = '/opt/agent-cancellation';
/** Kubernetes caps a ConfigMap at 1 MiB; leave room for metadata. */
const CONFIGMAP_BUNDLE_LIMIT = 900 * 1024;
/** The non-root `node` user of the official Node.js images, and of the project's image. */
const NODE_UID = 1000;

/** A read-only volume of the runtime's pod, and where it is mounted. */
export interface RuntimeVolume {
  readonly volume: k8s.Volume;
  readonly mountPath: string;
}

/**
 * A Secret key as the file `file`, never an env variable. Mode 0400 and the pod's fsGroup: the kubelet gives the file
 * to group NODE_UID and adds group read (0440), no one else.
 */
export function secretFile(volumeName: string, secret: SecretRef, file: string): RuntimeVolume {
  return {
    volume: {
      name: volumeName,
      secret: { secretName: secret.name, defaultMode: 0o400, items: [{ key: secret.key, path: path.posix.basename(file), mode: 0o400 }] },
    },
    mountPath: path.posix.dirname(file),
  };
}

type CheckedProps = ReturnType<typeof checkedProps>;

/** Path of the bundled Job script, built by `npm run build`. */
export function bundlePath(): string {
  return path.join(packageRoot(), 'lib', 'bundle', BUNDLE_FILE);
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
  public readonly taskIdJobLabel = ownKey('task-id');
  public readonly namespace: string;
  /** The label selector of the QA runs to cancel, before the per-event task-id term. */
  public readonly qaSelector: string;
  /** The custom resource the Job cancels. */
  public readonly codeRun: CodeRunResource;
  /** Prefix of object names. */
  public readonly prefix: string;
  /** The GitHub App the runtime acts as, its key at GITHUB_APP_KEY_PATH; undefined: a token. */
  public readonly githubApp?: GitHubAppConfig;
  private launchBinding?: kplus.RoleBinding;
  private readonly runtime: {
    readonly image: string;
    readonly env: k8s.EnvVar[];
    readonly volumes: RuntimeVolume[];
    /** Set for a GitHub App: the group that may read the key file. */
    readonly fsGroup?: number;
  };

  constructor(scope: Construct, id: string, props: RemediationJobProps) {
    super(scope, id);
    this.namespace = props.namespace;
    this.codeRun = props.codeRun;
    this.prefix = props.name ?? DEFAULTS.name;
    this.githubApp = props.githubApp;
    const checked = checkedProps(props);
    this.qaSelector = qaSelectorString(props);
    this.serviceAccount = this.identity(props.codeRun);
    this.runtime = {
      image: checked.mode === JobMode.CONFIGMAP ? checked.nodeImage : (props.image ?? DEFAULTS.job.image),
      env: this.installationEnv(props, checked),
      volumes: this.volumes(checked.mode, props),
      fsGroup: props.githubApp ? NODE_UID : undefined,
    };
    this.manifest = this.jobManifest(props, checked);
  }

  /** The Job's ServiceAccount, allowed to delete CodeRuns by name, keep its Leases and record Events. */
  private identity(codeRun: CodeRunResource): kplus.ServiceAccount {
    const metadata = { name: `${this.prefix}-job`, namespace: this.namespace, labels: this.labels() };
    const serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', { metadata, automountToken: false });
    const role = new kplus.Role(this, 'Role', { metadata });
    // Deletes by name only: each stale run is named, with a uid precondition (README: "Ordering").
    role.allow(['get', 'list', 'delete'], kplus.ApiResource.custom({ apiGroup: codeRun.group, resourceType: codeRun.plural }));
    role.allow(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'], kplus.ApiResource.LEASES);
    role.allow(['create'], kplus.ApiResource.EVENTS);
    new kplus.RoleBinding(this, 'RoleBinding', { metadata, role }).addSubjects(serviceAccount);
    return serviceAccount;
  }

  /** The bundle's ConfigMap (configmap mode) and the GitHub App's key, as read-only volumes. */
  private volumes(mode: JobMode, props: RemediationJobProps): RuntimeVolume[] {
    const volumes: RuntimeVolume[] = [];
    if (mode === JobMode.CONFIGMAP) {
      const configMap = new kplus.ConfigMap(this, 'Bundle', {
        metadata: { name: `${this.prefix}-job-bundle`, namespace: this.namespace, labels: this.labels() },
        data: { [BUNDLE_FILE]: this.readBundle() },
      });
      volumes.push({ volume: { name: 'bundle', configMap: { name: configMap.name, defaultMode: 0o444 } }, mountPath: BUNDLE_DIR });
    }
    if (props.githubApp) volumes.push(secretFile('github-app-key', props.githubApp.privateKeySecret, GITHUB_APP_KEY_PATH));
    return volumes;
  }

  /** The installation's settings, the run's id and the credentials: the env every pod of this bundle shares. */
  private installationEnv(
    props: RemediationJobProps,
    { scope, deadlines, times, remediationMode, optOutLabel, phase }: CheckedProps,
  ): k8s.EnvVar[] {
    const installation = encodeEnv(
      INSTALLATION_FIELDS,
      {
        namespace: props.namespace,
        codeRunGroup: props.codeRun.group,
        codeRunVersion: props.codeRun.version,
        codeRunPlural: props.codeRun.plural,
        qaSelector: this.qaSelector,
        taskIdLabel: props.taskIdLabel,
        allowedRepositories: props.repositories,
        repositoryFrom: scope.from,
        repositoryFormat: scope.format,
        repositoryHost: scope.host,
        phaseFrom: phase.location,
        finishedPhases: phase.finished,
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
    const app = props.githubApp;
    const credentials: k8s.EnvVar[] = app
      ? encodeEnv(APP_FIELDS, { appId: app.appId, installationId: app.installationId, privateKeyPath: GITHUB_APP_KEY_PATH })
      : [
          {
            name: STATIC_ENV.githubToken,
            valueFrom: { secretKeyRef: { name: props.githubTokenSecret!.name, key: props.githubTokenSecret!.key } },
          },
        ];
    return [...installation, { name: STATIC_ENV.runId, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }, ...credentials];
  }

  /** The Job a trigger creates per event, its per-event variables empty until the trigger fills them. */
  private jobManifest(props: RemediationJobProps, { deadlines, times }: CheckedProps): Record<string, any> {
    const eventEnv = Object.values(EVENT_ENV).map((name) => ({ name, value: '' }));
    const template = this.podTemplate('remediation-job', ['run'], eventEnv);
    return k8s.KubeJob.manifest({
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
    });
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
   * A pod running the bundle with `args` as this Job's ServiceAccount: `env`, then the installation's settings;
   * the installation's volumes, then `own` (secret files: the pod gets the fsGroup that may read them).
   * The reconciler runs the same bundle this way.
   */
  public podTemplate(component: string, args: string[], env: k8s.EnvVar[], own: RuntimeVolume[] = []): k8s.PodTemplateSpec {
    const volumes = [...this.runtime.volumes, ...own];
    const { image } = this.runtime;
    const fsGroup = this.runtime.fsGroup ?? (own.length ? NODE_UID : undefined);
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
    return { 'app.kubernetes.io/name': this.prefix, ...PART_OF };
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
