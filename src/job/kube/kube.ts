import * as fs from 'fs';
import * as https from 'https';
import { Clock } from '../clock';
import { withRetry } from '../retry';
import { ConflictError, KubeError, RetryableError, transientStatus } from '../errors';

export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly creationTimestamp?: string;
  readonly deletionTimestamp?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

/** An object as listed: its metadata, and its spec for rules that read a field of it. */
export interface KubeObject {
  readonly metadata: ObjectMeta;
  readonly spec?: Record<string, unknown>;
  /** Where controllers record a run's phase. */
  readonly status?: Record<string, unknown>;
}

export interface Lease {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ObjectMeta;
  readonly spec: {
    readonly holderIdentity?: string | null;
    readonly leaseDurationSeconds?: number;
    readonly acquireTime?: string | null;
    readonly renewTime?: string | null;
    readonly leaseTransitions?: number;
  };
}

export interface Resource {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
}

export interface KubeEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
  readonly involved: { readonly name: string; readonly uid?: string };
}

/** The few Kubernetes calls the Job and the reconciler make. */
export interface KubeApi {
  getLease(namespace: string, name: string): Promise<Lease | undefined>;
  /** Throws ConflictError when it already exists. */
  createLease(lease: Lease): Promise<Lease>;
  /** Throws ConflictError when resourceVersion is stale. */
  updateLease(lease: Lease): Promise<Lease>;
  listLeases(namespace: string, labelSelector: string): Promise<Lease[]>;
  deleteLease(namespace: string, name: string, resourceVersion: string): Promise<void>;
  /**
   * Deletes one object if it is still the one seen (uid precondition): `gone` at once, `terminating` while a
   * finalizer holds it; undefined when it was already gone or replaced.
   */
  deleteNamed(namespace: string, resource: Resource, name: string, uid: string): Promise<Deletion | undefined>;
  list(namespace: string, resource: Resource, labelSelector: string): Promise<KubeObject[]>;
  createEvent(namespace: string, event: KubeEvent): Promise<void>;
}

export type Deletion = 'gone' | 'terminating';

