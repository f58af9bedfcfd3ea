// The floor of one cancellation: the protocol's minimal requests back to back (query, Lease create, list of
// the task's QA runs, one delete per run that started before the push with a uid precondition, mutation,
// Lease release) over plain http/https, with no retries, checks, logging or client library. Plain JavaScript
// so that, run as a script, it loads nothing but Node itself.
const fs = require('fs');
const http = require('http');
const https = require('https');

function call(url, agent, method, headers, body) {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const h = { ...headers, ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}) };
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http).request(url, { method, agent, headers: h }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        res.statusCode < 300 ? resolve(JSON.parse(text)) : reject(new Error(`${method} ${url.pathname}: ${res.statusCode} ${text}`));
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * One client, as one Job process would hold: keep-alive connections to the apiserver and GitHub. `c` is
 * { kubeServer, kubeToken, kubeCaFile, namespace, group, version, plural, graphqlUrl, githubToken,
 * resolveQuery, transitionMutation, ready, remediation, overFetch? }; the returned function cancels one push
 * { owner, name, branch, selector, leaseName, pushedAtMs }. `overFetch` sends the GitHub requests with
 * fetch, as the Job's @octokit/graphql does, to show what that transport costs.
 */
function bareClient(c) {
  const kubeAgent = new https.Agent({ keepAlive: true, ca: fs.readFileSync(c.kubeCaFile) });
  const githubUrl = new URL(c.graphqlUrl);
  const githubAgent = new (githubUrl.protocol === 'https:' ? https : http).Agent({ keepAlive: true });
  const kube = (method, path, body) =>
    call(new URL(path, c.kubeServer), kubeAgent, method, { authorization: `Bearer ${c.kubeToken}` }, body);
  const post = async (headers, body) => {
    if (!c.overFetch) return call(githubUrl, githubAgent, 'POST', headers, body);
    const res = await fetch(githubUrl, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return res.json();
  };
  const github = async (query, variables) => {
    const json = await post({ authorization: `bearer ${c.githubToken}` }, { query, variables });
    if (json.errors) throw new Error(JSON.stringify(json.errors));
    return json.data;
  };
  const leases = `/apis/coordination.k8s.io/v1/namespaces/${c.namespace}/leases`;
  return async (p) => {
    const { repository: repo } = await github(c.resolveQuery, {
      owner: p.owner,
      name: p.name,
      ref: `refs/heads/${p.branch}`,
      remediation: c.remediation,
    });
    const pr = repo.ref.associatedPullRequests.nodes[0];
    // As the Job does: the ready label is removed by the id it has on the PR.
    const ready = pr.labels.nodes.find((l) => l.name === c.ready);
    const now = new Date().toISOString().replace('Z', '000Z');
    const spec = { holderIdentity: 'bare', leaseDurationSeconds: 60, acquireTime: now, renewTime: now };
    // Labelled as the Job's own Leases are: the admission policy lets its ServiceAccount write no other.
    const metadata = { name: p.leaseName, labels: { 'app.kubernetes.io/managed-by': 'agent-cancellation' } };
    const lease = await kube('POST', leases, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata, spec });
    const runs = `/apis/${c.group}/${c.version}/namespaces/${c.namespace}/${c.plural}`;
    const { items } = await kube('GET', `${runs}?labelSelector=${encodeURIComponent(p.selector)}`);
    for (const run of items.filter((r) => Date.parse(r.metadata.creationTimestamp) < p.pushedAtMs)) {
      await kube('DELETE', `${runs}/${run.metadata.name}`, { preconditions: { uid: run.metadata.uid }, propagationPolicy: 'Background' });
    }
    await github(c.transitionMutation, { pr: pr.id, remove: [ready.id], add: [repo.remediationLabel.id], body: 'remediation started' });
    await kube('PUT', `${leases}/${p.leaseName}`, {
      ...lease,
      metadata: { ...lease.metadata, annotations: { state: '{}' } },
      spec: { ...lease.spec, holderIdentity: null },
    });
  };
}

module.exports = { bareClient };

// As a script (figure 2): $BENCH_BARE is {"client": c, "push": p}.
if (require.main === module) {
  const { client, push } = JSON.parse(process.env.BENCH_BARE);
  bareClient(client)(push).then(
    () => process.exit(0),
    (err) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
