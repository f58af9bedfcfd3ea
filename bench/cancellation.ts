/**
 * Figures 1 to 4: requests per cancellation against the protocol minimum, the Job's wall time, CPU and
 * memory against a bare script, latency as the namespace grows, and 100 PRs at once. All against the real
 * kube-apiserver and the GitHub test server. In-process runs call remediate() with the Job's own clients;
 * their floor is bench/bare-cancellation.js, the minimal requests with no client library, in the same run.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DEFAULTS } from '../src/config/defaults';
import { systemClock } from '../src/job/clock';
import { GraphqlGitHub } from '../src/job/github/github-client';
import { RESOLVE_QUERY, transitionMutation } from '../src/job/github/graphql-documents';
import { readInput } from '../src/job/input';
import { HttpKubeApi, KubeApi, loadConnection } from '../src/job/kube/kube';
import { leaseName, readState } from '../src/job/kube/lease';
import { PACE_LEASE, reserveSlot } from '../src/job/kube/pace';
import { remediate } from '../src/job/event/remediate';
import { packageRoot } from '../src/config/package-root';
import { REPO, remediationWorld, RemediationWorld } from '../test/fixtures/remediation-env';
import { BUNDLE, PushEnv } from '../test/fixtures/run-job';
import { admin, clusterInfo, PRESETS, seedCodeRuns } from '../test/harness/cluster';
import { GITHUB_LIMITS } from '../test/github-server/limits';
import { bareClient } from './bare-cancellation.js';
import { PushCosts } from './capacity';
import { heading, median, mib, ms, quantile, ratio, row, since } from './stats';

/** QA runs each benchmarked push makes stale: its task's Cleo and Tess. */
const STALE_PER_PUSH = 2;

/**
 * The fewest requests the protocol allows, with why ours differ. A create that fails when the Lease exists
 * is the lock, one write releases it with the state, one list finds the task's QA runs and one delete per
 * run that started before the push cancels it (a delete-collection cannot spare a run created after the
 * push), and GitHub needs one read (PR, labels and their timeline, head, label ids) and one write.
 */
const PROTOCOL: ReadonlyArray<{ purpose: string; minimum: number; why: string }> = [
  { purpose: 'GitHub query', minimum: 1, why: 'PR, labels and when ready-for-qa was added, head, label ids' },
  { purpose: 'GitHub mutation', minimum: 1, why: 'labels + marker comment' },
  { purpose: 'Lease create', minimum: 1, why: 'the lock, carrying the state (write-ahead): a crash after it resumes from it' },
  { purpose: 'Lease read', minimum: 0, why: "only when the create found the PR's Lease (a later push): its state decides" },
  { purpose: 'Lease state write', minimum: 0, why: 'the take of an existing Lease (with the state), or a renewal after a finalizer wait' },
  { purpose: 'Lease release', minimum: 1, why: 'unlock, with the final state' },
  { purpose: 'list', minimum: 1, why: "the task's QA runs, ordered against the push; more only while a finalizer holds a deleted run" },
  { purpose: 'delete by name', minimum: STALE_PER_PUSH, why: 'one per stale run, uid precondition; its answer shows any finalizer' },
  { purpose: 'Event', minimum: 0, why: 'extra: for people (kubectl describe lease)' },
];
const MIN_KUBE = 3 + STALE_PER_PUSH;
const MIN_GITHUB = 2;

/** What each KubeApi call is for; a release is the write that clears the holder. */
const KUBE_PURPOSE: Record<keyof KubeApi, (args: any[]) => string> = {
  getLease: ([, name]) => (name === PACE_LEASE ? 'pace' : 'Lease read'),
  createLease: ([lease]) => (lease.metadata.name === PACE_LEASE ? 'pace' : 'Lease create'),
  updateLease: ([lease]) =>
    lease.metadata.name === PACE_LEASE ? 'pace' : lease.spec.holderIdentity ? 'Lease state write' : 'Lease release',
  listLeases: () => 'Lease list',
  deleteLease: () => 'Lease delete',
  deleteNamed: () => 'delete by name',
  list: () => 'list',
  createEvent: () => 'Event',
};

