/**
 * Where the prebuilt servers and the argo-events module are: binaries.json, written by build-binaries.sh, which
 * `npm test` runs before Jest. Nothing here builds: a test that needs a missing binary fails at once, saying so.
 */
import * as fs from 'fs';
import * as path from 'path';

export interface Binaries {
  /** The version kube-apiserver and kube-controller-manager were built at, as `v1.36.3`. */
  readonly kubeVersion: string;
  readonly etcd: string;
  readonly kubeApiserver: string;
  readonly kubeControllerManager: string;
  readonly argoEvents: string;
  readonly argoEval: string;
  /** Prometheus' promtool: checks and unit-tests the alert rules. */
  readonly promtool: string;
  readonly kubeStateMetrics: string;
  /** The github.com/argoproj/argo-events module in the Go module cache: CRDs and JSON schema. */
  readonly argoEventsModule: string;
}

const repoRoot = path.resolve(__dirname, '..', '..');
/** KUBE_VERSION picks the Kubernetes version's manifest, as build-binaries.sh names it (the matrix sets it). */
const KUBE_VERSION = process.env.KUBE_VERSION || undefined;
export const BINARIES_MANIFEST = path.join(
  repoRoot,
  'node_modules',
  '.cache',
  'agent-cancellation',
  KUBE_VERSION ? `binaries-${KUBE_VERSION}.json` : 'binaries.json',
);
const BUILD = `${KUBE_VERSION ? `KUBE_VERSION=${KUBE_VERSION} ` : ''}bash test/harness/build-binaries.sh (npm test runs it before Jest)`;

/** The manifest, or why it cannot be used. */
export function binariesOrWhy(): Binaries | string {
  if (!fs.existsSync(BINARIES_MANIFEST)) return `${path.relative(repoRoot, BINARIES_MANIFEST)} not found: run ${BUILD}`;
  const b: Binaries = JSON.parse(fs.readFileSync(BINARIES_MANIFEST, 'utf8'));
  if (!b.kubeVersion) return `${path.relative(repoRoot, BINARIES_MANIFEST)} predates kubeVersion: run ${BUILD}`;
  const { kubeVersion: _, ...files } = b;
  const missing = Object.values(files).filter((p) => !fs.existsSync(p));
  return missing.length ? `not built or gone: ${missing.join(', ')}: run ${BUILD}` : b;
}

export function binaries(): Binaries {
  const b = binariesOrWhy();
  if (typeof b === 'string') throw new Error(b);
  return b;
}

/** A file of the argo-events module, e.g. api/jsonschema/schema.json. */
export function argoEventsFile(...parts: string[]): string {
  return path.join(binaries().argoEventsModule, ...parts);
}
