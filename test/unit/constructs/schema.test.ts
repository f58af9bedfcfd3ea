import { ARGO, subsetSchemas, upstreamDefinitions, validators } from '../../fixtures/argo-schema';
import { find, preset, synth } from './synth-helpers';

const v = validators();
const bundles = { card: synth(preset('card')), '5dlabs-cto': synth(preset('5dlabs-cto')) };

// The 5dlabs preset subscribes to the platform's EventSource: it makes a Sensor only.
describe.each([
  ['card', bundles.card, ['Sensor', 'EventSource']],
  ['5dlabs-cto', bundles['5dlabs-cto'], ['Sensor']],
] as const)('%s: Argo objects validate strictly', (_name, objects, kinds) => {
  test.each(kinds)('%s against upstream v1.9.11 and the subset schema', (kind) => {
    const obj = find(objects, kind);
    for (const validate of [v.upstream[kind], v.subset[kind]]) {
      const ok = validate(obj);
      expect(validate.errors ?? []).toEqual([]);
      expect(ok).toBe(true);
    }
  });
});

describe('strict validation catches invented fields', () => {
  test('a k8s trigger with a labelSelector is rejected by both schemas', () => {
    const sensor = structuredClone(find(bundles.card, 'Sensor'));
    sensor.spec.triggers[0].template.k8s.labelSelector = 'agent-type in (cleo,tess)';
    expect(v.upstream.Sensor(sensor)).toBe(false);
    expect(v.subset.Sensor(sensor)).toBe(false);
  });

  test('a data filter without a type is rejected', () => {
    const sensor = structuredClone(find(bundles.card, 'Sensor'));
    delete sensor.spec.dependencies[0].filters.data[0].type;
    expect(v.upstream.Sensor(sensor)).toBe(false);
  });

  test('an EventSource webhook with an invented field is rejected', () => {
    const es = structuredClone(find(bundles.card, 'EventSource'));
    es.spec.github.push.webhook.path = '/x';
    expect(v.upstream.EventSource(es)).toBe(false);
    expect(v.subset.EventSource(es)).toBe(false);
  });
});

/** Every field of the subset CRDs (which type imports/argoproj.io.ts) exists upstream with a compatible type. */
describe('the subset schema is a subset of upstream', () => {
  const defs = upstreamDefinitions();
  const resolve = (s: any): any => (s?.$ref ? resolve(defs[s.$ref.replace('#/definitions/', '')]) : s);
  const walk = (sub: any, up: any, at: string, out: string[]): void => {
    up = resolve(up);
    if (!up) {
      out.push(`${at}: not in upstream`);
      return;
    }
    if (sub.type && up.type && ![up.type].flat().includes(sub.type)) out.push(`${at}: ${sub.type} vs upstream ${up.type}`);
    for (const [k, s] of Object.entries<any>(sub.properties ?? {})) {
      if (['apiVersion', 'kind', 'metadata'].includes(k) && at.split('.').length === 1) continue;
      walk(s, up.properties?.[k], `${at}.${k}`, out);
    }
    if (sub.items) walk(sub.items, up.items, `${at}[]`, out);
    if (typeof sub.additionalProperties === 'object') walk(sub.additionalProperties, up.additionalProperties, `${at}{}`, out);
  };

  test.each(Object.entries(subsetSchemas()))('%s', (kind, schema) => {
    const mismatches: string[] = [];
    walk(schema, { $ref: `#/definitions/${ARGO}${kind}` }, kind, mismatches);
    expect(mismatches).toEqual([]);
  });
});
