/** A webhook's deliveries as GitHub's REST API lists them, as an interface: REST in production, fakes in unit tests. */

/** Which hook: an organization's (with a token that may read it), or the GitHub App's own (with the App's JWT). */
export type HookIdentity =
  | { readonly kind: 'org'; readonly org: string; readonly hookId: string; readonly token: string }
  | { readonly kind: 'app'; readonly appId: number; readonly privateKeyPath: string };

/** One attempt, as GitHub lists it: a redelivery is a new attempt with the same guid. */
export interface HookDelivery {
  readonly id: number;
  /** X-GitHub-Delivery. */
  readonly guid: string;
  readonly deliveredAt: string;
  /** The receiver's status; 0 when there was none (refused, timed out). */
  readonly statusCode: number;
  readonly event: string;
  readonly action: string | null;
}

export interface DeliveriesApi {
  /** A page of attempts, newest first; `next` pages on. */
  list(page?: string): Promise<{ readonly deliveries: HookDelivery[]; readonly next?: string }>;
  redeliver(id: number): Promise<void>;
}
