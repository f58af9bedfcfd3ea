/**
 * Figure 5: a signed webhook POST to flipped labels through the real Argo Events services (EventSource,
 * JetStream bus, Sensor), the apiserver and the Job, against the Job's own wall time as the floor.
 */
import { argoEventsBinary } from '../test/argo/argo-stack';
import { argoWorld, SECRET } from '../test/fixtures/argo-world';
import { REPO } from '../test/fixtures/remediation-env';
import { heading, median, ms, quantile, ratio, row, since } from './stats';

export async function endToEnd(samples: number, jobWallMs: number | undefined) {
  heading(`5. webhook POST to final labels through Argo Events (${samples} pushes, one at a time)`);
  if (process.getuid?.() !== 0) {
    row('skipped', '-', 'needs root for the EventSource network namespace');
    return { skipped: 'not root' };
  }
  argoEventsBinary();
  const tasks = Array.from({ length: samples }, (_, i) => i + 1);
  const w = await argoWorld('bench-e2e', tasks);
  try {
    const latencies: number[] = [];
    for (const t of tasks) {
      const t0 = process.hrtime.bigint();
      const status = await w.stack.deliver('push', `bench-${t}`, w.push(t, `bench-${t}`).payload, SECRET);
      if (status !== 200) throw new Error(`delivery for task ${t}: HTTP ${status}`);
      await w.until(`labels of PR ${t}`, async () => w.gh.prLabels(REPO, t).join() === 'remediation-in-progress');
      latencies.push(since(t0));
    }
    const p50 = median(latencies);
    row('Job bundle wall time (floor, figure 2)', jobWallMs === undefined ? '-' : ms(jobWallMs), 'floor');
    row('webhook POST -> labels flipped, p50 / max', `${ms(p50)} / ${ms(quantile(latencies, 1))}`, jobWallMs ? ratio(p50, jobWallMs) : '');
    return { samples, p50Ms: p50, maxMs: quantile(latencies, 1) };
  } finally {
    await w.stop();
  }
}
