/**
 * The configuration's JSON schema restates facts of the contract and the constructs: its enums, patterns and
 * bounds must equal theirs, so that the schema never accepts what the constructs refuse, or the reverse.
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  BotLoginCase,
  DNS_LABEL,
  HTTP_URL,
  JobMode,
  REDELIVERY_HOOK,
  RemediationMode,
  REPOSITORY_OR_OWNER,
} from '../../../src/contract/env';
import { LABEL_KEY } from '../../../src/contract/labels';
import { JOB_MINIMUM } from '../../../src/constructs/remediation-job-props';
import { repoRoot } from './synth-helpers';

const schema = JSON.parse(fs.readFileSync(path.join(repoRoot, 'schema', 'config.schema.json'), 'utf8'));
const at = (...keys: string[]): any => keys.reduce((o, k) => o?.properties?.[k] ?? o?.[k], schema);

test.each<[string, any, string[]]>([
  ['mode', at('mode').enum, Object.values(RemediationMode)],
  ['job.mode', at('job', 'mode').enum, Object.values(JobMode)],
  ['github.botLoginCase', at('github', 'botLoginCase').enum, Object.values(BotLoginCase)],
])('the enum of %s is the contract', (_field, values, expected) => expect(values).toEqual(expected));

test.each<[string, string, RegExp, (source: string) => string]>([
  ['definitions.dnsLabel', schema.definitions.dnsLabel.pattern, DNS_LABEL, (s) => s],
  ['definitions.labelKey', schema.definitions.labelKey.pattern, LABEL_KEY, (s) => s],
  ['github.repositories', at('github', 'repositories').items.pattern, REPOSITORY_OR_OWNER, (s) => s],
  ['github.graphqlUrl', at('github', 'graphqlUrl').pattern, HTTP_URL, (s) => s],
  ['reconciler.redelivery.restUrl', at('reconciler', 'redelivery', 'restUrl').pattern, HTTP_URL, (s) => s],
  // Empty turns the redelivery off.
  ['reconciler.redelivery.hook', at('reconciler', 'redelivery', 'hook').pattern, REDELIVERY_HOOK, (s) => `^(|${s.slice(1, -1)})$`],
])('the pattern of %s is the contract', (_field, pattern, regex, spelled) => expect(pattern).toBe(spelled(regex.source)));

test('both location fields share one definition', () => {
  expect([at('repositoryScope', 'from'), at('ordering', 'revision')].map((f) => f.$ref)).toEqual([
    '#/definitions/location',
    '#/definitions/location',
  ]);
  expect(JSON.stringify(schema).split(schema.definitions.location.pattern.replace(/\\/g, '\\\\')).length).toBe(2);
});

test.each(Object.entries(JOB_MINIMUM))("job.%s: the schema's bounds are the constructs' (%i, no maximum)", (field, minimum) => {
  expect([at('job', field).minimum, at('job', field).maximum]).toEqual([minimum, undefined]);
});
