/**
 * Figure 8: GitHub requests per cancellation when the Job acts as a GitHub App, the bundle run as the Job's
 * container runs it, against the real kube-apiserver and the test server's App platform. The floor is the
 * token, the query, the mutation and the revocation; looking the installation up (no `installationId`) adds one.
 */
import { APP_ENV } from '../src/contract/env';
import { REPO, remediationWorld } from '../test/fixtures/remediation-env';
import { runJob } from '../test/fixtures/run-job';
import { heading, ratio, row } from './stats';

const FLOOR: Record<string, number> = {
  CreateInstallationToken: 1,
  Resolve: 1,
  Transition: 1,
  RevokeInstallationToken: 1,
};
const FLOOR_ALL = Object.values(FLOOR).reduce((a, b) => a + b, 0);

export async function appAuth(samples: number) {
  const w = await remediationWorld('bench-github-app', 'card', { app: true });
  try {
    w.gh.addLabel(REPO, 'remediation-in-progress');
    const tasks = Array.from({ length: 2 * samples }, (_, i) => i + 1);
    await w.seed(tasks);
    heading(`8. GitHub requests per cancellation as a GitHub App (mean of ${samples} runs of the bundle each)`);
    const result: Record<string, { ours: number; minimum: number; byOperation: Record<string, number> }> = {};
    for (const [mode, extra] of [
      ['installationId configured', { [APP_ENV.installationId]: String(w.gh.app!.installationId) }],
      ['installation looked up', {}],
    ] as const) {
      const from = w.gh.requests.length;
      for (const t of tasks.splice(0, samples)) {
        const run = await runJob(w.env({ taskId: String(t) }, undefined, extra));
        if (run.code !== 0) throw new Error(`run for task ${t} ended ${run.code}: ${JSON.stringify(run.logs.at(-1))}`);
      }
      const byOperation: Record<string, number> = {};
      for (const r of w.gh.requests.slice(from)) byOperation[r.operation] = (byOperation[r.operation] ?? 0) + 1 / samples;
      const ours = Object.values(byOperation).reduce((a, b) => a + b, 0);
      result[mode] = { ours, minimum: FLOOR_ALL, byOperation };
      for (const [op, n] of Object.entries(byOperation)) row(`${mode}: ${op}`, n.toFixed(1), `minimum ${FLOOR[op] ?? 0}`);
      row(`${mode}: GitHub, all`, ours.toFixed(1), `minimum ${FLOOR_ALL} (token, query, mutation, revocation), ${ratio(ours, FLOOR_ALL)}`);
    }
    return result;
  } finally {
    await w.stop();
  }
}
