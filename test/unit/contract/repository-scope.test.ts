/**
 * Which repository a CodeRun belongs to, as a table: the platform writes `spec.repositoryUrl` as `owner/name` (its
 * play template) and as the repository's URL (its remediation sensor); git remotes add `.git` or use ssh.
 */
import { GITHUB_SPELLING, RepositoryScope, runRepository, scopeIssues, webHost } from '../../../src/contract/repository-scope';

const ALLOWED = ['5dlabs/*'];
const scope = (host = 'github.com'): RepositoryScope => ({
  from: { kind: 'field', key: 'spec.repositoryUrl' },
  format: GITHUB_SPELLING,
  host,
});
const of = (url: unknown, s = scope()) => runRepository({ metadata: { name: 'r' }, spec: { repositoryUrl: url } } as never, s, ALLOWED);

test.each([
  ['5dlabs/cto-play-test', '5dlabs/cto-play-test'],
  ['5DLabs/CTO-Play-Test', '5dlabs/cto-play-test'],
  ['https://github.com/5dlabs/cto', '5dlabs/cto'],
  ['https://github.com/5dlabs/cto/', '5dlabs/cto'],
  ['https://github.com/5dlabs/cto.git', '5dlabs/cto'],
  ['HTTPS://GitHub.com/5dlabs/cto.git', '5dlabs/cto'],
  ['http://github.com/5dlabs/cto', '5dlabs/cto'],
  ['https://x-access-token@github.com/5dlabs/cto.git', '5dlabs/cto'],
  ['git@github.com:5dlabs/cto.git', '5dlabs/cto'],
  ['git@github.com:5dlabs/cto', '5dlabs/cto'],
  ['ssh://git@github.com/5dlabs/cto.git', '5dlabs/cto'],
  ['ssh://git@github.com:22/5dlabs/cto.git', '5dlabs/cto'],
  ['5dlabs/cto.js', '5dlabs/cto.js'],
  ['https://github.com/5dlabs/cto.js.git', '5dlabs/cto.js'],
])('%s belongs to %s', (url, repository) => {
  expect(of(url)).toEqual({ repository });
});

test.each([
  ['https://gitlab.com/5dlabs/cto', 'field spec.repositoryUrl="https://gitlab.com/5dlabs/cto" does not match a repository of github.com'],
  ['https://github.com.evil.io/5dlabs/cto', 'does not match a repository of github.com'],
  ['https://github.com/5dlabs/cto/tree/main', 'does not match a repository of github.com'],
  ['cto', 'does not match a repository of github.com'],
  ['5dlabs/cto play', 'does not match a repository of github.com'],
  ['acme/cto', 'acme/cto is not an allowed repository'],
  ['', 'no field spec.repositoryUrl'],
  [42, 'no field spec.repositoryUrl'],
])('%j is unreadable: the run is kept, with the reason', (url, why) => {
  const r = of(url);
  expect('unreadable' in r && r.unreadable).toContain(why);
});

test('a GitHub Enterprise host: its URLs are read, github.com ones are not', () => {
  expect(of('https://ghe.example.com/5dlabs/cto.git', scope('ghe.example.com'))).toEqual({ repository: '5dlabs/cto' });
  expect(of('git@ghe.example.com:5dlabs/cto.git', scope('ghe.example.com'))).toEqual({ repository: '5dlabs/cto' });
  expect(of('https://github.com/5dlabs/cto', scope('ghe.example.com'))).toHaveProperty('unreadable');
  // owner/name names no host: it is the installation's.
  expect(of('5dlabs/cto', scope('ghe.example.com'))).toEqual({ repository: '5dlabs/cto' });
});

test.each([
  ['https://api.github.com/graphql', 'github.com'],
  ['https://api.acme.ghe.com/graphql', 'acme.ghe.com'],
  ['https://ghe.example.com/api/graphql', 'ghe.example.com'],
  ['http://127.0.0.1:8080/graphql', '127.0.0.1'],
])('the web host of %s is %s', (url, host) => {
  expect(webHost(url)).toBe(host);
});

test.each<[RepositoryScope, string]>([
  [
    { from: { kind: 'label', key: 'service' }, format: GITHUB_SPELLING, host: 'github.com' },
    'repositoryScope.format: "github" cannot be read from a label',
  ],
  [{ ...scope(), host: 'github' }, 'repositoryScope.host: "github" is not a host name'],
  [
    { ...scope(), format: 'https://github.com/{owner}' },
    'repositoryScope.format: "https://github.com/{owner}" must contain {name}, or be "github"',
  ],
])('scope %j is refused', (s, issue) => {
  expect(scopeIssues(ALLOWED, s, 'repositoryScope').join('\n')).toContain(issue);
});
