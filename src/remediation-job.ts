import * as fs from 'fs';
import * as path from 'path';
import * as kplus from 'cdk8s-plus-28';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { JobOptions, labelDescriptionLimit, SecretRef } from './config';
import { EVENT_ENV, EXIT, STATIC_ENV } from './job-env';
import { DEFAULT_CLOCK_SKEW, OrderingOptions } from './ordering-options';
import { packageRoot } from './package-root';

/** The custom resource the Job cancels. */
export interface CodeRunResource {
  readonly group: string;
  readonly version: string;
  /** Lower-case plural, as in the REST path. */
  readonly plural: string;
}

/** GitHub labels of the transition. */
export interface TransitionLabels {
  readonly readyForQa: string;
  readonly remediation: string;
  /** Colour (6 hex digits) used if the remediation label must be created. */
  readonly remediationColor: string;
  readonly remediationDescription: string;
}

export interface RemediationJobProps extends JobOptions {
  /** Namespace of the CodeRuns, the Job, its ServiceAccount and its Leases. */
  readonly namespace: string;
  /** Prefix of object names. @default "agent-cancellation" */
  readonly name?: string;
  readonly codeRun: CodeRunResource;
  /** Label selector of the QA agents; the Job ANDs `<taskIdLabel>=<id>` to it. */
  readonly qaSelector: string;
  readonly taskIdLabel: string;
  /** `owner/name` of each repository the Job may act on. */
  readonly repositories: string[];
  readonly labels: TransitionLabels;
  /** Secret holding the GitHub token. */
  readonly githubTokenSecret: SecretRef;
  /** @default "https://api.github.com/graphql" */
  readonly githubGraphqlUrl?: string;
  /** Which QA runs a push made stale. @default 5 s clock skew, no revision tracking */
  readonly ordering?: OrderingOptions;
}

export const DEFAULT_NODE_IMAGE =
  'node:22-alpine@sha256:8094c002d08262dba12645a3b4a15cd6cd627d30bc782f53229a2ec13ee22a00';
export const DEFAULT_JOB_IMAGE = 'ghcr.io/5dlabs/agent-cancellation:0.1.0';
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

