/** The synthesized RBAC, applied to a real kube-apiserver and exercised with real ServiceAccount tokens. */
import { admin, asToken, Client, createNamespace, distObjects, serviceAccountKubeconfig } from '../harness/cluster';

const NS = 'rbac-home';
const OTHER = 'rbac-other';
let job: Client;
let sensor: Client;
let eventSource: Client;

async function can(client: Client, namespace: string, verb: string, group: string, resource: string): Promise<boolean> {
  const r = await client.request('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    spec: { resourceAttributes: { namespace, verb, group, resource } },
  });
  expect(r.status).toBe(201);
  return r.body.status.allowed;
}

beforeAll(async () => {
  await createNamespace(NS);
  await createNamespace(OTHER);
  const objects = distObjects(NS);
  for (const o of objects) await admin().apply(o);
  console.log(`applied ${objects.length} objects from dist/ with server-side apply: ${objects.map((o) => o.kind).join(', ')}`);
  job = asToken((await serviceAccountKubeconfig(NS, 'agent-cancellation-job')).token);
  sensor = asToken((await serviceAccountKubeconfig(NS, 'agent-cancellation-sensor')).token);
  eventSource = asToken((await serviceAccountKubeconfig(NS, 'agent-cancellation-github')).token);
});

test('the API server accepts every object of dist/ (server-side apply, then read back)', async () => {
  const objects = distObjects(NS);
  for (const o of objects) {
    const applied = await admin().apply(o);
    expect(applied.metadata.uid).toBeTruthy();
  }
  expect(objects.length).toBeGreaterThanOrEqual(10);
});

describe('the Job identity', () => {
  const allowed: Array<[string, string, string]> = [
    ['list', 'platform.5dlabs.com', 'coderuns'],
    ['delete', 'platform.5dlabs.com', 'coderuns'],
    ['create', 'coordination.k8s.io', 'leases'],
    ['update', 'coordination.k8s.io', 'leases'],
    ['get', 'coordination.k8s.io', 'leases'],
    ['create', '', 'events'],
  ];
  const denied: Array<[string, string, string, string]> = [
    // Each stale run is deleted by name: a delete-collection could hit a run created after the push.
    [NS, 'deletecollection', 'platform.5dlabs.com', 'coderuns'],
    [OTHER, 'deletecollection', 'platform.5dlabs.com', 'coderuns'],
    [OTHER, 'delete', 'platform.5dlabs.com', 'coderuns'],
    [NS, 'delete', 'agents.platform', 'coderuns'],
    [NS, 'get', '', 'secrets'],
    [NS, 'list', '', 'secrets'],
    [NS, 'delete', 'batch', 'jobs'],
    [NS, 'create', 'batch', 'jobs'],
    [NS, 'delete', '', 'pods'],
    [NS, 'update', '', 'configmaps'],
    [NS, 'create', 'platform.5dlabs.com', 'coderuns'],
    [NS, 'patch', 'platform.5dlabs.com', 'coderuns'],
  ];
  test.each(allowed)('may %s %s/%s in its namespace', async (verb, group, resource) => {
    expect(await can(job, NS, verb, group, resource)).toBe(true);
  });
  test.each(denied)('may not, in %s, %s %s/%s', async (ns, verb, group, resource) => {
    expect(await can(job, ns, verb, group, resource)).toBe(false);
  });

  test('real requests: lists CodeRuns here, is forbidden elsewhere and on Secrets', async () => {
    expect((await job.request('GET', `/apis/platform.5dlabs.com/v1/namespaces/${NS}/coderuns`)).status).toBe(200);
    expect(
      (await job.request('DELETE', `/apis/platform.5dlabs.com/v1/namespaces/${OTHER}/coderuns?labelSelector=task-id%3D1`)).status,
    ).toBe(403);
    expect((await job.request('GET', `/api/v1/namespaces/${NS}/secrets`)).status).toBe(403);
    expect((await job.request('DELETE', `/apis/batch/v1/namespaces/${NS}/jobs/x`)).status).toBe(403);
  });
});

describe('the Sensor identity', () => {
  test('may create Jobs in the CodeRun namespace and nothing else', async () => {
    expect(await can(sensor, NS, 'create', 'batch', 'jobs')).toBe(true);
    const checks: Array<[string, string, string, string]> = [
      [NS, 'delete', 'batch', 'jobs'],
      [NS, 'get', 'batch', 'jobs'],
      [NS, 'list', 'platform.5dlabs.com', 'coderuns'],
      [NS, 'delete', 'platform.5dlabs.com', 'coderuns'],
      [NS, 'get', '', 'secrets'],
      [NS, 'create', '', 'pods'],
      [OTHER, 'create', 'batch', 'jobs'],
    ];
    for (const [ns, verb, group, resource] of checks)
      expect([ns, verb, resource, await can(sensor, ns, verb, group, resource)]).toEqual([ns, verb, resource, false]);
  });
});

describe('the EventSource identity', () => {
  test('has no API access at all', async () => {
    const checks: Array<[string, string, string]> = [
      ['create', 'batch', 'jobs'],
      ['list', 'platform.5dlabs.com', 'coderuns'],
      ['get', '', 'secrets'],
      ['get', '', 'configmaps'],
      ['create', 'coordination.k8s.io', 'leases'],
    ];
    for (const [verb, group, resource] of checks)
      expect([verb, resource, await can(eventSource, NS, verb, group, resource)]).toEqual([verb, resource, false]);
  });
});
