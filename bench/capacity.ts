/**
 * Figure 6: how many pushes an hour one installation sustains under each limit, from the per-push costs this
 * run measured (figures 1, 2 and 4), and which limit binds first. Pure arithmetic over those measurements.
 */
import { GITHUB_LIMITS, MUTATION_POINTS, QUERY_POINTS } from '../test/github-server/limits';
import { heading, row } from './stats';

/** What one push costs GitHub, as measured (means per push). */
export interface PushCosts {
  readonly queries: number;
  readonly mutations: number;
  readonly primaryPoints: number;
  /** Content created by a later push on a PR: its marker comment is edited in place, so none. */
  readonly contents: number;
  /** Content created by the first push on a PR: its marker comment. @default contents */
  readonly prContents?: number;
}

/** Measured throughput of the rest of the path. */
export interface Measured {
  /** Figure 4: pushes at once and the time they took, in process against the apiserver. */
  readonly burst?: { readonly prs: number; readonly totalMs: number };
  /** Figure 2: CPU of one Job process, which a Pod's start-up and run cost the node. */
  readonly jobCpuMs?: number;
  /** The cores that CPU comes from. */
  readonly cores: number;
}

export interface Limit {
  readonly limit: string;
  readonly pushesPerHour: number;
  readonly why: string;
}

const HOUR_S = 3600;

/** A later push creates no content; a PR's first push creates its marker comment, so the limit counts new PRs. */
function contentWhy(c: PushCosts, perHour: number): string {
  const first = c.prContents ?? c.contents;
  const prs = first > 0 ? `; a PR's first push creates ${first.toFixed(2)}: ${Math.floor(perHour / first)} new PRs an hour` : '';
  return `${c.contents.toFixed(2)} marker comments a later push${prs}`;
}

/** Pushes an hour under each limit; Infinity where a push costs nothing against it. */
export function limits(c: PushCosts, m: Measured): Limit[] {
  const per = (budget: number, cost: number) => (cost > 0 ? budget / cost : Infinity);
  const secondary = c.queries * QUERY_POINTS + c.mutations * MUTATION_POINTS;
  const { token, app } = GITHUB_LIMITS;
  return [
    {
      limit: 'GitHub primary, token (5,000 points/h)',
      pushesPerHour: per(token.pointsPerHour, c.primaryPoints),
      why: `${c.primaryPoints.toFixed(2)} points a push`,
    },
    {
      limit: 'GitHub primary, App installation (12,500/h)',
      pushesPerHour: per(app.pointsPerHour, c.primaryPoints),
      why: `${c.primaryPoints.toFixed(2)} points a push`,
    },
    {
      limit: 'GitHub secondary, 2,000 GraphQL points/min',
      pushesPerHour: per(token.secondaryPointsPerMinute * 60, secondary),
      why: `${secondary.toFixed(2)} points a push (query 1, mutation 5)`,
    },
    {
      limit: 'GitHub secondary, 80 content creations/min',
      pushesPerHour: per(token.contentPerMinute * 60, c.contents),
      why: contentWhy(c, token.contentPerMinute * 60),
    },
    {
      limit: 'GitHub secondary, 500 content creations/h',
      pushesPerHour: per(token.contentPerHour, c.contents),
      why: contentWhy(c, token.contentPerHour),
    },
    {
      limit: 'GitHub secondary, 1 s between mutations',
      pushesPerHour: per(HOUR_S, c.mutations),
      why: `${c.mutations.toFixed(2)} mutations a push`,
    },
    ...(m.burst
      ? [
          {
            limit: 'apiserver (figure 4, in process)',
            pushesPerHour: (m.burst.prs / m.burst.totalMs) * HOUR_S * 1000,
            why: `${m.burst.prs} pushes at once in ${(m.burst.totalMs / 1000).toFixed(1)} s on this machine`,
          },
        ]
      : []),
    ...(m.jobCpuMs
      ? [
          {
            limit: `Job/Pod churn: Job CPU on ${m.cores} cores`,
            pushesPerHour: (m.cores * HOUR_S * 1000) / m.jobCpuMs,
            why: `${m.jobCpuMs.toFixed(0)} ms CPU a Job process (figure 2), node otherwise idle`,
          },
        ]
      : []),
  ];
}

export function capacity(c: PushCosts, m: Measured) {
  const table = limits(c, m);
  const binding = table.reduce((a, b) => (b.pushesPerHour < a.pushesPerHour ? b : a));
  heading("6. pushes an hour one installation sustains, by limit (from this run's per-push costs)");
  for (const l of table)
    row(
      l.limit,
      Number.isFinite(l.pushesPerHour) ? Math.floor(l.pushesPerHour) : 'unbounded',
      `${l === binding ? 'BINDS FIRST; ' : ''}${l.why}`,
    );
  return { perPush: c, limits: table, binding: binding.limit };
}
