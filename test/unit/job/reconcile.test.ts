/** Every transition of the reconciler's state machine (README), as a table over `decide`. */
import { PullRequestView } from '../../../src/job/github';
import { ReconcileInput } from '../../../src/job/input';
import { Lease } from '../../../src/job/kube';
import { microTime, PrState } from '../../../src/job/lease';
import { Action, decide, Observed, reconcile } from '../../../src/job/reconcile';
import { FakeGitHub, FakeKube } from './fakes';

const NOW = Date.parse('2026-11-24T12:00:00Z');
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();
const cfg = {
  labels: { ready: 'ready-for-qa', remediation: 'remediation-in-progress', color: 'd93f0b', description: '' },
  pendingSeconds: 300,
  retentionSeconds: 86400,
} as ReconcileInput;

function observe(o: {
  phase?: PrState['phase'];
  updated?: number;
  holder?: string;
  renewed?: number;
  pr?: Partial<PullRequestView> | null | 'down';
  labels?: string[];
  relabel?: PrState['steps']['relabel'];
  stale?: number;
  commit?: { name: string; login: string | null };
  bots?: string[];
}): [Observed, ReconcileInput] {
  const lease: Lease = {
    metadata: { name: 'ac-pr-x-1', resourceVersion: '1' },
    spec: { holderIdentity: o.holder, leaseDurationSeconds: 60, renewTime: o.holder ? microTime(NOW - (o.renewed ?? 0) * 1000) : undefined },
  };
  const state = {
    phase: o.phase ?? 'done',
    updatedAt: ago(o.updated ?? 600),
    startedAt: ago(o.updated ?? 600),
    steps: o.relabel ? { relabel: o.relabel } : {},
  } as PrState;
  const pr =
    o.pr === 'down' || o.pr === null
      ? o.pr
      : ({ id: 'PR', number: 1, state: 'OPEN', labels: (o.labels ?? ['remediation-in-progress']).map((name) => ({ id: name, name })), markers: [], ...o.pr } as PullRequestView);
  const observed: Observed = {
    lease,
    state,
    pr: pr === 'down' ? undefined : pr,
    viewError: 'HTTP 502',
    staleRuns: Array.from({ length: o.stale ?? 0 }, (_, i) => ({ name: `tess-${i}`, uid: `u${i}` })),
    commit: o.commit,
  };
  return [observed, o.bots ? { ...cfg, foreignCommitBots: { logins: o.bots, caseInsensitive: true } } : cfg];
}

const changed = { at: ago(900), result: 'transitioned' as const, removed: 'ready-for-qa', added: 'remediation-in-progress' };

test.each<[string, Parameters<typeof observe>[0], Action['kind'] | Partial<Action>]>([
  ['a live holder is never overridden', { phase: 'running', holder: 'job-1', renewed: 10 }, { kind: 'busy', holder: 'job-1' }],
  ['pending, recently written: its Job may still retry', { phase: 'failed', updated: 60 }, 'none'],
  ['pending past the deadline, free: resume', { phase: 'failed', updated: 600 }, 'resume'],
  ['pending, the holder died long ago: resume (taking the Lease over)', { phase: 'running', holder: 'dead', renewed: 600 }, 'resume'],
  ['pending, the holder died recently: release only', { phase: 'running', updated: 100, holder: 'dead', renewed: 100 }, 'release'],
  ['pending, GitHub down: a counted failure', { phase: 'running', pr: 'down' }, { kind: 'fail', error: 'GitHub unavailable: HTTP 502' }],
  ['pending, PR closed: compensate, never resume', { phase: 'running', pr: { state: 'CLOSED' } }, { kind: 'compensate', reason: 'pr-closed' }],
  ['pending, PR gone: compensate', { phase: 'failed', pr: null }, { kind: 'compensate', reason: 'pr-missing' }],
  ['done, ready-for-qa back: repair', { labels: ['ready-for-qa', 'remediation-in-progress'] }, { kind: 'repair', removeReady: true }],
  ['done, a QA run came back: repair', { stale: 1 }, { kind: 'repair', removeReady: false }],
  ['done and converged', {}, 'none'],
  ['done, converged, dead holder: release', { holder: 'dead', renewed: 120 }, 'release'],
  ['done, remediation label removed by the platform: remediation is over, runs left alone', { labels: ['ready-for-qa'], stale: 2 }, 'none'],
  ['done, GitHub down: nothing known to be wrong', { pr: 'down' }, 'none'],
  ['done, PR closed, labels changed by us: compensate', { pr: { state: 'CLOSED' }, relabel: changed }, { kind: 'compensate', reason: 'pr-closed' }],
  ['done, PR merged, labels changed by us: compensate', { pr: { state: 'MERGED' }, relabel: changed }, { kind: 'compensate', reason: 'pr-merged' }],
  ['done, PR closed, labels were already so: nothing to restore', { pr: { state: 'CLOSED' }, relabel: { at: ago(900), result: 'already' } }, 'none'],
  ['done, foreign head commit, compensation on: compensate', { commit: { name: 'Octo Cat', login: 'octocat' }, bots: ['5DLabs-Rex[bot]'] }, { kind: 'compensate', reason: 'not-from-bot' }],
  ['done, the bot\'s commit (any case): no compensation', { commit: { name: '5dlabs-rex[bot]', login: null }, bots: ['5DLabs-Rex[bot]'] }, 'none'],
  ['done, commit unknown to GitHub: never compensated on a guess', { commit: undefined, bots: ['5DLabs-Rex[bot]'] }, 'none'],
  ['done, past retention: collect', { updated: 90000, labels: ['ready-for-qa', 'remediation-in-progress'] }, 'gc'],
  ['compensated, past retention: collect', { phase: 'compensated', updated: 90000 }, 'gc'],
  ['compensated: final', { phase: 'compensated', labels: ['ready-for-qa', 'remediation-in-progress'] }, 'none'],
  ['pending is never collected, however old', { phase: 'failed', updated: 90000, pr: 'down' }, 'fail'],
  ['done, ready back in another case: repair (GitHub label names are case-insensitive)', { labels: ['Ready-For-QA', 'REMEDIATION-IN-PROGRESS'] }, { kind: 'repair', removeReady: true }],
  ['done, the remediation label in another case: still remediating', { labels: ['Remediation-In-Progress'] }, { kind: 'none', why: 'converged' }],
])('%s', (_name, o, expected) => {
  const [observed, c] = observe(o);
  const action = decide(observed, c, NOW);
  if (typeof expected === 'string') expect(action.kind).toBe(expected);
  else expect(action).toMatchObject(expected);
});

