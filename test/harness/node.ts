/**
 * A node for the tests' control plane: it registers a Node, binds the Pending Pods of the namespaces it serves
 * to it, and runs each Pod's container as a process, as a kubelet would:
 *   - env resolved from the Pod (values, `secretKeyRef`, `fieldRef` to the Pod's name) by `kubeletEnv`;
 *   - configMap and secret volumes written to a directory of the Pod and bind-mounted at their mountPath (a
 *     secret's files owned by root, with the Pod's fsGroup as group and group read added, as a kubelet does), the
 *     ServiceAccount token (TokenRequest bound to the Pod), ca.crt and namespace at
 *     /var/run/secrets/kubernetes.io/serviceaccount, and /dev/termination-log, all in a private mount
 *     namespace (`unshare -m`), with KUBERNETES_SERVICE_HOST/PORT pointing at the test apiserver;
 *   - as the Pod's runAsUser/runAsGroup, with its fsGroup as supplementary group (`setpriv`);
 *   - then the Pod's real status: Running, then Succeeded or Failed with the container's exit code and the
 *     termination log's message. The Job controller decides the rest.
 * A Pod being deleted has its process stopped and is removed, as a kubelet confirms a graceful deletion.
 * One container per Pod; the image is ignored (`node` runs the Job's Node.js, jobNode()). Empty mount points
 * are created on the host the first time (bind mounts need one); nothing is mounted outside the namespace.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { jobNode } from '../fixtures/run-job';
import { admin, clusterInfo, clusterSecrets, kubeletEnv } from './cluster';
import { own, ownChild, ownInterval, stopChild } from './owned';

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** A pass over the Pods after every watch event, and this often regardless, in case a watch missed one. */
const RESYNC_MS = 5000;

export interface PodRun {
  readonly namespace: string;
  readonly pod: string;
  /** The Job owning the Pod, if any. */
  readonly job?: string;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The termination log, as the Pod's status shows it. */
  readonly message: string;
  /** When this node first saw the Pod (a watch event, so within ms of its creation), its process started, and ended. */
  readonly seenAt: number;
  readonly spawnedAt: number;
  readonly finishedAt: number;
}

export interface TestNode {
  readonly name: string;
  /** Every container run to its end, in order. */
  readonly runs: PodRun[];
  stop(): Promise<void>;
}

let nodes = 0;
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const podPath = (ns: string, name: string) => `/api/v1/namespaces/${ns}/pods/${name}`;

async function must(what: string, r: Promise<{ status: number; body: any }>, ok = [200, 201]): Promise<any> {
  const res = await r;
  if (!ok.includes(res.status)) throw new Error(`${what}: HTTP ${res.status} ${res.body?.message ?? ''}`);
  return res.body;
}

const patchStatus = (ns: string, name: string, status: Record<string, any>) =>
  admin().request('PATCH', `${podPath(ns, name)}/status`, { status }, 'application/merge-patch+json');

