/** The happens-before rules as tables: which runs a push made stale, and whether its label flip still applies. */
import { KubeObject } from '../../../src/job/kube/kube';
import { parseLocation } from '../../../src/contract/location';
import { judgeRun, OrderingRules, qaRestartedAfterPush, rulesFor, RunVerdict, splitRuns } from '../../../src/job/event/ordering';

const HEAD = 'a1b2c3d4'.repeat(5);
const OLD = 'e5f6a7b8'.repeat(5);
const PUSHED = Date.parse('2026-11-26T12:00:00Z');
const at = (s: number) => new Date(PUSHED + s * 1000).toISOString().replace('.000Z', 'Z');
const run = (
  createdOffset: number,
  extra: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    spec?: Record<string, unknown>;
    deleting?: boolean;
    phase?: string;
  } = {},
): KubeObject => ({
  metadata: {
    name: 'tess',
    creationTimestamp: at(createdOffset),
    labels: extra.labels,
    annotations: extra.annotations,
    deletionTimestamp: extra.deleting ? at(0) : undefined,
  },
  spec: extra.spec,
  ...(extra.phase === undefined ? {} : { status: { phase: extra.phase } }),
});
const bySkew = (s: number): OrderingRules => ({ clockSkewMs: s * 1000 });
const byLabel: OrderingRules = { clockSkewMs: 5000, revision: { kind: 'label', key: 'agents.platform/revision' } };
/** The platform's controller: Pending and Running while a run works, Succeeded or Failed (retries used up) once it ends. */
const PHASE = { from: { kind: 'field', key: 'status.phase' }, finished: ['Succeeded', 'Failed'] } as const;
const byPhase: OrderingRules = { ...byLabel, phase: PHASE };

test.each<[string, KubeObject, OrderingRules, RunVerdict['why']]>([
  ['created an hour before the push: stale', run(-3600), bySkew(5), 'created-before-push'],
  ['created 6 s before the push, margin 5 s: stale', run(-6), bySkew(5), 'created-before-push'],
  ['created 5 s before the push, margin 5 s: kept (may have started after it)', run(-5), bySkew(5), 'within-clock-skew'],
  ['created 1 s before the push, margin 0: stale', run(-1), bySkew(0), 'created-before-push'],
  ["created in the push's own second: kept", run(0), bySkew(0), 'created-at-or-after-push'],
  ['created 2 s after the push (the next QA cycle): kept', run(2), bySkew(5), 'created-at-or-after-push'],
  ['no creation time: kept', { metadata: { name: 'x' } }, bySkew(0), 'created-at-or-after-push'],
  ['already being deleted: kept, nothing to do', run(-3600, { deleting: true }), bySkew(0), 'terminating'],
  ['revision is the head: kept however old', run(-3600, { labels: { 'agents.platform/revision': HEAD } }), byLabel, 'head-revision'],
  [
    'revision is a 7-digit prefix of the head: kept',
    run(-3600, { labels: { 'agents.platform/revision': HEAD.slice(0, 7) } }),
    byLabel,
    'head-revision',
  ],
  [
    'revision in upper case: compared case-insensitively',
    run(-3600, { labels: { 'agents.platform/revision': HEAD.toUpperCase() } }),
    byLabel,
    'head-revision',
  ],
  ['revision of an older commit: stale however new', run(30, { labels: { 'agents.platform/revision': OLD } }), byLabel, 'older-revision'],
  [
    'a 6-digit prefix is ambiguous: not the head',
    run(30, { labels: { 'agents.platform/revision': HEAD.slice(0, 6) } }),
    byLabel,
    'older-revision',
  ],
  ['no revision recorded: judged by time', run(30), byLabel, 'created-at-or-after-push'],
  [
    'revision in an annotation',
    run(-3600, { annotations: { rev: HEAD } }),
    { clockSkewMs: 0, revision: { kind: 'annotation', key: 'rev' } },
    'head-revision',
  ],
  [
    'revision in a spec field',
    run(30, { spec: { commit: { sha: OLD } } }),
    { clockSkewMs: 0, revision: { kind: 'field', key: 'spec.commit.sha' } },
    'older-revision',
  ],
  [
    'a spec field that is not a string: judged by time',
    run(-3600, { spec: { commit: { sha: 7 } } }),
    { clockSkewMs: 0, revision: { kind: 'field', key: 'spec.commit.sha' } },
    'created-before-push',
  ],
  ['Succeeded an hour before the push: history, kept', run(-3600, { phase: 'Succeeded' }), byPhase, 'finished'],
  ['Failed (its retries used up): history, kept', run(-3600, { phase: 'Failed' }), byPhase, 'finished'],
  [
    'finished with an older revision: still kept',
    run(-3600, { phase: 'Succeeded', labels: { 'agents.platform/revision': OLD } }),
    byPhase,
    'finished',
  ],
  ['Running: judged by time', run(-3600, { phase: 'Running' }), byPhase, 'created-before-push'],
  ['Pending: judged by time', run(-3600, { phase: 'Pending' }), byPhase, 'created-before-push'],
  ['no status yet: active', run(-3600), byPhase, 'created-before-push'],
  ['a phase of another case: not a finished one', run(-3600, { phase: 'succeeded' }), byPhase, 'created-before-push'],
  ['Succeeded, no phase rule: judged by time', run(-3600, { phase: 'Succeeded' }), byLabel, 'created-before-push'],
  ['finished and being deleted: terminating comes first', run(-3600, { phase: 'Failed', deleting: true }), byPhase, 'terminating'],
])('%s', (_name, r, rules, why) => {
  expect(judgeRun(r, { headSha: HEAD, pushedAtMs: PUSHED }, rules).why).toBe(why);
});

