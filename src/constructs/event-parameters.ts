/**
 * Where the Sensor reads a GitHub event, and what it writes into each per-event variable of the Job (EVENT_ENV),
 * for each of its dependencies. Kept out of src/contract/env.ts, which the Job's bundle imports: none of this
 * runs in the Job.
 */
import { EVENT_ENV } from '../contract/env';

/** The fields of a webhook event the Sensor filters on and reads, as Argo Events addresses them: each path once. */
export const PAYLOAD = {
  event: 'body.X-GitHub-Event',
  delivery: 'body.X-GitHub-Delivery',
  repository: 'body.repository.full_name',
  pushedAt: 'body.repository.pushed_at',
  sender: 'body.sender.login',
  ref: 'body.ref',
  deleted: 'body.deleted',
  before: 'body.before',
  after: 'body.after',
  action: 'body.action',
  prNumber: 'body.number',
  baseRepository: 'body.pull_request.base.repo.full_name',
  headRepository: 'body.pull_request.head.repo.full_name',
  headRef: 'body.pull_request.head.ref',
  headSha: 'body.pull_request.head.sha',
  updatedAt: 'body.pull_request.updated_at',
  closedAt: 'body.pull_request.closed_at',
} as const;

/** A path of PAYLOAD as a Go template over the event reads it; a key with a dash needs `index`. */
export function input(path: string): string {
  const parts = path.split('.');
  const last = parts.pop()!;
  return /-/.test(last) ? `(index .Input.${parts.join('.')} "${last}")` : `.Input.${path}`;
}

/** What an Argo Events trigger parameter takes: a path into the event, a Go template over `.Input`, or a constant. */
export type EventValue = { readonly dataKey: string } | { readonly dataTemplate: string } | { readonly value: string };

/** The Sensor's two dependencies: a bot's push, and a task branch's PR closed or converted to draft. */
export interface EventValues {
  readonly push: EventValue;
  readonly prEnded: EventValue;
}

/**
 * Where each per-event variable comes from, for each dependency: the one table the Sensor's trigger parameters
 * are made from, keyed by variable so that no value depends on its position in the Job's env. `refRegex` matches
 * a push's `body.ref` and `headRegex` a PR's head branch, group 1 the task id.
 */
export function eventSources(refRegex: string, headRegex: string): { readonly [K in keyof typeof EVENT_ENV]: EventValues } {
  return {
    repository: { push: { dataKey: PAYLOAD.repository }, prEnded: { dataKey: PAYLOAD.repository } },
    branch: {
      push: { dataTemplate: `{{ trimPrefix "refs/heads/" ${input(PAYLOAD.ref)} }}` },
      prEnded: { dataKey: PAYLOAD.headRef },
    },
    headSha: { push: { dataKey: PAYLOAD.after }, prEnded: { dataKey: PAYLOAD.headSha } },
    deliveryId: { push: { dataKey: PAYLOAD.delivery }, prEnded: { dataKey: PAYLOAD.delivery } },
    taskId: {
      push: { dataTemplate: `{{ regexReplaceAll \`${refRegex}\` ${input(PAYLOAD.ref)} "\${1}" }}` },
      prEnded: { dataTemplate: `{{ regexReplaceAll \`${headRegex}\` ${input(PAYLOAD.headRef)} "\${1}" }}` },
    },
    // Epoch seconds, as push payloads give them: the Job orders QA runs against this time. A PR event's is its
    // ISO closed_at (set when closed) else updated_at, converted.
    pushedAtMs: {
      push: { dataKey: PAYLOAD.pushedAt },
      prEnded: {
        dataTemplate: `{{ (toDate "2006-01-02T15:04:05Z07:00" (default ${input(PAYLOAD.updatedAt)} ${input(PAYLOAD.closedAt)})).Unix }}`,
      },
    },
    // Closing or converting moves no branch: the head before the event is its head.
    beforeSha: { push: { dataKey: PAYLOAD.before }, prEnded: { dataKey: PAYLOAD.headSha } },
    event: { push: { dataKey: PAYLOAD.event }, prEnded: { dataKey: PAYLOAD.action } },
    // A push names no PR: the Job finds the branch's open PR.
    prNumber: { push: { value: '' }, prEnded: { dataKey: PAYLOAD.prNumber } },
  };
}
