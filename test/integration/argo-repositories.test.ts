/**
 * One organization webhook, two repositories, the same task ids, through Argo Events' own processes: a signed
 * push and a PR close for one repository cancel that repository's QA runs only. The card's CodeRuns name their
 * repository in `spec.repositoryUrl`, so the scope is that field and the Job filters what it lists.
 */
import { argoWorld, ArgoWorld, BOT, SECRET, sha } from '../fixtures/argo-world';
import { pullRequestEndedDelivery, pushDelivery } from '../fixtures/github-deliveries';
import { REPO } from '../fixtures/remediation-env';
import { seedRepositoryRuns } from '../harness/cluster';

jest.setTimeout(240_000);

const OTHER = '5dlabs/web';
let w: ArgoWorld;
/** After every seeding, by more than the clock-skew margin: every seeded run is older than the events. */
let eventAt: number;

/** The QA runs of task `t` of `repository`: the fixture names the seeded repository's runs `cto-…`. */
const qa = (names: string[], repository: string, t: number) =>
  names.filter((n) => new RegExp(`^${repository.split('/')[1]}-t${t}-(quality|testing)-`).test(n));

beforeAll(async () => {
  w = await argoWorld('argo-repositories', [1, 2], {
    github: { organizations: ['5dlabs'], repositories: [REPO, OTHER] },
    repositoryScope: { from: 'field:spec.repositoryUrl', format: 'https://github.com/{owner}/{name}' },
  });
  w.gh.addRepository(OTHER);
  w.gh.addLabel(OTHER, 'remediation-in-progress');
  for (const t of [1, 2]) {
    w.gh.setBranch(OTHER, `feature/task-${t}-implementation`, sha(t));
    w.gh.openPullRequest(OTHER, `feature/task-${t}-implementation`, ['ready-for-qa']);
  }
  await seedRepositoryRuns(w.namespace, 'card', OTHER, [1, 2]);
  eventAt = Math.ceil(Date.now() / 1000) + 6;
});

afterAll(() => w?.stop());

test('a bot push to the other repository’s task 1 cancels its runs; task 1 of the first repository keeps its own', async () => {
  const before = await w.names();
  const delivery = pushDelivery({
    login: BOT,
    repository: OTHER,
    ref: 'refs/heads/feature/task-1-implementation',
    after: sha(1),
    id: 'web-1',
    pushedAt: eventAt,
  });
  expect(await w.stack.deliver('push', 'web-1', delivery.payload, SECRET)).toBe(200);
  await w.until('the other repository relabelled', async () => w.gh.prLabels(OTHER, 1).join() === 'remediation-in-progress');
  const after = await w.names();
  expect(before.filter((n) => !after.includes(n)).sort()).toEqual(qa(before, OTHER, 1).sort());
  expect(qa(after, REPO, 1)).toHaveLength(2);
  expect(w.gh.prLabels(REPO, 1)).toEqual(['ready-for-qa']);
});

test('a PR of the first repository closed: its task 2 runs go, the other repository’s task 2 stays', async () => {
  const before = await w.names();
  w.gh.closePullRequest(REPO, 2);
  const at = new Date(eventAt * 1000).toISOString().replace('.000Z', 'Z');
  const closed = pullRequestEndedDelivery({
    action: 'closed',
    repository: REPO,
    branch: 'feature/task-2-implementation',
    number: 2,
    headSha: sha(2),
    at,
    id: 'close-cto-2',
  });
  expect(await w.stack.deliver('pull_request', 'close-cto-2', closed.payload, SECRET)).toBe(200);
  await w.until('the close Job finished', async () => w.stack.jobs.some((j) => j.logs.includes('"delivery":"close-cto-2"')));
  const after = await w.names();
  expect(before.filter((n) => !after.includes(n)).sort()).toEqual(qa(before, REPO, 2).sort());
  expect(qa(after, OTHER, 2)).toHaveLength(2);
});
