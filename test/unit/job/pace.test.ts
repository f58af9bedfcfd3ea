/** The shared mutation pace: slots reserved on one Lease (the Jobs using it: test/integration/mutation-pace.test.ts). */
import { MUTATION_SPACING_MS, NEXT_SLOT_ANNOTATION, PACE_LEASE, reserveSlot } from '../../../src/job/kube/pace';
import { fakeClock, FakeKube } from './fakes';

const T0 = Date.parse('2026-12-05T10:00:00Z');
/** A clock standing at `t`: a lost race's pause does not move it, so every slot is computed at the same time. */
const at = (t: number) => ({ namespace: 'ns', clock: { ...fakeClock(t), now: () => t } });
const next = (kube: FakeKube) => Date.parse(kube.leases.get(PACE_LEASE)!.metadata.annotations![NEXT_SLOT_ANNOTATION]) - T0;

test.each([
  ['no record yet: the slot is the earliest GitHub allows; the record is created one spacing later', undefined, 1000, 1000],
  ['a record further on: the slot is its next free one', 5000, 1000, 5000],
  ['a record in the past: the slot is the earliest GitHub allows', -3000, 1000, 1000],
  ['retry-after already passed: no slot before now', undefined, -500, 0],
])('%s', async (_case, recorded, earliest, slot) => {
  const kube = new FakeKube();
  if (recorded !== undefined) await reserveSlot(kube, at(T0 + recorded - MUTATION_SPACING_MS), -Infinity);
  expect((await reserveSlot(kube, at(T0), T0 + earliest))! - T0).toBe(slot);
  expect(next(kube)).toBe(slot + MUTATION_SPACING_MS);
  expect(kube.leases.get(PACE_LEASE)!.metadata.labels).toEqual({ 'app.kubernetes.io/managed-by': 'agent-cancellation' });
});

test('Jobs racing for the record each get their own slot, one spacing apart', async () => {
  const kube = new FakeKube();
  const slots = await Promise.all(Array.from({ length: 5 }, () => reserveSlot(kube, at(T0), T0)));
  expect(slots.map((s) => s! - T0).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4].map((i) => i * MUTATION_SPACING_MS));
  expect(kube.calls.filter((c) => c === 'updateLease' || c === 'createLease').length).toBeGreaterThan(5);
});

test('a record the Job may not write gives up the pace: the caller waits as GitHub asked', async () => {
  const kube = new FakeKube();
  kube.getLease = () => Promise.reject(new Error('forbidden'));
  expect(await reserveSlot(kube, at(T0), T0)).toBeUndefined();
});
