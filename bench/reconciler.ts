/**
 * Figure 7: what one reconciler pass costs on GitHub, read side, with 10, 100 and 1,000 repositories in the
 * organization, against the real kube-apiserver and the GitHub test server, which prices every request as
 * GitHub documents (`rateLimit.cost`). Sparse: 20 tasks with QA runs in all; dense: 500. Every repository has
 * an open PR; the pass finds nothing to do, which is what a pass costs when every webhook arrived. The cost
 * follows the tasks with QA runs, not the repositories configured.
 */
import { parse } from 'graphql';
import { PRESETS, seedCodeRuns } from '../test/harness/cluster';
import { remediationWorld } from '../test/fixtures/remediation-env';
import { queryCost } from '../test/github-server/server';
import { heading, ratio, row } from './stats';

const BOT = { name: 'rex', login: 'rex-5dlabs[bot]' };
const DENSITIES = { sparse: 20, dense: 500 } as const;
/** The goals of the issue: per pass at 1,000 repositories (sparse), and per 10 tasks (dense). */
const GOALS = { sparseRequests: 2, sparsePoints: 5, densePointsPer10Tasks: 1 };

/** The least a pass could read for `tasks` tasks: each task's newest PR with its labels, nothing else. */
function floorPoints(tasks: number): number {
  const aliases = Array.from(
    { length: tasks },
    (_, i) =>
      `t${i}: repository(owner: "o", name: "r${i}") { pullRequests(headRefName: "b", first: 1) { nodes { labels(first: 100) { nodes { name } } } } }`,
  );
  return queryCost(parse(`query { ${aliases.join('\n')} }`), {}).points;
}

export async function reconcilerCost(repositoryCounts: number[]) {
  heading('7. one reconciler pass on GitHub (read side): the cost follows the tasks with QA runs, not the repositories');
  const result: Array<Record<string, number | string>> = [];
  for (const n of repositoryCounts) {
    for (const [density, tasks] of Object.entries(DENSITIES)) {
      const w = await remediationWorld(`bench-reconcile-${n}-${density}`, 'cto');
      try {
        const repositories = Array.from({ length: n }, (_, i) => `5dlabs/project-${i}`);
        for (const repo of repositories) {
          w.gh.addRepository(repo);
          w.gh.push(repo, 'feature/task-1-implementation', 'a'.repeat(40), BOT);
          w.gh.openPullRequest(repo, 'feature/task-1-implementation', ['ready-for-qa']);
        }
        // `tasks` tasks spread over the repositories, each with a PR whose QA started after Rex's last push.
        const byRepo = new Map<number, number[]>();
        for (let t = 0; t < tasks; t++) byRepo.set(t % n, [...(byRepo.get(t % n) ?? []), Math.floor(t / n) + 1]);
        for (const [r, ids] of byRepo) {
          const repo = repositories[r];
          for (const id of ids.filter((i) => i > 1)) {
            w.gh.push(repo, `feature/task-${id}-implementation`, id.toString(16).padStart(40, 'a'), BOT);
            w.gh.openPullRequest(repo, `feature/task-${id}-implementation`, ['ready-for-qa']);
          }
          const service = {
            ...PRESETS.cto,
            labels: (a: 'rex' | 'cleo' | 'tess', t: number) => ({ ...PRESETS.cto.labels(a, t), service: `project-${r}` }),
          };
          await seedCodeRuns(w.namespace, service, ids, ['cleo', 'tess']);
        }
        // The bundle as the CronJob runs it, for the whole organization: its summary and the server must agree.
        const from = w.gh.requests.length;
        const pass = await w.reconcile({ AC_ALLOWED_REPOSITORIES: '5dlabs/*', AC_BOTS: BOT.login });
        if (pass.code !== 0) throw new Error(`reconcile pass exited ${pass.code}: ${pass.stderr || JSON.stringify(pass.logs.at(-1))}`);
        const report = pass.logs.find((l) => l.step === 'reconcile-done')!;
        const sent = w.gh.requests.slice(from);
        const points = sent.reduce((sum, r) => sum + (r.points ?? 0), 0);
        if (report.github.points !== points)
          throw new Error(`the pass reported ${report.github.points} points, the server charged ${points}`);
        if (report.tasks !== tasks) throw new Error(`the pass saw ${report.tasks} tasks, expected ${tasks}`);
        const floor = floorPoints(tasks);
        const goal =
          density === 'sparse'
            ? `goal at 1,000 repositories: <= ${GOALS.sparseRequests} requests, <= ${GOALS.sparsePoints} points`
            : `goal: <= ${(tasks / 10) * GOALS.densePointsPer10Tasks} points (1 per 10 tasks)`;
        row(`${n} repositories, ${tasks} tasks: requests`, sent.length, `floor 1, ${ratio(sent.length, 1)}`);
        row(`${n} repositories, ${tasks} tasks: points`, points, `floor ${floor}, ${ratio(points, floor)}; ${goal}`);
        row(
          `${n} repositories, ${tasks} tasks: mutations / resynced`,
          `${sent.filter((r) => r.operation !== 'Survey').length} / ${report.resynced.length}`,
          'expected 0 / 0',
        );
        result.push({ repositories: n, density, tasks, requests: sent.length, points, floorPoints: floor });
      } finally {
        await w.stop();
      }
    }
  }
  return result;
}
