/**
 * What integration tests use of the shared control plane (started by global-setup.ts):
 *   clusterInfo()                          server URL, CA file, admin token
 *   admin.request(method, path, body?)     as system:masters; returns { status, body }
 *   admin.apply(obj)                       server-side apply (fieldManager agent-cancellation-tests)
 *   createNamespace(name)
 *   serviceAccountKubeconfig(ns, sa)       kubeconfig with a real TokenRequest token; also returns the token
 *   until(what, get, timeoutMs?)           polls until `get` returns a value
 *   asToken(token).request(...)            requests as that identity
 *   distObjects(namespace?)                the committed dist/ manifests, optionally moved to `namespace`
 *   seedCodeRuns(...) / codeRunNames(...)  CodeRuns for the card and real-platform presets
 */
import * as fs from 'fs';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { ClusterInfo } from './control-plane';

export const CLUSTER_ENV = 'AC_TEST_CLUSTER';
const REQUEST_TIMEOUT_MS = 60_000;
export const repoRoot = path.resolve(__dirname, '..', '..');
export function clusterInfo(): ClusterInfo {
  const file = process.env[CLUSTER_ENV];
  if (!file) throw new Error(`${CLUSTER_ENV} is not set: run integration tests through jest's integration project`);
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

export interface Response {
  readonly status: number;
  readonly body: any;
}

export class Client {
  private readonly agent: https.Agent;

  constructor(
    private readonly info: ClusterInfo,
    private readonly token: string,
  ) {
    this.agent = new https.Agent({ keepAlive: true, ca: fs.readFileSync(info.caFile) });
  }

  /**
   * Watches the collection at `urlPath`, calling `onChange` whenever the server sends events (a chunk may hold
   * several), and opens the watch again when the server ends it. Returns the stop.
   */
  watch(urlPath: string, onChange: () => void): () => void {
    let req: ReturnType<typeof https.request> | undefined;
    let stopped = false;
    const open = () => {
      if (stopped) return;
      // Its own connection: a watch holds it open, which the shared keep-alive agent must not wait on.
      req = https.request(
        new URL(`${urlPath}?watch=1&allowWatchBookmarks=false`, this.info.server),
        { ca: fs.readFileSync(this.info.caFile), headers: { authorization: `Bearer ${this.token}`, accept: 'application/json' } },
        (res) => {
          res.on('data', onChange);
          res.on('error', () => undefined);
          res.on('end', () => setTimeout(open, 100));
        },
      );
      req.on('error', () => setTimeout(open, 1000));
      req.end();
    };
    open();
    return () => {
      stopped = true;
      req?.destroy();
    };
  }

  request(method: string, urlPath: string, body?: unknown, contentType = 'application/json'): Promise<Response> {
    const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = https.request(
        new URL(urlPath, this.info.server),
        {
          method,
          agent: this.agent,
          // A server that stops answering fails the request instead of the whole run waiting on it.
          timeout: REQUEST_TIMEOUT_MS,
          headers: {
            authorization: `Bearer ${this.token}`,
            accept: 'application/json',
            ...(payload ? { 'content-type': contentType, 'content-length': payload.length } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: any = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              // Not JSON: keep the text.
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath}: no answer within ${REQUEST_TIMEOUT_MS} ms`)));
      req.end(payload);
    });
  }

  /** Server-side apply; throws with the server's message unless it is accepted. */
  async apply(obj: Record<string, any>): Promise<Record<string, any>> {
    const r = await this.request(
      'PATCH',
      `${objectPath(obj)}?fieldManager=agent-cancellation-tests&force=true`,
      obj,
      'application/apply-patch+yaml',
    );
    if (r.status >= 300) throw new Error(`apply ${obj.kind}/${obj.metadata.name}: HTTP ${r.status} ${r.body?.message ?? r.body}`);
    return r.body;
  }

  /** Creates the object; throws unless the server accepts it. */
  async create(obj: Record<string, any>): Promise<Record<string, any>> {
    const r = await this.request('POST', collectionPath(obj.apiVersion, obj.kind, obj.metadata.namespace), obj);
    if (r.status >= 300) throw new Error(`create ${obj.kind}: HTTP ${r.status} ${r.body?.message ?? r.body}`);
    return r.body;
  }
}

const PLURALS: Record<string, string> = {
  Namespace: 'namespaces',
  ServiceAccount: 'serviceaccounts',
  ConfigMap: 'configmaps',
  Secret: 'secrets',
  Event: 'events',
  Role: 'roles',
  RoleBinding: 'rolebindings',
  Job: 'jobs',
  CronJob: 'cronjobs',
  Lease: 'leases',
  CustomResourceDefinition: 'customresourcedefinitions',
  EventBus: 'eventbus',
  EventSource: 'eventsources',
  Sensor: 'sensors',
  PodMonitor: 'podmonitors',
  PrometheusRule: 'prometheusrules',
  CodeRun: 'coderuns',
  Pod: 'pods',
  ValidatingAdmissionPolicy: 'validatingadmissionpolicies',
  ValidatingAdmissionPolicyBinding: 'validatingadmissionpolicybindings',
};

export function collectionPath(apiVersion: string, kind: string, namespace?: string): string {
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const plural = PLURALS[kind];
  if (!plural) throw new Error(`no plural known for ${kind}`);
  return `${base}${namespace ? `/namespaces/${namespace}` : ''}/${plural}`;
}

function objectPath(obj: Record<string, any>): string {
  return `${collectionPath(obj.apiVersion, obj.kind, obj.metadata.namespace)}/${obj.metadata.name}`;
}

let adminClient: Client | undefined;
export function admin(): Client {
  adminClient ??= new Client(clusterInfo(), clusterInfo().adminToken);
  return adminClient;
}

export function asToken(token: string): Client {
  return new Client(clusterInfo(), token);
}

export async function createNamespace(name: string): Promise<void> {
  await admin().apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  // The controller-manager makes the namespace's `default` account too, but later: made here so nothing waits.
  await admin().apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: name } });
}

/** Polls `get` every 500 ms until it returns something other than undefined; throws after `timeoutMs`. */
export async function until<T>(what: string, get: () => Promise<T | undefined>, timeoutMs = 180_000): Promise<T> {
  const giveUp = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > giveUp) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** A kubeconfig (file path) for a real ServiceAccount token from the TokenRequest API. */
export async function serviceAccountKubeconfig(namespace: string, name: string): Promise<{ path: string; token: string }> {
  const r = await admin().request('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { expirationSeconds: 3600 },
  });
  if (r.status !== 201) throw new Error(`TokenRequest ${namespace}/${name}: HTTP ${r.status} ${r.body?.message}`);
  const token: string = r.body.status.token;
  const info = clusterInfo();
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ac-kubeconfig-')), 'config');
  // JSON, which is YAML too: the Job then parses it without loading its YAML parser, as in a pod, which reads no kubeconfig.
  fs.writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test', cluster: { server: info.server, 'certificate-authority': info.caFile } }],
      users: [{ name: `${namespace}-${name}`, user: { token } }],
      contexts: [{ name: 'test', context: { cluster: 'test', user: `${namespace}-${name}`, namespace } }],
      'current-context': 'test',
    }),
    { mode: 0o600 },
  );
  return { path: file, token };
}

/**
 * A container's env as a kubelet resolves it: literal values, `fieldRef` to the pod's name, and Secret keys
 * from `secret` (undefined when the Secret or key is missing, which only an `optional` reference may be).
 */
export async function kubeletEnv(
  container: any,
  podName: string,
  secret: (name: string, key: string) => Promise<string | undefined>,
): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  // A container without variables has no `env` at all (the apiserver drops an empty list).
  for (const e of container.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef;
    // A variable with neither value nor valueFrom is set to "" (manifests drop empty strings).
    const value = e.valueFrom?.fieldRef ? podName : ref ? await secret(ref.name, ref.key) : (e.value ?? '');
    if (value === undefined && !ref?.optional) throw new Error(`env ${e.name}: no value`);
    if (value !== undefined) env[e.name] = value;
  }
  return env;
}

/** Reads Secret keys from the cluster, as a kubelet resolving `secretKeyRef`s in `namespace` does. */
export function clusterSecrets(namespace: string): (name: string, key: string) => Promise<string | undefined> {
  return async (name, key) => {
    const data = (await admin().request('GET', `/api/v1/namespaces/${namespace}/secrets/${name}`)).body?.data?.[key];
    return data === undefined ? undefined : Buffer.from(data, 'base64').toString('utf8');
  };
}

/**
 * The committed dist/ manifests; with `namespace`, every object (and RoleBinding subject) moved there, and the
 * cluster-scoped admission policy renamed and matching the ServiceAccount there.
 */
export function distObjects(namespace?: string, file = path.join(repoRoot, 'dist', 'agent-cancellation.k8s.yaml')): Record<string, any>[] {
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'))
    .map((d) => d.toJSON())
    .filter(Boolean);
  if (!namespace) return docs;
  const from = docs.find((o: any) => o.kind === 'ServiceAccount').metadata.namespace;
  return docs.map((o: any) => {
    if (o.kind.startsWith('ValidatingAdmissionPolicy')) {
      // Its name ends in `.<namespace>`; its match condition names `system:serviceaccount:<namespace>:…`.
      return JSON.parse(JSON.stringify(o).replaceAll(`.${from}"`, `.${namespace}"`).replaceAll(`:${from}:`, `:${namespace}:`));
    }
    const moved = { ...o, metadata: { ...o.metadata, namespace } };
    if (o.kind === 'RoleBinding') moved.subjects = o.subjects.map((s: any) => ({ ...s, namespace }));
    if (o.kind === 'Sensor') {
      const job = moved.spec.triggers[0].template.k8s.source.resource;
      job.metadata.namespace = namespace;
      const env = job.spec.template.spec.containers[0].env;
      env.find((e: any) => e.name === 'AC_NAMESPACE').value = namespace;
    }
    return moved;
  });
}

export interface CodeRunPreset {
  readonly group: string;
  /** Labels of one agent for a task. */
  readonly labels: (agent: 'rex' | 'cleo' | 'tess', taskId: number) => Record<string, string>;
}

const CAPITAL = { rex: 'Rex', cleo: 'Cleo', tess: 'Tess' } as const;
const STAGE = { rex: 'implementation', cleo: 'quality', tess: 'testing' } as const;

export const PRESETS: Record<'card' | 'cto', CodeRunPreset> = {
  card: { group: 'platform.5dlabs.com', labels: (agent, taskId) => ({ 'agent-type': agent, 'task-id': String(taskId) }) },
  cto: {
    group: 'agents.platform',
    labels: (agent, taskId) => ({
      'task-id': String(taskId),
      service: 'cto',
      'github-app': `5DLabs-${CAPITAL[agent]}`,
      'workflow-stage': STAGE[agent],
    }),
  },
};

/** A CodeRun of `agent` for a task, named by generateName as the platform does, with `labels` added. */
export function codeRun(
  namespace: string,
  preset: CodeRunPreset,
  taskId: number,
  agent: 'rex' | 'cleo' | 'tess',
  labels: Record<string, string> = {},
): Record<string, any> {
  return {
    apiVersion: `${preset.group}/v1`,
    kind: 'CodeRun',
    metadata: { generateName: `cto-t${taskId}-${STAGE[agent]}-`, namespace, labels: { ...preset.labels(agent, taskId), ...labels } },
    // Every field the platform's CRD requires (test/fixtures/crds/coderun.yaml); `service` is the workspace id.
    spec: {
      taskId,
      service: 'cto',
      repositoryUrl: 'https://github.com/5dlabs/cto',
      docsRepositoryUrl: 'https://github.com/5dlabs/cto',
      workingDirectory: '.',
      model: 'test-model',
      githubApp: `5DLabs-${CAPITAL[agent]}`,
    },
  };
}

/** Creates one CodeRun per (task, agent); returns how many. */
export async function seedCodeRuns(
  namespace: string,
  preset: CodeRunPreset,
  taskIds: number[],
  agents: ReadonlyArray<'rex' | 'cleo' | 'tess'> = ['rex', 'cleo', 'tess'],
): Promise<number> {
  const all = taskIds.flatMap((taskId) => agents.map((agent) => ({ taskId, agent })));
  for (let i = 0; i < all.length; i += 20) {
    await Promise.all(all.slice(i, i + 20).map(({ taskId, agent }) => admin().create(codeRun(namespace, preset, taskId, agent))));
  }
  return all.length;
}

/**
 * Runs of `tasks` of `repository`: named `<name>-t<task>-<stage>-…`, with the same `service` label as every run
 * of the workspace. The repository is in `spec.repositoryUrl`: for the platform's preset as its play template
 * writes it (`owner/name`), for the card's as a URL (its scope's format); `spelling` overrides it.
 */
export async function seedRepositoryRuns(
  namespace: string,
  preset: 'card' | 'cto',
  repository: string,
  tasks: number[],
  spelling: string = preset === 'cto' ? repository : `https://github.com/${repository}`,
): Promise<void> {
  const name = repository.split('/')[1];
  for (const t of tasks) {
    for (const agent of ['rex', 'cleo', 'tess'] as const) {
      const run = codeRun(namespace, PRESETS[preset], t, agent);
      run.metadata.generateName = run.metadata.generateName.replace(/^cto-/, `${name}-`);
      run.spec.repositoryUrl = spelling;
      await admin().create(run);
    }
  }
}

/** Records `phase` in a run's status, as the platform's controller does (through the status subresource). */
export async function setPhase(namespace: string, group: string, name: string, phase: string): Promise<void> {
  const path = `/apis/${group}/v1/namespaces/${namespace}/coderuns/${name}/status`;
  const r = await admin().request('PATCH', path, { status: { phase } }, 'application/merge-patch+json');
  if (r.status !== 200) throw new Error(`status of coderun ${name}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
}

/** Every CodeRun in `namespace`, as "task-agentLabel" keys, for before/after comparisons. */
export async function codeRunNames(namespace: string, group: string): Promise<string[]> {
  const r = await admin().request('GET', `/apis/${group}/v1/namespaces/${namespace}/coderuns`);
  if (r.status !== 200) throw new Error(`list coderuns: HTTP ${r.status}`);
  return r.body.items.map((i: any) => i.metadata.name).sort();
}
