import { createHash } from 'crypto';
import { MANAGED_BY, ownKey } from '../../contract/labels';
import { ATTENTION_LABEL } from '../../contract/attention';
import { KubeApi, Lease, ObjectMeta } from './kube';
import { PrState } from './pr-state';
import { Clock } from '../clock';
import { ConflictError, LockTimeoutError, RetryableError, StateSchemaError } from '../errors';

export const PR_LABEL = ownKey('pr');
export const REPOSITORY_ANNOTATION = ownKey('repository');
export const STATE_ANNOTATION = ownKey('state');

/** One Lease per (repository, PR); the hash keeps any repository name within a DNS label. */
export function leaseName(repository: string, pr: number): string {
  const hash = createHash('sha256').update(repository.toLowerCase()).digest('hex').slice(0, 10);
  return `ac-pr-${hash}-${pr}`;
}

/**
 * The schema version of the state annotation's JSON (docs/versioning.md). Version 1 was first written without
 * the field, so a state without it is version 1. A later version adds its migration from each earlier one here.
 */
export const STATE_SCHEMA_VERSION = 1;

export function readState(lease: Lease): PrState | undefined {
  const raw = lease.metadata.annotations?.[STATE_ANNOTATION];
  if (!raw) return undefined;
  let parsed: PrState & { schemaVersion?: unknown };
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const { schemaVersion = 1, ...state } = parsed;
  if (schemaVersion !== STATE_SCHEMA_VERSION) {
    throw new StateSchemaError(
      `lease ${lease.metadata.name}: state schemaVersion ${JSON.stringify(schemaVersion)} is not one this release reads ` +
        `(${STATE_SCHEMA_VERSION}): run the release that wrote it, or a newer one`,
    );
  }
  return state;
}

/** Lease times are MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function expired(lease: Lease, now: number): boolean {
  const renewed = Date.parse(lease.spec.renewTime ?? lease.spec.acquireTime ?? '');
  return !Number.isFinite(renewed) || renewed + (lease.spec.leaseDurationSeconds ?? 0) * 1000 <= now;
}

export interface LockOptions {
  readonly namespace: string;
  readonly name: string;
  readonly holder: string;
  readonly durationSeconds: number;
  readonly waitMs: number;
  readonly repository: string;
  readonly pr: number;
  /**
   * Tries the create before any read: a PR without a Lease is then locked in one request, and a Lease that
   * exists costs one failed create more. For a push; the reconciler acts on Leases it has listed.
   */
  readonly createFirst?: boolean;
  /**
   * The state the taking write records, given the one recorded before (undefined: none, or a new Lease):
   * the write-ahead of a run, so that a crash before its next write leaves a record to resume from.
   * Undefined keeps the recorded state.
   */
  readonly begin?: (previous: PrState | undefined) => PrState | undefined;
  readonly onWait?: (holder: string) => void;
  /** The run's clock: stamps, expiry, and the waits for the holder. */
  readonly clock: Clock;
}

/** A taken Lease and the state recorded on it before it was taken. */
export interface Lock {
  readonly lease: Lease;
  readonly previous: PrState | undefined;
}

/**
 * Takes the Lease: creates it, or takes it over when free, ours, or expired. Every write carries the
 * resourceVersion it read, so of two racing runs exactly one wins; the other re-reads (409) and waits.
 */
export async function acquire(kube: KubeApi, o: LockOptions): Promise<Lock> {
  const { now, sleep } = o.clock;
  const giveUp = now() + o.waitMs;
  for (let read = !o.createFirst; ; read = true) {
    const stamp = microTime(now());
    const current = read ? await kube.getLease(o.namespace, o.name) : undefined;
    const previous = current && readState(current);
    const state = o.begin?.(previous);
    try {
      if (!current) {
        const created = await kube.createLease({
          metadata: withState(
            {
              name: o.name,
              namespace: o.namespace,
              labels: { ...MANAGED_BY, [PR_LABEL]: String(o.pr) },
              annotations: { [REPOSITORY_ANNOTATION]: o.repository },
            },
            state,
            stamp,
          ),
          spec: {
            holderIdentity: o.holder,
            leaseDurationSeconds: o.durationSeconds,
            acquireTime: stamp,
            renewTime: stamp,
            leaseTransitions: 0,
          },
        });
        return { lease: created, previous: undefined };
      }
      const holder = current.spec.holderIdentity;
      if (!holder || holder === o.holder || expired(current, now())) {
        const taken = await kube.updateLease({
          ...current,
          metadata: withState(current.metadata, state, stamp),
          spec: {
            ...current.spec,
            holderIdentity: o.holder,
            leaseDurationSeconds: o.durationSeconds,
            acquireTime: stamp,
            renewTime: stamp,
            leaseTransitions: (current.spec.leaseTransitions ?? 0) + (holder && holder !== o.holder ? 1 : 0),
          },
        });
        return { lease: taken, previous };
      }
      o.onWait?.(holder);
    } catch (e) {
      if (!(e instanceof ConflictError)) throw e;
      // The create tried first found a Lease: read it at once.
      if (!read) continue;
    }
    if (now() >= giveUp) throw new LockTimeoutError(`lease ${o.name} is held by another run`);
    await sleep(Math.min(1000, Math.max(50, giveUp - now())));
  }
}

/** `meta` recording `state` (stamped), and labelled when it needs a person; unchanged without a state. */
function withState(meta: ObjectMeta, state: PrState | undefined, stamp: string): ObjectMeta {
  if (!state) return meta;
  const { [ATTENTION_LABEL]: _, ...labels } = meta.labels ?? {};
  return {
    ...meta,
    labels: state.attention ? { ...labels, [ATTENTION_LABEL]: 'true' } : labels,
    annotations: {
      ...meta.annotations,
      [STATE_ANNOTATION]: JSON.stringify({ schemaVersion: STATE_SCHEMA_VERSION, ...state, updatedAt: stamp }),
    },
  };
}

/** Writes the state and renews the Lease, stamped with `now`; a 409 here means the Lease was taken over, so stop. */
export async function save(kube: KubeApi, lease: Lease, state: PrState, release: boolean, now: () => number): Promise<Lease> {
  const stamp = microTime(now());
  try {
    return await kube.updateLease({
      ...lease,
      metadata: withState(lease.metadata, state, stamp),
      spec: release ? { ...lease.spec, holderIdentity: null, acquireTime: null, renewTime: null } : { ...lease.spec, renewTime: stamp },
    });
  } catch (e) {
    if (e instanceof ConflictError) throw new RetryableError(`lease ${lease.metadata.name} was taken over; stopping`);
    throw e;
  }
}
