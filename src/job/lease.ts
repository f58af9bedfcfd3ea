import { createHash } from 'crypto';
import { MANAGED_BY } from '../contract/labels';
import { ConflictError, KubeApi, Lease } from './kube';
import { PrState } from './pr-state';
import { RetryableError, sleep } from './retry';

export const PR_LABEL = 'agent-cancellation.5dlabs.io/pr';
export const REPOSITORY_ANNOTATION = 'agent-cancellation.5dlabs.io/repository';
export const STATE_ANNOTATION = 'agent-cancellation.5dlabs.io/state';
/** On a state Lease whose PR needs a person: `kubectl get leases -l agent-cancellation.5dlabs.io/needs-attention`. */
export const ATTENTION_LABEL = 'agent-cancellation.5dlabs.io/needs-attention';

/** One Lease per (repository, PR); the hash keeps any repository name within a DNS label. */
export function leaseName(repository: string, pr: number): string {
  const hash = createHash('sha256').update(repository.toLowerCase()).digest('hex').slice(0, 10);
  return `ac-pr-${hash}-${pr}`;
}

export function readState(lease: Lease): PrState | undefined {
  const raw = lease.metadata.annotations?.[STATE_ANNOTATION];
  if (!raw) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

/** Lease times are MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function expired(lease: Lease, now: number): boolean {
  const renewed = Date.parse(lease.spec.renewTime ?? lease.spec.acquireTime ?? '');
  return !Number.isFinite(renewed) || renewed + (lease.spec.leaseDurationSeconds ?? 0) * 1000 <= now;
}

/** The lock could not be had in time: another run is working on this PR. Retryable. */
export class LockTimeoutError extends RetryableError {}

export interface LockOptions {
  readonly namespace: string;
  readonly name: string;
  readonly holder: string;
  readonly durationSeconds: number;
  readonly waitMs: number;
  readonly repository: string;
  readonly pr: number;
  readonly onWait?: (holder: string) => void;
  readonly now: () => number;
}

/**
 * Takes the Lease: creates it, or takes it over when free, ours, or expired. Every write carries the
 * resourceVersion it read, so of two racing runs exactly one wins; the other re-reads (409) and waits.
 */
export async function acquire(kube: KubeApi, o: LockOptions): Promise<Lease> {
  const { now } = o;
  const giveUp = now() + o.waitMs;
  for (;;) {
    const stamp = microTime(now());
    const current = await kube.getLease(o.namespace, o.name);
    try {
      if (!current) {
        return await kube.createLease({
          metadata: {
            name: o.name,
            namespace: o.namespace,
            labels: { ...MANAGED_BY, [PR_LABEL]: String(o.pr) },
            annotations: { [REPOSITORY_ANNOTATION]: o.repository },
          },
          spec: {
            holderIdentity: o.holder,
            leaseDurationSeconds: o.durationSeconds,
            acquireTime: stamp,
            renewTime: stamp,
            leaseTransitions: 0,
          },
        });
      }
      const holder = current.spec.holderIdentity;
      if (!holder || holder === o.holder || expired(current, now())) {
        return await kube.updateLease({
          ...current,
          spec: {
            ...current.spec,
            holderIdentity: o.holder,
            leaseDurationSeconds: o.durationSeconds,
            acquireTime: stamp,
            renewTime: stamp,
            leaseTransitions: (current.spec.leaseTransitions ?? 0) + (holder && holder !== o.holder ? 1 : 0),
          },
        });
      }
      o.onWait?.(holder);
    } catch (e) {
      if (!(e instanceof ConflictError)) throw e;
    }
    if (now() >= giveUp) throw new LockTimeoutError(`lease ${o.name} is held by another run`);
    await sleep(Math.min(1000, Math.max(50, giveUp - now())));
  }
}

/** Writes the state and renews the Lease, stamped with `now`; a 409 here means the Lease was taken over, so stop. */
export async function save(kube: KubeApi, lease: Lease, state: PrState, release: boolean, now: () => number): Promise<Lease> {
  const stamp = microTime(now());
  const { [ATTENTION_LABEL]: _, ...labels } = lease.metadata.labels ?? {};
  try {
    return await kube.updateLease({
      ...lease,
      metadata: {
        ...lease.metadata,
        labels: state.attention ? { ...labels, [ATTENTION_LABEL]: 'true' } : labels,
        annotations: { ...lease.metadata.annotations, [STATE_ANNOTATION]: JSON.stringify({ ...state, updatedAt: stamp }) },
      },
      spec: release ? { ...lease.spec, holderIdentity: null, acquireTime: null, renewTime: null } : { ...lease.spec, renewTime: stamp },
    });
  } catch (e) {
    if (e instanceof ConflictError) throw new RetryableError(`lease ${lease.metadata.name} was taken over; stopping`);
    throw e;
  }
}