/** Kubernetes calls by purpose, and HTTP requests as sent (retries included). */
interface KubeCounts {
  readonly calls: Record<string, number>;
  http: number;
}

const newCounts = (): KubeCounts => ({ calls: {}, http: 0 });

/** The Job's HttpKubeApi as its ServiceAccount, counting each call by purpose and each HTTP request. */
function countingKube(w: RemediationWorld, c: KubeCounts): KubeApi {
  const kube = new HttpKubeApi(loadConnection({ KUBECONFIG: w.kubeconfig }), { onRequest: () => c.http++, clock: systemClock });
  const methods = Object.entries(KUBE_PURPOSE).map(([method, purpose]) => [
    method,
    (...args: any[]) => {
      const p = purpose(args);
      c.calls[p] = (c.calls[p] ?? 0) + 1;
      return (kube as any)[method](...args);
    },
  ]);
  return Object.fromEntries(methods) as KubeApi;
}

/** remediate() in this process, one Kubernetes client for every push it is given. */
function inProcess(w: RemediationWorld, c: KubeCounts, deadlineMs = 30_000) {
  const kube = countingKube(w, c);
  return (taskId: number, push: Partial<PushEnv> = {}) => {
    const input = readInput(w.env({ taskId: String(taskId), ...push }));
    const github = new GraphqlGitHub({
      url: w.gh.url,
      token: () => Promise.resolve(w.gh.token),
      deadline: Date.now() + deadlineMs,
      requestTimeoutMs: DEFAULTS.job.githubRequestTimeoutMs,
      clock: systemClock,
      pace: (earliest) => reserveSlot(kube, { namespace: w.namespace, clock: systemClock }, earliest),
    });
    return remediate(input, { kube, github, log: () => undefined, clock: systemClock });
  };
}

/** Every GitHub request since `from`, failed ones included: each is a round trip. */
function githubCounts(w: RemediationWorld, from: number): Record<string, number> {
  const sent = w.gh.requests.slice(from);
  const query = sent.filter((r) => r.operation === 'Resolve').length;
  return { 'GitHub query': query, 'GitHub mutation': sent.length - query };
}

/** What the pushes of `tasks` cost GitHub, per push: requests, primary points, and content (marker comments). */
function githubCosts(w: RemediationWorld, from: number, tasks: number[]): PushCosts {
  const sent = w.gh.requests.slice(from);
  const per = (n: number) => n / tasks.length;
  return {
    queries: per(sent.filter((r) => r.operation !== 'Transition' && r.operation !== 'CreateLabel').length),
    mutations: per(sent.filter((r) => r.operation === 'Transition' || r.operation === 'CreateLabel').length),
    primaryPoints: per(sent.reduce((sum, r) => sum + (r.points ?? 0), 0)),
    contents: per(tasks.reduce((sum, t) => sum + w.gh.prComments(REPO, t).length, 0)),
  };
}

