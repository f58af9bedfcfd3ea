// The floor of one cancellation: the protocol's minimal requests issued back to back, with no retries,
// checks, logging or client library. Query, Lease create, delete-collection, mutation, Lease release.
const fs = require('fs');
const https = require('https');

const e = process.env;
const agent = new https.Agent({ keepAlive: true, ca: fs.readFileSync(e.KUBE_CA) });

function kube(method, path, body) {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const headers = { authorization: `Bearer ${e.KUBE_TOKEN}`, 'content-type': 'application/json', ...(payload ? { 'content-length': payload.length } : {}) };
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(path, e.KUBE_SERVER), { method, agent, headers }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => (res.statusCode < 300 ? resolve(JSON.parse(text)) : reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`))));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

async function github(query, variables) {
  const res = await fetch(e.GQL_URL, { method: 'POST', headers: { authorization: `bearer ${e.GQL_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const json = await res.json();
  if (json.errors) throw new Error(JSON.stringify(json.errors));
  return json.data;
}

(async () => {
  const leases = `/apis/coordination.k8s.io/v1/namespaces/${e.NS}/leases`;
  const { repository: repo } = await github(e.Q_RESOLVE, { owner: e.OWNER, name: e.NAME, ref: `refs/heads/${e.BRANCH}`, ready: e.READY, remediation: e.REMEDIATION });
  const pr = repo.ref.associatedPullRequests.nodes[0];
  const now = new Date().toISOString().replace('Z', '000Z');
  const lease = await kube('POST', leases, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: e.LEASE_NAME }, spec: { holderIdentity: 'bare', leaseDurationSeconds: 60, acquireTime: now, renewTime: now } });
  await kube('DELETE', `/apis/${e.GROUP}/v1/namespaces/${e.NS}/${e.PLURAL}?labelSelector=${encodeURIComponent(e.SELECTOR)}`, { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' });
  await github(e.Q_TRANSITION, { pr: pr.id, remove: [repo.readyLabel.id], add: [repo.remediationLabel.id], body: 'remediation started' });
  await kube('PUT', `${leases}/${e.LEASE_NAME}`, { ...lease, metadata: { ...lease.metadata, annotations: { state: '{}' } }, spec: { ...lease.spec, holderIdentity: null } });
})().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
