/**
 * One mutation pace for every Job of a namespace: a Lease records the next free slot for a GitHub mutation.
 * A Job reads it only after GitHub refused one of its mutations for a secondary limit, so a quiet cluster pays
 * nothing; a burst of Jobs then sends its mutations one slot apart instead of retrying into each other.
 */
import { MANAGED_BY } from '../../contract/labels';
import { ConflictError, KubeApi } from './kube';
import { sleep } from '../retry';

/** Not a PR's state Lease: it carries no PR label, state or holder, so the reconciler passes it by. */
export const PACE_LEASE = 'ac-github-pace';
export const NEXT_SLOT_ANNOTATION = 'agent-cancellation.5dlabs.io/next-mutation-at';
/** GitHub asks for 1 s between mutations; 200 ms more absorbs a late timer or a slow request before it. */
export const MUTATION_SPACING_MS = 1200;
/** Reads and writes a reservation may take when Jobs race for the record before it gives up the pace. */
const ATTEMPTS = 30;

export interface PaceOptions {
  readonly namespace: string;
  readonly now: () => number;
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
      const slot = Math.max(earliest, o.now(), Number.isFinite(next) ? next : 0);
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
      await sleep(Math.random() * 50 * attempt);
    }
  }
  return undefined;
}