/** The bare script's settings for this world, and its push for a task (its own Lease, beside the Job's). */
function bare(w: RemediationWorld) {
  const conn = loadConnection({ KUBECONFIG: w.kubeconfig });
  const input = (t: number) => readInput(w.env({ taskId: String(t) }));
  const { codeRun, labels } = input(1);
  const client = {
    kubeServer: conn.server,
    kubeToken: conn.token,
    kubeCaFile: clusterInfo().caFile,
    namespace: w.namespace,
    ...codeRun,
    graphqlUrl: w.gh.url,
    githubToken: w.gh.token,
    resolveQuery: RESOLVE_QUERY,
    transitionMutation: transitionMutation({ remove: true, add: true, comment: 'add' }),
    ready: labels.ready,
    remediation: labels.remediation,
  };
  const push = (t: number) => {
    const i = input(t);
    return {
      owner: i.owner,
      name: i.name,
      branch: i.branch,
      selector: i.selector,
      leaseName: `${leaseName(REPO, t)}-bare`,
      pushedAtMs: i.pushedAtMs,
    };
  };
  return { client, push };
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
const AGENTS = ['rex', 'cleo', 'tess'] as const;

export async function roundTrips(samples: number) {
  const w = await remediationWorld('bench-round-trips', 'card');
  try {
    await w.seed(range(1, samples));
    w.gh.addLabel(REPO, 'remediation-in-progress');
    const kube = newCounts();
    const from = w.gh.requests.length;
    const run = inProcess(w, kube);
    for (let t = 1; t <= samples; t++) await run(t);
    const counts = { ...kube.calls, ...githubCounts(w, from) };
    heading(`1. requests per cancellation (mean of ${samples} normal transitions)`);
    const known = new Set(PROTOCOL.map((p) => p.purpose));
    const rows = [
      ...PROTOCOL,
      ...Object.keys(counts)
        .filter((p) => !known.has(p))
        .map((purpose) => ({ purpose, minimum: 0, why: 'extra' })),
    ];
    const result: Record<string, { ours: number; minimum: number }> = {};
    for (const { purpose, minimum, why } of rows) {
      const ours = (counts[purpose] ?? 0) / samples;
      result[purpose] = { ours, minimum };
      row(purpose, ours.toFixed(1), `minimum ${minimum}${minimum ? `, ${ratio(ours, minimum)}` : ''}; ${why}`);
    }
    const github = (counts['GitHub query'] + counts['GitHub mutation']) / samples;
    const http = kube.http / samples;
    row('GitHub, all', github.toFixed(1), `minimum ${MIN_GITHUB}, ${ratio(github, MIN_GITHUB)}`);
    row('Kubernetes, all (HTTP requests, retries included)', http.toFixed(1), `minimum ${MIN_KUBE}, ${ratio(http, MIN_KUBE)}`);
    const first = githubCosts(w, from, range(1, samples));
    const later = await laterPushes(w, run, range(1, Math.min(3, samples)));
    row('a later push on a marked PR: GitHub requests', later.requests.toFixed(1), `minimum ${MIN_GITHUB}; the marker comment edited`);
    row('content created: first push on a PR / later push', `${first.contents.toFixed(1)} / ${later.contents.toFixed(1)}`, 'floor 0');
    return {
      samples,
      purposes: result,
      github: { ours: github, minimum: MIN_GITHUB },
      kube: { ours: http, minimum: MIN_KUBE },
      perPush: { ...first, contents: later.contents, prContents: first.contents },
      laterPush: later,
    };
  } finally {
    await w.stop();
  }
}

/**
 * A later push on each of `tasks`' PRs, marked already, after QA restarted (ready-for-qa back): GitHub requests
 * and marker comments created, per push. The one marker comment is edited, so none is created.
 */
async function laterPushes(w: RemediationWorld, run: ReturnType<typeof inProcess>, tasks: number[]) {
  const from = w.gh.requests.length;
  const comments = () => tasks.reduce((sum, t) => sum + w.gh.prComments(REPO, t).length, 0);
  const before = comments();
  for (const t of tasks) {
    w.gh.unlabelPullRequest(REPO, t, 'remediation-in-progress');
    w.gh.labelPullRequest(REPO, t, 'ready-for-qa');
    const sha = `${t.toString(16).padStart(38, '0')}ee`;
    w.gh.setBranch(REPO, `feature/task-${t}-implementation`, sha);
    const outcome = await run(t, { headSha: sha, deliveryId: `later-${t}`, pushedAt: Math.floor(w.gh.now() / 1000) + 1 });
    if (outcome.kind !== 'done') throw new Error(`later push on task ${t}: ${JSON.stringify(outcome)}`);
  }
  return { pushes: tasks.length, requests: (w.gh.requests.length - from) / tasks.length, contents: (comments() - before) / tasks.length };
}

interface ProcessRun {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly maxRssKiB: number;
  readonly code: number | null;
}

/** Runs node with `args` and `env`, measuring wall time outside and CPU and peak RSS inside (bench/rusage.js). */
function measured(args: string[], env: Record<string, string>): Promise<ProcessRun> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ac-bench-')), 'rusage.json');
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, args, {
    env: {
      PATH: process.env.PATH ?? '',
      ...env,
      NODE_OPTIONS: `--require ${path.join(packageRoot(), 'bench', 'rusage.js')}`,
      BENCH_RUSAGE_FILE: file,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return new Promise((resolve) =>
    child.on('close', (code) => {
      const wallMs = since(t0);
      const u = JSON.parse(fs.readFileSync(file, 'utf8'));
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
      resolve({ wallMs, cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, maxRssKiB: u.maxRSS, code });
    }),
  );
}

/**
 * The Job, the bare script and `node -e 0` as processes: `rounds` rounds of `perRound` runs of each, the three
 * interleaved in an order that rotates each round, so drift in the machine's load hits all three alike. The
 * figures are medians of the rounds' medians, with each round's ratio to show the spread.
 */
export async function wallTime(rounds: number, perRound: number) {
  const samples = rounds * perRound;
  const w = await remediationWorld('bench-wall-time', 'card');
  try {
    await w.seed(range(1, 2 * samples));
    w.gh.addLabel(REPO, 'remediation-in-progress');
    const { client, push } = bare(w);
    const script = path.join(packageRoot(), 'bench', 'bare-cancellation.js');
    const next = { job: 0, floor: samples };
    const kinds = {
      empty: () => measured(['-e', '0'], {}),
      job: () => measured([BUNDLE, 'run'], w.env({ taskId: String(++next.job) })),
      floor: () => measured([script], { BENCH_BARE: JSON.stringify({ client, push: push(++next.floor) }) }),
    };
    type Kind = keyof typeof kinds;
    const order: Kind[] = ['empty', 'job', 'floor'];
    const byRound: Array<Record<Kind, ProcessRun[]>> = [];
    for (let r = 0; r < rounds; r++) {
      const runs: Record<Kind, ProcessRun[]> = { empty: [], job: [], floor: [] };
      const turn = [...order.slice(r % 3), ...order.slice(0, r % 3)];
      for (let i = 0; i < perRound; i++) for (const k of turn) runs[k].push(await kinds[k]());
      byRound.push(runs);
    }
    const all = byRound.flatMap((r) => [...r.job, ...r.floor, ...r.empty]);
    if (all.some((r) => r.code !== 0)) throw new Error(`${all.filter((r) => r.code !== 0).length} measured run(s) failed`);
    type Key = 'wallMs' | 'cpuMs' | 'maxRssKiB';
    const inRound = (r: Record<Kind, ProcessRun[]>, k: Kind, key: Key) => median(r[k].map((x) => x[key]));
    const m = (k: Kind, key: Key) => median(byRound.map((r) => inRound(r, k, key)));
    const spread = (key: Key) => byRound.map((r) => inRound(r, 'job', key) / inRound(r, 'floor', key));
    const versus = (key: 'cpuMs' | 'maxRssKiB') =>
      `${ratio(m('job', key), m('empty', key))}; ${ratio(m('job', key), m('floor', key))} the bare script`;
    const rounded = (key: Key) =>
      `${spread(key)
        .map((x) => x.toFixed(2))
        .join(' ')}  median ${median(spread(key)).toFixed(2)}x`;
    heading(`2. one cancellation as a process (medians of ${rounds} rounds of ${perRound}, in rotating order)`);
    row('bare script: minimal requests, no checks (floor)', ms(m('floor', 'wallMs')), 'floor');
    row('Job bundle, wall time', ms(m('job', 'wallMs')), ratio(m('job', 'wallMs'), m('floor', 'wallMs')));
    row('  wall time against the floor, round by round', '', rounded('wallMs'));
    row('node -e 0, CPU time user+sys (floor)', ms(m('empty', 'cpuMs')), 'floor');
    row('bare script, CPU time', ms(m('floor', 'cpuMs')), ratio(m('floor', 'cpuMs'), m('empty', 'cpuMs')));
    row('Job bundle, CPU time', ms(m('job', 'cpuMs')), versus('cpuMs'));
    row('  CPU against the bare script, round by round', '', rounded('cpuMs'));
    row('node -e 0, peak RSS (floor)', mib(m('empty', 'maxRssKiB')), 'floor');
    row('bare script, peak RSS', mib(m('floor', 'maxRssKiB')), ratio(m('floor', 'maxRssKiB'), m('empty', 'maxRssKiB')));
    row('Job bundle, peak RSS', mib(m('job', 'maxRssKiB')), versus('maxRssKiB'));
    const summary = (k: Kind) => ({ wallMs: m(k, 'wallMs'), cpuMs: m(k, 'cpuMs'), maxRssKiB: m(k, 'maxRssKiB') });
    return {
      samples,
      rounds,
      job: summary('job'),
      bare: summary('floor'),
      nodeEmpty: summary('empty'),
      roundRatios: { wall: spread('wallMs'), cpu: spread('cpuMs') },
    };
  } finally {
    await w.stop();
  }
}

/**
 * Latency of one task's cancellation with `size` CodeRuns in the namespace, 3 per task. Each sample seeds a
 * fresh task (PR and rex/cleo/tess runs) and removes what is left of it afterwards, outside the timing, so
 * the namespace holds the same number of CodeRuns at every sample.
 */
export async function scale(sizes: number[], samples: number) {
  heading(`3. latency of one cancellation as the namespace grows (${samples} samples per size, in process)`);
  const result: Array<Record<string, number>> = [];
  for (const size of sizes) {
    const w = await remediationWorld(`bench-scale-${size}`, 'card');
    try {
      // size - 3 others, whole tasks then a partial one, so with the measured task's 3 it holds exactly `size`.
      const whole = Math.floor((size - 3) / 3);
      const t0 = process.hrtime.bigint();
      await seedCodeRuns(w.namespace, PRESETS.card, range(1, whole));
      await seedCodeRuns(w.namespace, PRESETS.card, [whole + 1], AGENTS.slice(0, (size - 3) % 3));
      const seedMs = since(t0);
      w.gh.addLabel(REPO, 'remediation-in-progress');
      const run = inProcess(w, newCounts());
      const { client, push } = bare(w);
      const floorRun = bareClient(client);
      const timed = async (t: number, f: (t: number) => Promise<unknown>) => {
        await w.seed([t]);
        const t1 = process.hrtime.bigint();
        await f(t);
        const elapsed = since(t1);
        const left = await admin().request('DELETE', `/apis/${w.group}/v1/namespaces/${w.namespace}/coderuns?labelSelector=task-id%3D${t}`);
        if (left.status !== 200) throw new Error(`clearing task ${t}: HTTP ${left.status}`);
        return elapsed;
      };
      const job: number[] = [];
      const floor: number[] = [];
      for (let i = 0, t = whole + 2; i < samples; i++) {
        job.push(await timed(t++, run));
        floor.push(await timed(t++, (task) => floorRun(push(task))));
      }
      const p = (v: number[]) => ({ p50: quantile(v, 0.5), p99: quantile(v, 0.99) });
      const [j, f] = [p(job), p(floor)];
      const growth = result.length ? `; p50 ${ratio(j.p50, result[0].p50Ms)} of ${sizes[0]}` : '';
      row(`${size} CodeRuns: bare floor p50 / p99`, `${ms(f.p50)} / ${ms(f.p99)}`, 'floor');
      row(`${size} CodeRuns: Job p50 / p99`, `${ms(j.p50)} / ${ms(j.p99)}`, `p50 ${ratio(j.p50, f.p50)}${growth}`);
      result.push({ size, p50Ms: j.p50, p99Ms: j.p99, floorP50Ms: f.p50, floorP99Ms: f.p99, seedMs });
    } finally {
      await w.stop();
    }
  }
  console.log(
    "note: after any write, a consistent list from the watch cache waits for etcd's next progress\n" +
      'notification, requested every 100 ms; the Job and the floor both pay it, at every size.',
  );
  return result;
}

/**
 * `prs` pushes for `prs` PRs at once, in this process with one client per push as separate Job pods would
 * have. In process rather than `prs` bundle processes: on 2 cores, 100 Node start-ups (figure 2) would
 * measure the machine, not the protocol's contention on the apiserver, the Leases and GitHub. The floor is
 * as many bare clients at once, on other tasks of the same namespace.
 */
export async function throughput(prs: number, rounds: number) {
  const w = await remediationWorld('bench-throughput', 'card');
  try {
    w.gh.addLabel(REPO, 'remediation-in-progress');
    const { client, push } = bare(w);
    const kube = newCounts();
    let jobGitHub = 0;
    let done = 0;
    // Each burst makes its pushes' clients and returns their starts, so that making the clients is not timed.
    const bareBurst = (overFetch: boolean) => (tasks: number[]) =>
      tasks.map((t) => {
        const c = bareClient({ ...client, overFetch });
        return () => c(push(t));
      });
    const bursts = {
      floor: bareBurst(false),
      // The floor with GitHub over fetch, the Job's transport before 2026-12-05: what fetch alone costs here.
      fetch: bareBurst(true),
      job: (tasks: number[]) =>
        tasks.map((t) => {
          const run = inProcess(w, kube);
          return async () => {
            if ((await run(t)).kind === 'done') done++;
          };
        }),
    };
    const times: Record<keyof typeof bursts, number[]> = { floor: [], fetch: [], job: [] };
    const all: number[] = [];
    for (let r = 0; r < rounds; r++) {
      // Each round in another order, so that what the machine does meanwhile hits all three alike.
      const order = (['floor', 'fetch', 'job'] as const).map((_, i, a) => a[(i + r) % a.length]);
      for (const kind of order) {
        const tasks = range(all.length + 1, prs);
        all.push(...tasks);
        await w.seed(tasks);
        const pushes = bursts[kind](tasks);
        const from = w.gh.requests.length;
        const t0 = process.hrtime.bigint();
        await Promise.all(pushes.map((p) => p()));
        times[kind].push(since(t0));
        if (kind === 'job') jobGitHub += w.gh.requests.length - from;
      }
    }
    const relabelled = all.filter((t) => w.gh.prLabels(REPO, t).join() === 'remediation-in-progress').length;
    const left = (await w.names()).length;
    const [floorMs, fetchFloorMs, totalMs] = [median(times.floor), median(times.fetch), median(times.job)];
    const ratios = times.job.map((j, i) => j / times.floor[i]);
    const jobs = prs * rounds;
    heading(`4. ${prs} pushes for ${prs} PRs at once (in process, one client per push; medians of ${rounds} rounds)`);
    row(`bare floor: ${prs} at once, to the last answer`, ms(floorMs), `floor; rounds ${times.floor.map(ms).join(', ')}`);
    row('bare floor, GitHub over fetch (the Job before 2026-12-05)', ms(fetchFloorMs), ratio(fetchFloorMs, floorMs));
    row('Job: time to global convergence', ms(totalMs), `${ratio(totalMs, floorMs)}; ${ratio(totalMs, fetchFloorMs)} the fetch floor`);
    row('  Job against the floor, round by round', ratios.map((x) => x.toFixed(2)).join(' '), `median ${median(ratios).toFixed(2)}x`);
    row(
      'PRs relabelled / CodeRuns left (Rex only) / Jobs done',
      `${relabelled} / ${left} / ${done}`,
      `expected ${all.length} / ${all.length} / ${jobs}`,
    );
    row('GitHub requests per push', (jobGitHub / jobs).toFixed(2), `minimum ${MIN_GITHUB}, ${ratio(jobGitHub / jobs, MIN_GITHUB)}`);
    row('Kubernetes requests per push', (kube.http / jobs).toFixed(2), `minimum ${MIN_KUBE}, ${ratio(kube.http / jobs, MIN_KUBE)}`);
    return {
      prs,
      rounds,
      floorMs,
      fetchFloorMs,
      totalMs,
      roundsMs: times,
      medianRatio: median(ratios),
      relabelled,
      codeRunsLeft: left,
      done,
      githubPerPush: jobGitHub / jobs,
      kubePerPush: kube.http / jobs,
    };
  } finally {
    await w.stop();
  }
}

/**
 * `prs` pushes at once against a GitHub that enforces its content-creation limit on the one token they share:
 * a mutation less than `intervalMs` after the previous one is refused as a secondary rate limit (HTTP 403 with
 * retry-after), as GitHub asks for 1 s between mutations. The floor is the limit itself: `prs` mutations,
 * one per push, take at least (prs - 1) x interval. Each push has the Job's default 300 s GitHub deadline.
 */
export async function mutationLimit(prs: number, intervalMs: number) {
  const w = await remediationWorld('bench-mutation-limit', 'card', { mutationIntervalMs: intervalMs });
  try {
    const tasks = range(1, prs);
    await w.seed(tasks);
    w.gh.addLabel(REPO, 'remediation-in-progress');
    const counts = newCounts();
    const run = inProcess(w, counts, 300_000);
    const from = w.gh.requests.length;
    const [t0, startedAt] = [process.hrtime.bigint(), Date.now()];
    const outcomes = await Promise.allSettled(tasks.map((t) => run(t)));
    const totalMs = since(t0);
    const { cancelledMs, relabelledMs } = await stepTimes(w, startedAt);
    const sent = w.gh.requests.slice(from);
    const accepted = sent.filter((r) => r.operation === 'Transition' && !r.fault).length;
    const refused = sent.filter((r) => r.fault === 'secondary').length;
    const done = outcomes.filter((o) => o.status === 'fulfilled' && o.value.kind === 'done').length;
    const relabelled = tasks.filter((t) => w.gh.prLabels(REPO, t).join() === 'remediation-in-progress').length;
    const floorMs = (prs - 1) * intervalMs;
    heading(`4b. ${prs} pushes at once, one token, GitHub allowing one mutation per ${ms(intervalMs)}`);
    row('floor: (pushes - 1) x interval', ms(floorMs), 'floor');
    row('Job: time to global convergence', ms(totalMs), ratio(totalMs, floorMs));
    row('pushes done / PRs relabelled', `${done} / ${relabelled}`, `expected ${prs} / ${prs}`);
    row('mutations accepted per push', (accepted / prs).toFixed(2), `minimum 1, ${ratio(accepted / prs, 1)}`);
    row('mutations refused by the limit, per push', (refused / prs).toFixed(2), 'floor 0 with perfect pacing');
    row(
      'GitHub requests per push, refused included',
      (sent.length / prs).toFixed(2),
      `minimum ${MIN_GITHUB}, ${ratio(sent.length / prs, MIN_GITHUB)}`,
    );
    const paceRequests = (counts.calls.pace ?? 0) / prs;
    row(
      'Kubernetes requests for the shared pace, per push',
      paceRequests.toFixed(2),
      'read and write of its Lease, per refusal, races included',
    );
    row('last CodeRun cancelled / last PR relabelled, after start', `${ms(cancelledMs)} / ${ms(relabelledMs)}`, 'only the labels wait');
    const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [(o.reason as Error).message] : []));
    if (failures.length) row('pushes failed (first error)', failures.length, failures[0]);
    return {
      prs,
      intervalMs,
      floorMs,
      totalMs,
      cancelledMs,
      relabelledMs,
      paceRequestsPerPush: paceRequests,
      done,
      relabelled,
      acceptedPerPush: accepted / prs,
      refusedPerPush: refused / prs,
      requestsPerPush: sent.length / prs,
      failed: failures.length,
    };
  } finally {
    await w.stop();
  }
}

