/**
 * Figures 1 to 4: requests per cancellation against the protocol minimum, the Job's wall time, CPU and
 * memory against a bare script, latency as the cluster grows, and 100 PRs at once. All against the real
 * kube-apiserver and the GitHub test server; in-process runs use the Job's own code with counting clients.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { GraphqlGitHub } from '../src/job/github-client';
import { RESOLVE_QUERY, transitionMutation } from '../src/job/graphql-documents';
import { readInput } from '../src/job/input';
import { HttpKubeApi, loadConnection } from '../src/job/kube';
import { leaseName } from '../src/job/lease';
import { remediate } from '../src/job/remediate';
import { packageRoot } from '../src/package-root';
import { REPO, remediationWorld, RemediationWorld } from '../test/fixtures/remediation-env';
import { BUNDLE } from '../test/fixtures/run-job';
import { clusterInfo } from '../test/harness/cluster';
import { heading, median, ms, quantile, ratio, row, since } from './stats';

/** What each Kubernetes request is for, from its verb and path. */
function purpose(method: string, p: string): string {
  if (p.includes('/leases')) return method === 'GET' ? 'Lease read' : method === 'POST' ? 'Lease create' : 'Lease write (state, release)';
  if (p.includes('/events')) return 'Event';
  return method === 'DELETE' ? 'delete-collection' : 'verify (list)';
}

/**
 * The fewest requests the protocol allows: a create that fails when the Lease exists is the lock, one write
 * releases it with the state, one delete-collection cancels (its answer lists what it deleted), and GitHub
 * needs one read (PR, labels, head) and one write. Verify and Event are ours: finalizers, and people.
 */
const MINIMUM: Record<string, number> = {
  'Lease read': 0,
  'Lease create': 1,
  'Lease write (state, release)': 1,
  'delete-collection': 1,
  'verify (list)': 0,
  Event: 0,
  'GitHub query': 1,
  'GitHub mutation': 1,
};

/** remediate() in this process with counting clients, as the Job's ServiceAccount. */
function inProcess(w: RemediationWorld, counts: Record<string, number>) {
  const kube = new HttpKubeApi(loadConnection({ KUBECONFIG: w.kubeconfig }), {
    onRequest: (method, p) => (counts[purpose(method, p)] = (counts[purpose(method, p)] ?? 0) + 1),
  });
  return (taskId: number) => {
    const input = readInput(w.env({ taskId: String(taskId) }));
    const github = new GraphqlGitHub({ url: w.gh.url, token: w.gh.token, deadline: Date.now() + 30_000 });
    return remediate(input, { kube, github, log: () => undefined });
  };
}

function githubCounts(w: RemediationWorld, from: number): Record<string, number> {
  const done = w.gh.requests.slice(from).filter((r) => r.status === 200 && !r.fault);
  return { 'GitHub query': done.filter((r) => r.operation === 'Resolve').length, 'GitHub mutation': done.filter((r) => r.operation !== 'Resolve').length };
}

