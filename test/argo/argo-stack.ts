/**
 * Argo Events' own services as processes, wired to the test kube-apiserver:
 *   - nats-server (Debian) with JetStream and TLS (a certificate made here with openssl: Argo's JetStream
 *     client always speaks TLS);
 *   - `argo-events eventsource-service` with the synthesized EventSource, in its own network namespace:
 *     both services bind metrics port 7777 on all interfaces, with no option to move it, so one of them
 *     lives behind a veth pair on addresses this harness creates (10.213.N.0/30);
 *   - `argo-events sensor-service` with the synthesized Sensor and KUBECONFIG of the Sensor's ServiceAccount;
 *   - the test node (test/harness/node.ts) running the Pods the Job controller makes for the Sensor's Jobs.
 */
import { execFileSync, spawn } from 'child_process';
import { createHmac } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { binaries } from '../harness/binaries';
import { freePort } from '../harness/control-plane';
import { scrape } from '../fixtures/scrape';
import { admin, serviceAccountKubeconfig } from '../harness/cluster';
import { startNode, TestNode } from '../harness/node';
import { own, ownChild } from '../harness/owned';
import { BusRelay, startBusRelay } from './bus-relay';

const SECRETS_ROOT = '/argo-events/secrets';

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });

export interface JobExecution {
  readonly name: string;
  readonly code: number | null;
  readonly logs: string;
  readonly finishedAt: number;
}

export interface ArgoStack {
  /** Where the EventSource listens, as GitHub would reach it. */
  readonly webhookUrl: string;
  /** The Jobs' Pods run to their end by the test node, in order. */
  readonly jobs: JobExecution[];
  /** The node running the namespace's Pods. */
  readonly node: TestNode;
  /** Job names created by the Sensor so far. */
  createdJobs(): Promise<string[]>;
  /** Posts a delivery as GitHub does; `secret` undefined sends no signature. */
  deliver(event: string, id: string, payload: unknown, secret: string | undefined): Promise<number>;
  /** Stops the EventSource alone, as an outage would: deliveries are then refused and lost. */
  stopEventSource(): Promise<void>;
  /** Stops nats-server (SIGTERM), keeping its store; `startBus` starts it again on the same port and store. */
  stopBus(): Promise<void>;
  startBus(): Promise<void>;
  /** The Sensor's connection to the bus, whose sending can be delayed. */
  readonly sensorBus: BusRelay;
  /** Whether every message on the bus reached the Sensor and was acknowledged. */
  settled(): Promise<boolean>;
  /** SIGKILLs the sensor-service, as a node failure would. */
  killSensor(): Promise<void>;
  /** Starts a sensor-service (after killSensor), with `sensor` (an edited Sensor) or the first one; resolves once it subscribed. */
  startSensor(sensor?: Record<string, any>): Promise<void>;
  /** What a Prometheus scrape of the service's metrics port (Argo's 7777) reads, in the text exposition format. */
  metrics(service: 'sensor' | 'eventsource'): Promise<string>;
  logs(): string;
  stop(): Promise<void>;
}

interface BusConsumer {
  /** Delivered, not yet acknowledged. */
  readonly ackPending: number;
  /** Published, not yet delivered. */
  readonly pending: number;
}

export interface ArgoStackOptions {
  /** The EventBus's and the Sensor's namespace. */
  readonly namespace: string;
  /** Where the Sensor creates its Jobs, and the test node runs their Pods. @default namespace */
  readonly jobNamespace?: string;
  readonly eventSource: Record<string, any>;
  readonly sensor: Record<string, any>;
  readonly webhookSecret: { name: string; key: string; value: string };
}

