/**
 * One marker Lease beside each state Lease whose PR needs a person: kube-state-metrics exports Leases by name only,
 * so the needs-attention alert counts these (src/contract/attention.ts). Brought in step with the marks at the end
 * of each pass, so a run that dies between a mark and its marker costs one pass of lag, never a lasting count.
 */
import { ATTENTION_LABEL, ATTENTION_LEASE_PREFIX } from '../../contract/attention';
import { MANAGED_BY } from '../../contract/labels';
import { ConflictError } from '../errors';
import { KubeApi } from '../kube/kube';

/** Creates the missing markers and deletes those whose PR no longer needs a person; another pass racing it is no error. */
export async function syncAttentionMarkers(
  kube: KubeApi,
  namespace: string,
  selector: string,
): Promise<{ readonly created: string[]; readonly deleted: string[] }> {
  const leases = await kube.listLeases(namespace, selector);
  const want = new Set(
    leases.filter((l) => l.metadata.labels?.[ATTENTION_LABEL] === 'true').map((l) => `${ATTENTION_LEASE_PREFIX}${l.metadata.name}`),
  );
  const have = leases.filter((l) => l.metadata.name.startsWith(ATTENTION_LEASE_PREFIX));
  const created: string[] = [];
  const deleted: string[] = [];
  const raced = (e: unknown) => {
    if (!(e instanceof ConflictError)) throw e;
  };
  for (const name of want) {
    if (have.some((h) => h.metadata.name === name)) continue;
    await kube.createLease({ metadata: { name, namespace, labels: { ...MANAGED_BY } }, spec: {} }).then(() => created.push(name), raced);
  }
  for (const { metadata } of have) {
    if (want.has(metadata.name)) continue;
    await kube.deleteLease(namespace, metadata.name, metadata.resourceVersion!).then(() => deleted.push(metadata.name), raced);
  }
  return { created, deleted };
}