/** Starts a node serving Pods of `namespaces`; stopped with the test file, or by `stop()`. */
export async function startNode(namespaces: string[]): Promise<TestNode> {
  const name = `ac-node-${process.pid}-${++nodes}`;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ac-node-'));
  fs.chmodSync(root, 0o755);
  const info = clusterInfo();
  const server = new URL(info.server);
  const runs: PodRun[] = [];
  const started = new Map<string, { stop: () => Promise<void> }>();
  const seen = new Map<string, number>();
  let busy = false;
  let again = false;

  await must(
    'create Node',
    admin().request('POST', '/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    }),
  );
  const now = new Date().toISOString();
  await must(
    'Node status',
    admin().request(
      'PATCH',
      `/api/v1/nodes/${name}/status`,
      {
        status: {
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'KubeletReady',
              message: 'test node',
              lastHeartbeatTime: now,
              lastTransitionTime: now,
            },
          ],
        },
      },
      'application/merge-patch+json',
    ),
  );

  /** The Pod's directory: volumes, the ServiceAccount files, the termination log; and what to mount where. */
  async function prepare(pod: any, dir: string): Promise<Array<[string, string]>> {
    const ns = pod.metadata.namespace;
    const container = pod.spec.containers[0];
    const mounts: Array<[string, string]> = [];
    const fsGroup: number | undefined = pod.spec.securityContext?.fsGroup;
    for (const m of container.volumeMounts ?? []) {
      const volume = (pod.spec.volumes ?? []).find((v: any) => v.name === m.name);
      const vdir = path.join(dir, 'volumes', m.name);
      fs.mkdirSync(vdir, { recursive: true, mode: 0o755 });
      if (volume?.configMap) {
        const cm = await must(
          `configMap ${volume.configMap.name}`,
          admin().request('GET', `/api/v1/namespaces/${ns}/configmaps/${volume.configMap.name}`),
        );
        for (const [key, value] of Object.entries<string>(cm.data ?? {})) {
          fs.writeFileSync(path.join(vdir, key), value, { mode: volume.configMap.defaultMode ?? 0o644 });
        }
      } else if (volume?.secret) {
        const secret = await must(
          `secret ${volume.secret.secretName}`,
          admin().request('GET', `/api/v1/namespaces/${ns}/secrets/${volume.secret.secretName}`),
        );
        const items: Array<{ key: string; path: string; mode?: number }> =
          volume.secret.items ?? Object.keys(secret.data ?? {}).map((key) => ({ key, path: key }));
        for (const item of items) {
          if (secret.data?.[item.key] === undefined) throw new Error(`secret ${volume.secret.secretName}: no key ${item.key}`);
          const file = path.join(vdir, item.path);
          fs.writeFileSync(file, Buffer.from(secret.data[item.key], 'base64'));
          // A secret volume is read-only: with an fsGroup, the kubelet gives the group the file and adds group read.
          const mode = item.mode ?? volume.secret.defaultMode ?? 0o644;
          if (fsGroup !== undefined) fs.chownSync(file, 0, fsGroup);
          fs.chmodSync(file, fsGroup === undefined ? mode : mode | 0o440);
        }
      } else {
        throw new Error(`volume ${m.name}: only configMap and secret volumes are supported`);
      }
      mounts.push([vdir, m.mountPath]);
    }
    if (pod.spec.automountServiceAccountToken !== false) {
      const sa = pod.spec.serviceAccountName ?? 'default';
      const tr = await must(
        `TokenRequest ${ns}/${sa}`,
        admin().request('POST', `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: {
            expirationSeconds: 3600,
            boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, uid: pod.metadata.uid },
          },
        }),
      );
      const sdir = path.join(dir, 'serviceaccount');
      fs.mkdirSync(sdir, { mode: 0o755 });
      fs.writeFileSync(path.join(sdir, 'token'), tr.status.token, { mode: 0o644 });
      fs.copyFileSync(info.caFile, path.join(sdir, 'ca.crt'));
      fs.chmodSync(path.join(sdir, 'ca.crt'), 0o644);
      fs.writeFileSync(path.join(sdir, 'namespace'), ns, { mode: 0o644 });
      mounts.push([sdir, SA_DIR]);
    }
    const log = path.join(dir, 'termination-log');
    fs.writeFileSync(log, '');
    // Writable by the container's user, whoever it runs as (umask would keep 0644).
    fs.chmodSync(log, 0o666);
    mounts.push([log, container.terminationMessagePath ?? '/dev/termination-log']);
    return mounts;
  }

  async function run(pod: any): Promise<void> {
    const ns = pod.metadata.namespace;
    const podName = pod.metadata.name;
    const container = pod.spec.containers[0];
    const job = pod.metadata.ownerReferences?.find((o: any) => o.kind === 'Job')?.name;
    const dir = fs.mkdtempSync(path.join(root, `${podName}-`));
    fs.chmodSync(dir, 0o755);
    let env: Record<string, string>;
    let mounts: Array<[string, string]>;
    try {
      env = await kubeletEnv(container, podName, clusterSecrets(ns));
      mounts = await prepare(pod, dir);
    } catch (e) {
      // As a kubelet: the container cannot be created; the Pod stays Pending and is tried again.
      await patchStatus(ns, podName, {
        containerStatuses: [
          containerStatus(container, false, {
            state: { waiting: { reason: 'CreateContainerConfigError', message: (e as Error).message } },
          }),
        ],
      });
      started.delete(pod.metadata.uid);
      fs.rmSync(dir, { recursive: true, force: true });
      return;
    }
    const [cmd, ...args] = [...(container.command ?? []), ...(container.args ?? [])];
    const program = cmd === 'node' ? jobNode() : cmd;
    // The mounts exist only in the process's own mount namespace; the mount points are made if missing.
    const script = [
      ...mounts.map(([from, to]) =>
        fs.statSync(from).isDirectory() ? `mkdir -p ${quote(to)}` : `mkdir -p ${quote(path.dirname(to))} && touch ${quote(to)}`,
      ),
      ...mounts.map(([from, to]) => `mount --bind ${quote(from)} ${quote(to)}`),
      'exec "$@"',
    ].join(' && ');
    const sc = { ...pod.spec.securityContext, ...container.securityContext };
    const groups = pod.spec.securityContext?.fsGroup === undefined ? '--clear-groups' : `--groups=${pod.spec.securityContext.fsGroup}`;
    const user =
      sc.runAsUser !== undefined ? ['setpriv', `--reuid=${sc.runAsUser}`, `--regid=${sc.runAsGroup ?? sc.runAsUser}`, groups] : [];
    const spawnedAt = Date.now();
    const startedAt = new Date(spawnedAt).toISOString();
    const child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', ...user, program, ...args], {
      cwd: '/',
      env: {
        PATH: process.env.PATH ?? '',
        HOSTNAME: podName,
        ...env,
        KUBERNETES_SERVICE_HOST: server.hostname,
        KUBERNETES_SERVICE_PORT: server.port,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const release = ownChild(`pod ${ns}/${podName}`, child);
    let [stdout, stderr] = ['', ''];
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    let deleted = false;
    child.once('close', async (code, signal) => {
      const finishedAt = new Date().toISOString();
      const message = fs.readFileSync(mounts[mounts.length - 1][0], 'utf8');
      const exitCode = code ?? 128 + (signal ? os.constants.signals[signal] : 0);
      if (!deleted) {
        await patchStatus(ns, podName, {
          phase: exitCode === 0 ? 'Succeeded' : 'Failed',
          conditions: [{ type: 'Ready', status: 'False', reason: 'PodCompleted', lastTransitionTime: finishedAt }],
          containerStatuses: [
            containerStatus(container, false, {
              started: false,
              state: {
                terminated: {
                  exitCode,
                  reason: exitCode === 0 ? 'Completed' : 'Error',
                  message: message || undefined,
                  startedAt,
                  finishedAt,
                },
              },
            }),
          ],
        });
      }
      const seenAt = seen.get(pod.metadata.uid) ?? spawnedAt;
      runs.push({ namespace: ns, pod: podName, job, code: exitCode, stdout, stderr, message, seenAt, spawnedAt, finishedAt: Date.now() });
      fs.rmSync(dir, { recursive: true, force: true });
    });
    started.set(pod.metadata.uid, {
      stop: async () => {
        deleted = true;
        await stopChild(child);
        await release();
      },
    });
    await patchStatus(ns, podName, {
      phase: 'Running',
      startTime: startedAt,
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: startedAt }],
      containerStatuses: [containerStatus(container, true, { started: true, state: { running: { startedAt } } })],
    });
  }

  async function tick(): Promise<void> {
    for (const ns of namespaces) {
      const pods: any[] = (await admin().request('GET', `/api/v1/namespaces/${ns}/pods`)).body?.items ?? [];
      for (const pod of pods) {
        const { uid } = pod.metadata;
        if (!seen.has(uid)) seen.set(uid, Date.now());
        if (pod.metadata.deletionTimestamp) {
          if (pod.spec.nodeName !== name) continue;
          // Confirms the graceful deletion once the container is stopped, as a kubelet does.
          await started.get(uid)?.stop();
          await admin().request('DELETE', `${podPath(ns, pod.metadata.name)}?gracePeriodSeconds=0`, { preconditions: { uid } });
        } else if (!pod.spec.nodeName) {
          await admin().request('POST', `${podPath(ns, pod.metadata.name)}/binding`, {
            apiVersion: 'v1',
            kind: 'Binding',
            metadata: { name: pod.metadata.name },
            target: { apiVersion: 'v1', kind: 'Node', name },
          });
        } else if (pod.spec.nodeName === name && pod.status?.phase === 'Pending' && !started.has(uid)) {
          started.set(uid, { stop: async () => undefined });
          await run(pod);
        }
      }
    }
  }

  /** One pass at a time; an event during a pass makes another pass after it. */
  const pass = () => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    tick()
      .catch(() => undefined)
      .finally(() => {
        busy = false;
        if (again) {
          again = false;
          pass();
        }
      });
  };
  const stopWatches = namespaces.map((ns) => own(`node ${name} watch ${ns}`, admin().watch(`/api/v1/namespaces/${ns}/pods`, pass)));
  const stopTicks = ownInterval(`node ${name}`, pass, RESYNC_MS);
  const stop = own(`node ${name}`, async () => {
    await stopTicks();
    for (const stopWatch of stopWatches) await stopWatch();
    for (const s of started.values()) await s.stop();
    await admin().request('DELETE', `/api/v1/nodes/${name}`);
    fs.rmSync(root, { recursive: true, force: true });
  });
  return { name, runs, stop };
}

/** A container's status as a kubelet reports it: the fields every state shares, then the state's own. */
function containerStatus(container: { name: string; image: string }, ready: boolean, rest: Record<string, unknown>) {
  return { name: container.name, ready, restartCount: 0, image: container.image, imageID: '', ...rest };
}
