import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { argoEventsFile } from './binaries';
import { admin, CLUSTER_ENV, PRESETS, repoRoot } from './cluster';
import { RunningControlPlane, startControlPlane } from './control-plane';

declare global {
  var __acControlPlane: RunningControlPlane | undefined;
}

/**
 * The CodeRun CRD in each preset's group (the real platform's and the card's), Argo Events' own CRDs, and the
 * prometheus-operator CRDs the monitoring imports (PodMonitor, PrometheusRule).
 */
function crds(): Record<string, any>[] {
  const read = (f: string) =>
    YAML.parseAllDocuments(fs.readFileSync(f, 'utf8'))
      .map((d) => d.toJSON())
      .filter(Boolean);
  const [codeRun] = read(path.join(repoRoot, 'test', 'fixtures', 'crds', 'coderun.yaml'));
  const codeRuns = Object.values(PRESETS).map(({ group }) => {
    const crd = structuredClone(codeRun);
    crd.metadata.name = `${crd.spec.names.plural}.${group}`;
    crd.spec.group = group;
    return crd;
  });
  const argo = ['eventbus', 'eventsources', 'sensors'].flatMap((kind) =>
    read(argoEventsFile('manifests', 'base', 'crds', `argoproj.io_${kind}.yaml`)),
  );
  const monitoring = read(path.join(repoRoot, 'schema', 'prometheus-operator-subset.crds.yaml'));
  return [...codeRuns, ...argo, ...monitoring];
}

export default async function globalSetup(): Promise<void> {
  const cp = await startControlPlane();
  globalThis.__acControlPlane = cp;
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ac-cluster-')), 'cluster.json');
  fs.writeFileSync(file, JSON.stringify(cp.info));
  process.env[CLUSTER_ENV] = file;
  try {
    for (const crd of crds()) await admin().apply(crd);
    for (const crd of crds()) {
      for (let i = 0; ; i++) {
        const r = await admin().request('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`);
        const established = r.body?.status?.conditions?.some((c: any) => c.type === 'Established' && c.status === 'True');
        // Established is not yet served: until the storage initializes, lists answer 429.
        const { group, versions, names } = crd.spec;
        if (established && (await admin().request('GET', `/apis/${group}/${versions[0].name}/${names.plural}`)).status === 200) break;
        if (i > 100) throw new Error(`CRD ${crd.metadata.name} not established`);
        await new Promise((res) => setTimeout(res, 100));
      }
    }
  } catch (e) {
    await cp.stop();
    throw e;
  }
}
