/**
 * Crashes and faults: the Job is SIGKILLed after each step and rerun, GitHub fails at random; the state
 * on the PR's Lease converges with nothing deleted twice or missed, and dead holders are taken over.
 */
import { EXIT } from '../../src/contract/env';
import { admin } from '../harness/cluster';
import { qaRunsOf, REPO, remediationWorld, RemediationWorld } from '../fixtures/remediation-env';
import { runJob } from '../fixtures/run-job';

jest.setTimeout(300_000);

let w: RemediationWorld;
const LEASE_SECONDS = '2';
beforeAll(async () => {
  w = await remediationWorld('chaos', 'cto');
  await w.seed(Array.from({ length: 12 }, (_, i) => i + 1));
  w.gh.addLabel(REPO, 'remediation-in-progress');
});
afterAll(() => w.stop());

async function leases(): Promise<any[]> {
  return (await admin().request('GET', `/apis/coordination.k8s.io/v1/namespaces/${w.namespace}/leases`)).body.items;
}

const deletedIn = (logs: Array<Record<string, any>>): string[] => logs.filter((l) => l.step === 'cancel').flatMap((l) => l.deleted);

test.each([
  [1, 'resolve'],
  [2, 'lock'],
  [3, 'cancel'],
  [4, 'verify'],
  [5, 'relabel'],
])('task %i: SIGKILL after %s, rerun: converges, each QA run deleted exactly once', async (task, step) => {
  const before = await w.names();
  const extra = { AC_LEASE_DURATION_SECONDS: LEASE_SECONDS };
  const killed = await runJob(w.env({ taskId: String(task) }, `crash-${task}`, extra), { killAtStep: step });
  expect(killed.signal).toBe('SIGKILL');
  const heldByTheDead = (await leases()).some((l) => l.spec.holderIdentity === `crash-${task}`);
  const t0 = Date.now();
  const rerun = await runJob(w.env({ taskId: String(task) }, `rerun-${task}`, extra));
  // Killed after relabel, the run may already have recorded itself done: then the rerun is a duplicate.
  expect(rerun.logs.at(-1)?.error).toBeUndefined();
  expect(rerun.code).toBe(step === 'relabel' && rerun.logs.at(-1)?.reason === 'duplicate delivery' ? EXIT.nothingToDo : EXIT.done);
  const after = await w.names();
  expect(before.filter((n) => !after.includes(n)).sort()).toEqual(qaRunsOf(before, task).sort());
  // A kill can land after a delete but before its log line, so the logs may name fewer than 2; never the same twice.
  const logged = [...deletedIn(killed.logs), ...deletedIn(rerun.logs)];
  expect(new Set(logged).size).toBe(logged.length);
  expect(qaRunsOf(before, task)).toEqual(expect.arrayContaining(logged));
  expect(w.gh.prLabels(REPO, task)).toEqual(['remediation-in-progress']);
  expect(w.gh.prComments(REPO, task)).toHaveLength(1);
  const waited = rerun.logs.some((l) => l.step === 'lock-wait');
  console.log(
    `killed after ${step}: deleted ${deletedIn(killed.logs).length} before the crash + ${deletedIn(rerun.logs).length} on rerun; ` +
      `lock ${waited ? `taken over from the dead holder after ${((Date.now() - t0) / 1000).toFixed(1)} s` : 'was free'}`,
  );
  expect(waited).toBe(heldByTheDead);
  if (step === 'lock' || step === 'cancel') expect(heldByTheDead).toBe(true);
});

test('random GitHub faults over 7 pushes: all converge, no alert-worthy exit', async () => {
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const kinds = ['502', 'secondary', 'drop', 'primary'] as const;
  let injected = 0;
  for (let task = 6; task <= 12; task++) {
    const n = Math.floor(random() * 3);
    for (let i = 0; i < n; i++, injected++) w.gh.inject({ kind: kinds[Math.floor(random() * kinds.length)], retryAfter: 1 });
    const run = await runJob(w.env({ taskId: String(task) }));
    expect([task, run.code]).toEqual([task, EXIT.done]);
    expect(w.gh.prLabels(REPO, task)).toEqual(['remediation-in-progress']);
  }
  console.log(`7 pushes with ${injected} injected GitHub faults: all done`);
});

test('no Lease is left held, and every state is done', async () => {
  const all = await leases();
  expect(all.length).toBe(12);
  expect(all.filter((l) => l.spec.holderIdentity)).toEqual([]);
  const phases = all.map((l) => JSON.parse(l.metadata.annotations['agent-cancellation.5dlabs.io/state']).phase);
  expect(new Set(phases)).toEqual(new Set(['done']));
});
