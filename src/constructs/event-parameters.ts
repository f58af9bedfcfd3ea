/**
 * What the Sensor writes into each per-event variable of the Job (EVENT_ENV), for each of its dependencies.
 * Kept out of job-env.ts, which the Job's bundle imports: none of this runs in the Job.
 */
import { EVENT_ENV } from '../contract/env';

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
    repository: { push: { dataKey: 'body.repository.full_name' }, prEnded: { dataKey: 'body.repository.full_name' } },
    branch: {
      push: { dataTemplate: '{{ trimPrefix "refs/heads/" .Input.body.ref }}' },
      prEnded: { dataKey: 'body.pull_request.head.ref' },
    },
    headSha: { push: { dataKey: 'body.after' }, prEnded: { dataKey: 'body.pull_request.head.sha' } },
    deliveryId: { push: { dataKey: 'body.X-GitHub-Delivery' }, prEnded: { dataKey: 'body.X-GitHub-Delivery' } },
    taskId: {
      push: { dataTemplate: `{{ regexReplaceAll \`${refRegex}\` .Input.body.ref "\${1}" }}` },
      prEnded: { dataTemplate: `{{ regexReplaceAll \`${headRegex}\` .Input.body.pull_request.head.ref "\${1}" }}` },
    },
    // Epoch seconds, as push payloads give them: the Job orders QA runs against this time. A PR event's is its
    // ISO closed_at (set when closed) else updated_at, converted.
    pushedAtMs: {
      push: { dataKey: 'body.repository.pushed_at' },
      prEnded: {
        dataTemplate:
          '{{ (toDate "2006-01-02T15:04:05Z07:00" (default .Input.body.pull_request.updated_at .Input.body.pull_request.closed_at)).Unix }}',
      },
    },
    // Closing or converting moves no branch: the head before the event is its head.
    beforeSha: { push: { dataKey: 'body.before' }, prEnded: { dataKey: 'body.pull_request.head.sha' } },
    event: { push: { dataKey: 'body.X-GitHub-Event' }, prEnded: { dataKey: 'body.action' } },
    // A push names no PR: the Job finds the branch's open PR.
    prNumber: { push: { value: '' }, prEnded: { dataKey: 'body.number' } },
  };
}
