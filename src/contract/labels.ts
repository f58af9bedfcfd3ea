/** Kubernetes names both sides rely on. */

/** A Kubernetes label (or annotation) key: an optional DNS-subdomain prefix and a name. */
export const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/** The project's own label and annotation keys, under its one domain: `agent-cancellation.5dlabs.io/<name>`. */
export const ownKey = (name: string): string => `agent-cancellation.5dlabs.io/${name}`;

/** On every state Lease the Job writes; the admission policy lets the Job touch only Leases carrying it. */
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'agent-cancellation' };