/** Throws for a prop that is set but not an integer of at least `min`, naming the field and the value. */
export function checkInteger(field: string, value: number | undefined, min: number): void {
  if (value !== undefined && (!Number.isInteger(value) || value < min)) {
    throw new Error(`${field}: ${JSON.stringify(value)} must be an integer of at least ${min}`);
  }
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
  /** Where each per-event value goes in `manifest`, for trigger parameters (sjson paths). */
  public readonly eventEnvPaths: Record<keyof typeof EVENT_ENV, string>;
  /** Label put on every Job and pod, with the task id as value, for `kubectl get jobs -l`. */
  public readonly taskIdJobLabel = 'agent-cancellation.5dlabs.io/task-id';
  public readonly namespace: string;
  /** The custom resource the Job cancels. */
  public readonly codeRun: CodeRunResource;
  /** Prefix of object names. */
  public readonly prefix: string;
  private readonly runtime: { readonly image: string; readonly env: k8s.EnvVar[]; readonly volume?: k8s.Volume };

  constructor(scope: Construct, id: string, props: RemediationJobProps) {
    super(scope, id);
    this.namespace = props.namespace;
    this.codeRun = props.codeRun;
    this.prefix = props.name ?? 'agent-cancellation';
    const mode = props.mode ?? 'configmap';
    if (mode !== 'configmap' && mode !== 'image') {
      throw new Error(`mode: ${JSON.stringify(mode)} must be "configmap" or "image"`);
    }
    const nodeImage = props.nodeImage ?? DEFAULT_NODE_IMAGE;
    if (mode === 'configmap' && !/@sha256:[0-9a-f]{64}$/.test(nodeImage)) {
      throw new Error(`nodeImage: ${JSON.stringify(nodeImage)} must be pinned by digest (…@sha256:<64 hex>)`);
    }
    if (props.repositories.length === 0) throw new Error('repositories: [] must name at least one owner/name');
    checkInteger('backoffLimit', props.backoffLimit, 0);
    checkInteger('activeDeadlineSeconds', props.activeDeadlineSeconds, 30);
    checkInteger('leaseDurationSeconds', props.leaseDurationSeconds, 5);
    // GitHub refuses a longer description when the Job creates the label: refuse it here, at synth.
    const description = props.labels.remediationDescription;
    const limit = labelDescriptionLimit();
    if ([...description].length > limit) {
      throw new Error(`labels.remediationDescription: ${JSON.stringify(description)} has ${[...description].length} characters; GitHub allows at most ${limit}`);
    }

    const metadata = { name: `${this.prefix}-job`, namespace: props.namespace, labels: this.labels() };
    this.serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', { metadata, automountToken: false });
    const role = new kplus.Role(this, 'Role', { metadata });
    // Deletes by name only: each stale run is named, with a uid precondition (README: "Ordering").
    role.allow(
      ['get', 'list', 'delete'],
      kplus.ApiResource.custom({ apiGroup: props.codeRun.group, resourceType: props.codeRun.plural }),
    );
    role.allow(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'], kplus.ApiResource.LEASES);
    role.allow(['create'], kplus.ApiResource.EVENTS);
    new kplus.RoleBinding(this, 'RoleBinding', { metadata, role }).addSubjects(this.serviceAccount);

    let bundleVolume: k8s.Volume | undefined;
    if (mode === 'configmap') {
      const bundle = this.readBundle();
      const configMap = new kplus.ConfigMap(this, 'Bundle', {
        metadata: { name: `${this.prefix}-job-bundle`, namespace: props.namespace, labels: this.labels() },
        data: { [BUNDLE_FILE]: bundle },
      });
      bundleVolume = { name: 'bundle', configMap: { name: configMap.name, defaultMode: 0o444 } };
    }

    const eventEnv = Object.values(EVENT_ENV).map((name) => ({ name, value: '' }));
    this.eventEnvPaths = Object.fromEntries(
      Object.keys(EVENT_ENV).map((k, i) => [k, `spec.template.spec.containers.0.env.${i}.value`]),
    ) as Record<keyof typeof EVENT_ENV, string>;

    const staticEnv: Array<[string, string]> = [
      [STATIC_ENV.namespace, props.namespace],
      [STATIC_ENV.codeRunGroup, props.codeRun.group],
      [STATIC_ENV.codeRunVersion, props.codeRun.version],
      [STATIC_ENV.codeRunPlural, props.codeRun.plural],
      [STATIC_ENV.qaSelector, props.qaSelector],
      [STATIC_ENV.taskIdLabel, props.taskIdLabel],
      [STATIC_ENV.allowedRepositories, props.repositories.join(',')],
      [STATIC_ENV.labelReady, props.labels.readyForQa],
      [STATIC_ENV.labelRemediation, props.labels.remediation],
      [STATIC_ENV.labelRemediationColor, props.labels.remediationColor],
      [STATIC_ENV.labelRemediationDescription, props.labels.remediationDescription],
      [STATIC_ENV.githubGraphqlUrl, props.githubGraphqlUrl ?? 'https://api.github.com/graphql'],
      [STATIC_ENV.deadlineSeconds, String(props.githubDeadlineSeconds ?? 300)],
      [STATIC_ENV.leaseDurationSeconds, String(props.leaseDurationSeconds ?? 60)],
      [STATIC_ENV.lockWaitSeconds, String(props.lockWaitSeconds ?? 120)],
      [STATIC_ENV.clockSkewSeconds, String((props.ordering?.clockSkew ?? DEFAULT_CLOCK_SKEW).toSeconds())],
      [STATIC_ENV.revisionFrom, props.ordering?.revision?.toString() ?? ''],
      // A skipped run (no PR, superseded, duplicate) is a success for the Job controller.
      [STATIC_ENV.skipExitCode, '0'],
    ];

    this.runtime = {
      image: mode === 'configmap' ? nodeImage : (props.image ?? DEFAULT_JOB_IMAGE),
      env: [
        ...staticEnv.map(([name, value]) => ({ name, value })),
        { name: STATIC_ENV.runId, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: STATIC_ENV.githubToken, valueFrom: { secretKeyRef: { name: props.githubTokenSecret.name, key: props.githubTokenSecret.key } } },
      ],
      volume: bundleVolume,
    };
    const template = this.podTemplate('remediation-job', ['run'], eventEnv);
    const job: k8s.KubeJobProps = {
      metadata: { generateName: `${this.prefix}-`, namespace: props.namespace, labels: template.metadata!.labels },
      spec: {
        backoffLimit: props.backoffLimit ?? 4,
        activeDeadlineSeconds: props.activeDeadlineSeconds ?? 900,
        ttlSecondsAfterFinished: props.ttlSecondsAfterFinished ?? 86400,
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
   * A pod running the bundle with `args` as this Job's ServiceAccount: `env` first (the Job's per-event values
   * must keep their indexes), then the installation's settings. The reconciler runs the same bundle this way.
   */
  public podTemplate(component: string, args: string[], env: k8s.EnvVar[]): k8s.PodTemplateSpec {
    const { image, volume } = this.runtime;
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
            volumeMounts: volume ? [{ name: volume.name, mountPath: BUNDLE_DIR, readOnly: true }] : [],
          },
        ],
        volumes: volume ? [volume] : [],
      },
    };
  }

  /** Labels shared by every object of this installation. */
  private labels(): Record<string, string> {
    return { 'app.kubernetes.io/name': this.prefix, 'app.kubernetes.io/part-of': 'agent-cancellation' };
  }

  /**
   * Lets `serviceAccount` create Jobs in this Job's namespace, and nothing else: what a Sensor needs to
   * launch remediation runs. The account may live in another namespace.
   */
  public grantLaunch(serviceAccount: kplus.ServiceAccount): void {
    const metadata = { name: `${this.prefix}-launch-job`, namespace: this.namespace, labels: this.labels() };
    const role = new kplus.Role(this, 'LaunchRole', { metadata });
    role.allow(['create'], kplus.ApiResource.JOBS);
    new kplus.RoleBinding(this, 'LaunchRoleBinding', { metadata, role }).addSubjects(serviceAccount);
  }

  private readBundle(): string {
    const file = bundlePath();
    if (!fs.existsSync(file)) {
      throw new Error(`mode: "configmap" needs the Job bundle at ${path.relative(process.cwd(), file)}; run "npm run build" first`);
    }
    const bundle = fs.readFileSync(file, 'utf8');
    if (Buffer.byteLength(bundle) > CONFIGMAP_BUNDLE_LIMIT) {
      throw new Error(`mode: "configmap" needs a bundle under ${CONFIGMAP_BUNDLE_LIMIT} bytes, got ${Buffer.byteLength(bundle)}; use mode "image"`);
    }
    return bundle;
  }
}
