/** Each default is written once (src/config/defaults.ts); the schema, the runtime and the docs take none of their own. */
import * as fs from 'fs';
import * as path from 'path';
import { DEFAULTS, resolveConfig } from '../../../src';
import { TABLES_PAGES, withTables } from '../../../scripts/readme-tables';
import { repoRoot } from './synth-helpers';

test('the schema checks shape only: it carries no default', () => {
  const schema = fs.readFileSync(path.join(repoRoot, 'schema', 'config.schema.json'), 'utf8');
  expect(schema).not.toMatch(/"default"\s*:/);
});

test("an empty configuration resolves to DEFAULTS, the events namespace being the namespace and the GitHub host github.graphqlUrl's", () => {
  expect(resolveConfig({})).toEqual({
    ...DEFAULTS,
    eventsNamespace: DEFAULTS.namespace,
    repositoryScope: { ...DEFAULTS.repositoryScope, host: 'github.com' },
  });
});

test('a configuration overrides field by field, lists whole, and never changes DEFAULTS', () => {
  const before = structuredClone(DEFAULTS);
  const c = resolveConfig({ job: { backoffLimit: 1 }, github: { bots: ['x[bot]'] } });
  expect(c.job).toEqual({ ...DEFAULTS.job, backoffLimit: 1 });
  expect(c.github.bots).toEqual(['x[bot]']);
  c.github.repositories.push('evil/repo');
  expect(DEFAULTS).toEqual(before);
});

// The configuration and env tables, the token permissions, the exit codes, the Sensor's filters, the suites.
test.each(TABLES_PAGES)('the generated tables of %s are current (npm run docs)', (name) => {
  const page = fs.readFileSync(path.join(repoRoot, name), 'utf8');
  expect(withTables(name, page)).toBe(page);
});

test('a table that drifts from the code fails the check', () => {
  const page = fs.readFileSync(path.join(repoRoot, 'docs/job.md'), 'utf8');
  const drifted = page.replace(/^\| 75 \|[^\n]*$/m, '| 75 | retryable | retried |');
  expect(drifted).not.toBe(page);
  expect(withTables('docs/job.md', drifted)).toBe(page);
});
