/** Every GraphQL document the Job can send, validated against GitHub's published schema. */
import { parse, validate } from 'graphql';
import { allDocuments } from '../../../src/job/github/graphql-documents';
import { githubSchema } from '../../github-server/server';

const errorsOf = (doc: string) => validate(githubSchema(), parse(doc)).map((e) => e.message);

test.each(Object.entries(allDocuments()))("%s is valid against GitHub's schema", (_name, doc) => {
  expect(errorsOf(doc)).toEqual([]);
});

test('there are 16 documents: the resolve query, two view batches, createLabel, the label query and 11 transition variants', () => {
  expect(Object.keys(allDocuments())).toHaveLength(16);
});

test("the check fails on a typo'd field", () => {
  const typo = allDocuments().RESOLVE_QUERY.replace('headRefName', 'headRefNam');
  expect(errorsOf(typo)).toEqual([expect.stringContaining('Cannot query field "headRefNam" on type "PullRequest"')]);
});
