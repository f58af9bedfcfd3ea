import { GitHubApi, Labels, RepositoryView, ResolvedPush, Survey, SurveyAsk, TransitionChange } from './github';
import { AppTokens, InstallationToken } from './github-app';
import { GitHubError, RepositoryRefusedError } from '../errors';

/**
 * GitHubApi as a GitHub App: `prepare` mints the run's token(s) scoped to its repositories, and each call goes
 * through the token covering its repository. Calls naming a node id (a label, a transition) go through the
 * token that read that node.
 */
export class AppGitHub implements GitHubApi {
  private readonly scoped: Array<{ readonly repositories: ReadonlySet<string>; readonly github: GitHubApi }> = [];
  private readonly byNode = new Map<string, GitHubApi>();
  /** Repositories GitHub would give no token for, with its reason. */
  private readonly refused = new Map<string, string>();

  constructor(
    private readonly tokens: AppTokens,
    private readonly client: (token: InstallationToken) => GitHubApi,
  ) {}

  /**
   * Mints tokens for the repositories no token covers yet, per owner (an installation each). GitHub refuses a whole token for one
   * repository the App is not installed on (or an owner without the App): the set is then halved
   * until each refused repository stands alone, so the others are still read (about 2 log2(n) requests for one
   * refusal among n), and each refusal is kept for its repository's calls.
   */
  async prepare(repositories: readonly string[]): Promise<void> {
    const byOwner = new Map<string, string[]>();
    for (const r of new Set(repositories.map((x) => x.toLowerCase()))) {
      if (this.refused.has(r) || this.scoped.some((s) => s.repositories.has(r))) continue;
      const owner = r.split('/')[0];
      byOwner.set(owner, [...(byOwner.get(owner) ?? []), r]);
    }
    for (const group of byOwner.values()) await this.mintCovering(group);
  }

  private async mintCovering(repositories: readonly string[]): Promise<void> {
    try {
      for (const t of await this.tokens.mint(repositories))
        this.scoped.push({ repositories: new Set(t.repositories), github: this.client(t) });
    } catch (e) {
      if (!(e instanceof RepositoryRefusedError)) throw e;
      if (repositories.length === 1) return void this.refused.set(repositories[0], e.message);
      const half = Math.ceil(repositories.length / 2);
      await this.mintCovering(repositories.slice(0, half));
      await this.mintCovering(repositories.slice(half));
    }
  }

  /** Revokes the run's tokens; returns why any could not be. */
  revoke(): Promise<string[]> {
    return this.tokens.revoke();
  }

  async resolve(owner: string, name: string, branch: string, labels: Labels): Promise<ResolvedPush> {
    const github = await this.on(owner, name);
    const resolved = await github.resolve(owner, name, branch, labels);
    this.remember(github, [resolved.repositoryId, resolved.pr?.id]);
    return resolved;
  }

  async view(owner: string, name: string, prs: number[], labels: Labels): Promise<RepositoryView> {
    const github = await this.on(owner, name);
    const view = await github.view(owner, name, prs, labels);
    this.rememberView(github, view);
    return view;
  }

  /** Each token's repositories surveyed through it; the results merged as one survey. */
  async survey(asks: readonly SurveyAsk[], labels: Labels): Promise<Survey> {
    await this.prepare(asks.map((a) => a.repository));
    const repositories = new Map<string, RepositoryView | { readonly error: string }>();
    for (const a of asks) {
      const refused = this.refused.get(a.repository.toLowerCase());
      if (refused) repositories.set(a.repository, { error: refused });
    }
    const cost = { requests: 0, points: 0, remaining: null as number | null };
    for (const { repositories: covered, github } of this.scoped) {
      const mine = asks.filter((a) => covered.has(a.repository.toLowerCase()) && !repositories.has(a.repository));
      if (!mine.length) continue;
      const part = await github.survey(mine, labels);
      for (const [repository, read] of part.repositories) {
        repositories.set(repository, read);
        if (!('error' in read)) this.rememberView(github, read);
      }
      cost.requests += part.cost.requests;
      cost.points += part.cost.points;
      cost.remaining = part.cost.remaining ?? cost.remaining;
    }
    return { repositories, cost };
  }

  createLabel(repositoryId: string, name: string, color: string, description: string): Promise<string> {
    return this.byId(repositoryId).createLabel(repositoryId, name, color, description);
  }

  transition(prId: string, change: TransitionChange): Promise<void> {
    return this.byId(prId).transition(prId, change);
  }

  /** The client of the token covering `owner/name`; a repository no caller prepared gets a token of its own. */
  private async on(owner: string, name: string): Promise<GitHubApi> {
    const repository = `${owner}/${name}`.toLowerCase();
    await this.prepare([repository]);
    const refused = this.refused.get(repository);
    if (refused) throw new GitHubError(refused);
    return this.scoped.find((s) => s.repositories.has(repository))!.github;
  }

  private rememberView(github: GitHubApi, view: RepositoryView): void {
    this.remember(github, [view.repositoryId, ...[...view.prs.values(), ...view.branches.values()].map((pr) => pr?.id)]);
  }

  private remember(github: GitHubApi, ids: Array<string | undefined>): void {
    for (const id of ids) if (id) this.byNode.set(id, github);
  }

  private byId(id: string): GitHubApi {
    const github = this.byNode.get(id) ?? (this.scoped.length === 1 ? this.scoped[0].github : undefined);
    if (!github) throw new GitHubError(`node ${id} was read by no token of this run`);
    return github;
  }
}