export interface Connection {
  readonly server: string;
  readonly ca?: Buffer;
  readonly token?: string;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

function fileOrData(data: string | undefined, file: string | undefined): Buffer | undefined {
  if (data) return Buffer.from(data, 'base64');
  return file ? fs.readFileSync(file) : undefined;
}

/**
 * A kubeconfig as JSON when it is JSON (a YAML subset), else as YAML. The YAML parser is most of the bundle,
 * so it is loaded only here: a pod reads its ServiceAccount's files and never parses a kubeconfig.
 */
function parseKubeconfig(text: string): any {
  if (text.trimStart().startsWith('{')) return JSON.parse(text);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, not at start-up
  return (require('yaml') as typeof import('yaml')).parse(text);
}

/** KUBECONFIG's current context when set (first file only), otherwise the in-cluster service account. */
export function loadConnection(env: Record<string, string | undefined>): Connection {
  const file = env.KUBECONFIG?.split(':')[0];
  if (file) {
    const kc = parseKubeconfig(fs.readFileSync(file, 'utf8'));
    const ctx = kc.contexts?.find((c: any) => c.name === kc['current-context'])?.context ?? kc.contexts?.[0]?.context;
    const cluster = kc.clusters?.find((c: any) => c.name === ctx?.cluster)?.cluster;
    const user = kc.users?.find((u: any) => u.name === ctx?.user)?.user ?? {};
    if (!cluster?.server) throw new Error(`KUBECONFIG ${file}: no cluster server in the current context`);
    return {
      server: cluster.server,
      ca: fileOrData(cluster['certificate-authority-data'], cluster['certificate-authority']),
      token: user.token ?? (user.tokenFile ? fs.readFileSync(user.tokenFile, 'utf8').trim() : undefined),
      cert: fileOrData(user['client-certificate-data'], user['client-certificate']),
      key: fileOrData(user['client-key-data'], user['client-key']),
    };
  }
  const host = env.KUBERNETES_SERVICE_HOST;
  if (!host) throw new Error('neither KUBECONFIG nor KUBERNETES_SERVICE_HOST is set');
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${env.KUBERNETES_SERVICE_PORT ?? '443'}`,
    ca: fs.readFileSync(`${SA_DIR}/ca.crt`),
    token: fs.readFileSync(`${SA_DIR}/token`, 'utf8').trim(),
  };
}

/** Transient failures (network, 429, 5xx) of one call are retried for this long. */
const CALL_RETRY_MS = 30_000;

export interface HttpKubeOptions {
  /** Counts every request by verb, for tests and benchmarks. */
  readonly onRequest?: (method: string, path: string) => void;
  /** The run's clock: Event times, retry deadlines and waits. */
  readonly clock: Clock;
}

/** KubeApi over node:https: no client library, a few REST paths. */
export class HttpKubeApi implements KubeApi {
  private readonly agent: https.Agent;
  private readonly now: () => number;

  constructor(
    private readonly conn: Connection,
    private readonly options: HttpKubeOptions,
  ) {
    this.now = options.clock.now;
    this.agent = new https.Agent({ keepAlive: true, ca: conn.ca, cert: conn.cert, key: conn.key });
  }

  async getLease(namespace: string, name: string): Promise<Lease | undefined> {
    const r = await this.call('GET', `${leases(namespace)}/${name}`, undefined, [404]);
    return r.status === 404 ? undefined : r.body;
  }

  async createLease(lease: Lease): Promise<Lease> {
    const r = await this.call(
      'POST',
      leases(lease.metadata.namespace!),
      { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...lease },
      [409],
    );
    if (r.status === 409) throw new ConflictError(`lease ${lease.metadata.name} exists`);
    return r.body;
  }

  async updateLease(lease: Lease): Promise<Lease> {
    const r = await this.call(
      'PUT',
      `${leases(lease.metadata.namespace!)}/${lease.metadata.name}`,
      { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...lease },
      [409],
    );
    if (r.status === 409) throw new ConflictError(`lease ${lease.metadata.name} changed`);
    return r.body;
  }

  async listLeases(namespace: string, labelSelector: string): Promise<Lease[]> {
    return (await this.call('GET', `${leases(namespace)}?labelSelector=${encodeURIComponent(labelSelector)}`)).body.items;
  }

  async deleteLease(namespace: string, name: string, resourceVersion: string): Promise<void> {
    const r = await this.call('DELETE', `${leases(namespace)}/${name}`, { preconditions: { resourceVersion } }, [404, 409]);
    if (r.status === 409) throw new ConflictError(`lease ${name} changed`);
  }

  async deleteNamed(namespace: string, resource: Resource, name: string, uid: string): Promise<Deletion | undefined> {
    // Background: the CodeRun goes at once and the garbage collector removes its Jobs and pods after it.
    const r = await this.call(
      'DELETE',
      `${collection(namespace, resource)}/${name}`,
      { preconditions: { uid }, propagationPolicy: 'Background' },
      [404, 409],
    );
    if (r.status >= 300) return undefined;
    // The answer is the object as deleted: with finalizers left, it stays until they are removed.
    return r.body?.metadata?.finalizers?.length ? 'terminating' : 'gone';
  }

  async list(namespace: string, resource: Resource, labelSelector: string): Promise<KubeObject[]> {
    const r = await this.call('GET', `${collection(namespace, resource)}?labelSelector=${encodeURIComponent(labelSelector)}`);
    return r.body.items.map((i: any) => ({ metadata: i.metadata, spec: i.spec, status: i.status }));
  }

  async createEvent(namespace: string, e: KubeEvent): Promise<void> {
    const now = new Date(this.now()).toISOString();
    await this.call('POST', `/api/v1/namespaces/${namespace}/events`, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { generateName: `${e.involved.name}.`, namespace },
      involvedObject: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace, name: e.involved.name, uid: e.involved.uid },
      type: e.type,
      reason: e.reason,
      message: e.message.slice(0, 1024),
      source: { component: 'agent-cancellation' },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    });
  }

  private call(method: string, path: string, body?: unknown, accept: number[] = []): Promise<{ status: number; body: any }> {
    return withRetry(() => this.once(method, path, body, accept), {
      deadline: this.now() + CALL_RETRY_MS,
      baseMs: 200,
      clock: this.options.clock,
    });
  }

  private once(method: string, path: string, body: unknown, accept: number[]): Promise<{ status: number; body: any }> {
    this.options.onRequest?.(method, path);
    const url = new URL(path, this.conn.server);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = https.request(
        url,
        {
          method,
          agent: this.agent,
          timeout: 15_000,
          headers: {
            accept: 'application/json',
            ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
            ...(this.conn.token ? { authorization: `Bearer ${this.conn.token}` } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('error', (e) => reject(new RetryableError(`${method} ${url.pathname}: ${e.message}`)));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString('utf8');
            const parsed = text ? safeJson(text) : undefined;
            if ((status >= 200 && status < 300) || accept.includes(status)) return resolve({ status, body: parsed });
            const message = `${method} ${url.pathname}: HTTP ${status} ${parsed?.message ?? text.slice(0, 200)}`;
            if (transientStatus(status)) {
              const after = Number(res.headers['retry-after']);
              return reject(new RetryableError(message, Number.isFinite(after) ? after * 1000 : undefined));
            }
            reject(new KubeError(status, message));
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => reject(new RetryableError(`${method} ${url.pathname}: ${e.message}`)));
      req.end(payload);
    });
  }
}

function safeJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.slice(0, 200) };
  }
}

const leases = (ns: string) => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`;
const collection = (ns: string, r: Resource) => `/apis/${r.group}/${r.version}/namespaces/${ns}/${r.plural}`;
