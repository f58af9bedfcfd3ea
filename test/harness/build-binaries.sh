#!/usr/bin/env bash
# Builds the real servers the tests run against, from their Go modules, once per version, and says where
# everything is. Binaries land in $AC_BIN_DIR (default ~/.cache/agent-cancellation/bin) named <tool>-<version>;
# a binary already there is reused, so only the first run pays for the build. Runs from several checkouts at
# once wait for each other per tool instead of building over one another.
#
# It ends by writing node_modules/.cache/agent-cancellation/binaries.json in this checkout: the path of each
# binary and of the argo-events module (its CRDs and JSON schema), which the tests read and never build.
# With KUBE_VERSION set (the Kubernetes matrix, test/kubernetes-matrix.sh), kube-apiserver and
# kube-controller-manager are that version and the manifest is binaries-$KUBE_VERSION.json, which the tests read
# when run with the same KUBE_VERSION (test/harness/binaries.ts); the default manifest stays as it is.
set -euo pipefail

MANIFEST_NAME="binaries${KUBE_VERSION:+-$KUBE_VERSION}.json"
KUBE_VERSION="${KUBE_VERSION:-v1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
ARGO_EVENTS_VERSION="${ARGO_EVENTS_VERSION:-v1.9.11}"
# Prometheus' Go module tags v0.X.Y for its release 3.X.Y; promtool checks and unit-tests the alert rules.
PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-v0.316.0}"
KUBE_STATE_METRICS_VERSION="${KUBE_STATE_METRICS_VERSION:-v2.20.0}"
BIN_DIR="${AC_BIN_DIR:-$HOME/.cache/agent-cancellation/bin}"
WORK_ROOT="${AC_BUILD_DIR:-$HOME/.cache/agent-cancellation/build}"
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
MANIFEST="$REPO/node_modules/.cache/agent-cancellation/$MANIFEST_NAME"
export CGO_ENABLED=0 GOFLAGS=-mod=mod

mkdir -p "$BIN_DIR" "$WORK_ROOT" "$(dirname "$MANIFEST")"

log() { printf '[build-binaries] %s\n' "$*" >&2; }

ARGO_EVAL_SRC="$REPO/test/argo-eval"
# argo-eval is this repo's own Go program over Argo Events' packages; its key is a hash of its sources.
ARGO_EVAL_KEY=$(cat "$ARGO_EVAL_SRC/go.mod" "$ARGO_EVAL_SRC/go.sum" "$ARGO_EVAL_SRC/main.go" | sha256sum | cut -c1-12)

out_of() {
  case "$1" in
    etcd) echo "$BIN_DIR/etcd-$ETCD_VERSION" ;;
    kube-apiserver) echo "$BIN_DIR/kube-apiserver-$KUBE_VERSION" ;;
    kube-controller-manager) echo "$BIN_DIR/kube-controller-manager-$KUBE_VERSION" ;;
    argo-events) echo "$BIN_DIR/argo-events-$ARGO_EVENTS_VERSION" ;;
    argo-eval) echo "$BIN_DIR/argo-eval-$ARGO_EVAL_KEY" ;;
    promtool) echo "$BIN_DIR/promtool-$PROMETHEUS_VERSION" ;;
    kube-state-metrics) echo "$BIN_DIR/kube-state-metrics-$KUBE_STATE_METRICS_VERSION" ;;
    *) log "unknown target: $1"; exit 2 ;;
  esac
}

# First-run build times on 2 cores with empty Go caches, module downloads included, rounded up: measured
# 2026-11-26 (README, "First-run cost"). A busy machine takes longer.
minutes_of() {
  case "$1" in
    etcd) echo 1 ;;
    kube-apiserver) echo 5 ;;
    kube-controller-manager) echo 2 ;;
    argo-events) echo 5 ;;
    argo-eval) echo 1 ;;
    # Estimates: measured only on a loaded machine (docs/development.md).
    promtool) echo 5 ;;
    kube-state-metrics) echo 4 ;;
  esac
}

# wrapper_module DIR: a throwaway module that only exists to pin dependencies.
wrapper_module() {
  rm -rf "$1" && mkdir -p "$1"
  printf 'module acbuild\n\ngo 1.26\n' >"$1/go.mod"
}

