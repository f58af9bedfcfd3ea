/**
 * The real garbage collector (kube-controller-manager, test/harness/control-plane.ts) removing what a cancelled
 * CodeRun owned: its Job, and the Pod the real Job controller made for it. No node serves this namespace, so
 * the agents' Pods stay Pending, as they would while waiting for capacity.
 */
import { EXIT } from '../../src/contract/env';
import { admin, until } from '../harness/cluster';
import { remediationWorld, RemediationWorld } from '../fixtures/remediation-env';
import { runJob } from '../fixtures/run-job';

jest.setTimeout(240_000);

const list = async (namespace: string, resource: 'jobs' | 'pods'): Promise<any[]> =>
  (await admin().request('GET', `/${resource === 'jobs' ? 'apis/batch/v1' : 'api/v1'}/namespaces/${namespace}/${resource}`)).body.items;

describe('garbage collection after a cancellation', () => {
  let w: RemediationWorld;
  beforeAll(async () => {
    w = await remediationWorld('controllers-gc', 'card');
  });
  afterAll(() => w.stop());

  test("the cancelled QA runs' Jobs and Pods go; the implementation agent's and other tasks' stay", async () => {
    await w.seed([7, 8]);
    const runs = (await admin().request('GET', `/apis/${w.group}/v1/namespaces/${w.namespace}/coderuns`)).body.items;
    // Each CodeRun owns a Job, as the platform's controller makes them; the Job controller gives each a Pod.
    for (const run of runs) {
      await admin().create({
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: {
          name: run.metadata.name,
          namespace: w.namespace,
          ownerReferences: [
            {
              apiVersion: run.apiVersion,
              kind: run.kind,
              name: run.metadata.name,
              uid: run.metadata.uid,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: {
          backoffLimit: 0,
          template: { spec: { restartPolicy: 'Never', containers: [{ name: 'agent', image: 'agent:test', command: ['true'] }] } },
        },
      });
    }
    const podOf = (pods: any[], job: string) =>
      pods.find((p) => p.metadata.ownerReferences?.some((o: any) => o.kind === 'Job' && o.name === job));
    await until("a Pod for every CodeRun's Job", async () => {
      const pods = await list(w.namespace, 'pods');
      return runs.every((r: any) => podOf(pods, r.metadata.name)) ? true : undefined;
    });

    const run = await runJob(w.env({ taskId: '7' }));
    expect([run.code, run.logs.at(-1)?.error]).toEqual([EXIT.done, undefined]);
    const cancelled: string[] = run.logs.find((l) => l.step === 'cancel')?.deleted ?? [];
    expect(cancelled).toHaveLength(2);
    const kept = runs.map((r: any) => r.metadata.name).filter((n: string) => !cancelled.includes(n));

    const started = Date.now();
    await until("the cancelled runs' Jobs and Pods collected", async () => {
      const [jobs, pods] = [await list(w.namespace, 'jobs'), await list(w.namespace, 'pods')];
      const left = cancelled.filter((n) => jobs.some((j) => j.metadata.name === n) || podOf(pods, n));
      return left.length === 0 ? true : undefined;
    });
    console.log(`garbage collector removed ${cancelled.length} Jobs and their Pods ${Date.now() - started} ms after the cancellation`);
    const [jobs, pods] = [await list(w.namespace, 'jobs'), await list(w.namespace, 'pods')];
    expect(jobs.map((j) => j.metadata.name).sort()).toEqual([...kept].sort());
    for (const name of kept) expect(podOf(pods, name)).toBeDefined();
  });
});
