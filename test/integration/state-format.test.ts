/**
 * A state Lease as 0.1.0 wrote it (test/fixtures/state-v1), stored in the real kube-apiserver under the admission
 * policy, then repaired by this release's bundled reconciler run with the synthesized CronJob's env.
 */
import * as fs from 'fs';
import * as path from 'path';
import { EXIT } from '../../src/contract/env';
import { leaseName, STATE_ANNOTATION, STATE_SCHEMA_VERSION } from '../../src/job/kube/lease';
import { admin, repoRoot } from '../harness/cluster';
import { REPO, remediationWorld, RemediationWorld } from '../fixtures/remediation-env';

jest.setTimeout(240_000);

let w: RemediationWorld;
beforeAll(async () => {
  w = await remediationWorld('state-v1', 'cto');
});
afterAll(() => w.stop());

test("0.1.0's record of a push failed after its cancel: one pass of this release finishes the relabel and writes version 1", async () => {
  // The fixture's PR 1 of task 7, labelled ready-for-qa before the recorded push (GitHub's clock set back for it);
  // its runs are created now, after that push, so they are not the push's to cancel.
  w.gh.clockSkewMs = Date.parse('2026-12-05T11:00:00Z') - Date.now();
  await w.seed([7]);
  w.gh.clockSkewMs = 0;
  const runs = await w.names();
  const recorded = JSON.parse(fs.readFileSync(path.join(repoRoot, 'test', 'fixtures', 'state-v1', 'failed-after-cancel.json'), 'utf8'));
  expect(recorded.metadata.name).toBe(leaseName(REPO, 1));
  await admin().create({ ...recorded, metadata: { ...recorded.metadata, namespace: w.namespace } });

  const pass = await w.reconcile({ AC_RECONCILE_PENDING_SECONDS: '0' });
  expect([pass.code, pass.stderr]).toEqual([EXIT.done, '']);
  expect(pass.logs.find((l) => l.step === 'reconcile' && l.saw?.pr === 1)).toMatchObject({ did: 'resume', relabel: 'transitioned' });
  expect(w.gh.prLabels(REPO, 1)).toEqual(['remediation-in-progress']);
  expect(await w.names()).toEqual(runs);
  const lease = (await admin().request('GET', `/apis/coordination.k8s.io/v1/namespaces/${w.namespace}/leases/${leaseName(REPO, 1)}`)).body;
  expect(JSON.parse(lease.metadata.annotations[STATE_ANNOTATION])).toMatchObject({
    schemaVersion: STATE_SCHEMA_VERSION,
    phase: 'done',
    delivery: '9f1c2e00-d2a1-11f1-8a6e-5e1b2c3d4e5f',
    steps: { cancel: { deleted: ['cleo-7', 'tess-7'] }, relabel: { result: 'transitioned' } },
  });
});
