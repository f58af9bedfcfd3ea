import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { EventSource } from '../../imports/argoproj.io';
import { SecretRef } from '../config/config';
import { DEFAULTS } from '../config/defaults';
import { PART_OF } from './common-labels';

export interface GitHubPushEventSourceProps {
  /** Namespace of the EventSource and its ServiceAccount; it needs an EventBus. */
  readonly namespace: string;
  /** Name of the EventSource and its ServiceAccount. */
  readonly name: string;
  /**
   * `owner/name` of each repository whose webhook points here. Set this or `organizations`, not both (Argo Events
   * refuses both). @default - none: `organizations` must be set
   */
  readonly repositories?: string[];
  /** Organizations whose organization-wide webhook points here. @default - none: `repositories` must be set */
  readonly organizations?: string[];
  /** Secret holding the webhook's HMAC secret; deliveries without a valid `X-Hub-Signature-256` get HTTP 400. */
  readonly webhookSecret: SecretRef;
  /** @default DEFAULTS.webhook.port */
  readonly port?: number;
  /** @default DEFAULTS.webhook.endpoint */
  readonly endpoint?: string;
  /** @default DEFAULTS.eventBusName */
  readonly eventBusName?: string;
  /**
   * Public URL GitHub delivers to. Argo only uses it to manage hooks, which it never does without a token,
   * but its schema requires the field.
   * @default DEFAULTS.webhook.url
   */
  readonly url?: string;
}

/**
 * An Argo Events GitHub EventSource that only serves a webhook: with no API token it never creates hooks,
 * so its ServiceAccount gets no API access at all. The Sensor does all filtering.
 */
export class GitHubPushEventSource extends Construct {
  /** Name of the event, for Sensor dependencies. */
  public readonly eventName = 'push';
  public readonly name: string;
  public readonly namespace: string;
  public readonly port: number;
  public readonly endpoint: string;

  constructor(scope: Construct, id: string, props: GitHubPushEventSourceProps) {
    super(scope, id);
    this.name = props.name;
    this.namespace = props.namespace;
    this.port = props.port ?? DEFAULTS.webhook.port;
    this.endpoint = props.endpoint ?? DEFAULTS.webhook.endpoint;
    if (!Number.isInteger(this.port) || this.port < 1 || this.port > 65535) {
      throw new Error(`port: ${JSON.stringify(props.port)} must be an integer from 1 to 65535`);
    }
    if (!this.endpoint.startsWith('/')) throw new Error(`endpoint: ${JSON.stringify(this.endpoint)} must start with "/"`);

    const repositories = props.repositories ?? [];
    const organizations = props.organizations ?? [];
    if ((repositories.length === 0) === (organizations.length === 0)) {
      throw new Error(
        `repositories: ${JSON.stringify(repositories)}, organizations: ${JSON.stringify(organizations)}: set exactly one of them`,
      );
    }
    const owners = new Map<string, string[]>();
    for (const full of repositories) {
      const [owner, repo, extra] = full.split('/');
      if (!owner || !repo || extra !== undefined) {
        throw new Error(`repositories: ${JSON.stringify(full)} must be "owner/name"`);
      }
      owners.set(owner, [...(owners.get(owner) ?? []), repo]);
    }

    const metadata = { name: props.name, namespace: props.namespace, labels: PART_OF };
    const serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', { metadata, automountToken: false });
    new EventSource(this, 'Resource', {
      metadata,
      spec: {
        eventBusName: props.eventBusName ?? DEFAULTS.eventBusName,
        template: { serviceAccountName: serviceAccount.name },
        service: { ports: [{ name: 'webhook', port: this.port, targetPort: this.port }] },
        github: {
          [this.eventName]: {
            ...(organizations.length ? { organizations } : { repositories: [...owners].map(([owner, names]) => ({ owner, names })) }),
            webhook: { url: props.url ?? DEFAULTS.webhook.url, endpoint: this.endpoint, port: String(this.port), method: 'POST' },
            // For hooks Argo would manage; with no token it manages none, and the Sensor filters by event type.
            events: ['push', 'pull_request'],
            webhookSecret: { name: props.webhookSecret.name, key: props.webhookSecret.key },
            active: true,
            contentType: 'json',
          },
        },
      },
    });
  }
}
