/**
 * GitHub's own recipe for lost webhooks, beside the resync: list the hook's recent deliveries, and redeliver each
 * failed one of an event the Sensor handles. GitHub never redelivers on its own, keeps deliveries 3 days, and a
 * redelivery keeps its X-GitHub-Delivery, so the Job's per-PR dedup holds. The decisions are pure (plan); the
 * I/O is behind DeliveriesApi and CursorStore.
 */
import { PR_ACTIONS } from '../../contract/env';
import { MANAGED_BY, ownKey } from '../../contract/labels';
import { DeliveriesApi, HookDelivery } from '../github/hook';
import { KubeApi } from '../kube/kube';

/**
 * What passes remember: the newest attempt seen, by id (GitHub's ids grow; its times are whole seconds, too coarse
 * to page by), and the redeliveries made of guids that still fail.
 */
export interface Cursor {
  readonly lastId?: number;
  readonly redelivered: Readonly<Record<string, { readonly n: number; readonly at: string }>>;
}

export interface CursorStore {
  read(): Promise<Cursor | undefined>;
  write(cursor: Cursor): Promise<void>;
}

/** GitHub keeps deliveries, and accepts their redelivery, for 3 days. */
export const RETENTION_MS = 3 * 24 * 3600 * 1000;
/** Redeliveries of one delivery before the pass gives up on it (the resync still covers pushes). */
export const MAX_REDELIVERIES = 3;
/** Pages of 100 attempts read per pass at most. */
const MAX_PAGES = 10;

/** The events the Sensor turns into Jobs: a push, a PR closed or converted to draft. Not a ping, nor anything else. */
export function handled(d: Pick<HookDelivery, 'event' | 'action'>): boolean {
  return d.event === 'push' || (d.event === 'pull_request' && (PR_ACTIONS as readonly string[]).includes(d.action ?? ''));
}

const ok = (d: HookDelivery) => d.statusCode >= 200 && d.statusCode < 300;

export interface Plan {
  /** The newest failed attempt of each delivery to redeliver. */
  readonly redeliver: HookDelivery[];
  /** Guids given up after MAX_REDELIVERIES. */
  readonly gaveUp: string[];
  readonly cursor: Cursor;
}

/**
 * Which deliveries to redeliver, pure. `attempts` are every attempt after `cursor.lastId`. A delivery is done
 * once any attempt succeeded; one whose attempts all failed is redelivered (its newest attempt), at most
 * MAX_REDELIVERIES times, while GitHub still has it.
 */
export function plan(attempts: readonly HookDelivery[], cursor: Cursor, now: number): Plan {
  const byGuid = new Map<string, HookDelivery[]>();
  for (const d of attempts) byGuid.set(d.guid, [...(byGuid.get(d.guid) ?? []), d]);
  const redelivered: Record<string, { n: number; at: string }> = {};
  for (const [guid, r] of Object.entries(cursor.redelivered)) if (now - Date.parse(r.at) < RETENTION_MS) redelivered[guid] = r;
  const redeliver: HookDelivery[] = [];
  const gaveUp: string[] = [];
  for (const [guid, tries] of byGuid) {
    const newest = tries.reduce((a, b) => (b.id > a.id ? b : a));
    if (tries.some(ok)) {
      delete redelivered[guid];
      continue;
    }
    if (!handled(newest)) continue;
    const first = redelivered[guid]?.at ?? tries.reduce((a, b) => (b.id < a.id ? b : a)).deliveredAt;
    if (now - Date.parse(first) >= RETENTION_MS) continue;
    const n = redelivered[guid]?.n ?? 0;
    if (n >= MAX_REDELIVERIES) {
      gaveUp.push(guid);
      continue;
    }
    redeliver.push(newest);
    redelivered[guid] = { n: n + 1, at: first };
  }
  const lastId = Math.max(cursor.lastId ?? 0, ...attempts.map((d) => d.id));
  return { redeliver, gaveUp, cursor: { lastId: lastId || undefined, redelivered } };
}

export interface RedeliveryReport {
  readonly listed: number;
  readonly redelivered: string[];
  readonly gaveUp: string[];
  readonly error?: string;
}

/** One pass: lists the attempts after the cursor, redelivers as planned, saves the cursor. */
export async function redeliverFailed(api: DeliveriesApi, store: CursorStore, now: number): Promise<RedeliveryReport> {
  try {
    const cursor = (await store.read()) ?? { redelivered: {} };
    // The first pass looks back as far as GitHub keeps deliveries.
    const since = new Date(now - RETENTION_MS).toISOString();
    const isNew = (d: HookDelivery) => (cursor.lastId === undefined ? d.deliveredAt > since : d.id > cursor.lastId);
    const attempts: HookDelivery[] = [];
    let page: string | undefined;
    for (let pages = 0; pages < MAX_PAGES; pages++) {
      const r = await api.list(page);
      const newer = r.deliveries.filter(isNew);
      attempts.push(...newer);
      if (newer.length < r.deliveries.length || !r.next) break;
      page = r.next;
    }
    const p = plan(attempts, cursor, now);
    const redelivered: string[] = [];
    for (const d of p.redeliver) {
      await api.redeliver(d.id);
      redelivered.push(d.guid);
    }
    await store.write(p.cursor);
    return { listed: attempts.length, redelivered, gaveUp: p.gaveUp };
  } catch (e) {
    return { listed: 0, redelivered: [], gaveUp: [], error: (e as Error).message };
  }
}

const CURSOR_ANNOTATION = ownKey('redelivery-cursor');

/**
 * The cursor in a Lease's annotation, labelled as the state Leases are (the admission policy lets the reconciler
 * write no other); it holds no PR state and never a holder, so the reconciler's own pass leaves it be.
 */
export function leaseCursorStore(kube: KubeApi, namespace: string, name: string): CursorStore {
  return {
    read: async () => {
      const raw = (await kube.getLease(namespace, name))?.metadata.annotations?.[CURSOR_ANNOTATION];
      return raw ? (JSON.parse(raw) as Cursor) : undefined;
    },
    write: async (cursor) => {
      const lease = await kube.getLease(namespace, name);
      const annotations = { [CURSOR_ANNOTATION]: JSON.stringify(cursor) };
      if (lease)
        await kube.updateLease({
          ...lease,
          metadata: { ...lease.metadata, annotations: { ...lease.metadata.annotations, ...annotations } },
        });
      else await kube.createLease({ metadata: { name, namespace, labels: { ...MANAGED_BY }, annotations }, spec: {} });
    },
  };
}