test('a PR event drops the revision rule and keeps the phase rule: a finished run stays whatever the event', () => {
  for (const event of ['closed', 'converted_to_draft'] as const) {
    expect(rulesFor(event, byPhase)).toEqual({ clockSkewMs: 5000, phase: PHASE });
    expect(judgeRun(run(-3600, { phase: 'Succeeded' }), { headSha: HEAD, pushedAtMs: PUSHED }, rulesFor(event, byPhase)).why).toBe(
      'finished',
    );
  }
  expect(rulesFor('push', byPhase)).toBe(byPhase);
});

describe('clock skew between GitHub and the cluster, default margin 5 s', () => {
  // The push happens at true time T; a fresh run starts 1 s later, a stale one 30 s earlier. GitHub stamps the
  // push with its clock, the cluster stamps runs with its own.
  const verdicts = (githubAheadSeconds: number, staleRunAge = 30) => {
    const pushedAtMs = PUSHED + githubAheadSeconds * 1000;
    return [run(1), run(-staleRunAge)].map((r) => judgeRun(r, { headSha: HEAD, pushedAtMs }, bySkew(5)).why);
  };
  test.each([0, 3, -3, 5, -5])('GitHub %i s ahead: the fresh run is kept, the 30 s old one cancelled', (ahead) => {
    expect(verdicts(ahead)).toEqual([ahead > 1 ? 'within-clock-skew' : 'created-at-or-after-push', 'created-before-push']);
  });
  test('GitHub 8 s ahead, past the margin: a run started 1 s after the push would be taken for stale (the documented limit)', () => {
    expect(verdicts(8)[0]).toBe('created-before-push');
  });
  test('GitHub 3 s behind: a run created 4 s before the push is kept, a missed cancellation the resync may repair', () => {
    expect(verdicts(-3, 4)[1]).toBe('within-clock-skew');
  });
});

test('splitRuns keeps every run it leaves alone, with the reason', () => {
  const split = splitRuns(
    [run(-60), { ...run(3), metadata: { ...run(3).metadata, name: 'fresh' } }],
    { headSha: HEAD, pushedAtMs: PUSHED },
    bySkew(5),
  );
  expect(split.stale.map((r) => r.metadata.name)).toEqual(['tess']);
  expect(split.kept).toEqual([{ name: 'fresh', why: 'created-at-or-after-push' }]);
});

test.each<[string, string | null, boolean]>([
  ['never added', null, false],
  ['added an hour before the push', at(-3600), false],
  ['added 1 s before the push', at(-1), false],
  ["added in the push's own second", at(0), true],
  ['added 1 s after the push (the next QA cycle)', at(1), true],
])('ready-for-qa %s: restarted %s', (_name, labeledAt, restarted) => {
  expect(qaRestartedAfterPush(labeledAt, PUSHED)).toBe(restarted);
});

test.each(['label', 'annotation:', 'spec.sha', 'field:', 'label:a b'])('revision source %j is rejected', (text) => {
  expect(() => parseLocation(text)).toThrow(`${JSON.stringify(text)} is not label:<key>, annotation:<key> or field:<path>`);
});
