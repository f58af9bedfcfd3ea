#!/usr/bin/env bash
# The Kubernetes matrix (npm run test:kubernetes [-- VERSION...]): the cluster-facing integration suites against
# each Kubernetes version, kube-apiserver and kube-controller-manager built from k8s.io/kubernetes at that
# version (test/harness/build-binaries.sh with KUBE_VERSION; etcd and Argo Events as in npm test). Too slow for
# every CI run: npm test runs one version. Ends with one table row per version, also written to
# lib/kubernetes-matrix.md, for docs/kubernetes.md.
set -uo pipefail
cd "$(dirname "$0")/.."
export CDK8S_CHECK_UPGRADE=false

# The oldest minor with admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy, the newest, and npm test's.
VERSIONS=(v1.30.14 v1.36.3 v1.37.2)
# The admission policy, RBAC, Jobs and the CronJob through the real controllers and a node, the reconciler,
# and Argo Events end to end.
SUITES=(
  test/integration/scope-policy.test.ts
  test/integration/kube-rbac.test.ts
  test/integration/controllers.test.ts
  test/integration/node-jobs.test.ts
  test/integration/reconciler.test.ts
  test/integration/argo-e2e.test.ts
)
[ $# -gt 0 ] && VERSIONS=("$@")

npm run --silent build && bash test/harness/setup.sh || exit 1
results=lib/kubernetes-matrix.md
machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo), Node $(node -v)"
rc=0
for v in "${VERSIONS[@]}"; do
  KUBE_VERSION="$v" bash test/harness/build-binaries.sh etcd kube-apiserver kube-controller-manager argo-events argo-eval || { rc=1; continue; }
  manifest="node_modules/.cache/agent-cancellation/binaries-$v.json"
  # What the binary was built from, read from its Go build info, not from its name.
  built=$(go version -m "$(node -p "require('./$manifest').kubeApiserver")" | awk '$1 == "mod" && $2 == "k8s.io/kubernetes" {print $3}')
  start=$SECONDS
  line=$(KUBE_VERSION="$v" bash test/harness/run-jest.sh --selectProjects integration --runTestsByPath "${SUITES[@]}" | tee /dev/stderr | tail -n 1)
  passed=$(sed -n 's/^\([0-9]*\) passed.*/\1/p' <<<"$line")
  failed=$(sed -n 's/.* \([0-9]*\) failed.*/\1/p' <<<"$line")
  [ "${failed:-1}" = 0 ] || rc=1
  row="| $v | k8s.io/kubernetes $built | ${#SUITES[@]} | ${passed:-0} | ${failed:-1} | $(( (SECONDS - start) / 60 )) min | $(date -u +%F) | $machine |"
  echo "$row" >>"$results"
  echo "$row"
done
exit $rc
