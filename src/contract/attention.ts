import { ownKey } from './labels';

/** On a state Lease whose PR needs a person: `kubectl get leases -l agent-cancellation.5dlabs.io/needs-attention`. */
export const ATTENTION_LABEL = ownKey('needs-attention');

/**
 * Name prefix of the Lease the reconciler keeps beside the state Lease of each PR that needs a person:
 * kube-state-metrics exports Leases by name only (no labels, and its custom resource state reads only custom
 * resources), so the needs-attention alert counts these by name.
 */
export const ATTENTION_LEASE_PREFIX = 'ac-attention-';
