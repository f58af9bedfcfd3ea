/**
 * Figure 5: a signed webhook POST to flipped labels through the real Argo Events services (EventSource,
 * JetStream bus, Sensor), the apiserver and the Job, against the Job's own wall time as the floor.
 */
import * as fs from 'fs';
import * as path from 'path';
import { binariesOrWhy } from '../test/harness/binaries';
import { argoWorld, ArgoWorld, SECRET } from '../test/fixtures/argo-world';
import { REPO } from '../test/fixtures/remediation-env';
import { heading, median, ms, quantile, ratio, row } from './stats';

const onPath = (cmd: string) => (process.env.PATH ?? '').split(':').some((dir) => fs.existsSync(path.join(dir, cmd)));

/** Why the Argo stack cannot run here, if it cannot. */
function unavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root for the EventSource network namespace';
  const missing = ['ip', 'nats-server', 'openssl'].filter((c) => !onPath(c));
  if (missing.length) return `not on PATH: ${missing.join(', ')}`;
  const binaries = binariesOrWhy();
  return typeof binaries === 'string' ? binaries : undefined;
}

/** When the Sensor's Job appeared and its name, polled every 10 ms: its create leaves no more precise trace. */
async function jobCreated(w: ArgoWorld, before: string[]): Promise<{ at: number; name: string }> {
  const giveUp = Date.now() + 60_000;
  for (;;) {
    const name = (await w.stack.createdJobs()).find((j) => !before.includes(j));
    if (name) return { at: Date.now(), name };
    if (Date.now() > giveUp) throw new Error(`no Job created within 60 s\n${w.stack.logs()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function endToEnd(samples: number, jobWallMs: number | undefined) {
  heading(`5. webhook POST to final labels through Argo Events (${samples} pushes, one at a time)`);
  const reason = unavailable();
  if (reason) {
    console.log(`skipped: ${reason}`);
    return { skipped: reason };
  }
  const tasks = Array.from({ length: samples }, (_, i) => i + 1);
  const w = await argoWorld('bench-e2e', tasks);
  try {
    const total: number[] = [];
    const parts = { argo: [] as number[], controller: [] as number[], node: [] as number[], job: [] as number[] };
    for (const t of tasks) {
      const jobs = await w.stack.createdJobs();
      const from = w.gh.requests.length;
      const t0 = Date.now();
      const status = await w.stack.deliver('push', `bench-${t}`, w.push(t, `bench-${t}`).payload, SECRET);
      if (status !== 200) throw new Error(`delivery for task ${t}: HTTP ${status}`);
      const created = await jobCreated(w, jobs);
      await w.until(`labels of PR ${t}`, async () => w.gh.prLabels(REPO, t).join() === 'remediation-in-progress');
      // The mutation's own timestamp on the server, not the poll's.
      const flippedAt = w.gh.requests.slice(from).find((r) => r.operation === 'Transition' && r.status === 200)!.at;
      const pod = await w.until(`the pod of ${created.name}`, async () => w.stack.node.runs.find((r) => r.job === created.name));
      total.push(flippedAt - t0);
      parts.argo.push(created.at - t0);
      parts.controller.push(pod.seenAt - created.at);
      parts.node.push(pod.spawnedAt - pod.seenAt);
      parts.job.push(flippedAt - pod.spawnedAt);
    }
    const p50 = median(total);
    row('Job bundle wall time (floor, figure 2)', jobWallMs === undefined ? '-' : ms(jobWallMs), 'floor');
    row('webhook POST -> labels flipped, p50 / max', `${ms(p50)} / ${ms(quantile(total, 1))}`, jobWallMs ? ratio(p50, jobWallMs) : '');
    row('  Argo: POST -> Job created (EventSource, bus, Sensor)', ms(median(parts.argo)), 'p50; Job seen by a 10 ms poll');
    row('  Job controller: Job created -> Pod seen by the node', ms(median(parts.controller)), 'p50; the node watches Pods');
    row('  node: Pod seen -> process started', ms(median(parts.node)), 'p50; bind, env, token, mounts');
    row('  Job: process started -> labels flipped', ms(median(parts.job)), 'p50; Node start-up and the Job until its mutation');
    return {
      samples,
      p50Ms: p50,
      maxMs: quantile(total, 1),
      p50PartsMs: Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, median(v)])),
    };
  } finally {
    await w.stop();
  }
}
