/**
 * Figure 7: what one reconciler pass costs on GitHub, read side, at 10 and 50 repositories with 100 open
 * labelled PRs each (a full page of the view's PR list), against the real kube-apiserver and the GitHub test
 * server, which prices every request as GitHub documents (`rateLimit.cost`). The pass finds nothing to do:
 * this is what the level-triggered resync costs when every webhook arrived.
 */
import { parse } from 'graphql';
import { remediationWorld } from '../test/fixtures/remediation-env';
import { queryCost } from '../test/github-server/server';
import { heading, ratio, row } from './stats';

const PRS_PER_REPOSITORY = 100;
const BOT = { name: 'rex', login: '5DLabs-Rex[bot]' };

/**
 * The least a pass could read per repository: the open labelled PRs with their labels and nothing else. It
 * leaves out what the resync and the Job's markers need (label timeline, head commit, marker comments).
 */
const FLOOR_QUERY = parse(`query { repository(owner: "o", name: "r") {
  pullRequests(states: [OPEN], labels: ["ready-for-qa"], first: 100) { nodes { number labels(first: 100) { nodes { name } } } }
} }`);

/** GitHub's limit on the nodes one query may ask for: how many repositories one request could hold at best. */
const NODE_LIMIT = 500_000;

export async function reconcilerCost(repositoryCounts: number[]) {
  heading(`7. one reconciler pass on GitHub (read side), ${PRS_PER_REPOSITORY} open labelled PRs per repository`);
  const result: Array<Record<string, number>> = [];
  for (const n of repositoryCounts) {
    const w = await remediationWorld(`bench-reconcile-${n}`, 'card');
    try {
      const repositories = Array.from({ length: n }, (_, i) => `5dlabs/project-${i}`);
      for (const repo of repositories) {
        w.gh.addRepository(repo);
        for (let t = 1; t <= PRS_PER_REPOSITORY; t++) {
          const branch = `feature/task-${t}-implementation`;
          w.gh.push(repo, branch, t.toString(16).padStart(40, 'a'), BOT);
          w.gh.openPullRequest(repo, branch, ['ready-for-qa']);
        }
      }
      // The bundle as the CronJob runs it, with this world's repositories: the pass's own summary and the
      // server's record must agree on what it cost.
      const from = w.gh.requests.length;
      const pass = await w.reconcile({ AC_ALLOWED_REPOSITORIES: repositories.join(','), AC_BOTS: BOT.login });
      if (pass.code !== 0) throw new Error(`reconcile pass exited ${pass.code}: ${pass.stderr || JSON.stringify(pass.logs.at(-1))}`);
      const report = pass.logs.find((l) => l.step === 'reconcile-done')!;
      const sent = w.gh.requests.slice(from);
      const points = sent.reduce((sum, r) => sum + (r.points ?? 0), 0);
      if (report.github.points !== points)
        throw new Error(`the pass reported ${report.github.points} points, the server charged ${points}`);
      const floorPoints = n * queryCost(FLOOR_QUERY, {});
      const nodes = PRS_PER_REPOSITORY * (1 + 100 + 30 + 20 + 1) + 1;
      const floorRequests = Math.ceil((n * nodes) / NODE_LIMIT);
      row(
        `${n} repositories: GitHub requests per pass`,
        sent.length,
        `floor ${floorRequests}, ${ratio(sent.length, floorRequests)}; one per repository, so one failing repository fails alone`,
      );
      row(
        `${n} repositories: GitHub points per pass`,
        points,
        `floor ${floorPoints} (labels only), ${ratio(points, floorPoints)}; of 5,000 an hour`,
      );
      row(
        `${n} repositories: mutations / resynced`,
        `${sent.filter((r) => r.operation !== 'View').length} / ${report.resynced.length}`,
        'expected 0 / 0',
      );
      result.push({ repositories: n, requests: sent.length, points, floorRequests, floorPoints });
    } finally {
      await w.stop();
    }
  }
  return result;
}