export async function startArgoStack(o: ArgoStackOptions): Promise<ArgoStack> {
  const binary = binaries().argoEvents;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ac-argo-'));
  const subnet = 1 + (process.pid % 250);
  const hostIp = `10.213.${subnet}.1`;
  const nsIp = `10.213.${subnet}.2`;
  const netns = `ac-es-${process.pid}`;
  const veth = `ach${process.pid % 100000}`;
  const secretDir = path.join(SECRETS_ROOT, o.webhookSecret.name);
  // Everything started below, stopped last first by stop() or, if the caller never gets the stack, the harness.
  const stops = [
    own('argo stack network and files', () => {
      try {
        sh('ip', ['netns', 'del', netns]);
      } catch {
        /* already gone */
      }
      try {
        sh('ip', ['link', 'del', veth]);
      } catch {
        /* went with the namespace */
      }
      fs.rmSync(secretDir, { recursive: true, force: true });
      fs.rmSync(dir, { recursive: true, force: true });
    }),
  ];
  const stop = async () => {
    for (const s of [...stops].reverse()) await s();
  };

  const spawnLogged = (name: string, cmd: string, args: string[], env: Record<string, string>) => {
    const child = spawn(cmd, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    stops.push(ownChild(`argo ${name}`, child));
    // A restarted service appends to its log.
    const out = fs.createWriteStream(path.join(dir, `${name}.log`), { flags: 'a' });
    child.stdout.pipe(out);
    child.stderr.pipe(out);
    return child;
  };
  const logOf = (name: string) =>
    fs.existsSync(path.join(dir, `${name}.log`)) ? fs.readFileSync(path.join(dir, `${name}.log`), 'utf8') : '';
  /** Waits for `re` in the log after its first `from` characters. */
  const waitLog = async (name: string, re: RegExp, ms: number, from = 0) => {
    const giveUp = Date.now() + ms;
    while (!re.test(logOf(name).slice(from))) {
      if (Date.now() > giveUp) throw new Error(`${name}: no ${re} within ${ms} ms:\n${logOf(name).slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  try {
    sh('ip', ['netns', 'add', netns]);
    sh('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'ac-n0', 'netns', netns]);
    sh('ip', ['addr', 'add', `${hostIp}/30`, 'dev', veth]);
    sh('ip', ['link', 'set', veth, 'up']);
    sh('ip', ['netns', 'exec', netns, 'ip', 'addr', 'add', `${nsIp}/30`, 'dev', 'ac-n0']);
    sh('ip', ['netns', 'exec', netns, 'ip', 'link', 'set', 'ac-n0', 'up']);
    sh('ip', ['netns', 'exec', netns, 'ip', 'link', 'set', 'lo', 'up']);

    sh('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=nats',
      '-addext',
      `subjectAltName=IP:${hostIp}`,
      '-keyout',
      path.join(dir, 'nats.key'),
      '-out',
      path.join(dir, 'nats.crt'),
    ]);
    const natsPort = await freePort();
    const monitorPort = await freePort();
    const natsArgs = [
      '-js',
      '-m',
      String(monitorPort),
      '-a',
      hostIp,
      '-p',
      String(natsPort),
      '-sd',
      path.join(dir, 'js'),
      '--tls',
      '--tlscert',
      path.join(dir, 'nats.crt'),
      '--tlskey',
      path.join(dir, 'nats.key'),
    ];
    const startNats = async () => {
      const from = logOf('nats').length;
      const child = spawnLogged('nats', 'nats-server', natsArgs, {});
      await waitLog('nats', /Server is ready/, 20_000, from);
      return child;
    };
    let nats = await startNats();

    fs.mkdirSync(secretDir, { recursive: true });
    fs.writeFileSync(path.join(secretDir, o.webhookSecret.key), o.webhookSecret.value, { mode: 0o600 });

    const sensorBus = await startBusRelay(hostIp, natsPort);
    stops.push(own('argo sensor bus relay', () => sensorBus.close()));
    const bus = (port: number) => ({
      jetstream: {
        url: `nats://${hostIp}:${port}`,
        streamConfig: 'maxMsgs: 100000\nmaxAge: 1h\nmaxBytes: 104857600\nreplicas: 1\nduplicates: 300s\n',
      },
    });
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');
    const subject = { EVENTBUS_SUBJECT: `eventbus-${o.namespace}` };
    const eventSource = spawnLogged('eventsource', 'ip', ['netns', 'exec', netns, binary, 'eventsource-service'], {
      ...subject,
      EVENTBUS_CONFIG: b64(bus(natsPort)),
      EVENTSOURCE_OBJECT: b64(o.eventSource),
      POD_NAME: 'eventsource-0',
    });
    const sensorKube = await serviceAccountKubeconfig(o.namespace, o.sensor.spec.template.serviceAccountName);
    const spawnSensor = (sensor: Record<string, any>) =>
      spawnLogged('sensor', binary, ['sensor-service'], {
        ...subject,
        EVENTBUS_CONFIG: b64(bus(sensorBus.port)),
        SENSOR_OBJECT: b64(sensor),
        POD_NAME: 'sensor-0',
        KUBECONFIG: sensorKube.path,
      });
    let sensorService = spawnSensor(o.sensor);
    const kill = async (child: ReturnType<typeof spawnLogged>, signal: NodeJS.Signals) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await exited;
    };
    /** The durable consumers on the event bus's stream, by name, as nats-server's monitoring endpoint reports them. */
    const consumers = async (): Promise<Map<string, BusConsumer>> => {
      const url = `http://${hostIp}:${monitorPort}/jsz?accounts=true&streams=true&consumers=true`;
      const jsz: any = await (await fetch(url, { signal: AbortSignal.timeout(5_000) })).json();
      const streams = (jsz.account_details ?? []).flatMap((a: any) => a.stream_detail ?? []);
      const found = streams.filter((st: any) => st.name === 'default').flatMap((st: any) => st.consumer_detail ?? []);
      return new Map(found.map((c: any) => [c.name, { ackPending: c.num_ack_pending, pending: c.num_pending }]));
    };
    // One durable consumer per trigger and event subject; with two dependencies on one subject, as here, one each.
    const durables = o.sensor.spec.triggers.length;
    // Ready once the consumers exist on the server: Argo logs "started subscribing" before it creates them, and a
    // consumer made anew (an edited Sensor) delivers only what is published after its creation.
    const subscribed = async (from: number) => {
      const giveUp = Date.now() + 90_000;
      for (;;) {
        const names = [
          ...logOf('sensor')
            .slice(from)
            .matchAll(/Subscribing to subject \S+ with durable name ([\w-]+)/g),
        ].map((m) => m[1]);
        if (names.length >= durables) {
          const existing = await consumers();
          if (names.every((n) => existing.has(n))) return;
        }
        if (Date.now() > giveUp) throw new Error(`sensor: not subscribed within 90 s:\n${logOf('sensor').slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };

    const webhook = Object.values<any>(o.eventSource.spec.github)[0].webhook;
    const webhookUrl = `http://${nsIp}:${webhook.port}${webhook.endpoint}`;
    // The Jobs the Sensor creates run as in a cluster: the Job controller makes their Pods, the test node runs them.
    const jobNamespace = o.jobNamespace ?? o.namespace;
    const node = await startNode([jobNamespace]);
    stops.push(node.stop);
    const stack: ArgoStack = {
      webhookUrl,
      get jobs() {
        return node.runs
          .filter((r) => r.job)
          .map((r) => ({ name: r.job!, code: r.code, logs: r.stdout + r.stderr, finishedAt: r.finishedAt }));
      },
      node,
      // The remediation Jobs' component label: reconciler passes are Jobs in the namespace too.
      createdJobs: async () =>
        (
          await admin().request(
            'GET',
            `/apis/batch/v1/namespaces/${jobNamespace}/jobs?labelSelector=app.kubernetes.io%2Fcomponent%3Dremediation-job`,
          )
        ).body.items.map((j: any) => j.metadata.name),
      deliver: (event, id, payload, secret) => post(webhookUrl, event, id, JSON.stringify(payload), secret),
      stopEventSource: () => kill(eventSource, 'SIGKILL'),
      stopBus: () => kill(nats, 'SIGTERM'),
      startBus: async () => {
        nats = await startNats();
      },
      sensorBus,
      settled: async () => [...(await consumers()).values()].every((c) => c.ackPending === 0 && c.pending === 0),
      killSensor: () => kill(sensorService, 'SIGKILL'),
      startSensor: async (sensor = o.sensor) => {
        const from = logOf('sensor').length;
        sensorService = spawnSensor(sensor);
        await subscribed(from);
      },
      metrics: (service) => scrape(`http://${service === 'sensor' ? '127.0.0.1' : nsIp}:${METRICS_PORT}/metrics`),
      logs: () => ['nats', 'eventsource', 'sensor'].map((n) => `--- ${n}\n${logOf(n).slice(-4000)}`).join('\n'),
      stop,
    };
    // Ready when the EventSource answers on its route and the Sensor has subscribed.
    const giveUp = Date.now() + 60_000;
    while ((await post(webhookUrl, 'ping', 'ready-probe', '{}', 'wrong').catch(() => 0)) !== 400) {
      if (Date.now() > giveUp) throw new Error(`EventSource not serving ${webhookUrl}\n${stack.logs()}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    // Its durable consumers only see events published after they subscribe.
    await subscribed(0);

    return stack;
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Argo Events serves every service's metrics here, unchangeable (pkg/apis/events/v1alpha1/const.go). */
const METRICS_PORT = 7777;

function post(url: string, event: string, id: string, body: string, secret: string | undefined): Promise<number> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-github-event': event,
    'x-github-delivery': id,
    'user-agent': 'GitHub-Hookshot/test',
  };
  if (secret !== undefined) headers['x-hub-signature-256'] = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}