test('a Lease without state whose holder expired is deleted: its run died before changing anything', async () => {
  const kube = new FakeKube();
  const stale = microTime(Date.now() - 120_000);
  await kube.createLease({ metadata: { name: 'ac-pr-dead-1', namespace: 'ns' }, spec: { holderIdentity: 'dead', leaseDurationSeconds: 60, renewTime: stale } });
  await kube.createLease({ metadata: { name: 'ac-pr-live-2', namespace: 'ns' }, spec: { holderIdentity: 'live', leaseDurationSeconds: 60, renewTime: microTime(Date.now()) } });
  const logs: any[] = [];
  const report = await reconcile(
    { ...cfg, namespace: 'ns', repositories: ['5dlabs/cto'], qaSelector: 'agent-type in (cleo,tess)', taskIdLabel: 'task-id' },
    { kube, github: new FakeGitHub('a'.repeat(40)), log: (step, f) => logs.push({ step, ...f }) },
  );
  expect([...kube.leases.keys()]).toEqual(['ac-pr-live-2']);
  expect(report).toMatchObject({ scanned: 0, failed: 0 });
  expect(logs.at(-1)).toMatchObject({ step: 'reconcile-done' });
});

/** One failed push two hours old, and GitHub down: every pass is a failed repair. */
async function failingWorld() {
  const kube = new FakeKube();
  const started = new Date(Date.now() - 2 * 3600_000).toISOString();
  const state = { phase: 'failed', repository: '5dlabs/cto', pr: 1, taskId: '7', sha: 'a'.repeat(40), delivery: 'd1', resolvedAt: started, startedAt: started, updatedAt: started, attempts: 3, steps: {}, deliveries: [] };
  await kube.createLease({
    metadata: { name: 'ac-pr-x-1', namespace: 'ns', labels: { 'app.kubernetes.io/managed-by': 'agent-cancellation' }, annotations: { 'agent-cancellation.5dlabs.io/state': JSON.stringify(state) } },
    spec: { leaseDurationSeconds: 60 },
  });
  const github = new FakeGitHub('a'.repeat(40));
  github.view = async () => {
    throw new Error('HTTP 502');
  };
  const input = { ...cfg, namespace: 'ns', runId: 'reconciler', leaseDurationSeconds: 60, maxFailures: 3, attentionSeconds: 3600, repositories: ['5dlabs/cto'], qaSelector: 'agent-type in (cleo,tess)', taskIdLabel: 'task-id', pendingSeconds: 0 };
  const stateOf = () => JSON.parse(kube.leases.get('ac-pr-x-1')!.metadata.annotations!['agent-cancellation.5dlabs.io/state']);
  const pass = (alert: (a: any) => Promise<void>) => reconcile(input, { kube, github, log: () => undefined, alert });
  return { kube, stateOf, pass };
}

test('a push pending past attentionSeconds alerts on its first failed repair, once; later passes stay quiet', async () => {
  const w = await failingWorld();
  const alerts: any[] = [];
  for (let i = 0; i < 3; i++) await w.pass(async (a) => void alerts.push(a));
  expect(alerts).toEqual([expect.objectContaining({ reason: 'pending-too-long', pr: 1, failures: 1, lastError: 'GitHub unavailable: HTTP 502' })]);
  expect(w.kube.events.filter((e) => e.reason === 'RemediationNeedsAttention')).toHaveLength(1);
  expect(w.kube.leases.get('ac-pr-x-1')!.metadata.labels).toMatchObject({ 'agent-cancellation.5dlabs.io/needs-attention': 'true' });
  expect(w.stateOf()).toMatchObject({ attention: { reason: 'pending-too-long', webhook: 'sent' }, repair: { failures: 3 } });
});

test('a webhook that failed is retried on the next pass until delivered, without a second Event', async () => {
  const w = await failingWorld();
  const tries: string[] = [];
  const sender = (ok: boolean) => async () => {
    tries.push(ok ? 'sent' : 'refused');
    if (!ok) throw new Error('HTTP 500');
  };
  await w.pass(sender(false));
  expect(w.stateOf().attention.webhook).toBe('failed');
  await w.pass(sender(true));
  await w.pass(sender(true));
  expect(tries).toEqual(['refused', 'sent']);
  expect(w.stateOf().attention.webhook).toBe('sent');
  expect(w.kube.events.filter((e) => e.reason === 'RemediationNeedsAttention')).toHaveLength(1);
});
