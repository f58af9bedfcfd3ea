/**
 * A real control plane for tests: etcd and kube-apiserver prebuilt from their Go modules (build-binaries.sh),
 * on loopback ports picked at run time, RBAC on, ServiceAccount token signing keys so TokenRequest issues
 * real tokens, and a static admin token (group system:masters) for set-up.
 *
 * kube-controller-manager from the same module runs the controllers the tests rely on (CONTROLLERS): garbage
 * collection, Jobs, CronJobs, namespace deletion, `default` ServiceAccounts, TTL after finished, and the admission
 * policies' type-checking status. Pods run only where a test starts a node (node.ts).
 */
import { ChildProcess, spawn } from 'child_process';
import { generateKeyPairSync, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { binaries } from './binaries';
import { ownChild } from './owned';

export interface ClusterInfo {
  readonly server: string;
  readonly caFile: string;
  readonly adminToken: string;
  readonly dir: string;
}

export interface RunningControlPlane {
  readonly info: ClusterInfo;
  stop(): Promise<void>;
}

/** A TCP port free on `host` now, for a server the harness starts next. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** The controllers kube-controller-manager runs for the tests (names as its --controllers takes them). */
export const CONTROLLERS = [
  'garbage-collector-controller',
  'job-controller',
  'cronjob-controller',
  'namespace-controller',
  'serviceaccount-controller',
  'ttl-after-finished-controller',
  'validatingadmissionpolicy-status-controller',
];

/** KUBEBUILDER_ASSETS (envtest's etcd and kube-apiserver) when set, else the prebuilt ones; our controller-manager. */
function serverBinaries(): { etcd: string; apiserver: string; controllerManager: string } {
  const assets = process.env.KUBEBUILDER_ASSETS;
  const b = binaries();
  return {
    etcd: assets ? path.join(assets, 'etcd') : b.etcd,
    apiserver: assets ? path.join(assets, 'kube-apiserver') : b.kubeApiserver,
    controllerManager: b.kubeControllerManager,
  };
}

function logTo(child: ChildProcess, file: string): void {
  const out = fs.createWriteStream(file);
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, child: ChildProcess, log: string): Promise<void> {
  const giveUp = Date.now() + timeoutMs;
  while (Date.now() < giveUp) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}:\n${fs.readFileSync(log, 'utf8').slice(-3000)}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms:\n${fs.readFileSync(log, 'utf8').slice(-3000)}`);
}

async function httpOk(url: string, init: { token?: string; ca?: Buffer } = {}): Promise<boolean> {
  const https = await import('https');
  const http = await import('http');
  const mod = url.startsWith('https') ? https : http;
  return new Promise((resolve) => {
    const req = mod.request(
      url,
      { ca: init.ca, headers: init.token ? { authorization: `Bearer ${init.token}` } : {}, timeout: 2000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export async function startControlPlane(): Promise<RunningControlPlane> {
  const { etcd, apiserver, controllerManager } = serverBinaries();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ac-kube-'));
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of [...stops].reverse()) await s();
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    const [clientPort, peerPort, securePort] = [await freePort(), await freePort(), await freePort()];
    const etcdLog = path.join(dir, 'etcd.log');
    const etcdProc = spawn(
      etcd,
      [
        '--name=test',
        `--data-dir=${path.join(dir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${clientPort}`,
        `--advertise-client-urls=http://127.0.0.1:${clientPort}`,
        `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-cluster=test=http://127.0.0.1:${peerPort}`,
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    stops.push(ownChild('etcd', etcdProc));
    logTo(etcdProc, etcdLog);
    await waitFor('etcd', () => httpOk(`http://127.0.0.1:${clientPort}/health`), 30_000, etcdProc, etcdLog);

    const adminToken = randomBytes(24).toString('hex');
    fs.writeFileSync(path.join(dir, 'tokens.csv'), `${adminToken},test-admin,test-admin,"system:masters"\n`, { mode: 0o600 });
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    fs.writeFileSync(path.join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    fs.writeFileSync(path.join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const certDir = path.join(dir, 'certs');
    const apiLog = path.join(dir, 'apiserver.log');
    const api = spawn(
      apiserver,
      [
        `--etcd-servers=http://127.0.0.1:${clientPort}`,
        `--cert-dir=${certDir}`,
        `--secure-port=${securePort}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        // Nothing here reaches the apiserver through the `kubernetes` Service (the test node points Pods at it
        // directly), and from 1.37 the default lease reconciler refuses a loopback advertise address.
        '--endpoint-reconciler-type=none',
        '--authorization-mode=RBAC',
        `--token-auth-file=${path.join(dir, 'tokens.csv')}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        '--disable-admission-plugins=ServiceAccount',
        `--service-account-issuer=https://127.0.0.1:${securePort}/`,
        `--service-account-key-file=${path.join(dir, 'sa.pub')}`,
        `--service-account-signing-key-file=${path.join(dir, 'sa.key')}`,
        '--enable-priority-and-fairness=false',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    stops.push(ownChild('kube-apiserver', api));
    logTo(api, apiLog);
    const caFile = path.join(certDir, 'apiserver.crt');
    const server = `https://127.0.0.1:${securePort}`;
    await waitFor(
      'kube-apiserver',
      async () => fs.existsSync(caFile) && httpOk(`${server}/readyz`, { token: adminToken, ca: fs.readFileSync(caFile) }),
      120_000,
      api,
      apiLog,
    );

    const kubeconfig = path.join(dir, 'admin.kubeconfig');
    fs.writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'test', cluster: { server, 'certificate-authority': caFile } }],
        users: [{ name: 'admin', user: { token: adminToken } }],
        contexts: [{ name: 'test', context: { cluster: 'test', user: 'admin' } }],
        'current-context': 'test',
      }),
      { mode: 0o600 },
    );
    const kcmLog = path.join(dir, 'controller-manager.log');
    const kcm = spawn(
      controllerManager,
      [
        `--kubeconfig=${kubeconfig}`,
        `--controllers=${CONTROLLERS.join(',')}`,
        // One instance per run, and no serving port to collide with other runs on the machine.
        '--leader-elect=false',
        '--secure-port=0',
        '--kube-api-qps=100',
        '--kube-api-burst=200',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    stops.push(ownChild('kube-controller-manager', kcm));
    logTo(kcm, kcmLog);
    // It serves nothing: its serviceaccount controller making kube-system's `default` account shows it running.
    await waitFor(
      'kube-controller-manager',
      () => httpOk(`${server}/api/v1/namespaces/kube-system/serviceaccounts/default`, { token: adminToken, ca: fs.readFileSync(caFile) }),
      120_000,
      kcm,
      kcmLog,
    );
    return { info: { server, caFile, adminToken, dir }, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