/** When the last push recorded its cancel and its relabel (the PR state Leases), in ms after `startedAt`. */
async function stepTimes(w: RemediationWorld, startedAt: number) {
  const kube = new HttpKubeApi(loadConnection({ KUBECONFIG: w.kubeconfig }), { clock: systemClock });
  const states = (await kube.listLeases(w.namespace, 'app.kubernetes.io/managed-by=agent-cancellation')).flatMap((l) => readState(l) ?? []);
  const last = (at: Array<string | undefined>) => Math.max(...at.map((a) => Date.parse(a ?? '') - startedAt).filter(Number.isFinite));
  return { cancelledMs: last(states.map((st) => st.steps.cancel?.at)), relabelledMs: last(states.map((st) => st.steps.relabel?.at)) };
}

/**
 * `prs` pushes at once on one token whose hour of content creation is spent, against a GitHub enforcing all
 * of its limits as documented (test/github-server/limits.ts) and 1 s between mutations: 500 markers were
 * posted over the past hour, the oldest expiring in 1 s and then one every 7.2 s. Each push must wait for a
 * slot and finish within the Job's default GitHub deadline; the floor is when the window has `prs` slots.
 */
export async function limitBinds(prs: number) {
  const w = await remediationWorld('bench-limit-binds', 'card', { mutationIntervalMs: 1000, limits: GITHUB_LIMITS.token });
  try {
    const tasks = range(1, prs);
    await w.seed(tasks);
    w.gh.addLabel(REPO, 'remediation-in-progress');
    const hour = 3_600_000;
    const spent = GITHUB_LIMITS.token.contentPerHour;
    w.gh.limiter!.spentBefore(spent, hour - 1000);
    const floorMs = 1000 + ((prs - 1) * (hour - 1000)) / spent;
    const run = inProcess(w, newCounts(), DEFAULTS.job.githubDeadlineSeconds * 1000);
    const from = w.gh.requests.length;
    const t0 = process.hrtime.bigint();
    const outcomes = await Promise.allSettled(tasks.map((t) => run(t)));
    const totalMs = since(t0);
    const sent = w.gh.requests.slice(from);
    const refused = sent.filter((r) => r.fault === 'secondary' || r.fault === 'primary').length;
    const done = outcomes.filter((o) => o.status === 'fulfilled' && o.value.kind === 'done').length;
    const relabelled = tasks.filter((t) => w.gh.prLabels(REPO, t).join() === 'remediation-in-progress').length;
    const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [(o.reason as Error).message] : []));
    heading(`6b. ${prs} pushes at once, content creation spent for the hour, GitHub's limits on one token`);
    row(`floor: the window frees ${prs} slots`, ms(floorMs), 'floor');
    row('Job: time to global convergence', ms(totalMs), ratio(totalMs, floorMs));
    row('pushes done / PRs relabelled / failed', `${done} / ${relabelled} / ${failures.length}`, `expected ${prs} / ${prs} / 0`);
    row('requests refused by a limit, per push', (refused / prs).toFixed(2), 'each waited out as retry-after asked');
    if (failures.length) row('first failure', failures.length, failures[0]);
    return { prs, floorMs, totalMs, done, relabelled, refusedPerPush: refused / prs, failed: failures.length };
  } finally {
    await w.stop();
  }
}
