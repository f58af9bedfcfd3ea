/**
 * One mutation pace for every Job of a namespace: a Lease records the next free slot for a GitHub mutation.
 * A Job reads it only after GitHub refused one of its mutations for a secondary limit, so a quiet cluster pays
 * nothing; a burst of Jobs then sends its mutations one slot apart instead of retrying into each other.
 */
import { MANAGED_BY, ownKey } from '../../contract/labels';
import { Clock } from '../clock';
import { ConflictError } from '../errors';
import { KubeApi } from './kube';

/** Not a PR's state Lease: it carries no PR label, state or holder, so the reconciler passes it by. */
export const PACE_LEASE = 'ac-github-pace';
export const NEXT_SLOT_ANNOTATION = ownKey('next-mutation-at');
/** GitHub asks for 1 s between mutations; 200 ms more absorbs a late timer or a slow request before it. */
export const MUTATION_SPACING_MS = 1200;
/** Reads and writes a reservation may take when Jobs race for the record before it gives up the pace. */
const ATTEMPTS = 30;

export interface PaceOptions {
  readonly namespace: string;
  /** The run's clock: the slot's earliest time, and the jittered pause after a lost race. */
  readonly clock: Clock;
  /** @default MUTATION_SPACING_MS */
  readonly spacingMs?: number;
}

/**
 * Reserves the first free slot at or after `earliest` (ms since epoch) and moves the record past it; resolves
 * with the slot's time. Undefined when the record could not be had: the caller then waits as GitHub asked.
 */
export async function reserveSlot(kube: KubeApi, o: PaceOptions, earliest: number): Promise<number | undefined> {
  const spacing = o.spacingMs ?? MUTATION_SPACING_MS;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    try {
      const lease = await kube.getLease(o.namespace, PACE_LEASE);
      const next = Date.parse(lease?.metadata.annotations?.[NEXT_SLOT_ANNOTATION] ?? '');
      const slot = Math.max(earliest, o.clock.now(), Number.isFinite(next) ? next : 0);
      const annotations = { ...lease?.metadata.annotations, [NEXT_SLOT_ANNOTATION]: new Date(slot + spacing).toISOString() };
      if (lease) await kube.updateLease({ ...lease, metadata: { ...lease.metadata, annotations } });
      else
        await kube.createLease({
          metadata: { name: PACE_LEASE, namespace: o.namespace, labels: { ...MANAGED_BY }, annotations },
          spec: {},
        });
      return slot;
    } catch (e) {
      if (!(e instanceof ConflictError)) return undefined;
      // Another Job took the slot first: read again after a jittered pause, so racers spread out.
      await o.clock.sleep(o.clock.random() * 50 * attempt);
    }
  }
  return undefined;
}