export async function roundTrips(samples: number) {
  const w = await remediationWorld('bench-round-trips', 'card');
  try {
    await w.seed(Array.from({ length: samples }, (_, i) => i + 1));
    w.gh.addLabel(REPO, 'remediation-in-progress');
    const counts: Record<string, number> = {};
    const from = w.gh.requests.length;
    const run = inProcess(w, counts);
    for (let t = 1; t <= samples; t++) await run(t);
    Object.assign(counts, githubCounts(w, from));
    heading(`1. requests per cancellation (mean of ${samples} normal transitions)`);
    const result: Record<string, { ours: number; minimum: number }> = {};
    for (const [name, minimum] of Object.entries(MINIMUM)) {
      const ours = (counts[name] ?? 0) / samples;
      result[name] = { ours, minimum };
      row(name, ours.toFixed(1), `minimum ${minimum}${minimum ? `, ${ratio(ours, minimum)}` : ''}`);
    }
    const sum = (pick: (n: string) => boolean) => Object.entries(result).filter(([n]) => pick(n)).reduce((a, [, v]) => [a[0] + v.ours, a[1] + v.minimum], [0, 0]);
    const [kube, kubeMin] = sum((n) => !n.startsWith('GitHub'));
    const [gh, ghMin] = sum((n) => n.startsWith('GitHub'));
    row('Kubernetes, all', kube.toFixed(1), `minimum ${kubeMin}, ${ratio(kube, kubeMin)}`);
    row('GitHub, all', gh.toFixed(1), `minimum ${ghMin}, ${ratio(gh, ghMin)}`);
    return result;
  } finally {
    await w.stop();
  }
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
    env: { PATH: process.env.PATH ?? '', ...env, NODE_OPTIONS: `--require ${path.join(packageRoot(), 'bench', 'rusage.js')}`, BENCH_RUSAGE_FILE: file },
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

export async function wallTime(samples: number) {
  const w = await remediationWorld('bench-wall-time', 'card');
  try {
    const tasks = Array.from({ length: 2 * samples }, (_, i) => i + 1);
    await w.seed(tasks);
    w.gh.addLabel(REPO, 'remediation-in-progress');
    const conn = loadConnection({ KUBECONFIG: w.kubeconfig });
    const job: ProcessRun[] = [];
    const bare: ProcessRun[] = [];
    const empty: ProcessRun[] = [];
    for (let i = 0; i < samples; i++) {
      empty.push(await measured(['-e', '0'], {}));
      job.push(await measured([BUNDLE, 'run'], w.env({ taskId: String(i + 1) })));
      const t = samples + i + 1;
      const env = w.env({ taskId: String(t) });
      const input = readInput(env);
      bare.push(
        await measured([path.join(packageRoot(), 'bench', 'bare-cancellation.js')], {
          KUBE_SERVER: conn.server,
          KUBE_TOKEN: conn.token!,
          KUBE_CA: clusterInfo().caFile,
          NS: w.namespace,
          GROUP: input.codeRun.group,
          PLURAL: input.codeRun.plural,
          SELECTOR: input.selector,
          LEASE_NAME: `${leaseName(REPO, t)}-bare`,
          GQL_URL: w.gh.url,
          GQL_TOKEN: w.gh.token,
          Q_RESOLVE: RESOLVE_QUERY,
          Q_TRANSITION: transitionMutation({ remove: true, add: true, comment: true }),
          OWNER: input.owner,
          NAME: input.name,
          BRANCH: input.branch,
          READY: input.labels.ready,
          REMEDIATION: input.labels.remediation,
        }),
      );
    }
    const failed = [...job, ...bare, ...empty].filter((r) => r.code !== 0).length;
    if (failed) throw new Error(`${failed} measured run(s) failed`);
    const m = (runs: ProcessRun[], k: keyof ProcessRun) => median(runs.map((r) => r[k] as number));
    heading(`2. one cancellation as a process (medians of ${samples})`);
    row('bare script: minimal requests, no checks (floor)', ms(m(bare, 'wallMs')), 'floor');
    row('Job bundle, wall time', ms(m(job, 'wallMs')), ratio(m(job, 'wallMs'), m(bare, 'wallMs')));
    row('node -e 0, CPU time (floor)', ms(m(empty, 'cpuMs')), 'floor');
    row('bare script, CPU time', ms(m(bare, 'cpuMs')), ratio(m(bare, 'cpuMs'), m(empty, 'cpuMs')));
    row('Job bundle, CPU time', ms(m(job, 'cpuMs')), ratio(m(job, 'cpuMs'), m(empty, 'cpuMs')));
    row('node -e 0, peak RSS (floor)', `${(m(empty, 'maxRssKiB') / 1024).toFixed(1)} MiB`, 'floor');
    row('bare script, peak RSS', `${(m(bare, 'maxRssKiB') / 1024).toFixed(1)} MiB`, ratio(m(bare, 'maxRssKiB'), m(empty, 'maxRssKiB')));
    row('Job bundle, peak RSS', `${(m(job, 'maxRssKiB') / 1024).toFixed(1)} MiB`, ratio(m(job, 'maxRssKiB'), m(empty, 'maxRssKiB')));
    const summary = (runs: ProcessRun[]) => ({ wallMs: m(runs, 'wallMs'), cpuMs: m(runs, 'cpuMs'), maxRssKiB: m(runs, 'maxRssKiB') });
    return { samples, job: summary(job), bare: summary(bare), nodeEmpty: summary(empty) };
  } finally {
    await w.stop();
  }
}

export async function scale(sizes: number[], samples: number) {
  heading(`3. latency of one cancellation as the namespace grows (${samples} per size)`);
  const result: Array<Record<string, number>> = [];
  for (const size of sizes) {
    const w = await remediationWorld(`bench-scale-${size}`, 'card');
    try {
      const t0 = process.hrtime.bigint();
      await w.seed(Array.from({ length: Math.ceil(size / 3) }, (_, i) => i + 1));
      const seedMs = since(t0);
      w.gh.addLabel(REPO, 'remediation-in-progress');
      const counts: Record<string, number> = {};
      const run = inProcess(w, counts);
      const latencies: number[] = [];
      for (let t = 1; t <= samples; t++) {
        const t1 = process.hrtime.bigint();
        await run(t);
        latencies.push(since(t1));
      }
      const [p50, p99] = [quantile(latencies, 0.5), quantile(latencies, 0.99)];
      const base = result[0]?.p50Ms ?? p50;
      row(`${size} CodeRuns: p50 / p99`, `${ms(p50)} / ${ms(p99)}`, result.length ? `p50 ${ratio(p50, base)} of ${sizes[0]}` : 'baseline');
      result.push({ size, p50Ms: p50, p99Ms: p99, seedMs });
    } finally {
      await w.stop();
    }
  }
  return result;
}

export async function throughput(prs: number) {
  const w = await remediationWorld('bench-throughput', 'card');
  try {
    const tasks = Array.from({ length: prs }, (_, i) => i + 1);
    await w.seed(tasks);
    w.gh.addLabel(REPO, 'remediation-in-progress');
    const counts: Record<string, number> = {};
    const from = w.gh.requests.length;
    // One client per push, as separate pods would have.
    const runs = tasks.map(() => inProcess(w, counts));
    const t0 = process.hrtime.bigint();
    const outcomes = await Promise.all(tasks.map((t, i) => runs[i](t)));
    const totalMs = since(t0);
    const converged = tasks.filter((t) => w.gh.prLabels(REPO, t).join() === 'remediation-in-progress').length;
    const left = (await w.names()).length;
    const gh = githubCounts(w, from);
    const kube = Object.values(counts).reduce((a, b) => a + b, 0);
    heading(`4. ${prs} pushes for ${prs} PRs at once (in one process, one client per push)`);
    row('time to global convergence', ms(totalMs), `${ms(totalMs / prs)} per push`);
    row('PRs relabelled / CodeRuns left (Rex only)', `${converged} / ${left}`, `expected ${prs} / ${prs}`);
    row('GitHub requests per push', ((gh['GitHub query'] + gh['GitHub mutation']) / prs).toFixed(2), 'minimum 2');
    row('Kubernetes requests per push', (kube / prs).toFixed(2), 'minimum 3');
    return { prs, totalMs, converged, done: outcomes.filter((o) => o.kind === 'done').length, githubPerPush: (gh['GitHub query'] + gh['GitHub mutation']) / prs, kubePerPush: kube / prs };
  } finally {
    await w.stop();
  }
}