# kube_command OUT CMD: a command of k8s.io/kubernetes (cmd/CMD), in a wrapper module of its own.
kube_command() {
  local out="$1" cmd="$2" dir="$WORK_ROOT/$2"
  wrapper_module "$dir"
  local gomod staging_ver="v0.${KUBE_VERSION#v1.}"
  gomod=$(cd "$dir" && go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  # k8s.io/kubernetes points its staging modules at ./staging; pin each to its published tag instead.
  local replaces
  replaces=$(awk '/=> \.\/staging\// {print $1}' "$gomod" | sort -u | sed "s|.*|-replace=&=&@$staging_ver|")
  (cd "$dir" && go mod edit $replaces && go get "k8s.io/kubernetes/cmd/$cmd@$KUBE_VERSION" \
    && go build -trimpath -o "$out.tmp" "k8s.io/kubernetes/cmd/$cmd")
}

build_kube_apiserver() { kube_command "$1" kube-apiserver; }
build_kube_controller_manager() { kube_command "$1" kube-controller-manager; }

build_etcd() {
  local out="$1" dir="$WORK_ROOT/etcd"
  wrapper_module "$dir"
  (cd "$dir" && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" \
    && go build -trimpath -o "$out.tmp" go.etcd.io/etcd/server/v3)
}

build_argo_events() {
  local out="$1" dir="$WORK_ROOT/argo-events"
  wrapper_module "$dir"
  (cd "$dir" && go get "github.com/argoproj/argo-events/cmd@$ARGO_EVENTS_VERSION" \
    && go build -trimpath -o "$out.tmp" github.com/argoproj/argo-events/cmd)
}

build_promtool() {
  local out="$1" dir="$WORK_ROOT/promtool"
  wrapper_module "$dir"
  (cd "$dir" && go get "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION" \
    && go build -trimpath -o "$out.tmp" github.com/prometheus/prometheus/cmd/promtool)
}

build_kube_state_metrics() {
  local out="$1" dir="$WORK_ROOT/kube-state-metrics"
  wrapper_module "$dir"
  (cd "$dir" && go get "k8s.io/kube-state-metrics/v2@$KUBE_STATE_METRICS_VERSION" \
    && go build -trimpath -o "$out.tmp" k8s.io/kube-state-metrics/v2)
}

build_argo_eval() {
  (cd "$ARGO_EVAL_SRC" && go build -trimpath -o "$1.tmp" .)
}

need_go() {
  command -v go >/dev/null && return 0
  log "go not found: these tests build their servers with Go >= 1.26 (https://go.dev/dl/), then reuse them"
  exit 1
}

# build TARGET: under a lock per tool, so a second checkout waits for the first one's build and reuses it.
build() {
  local target="$1" out
  out=$(out_of "$target")
  [ -x "$out" ] && return 0
  need_go
  exec {lock}>"$BIN_DIR/.$target.lock"
  flock "$lock"
  if [ ! -x "$out" ]; then
    log "building $target (first run only: about $(minutes_of "$target") min on 2 cores)"
    local t0=$SECONDS build_log="$WORK_ROOT/$target.log"
    if ! "build_${target//-/_}" "$out" >"$build_log" 2>&1; then
      log "building $target failed; the end of $build_log:"
      tail -n 30 "$build_log" >&2
      exit 1
    fi
    mv "$out.tmp" "$out"
    log "built $target in $(( (SECONDS - t0) / 60 )) min $(( (SECONDS - t0) % 60 )) s"
  fi
  flock -u "$lock"
}

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(etcd kube-apiserver kube-controller-manager argo-events argo-eval promtool kube-state-metrics)
missing=()
for t in "${targets[@]}"; do [ -x "$(out_of "$t")" ] || missing+=("$t"); done
if [ ${#missing[@]} -gt 0 ]; then
  total=0
  for t in "${missing[@]}"; do total=$(( total + $(minutes_of "$t") )); done
  log "to build: ${missing[*]} (first run only: about $total min on 2 cores, then cached in $BIN_DIR)"
fi
for t in "${targets[@]}"; do build "$t"; done

# The argo-events module holds the CRDs and JSON schema the tests check against; downloading it is a no-op
# once it is in the module cache.
need_go
argo_events_module=$(cd "$WORK_ROOT" && go mod download -json "github.com/argoproj/argo-events@$ARGO_EVENTS_VERSION" \
  | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
[ -d "$argo_events_module" ] || { log "go mod download gave no directory for argo-events $ARGO_EVENTS_VERSION"; exit 1; }

cat >"$MANIFEST.tmp" <<EOF
{
  "kubeVersion": "$KUBE_VERSION",
  "etcd": "$(out_of etcd)",
  "kubeApiserver": "$(out_of kube-apiserver)",
  "kubeControllerManager": "$(out_of kube-controller-manager)",
  "argoEvents": "$(out_of argo-events)",
  "argoEval": "$(out_of argo-eval)",
  "promtool": "$(out_of promtool)",
  "kubeStateMetrics": "$(out_of kube-state-metrics)",
  "argoEventsModule": "$argo_events_module"
}
EOF
mv "$MANIFEST.tmp" "$MANIFEST"
