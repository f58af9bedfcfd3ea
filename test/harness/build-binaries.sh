#!/usr/bin/env bash
# Builds the real servers the tests run against, from their Go modules, once per version.
# Binaries land in $AC_BIN_DIR (default ~/.cache/agent-cancellation/bin) named <tool>-<version>;
# a binary already there is reused, so only the first run pays for the build.
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
ARGO_EVENTS_VERSION="${ARGO_EVENTS_VERSION:-v1.9.11}"
BIN_DIR="${AC_BIN_DIR:-$HOME/.cache/agent-cancellation/bin}"
WORK_ROOT="${AC_BUILD_DIR:-$HOME/.cache/agent-cancellation/build}"
export CGO_ENABLED=0 GOFLAGS=-mod=mod

mkdir -p "$BIN_DIR" "$WORK_ROOT"

log() { printf '[build-binaries] %s\n' "$*" >&2; }

# wrapper_module DIR: a throwaway module that only exists to pin dependencies.
wrapper_module() {
  rm -rf "$1" && mkdir -p "$1"
  printf 'module acbuild\n\ngo 1.26\n' >"$1/go.mod"
}

build_kube_apiserver() {
  local out="$BIN_DIR/kube-apiserver-$KUBE_VERSION" dir="$WORK_ROOT/kube-apiserver"
  [ -x "$out" ] && return 0
  log "building kube-apiserver $KUBE_VERSION (first run only)"
  wrapper_module "$dir"
  local gomod staging_ver="v0.${KUBE_VERSION#v1.}"
  gomod=$(cd "$dir" && go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  # k8s.io/kubernetes points its staging modules at ./staging; pin each to its published tag instead.
  local replaces
  replaces=$(awk '/=> \.\/staging\// {print $1}' "$gomod" | sort -u | sed "s|.*|-replace=&=&@$staging_ver|")
  (cd "$dir" && go mod edit $replaces && go get "k8s.io/kubernetes/cmd/kube-apiserver@$KUBE_VERSION" \
    && go build -trimpath -o "$out.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
  mv "$out.tmp" "$out"
}

build_etcd() {
  local out="$BIN_DIR/etcd-$ETCD_VERSION" dir="$WORK_ROOT/etcd"
  [ -x "$out" ] && return 0
  log "building etcd $ETCD_VERSION (first run only)"
  wrapper_module "$dir"
  (cd "$dir" && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" \
    && go build -trimpath -o "$out.tmp" go.etcd.io/etcd/server/v3)
  mv "$out.tmp" "$out"
}

build_argo_events() {
  local out="$BIN_DIR/argo-events-$ARGO_EVENTS_VERSION" dir="$WORK_ROOT/argo-events"
  [ -x "$out" ] && return 0
  log "building argo-events $ARGO_EVENTS_VERSION (first run only)"
  wrapper_module "$dir"
  (cd "$dir" && go get "github.com/argoproj/argo-events/cmd@$ARGO_EVENTS_VERSION" \
    && go build -trimpath -o "$out.tmp" github.com/argoproj/argo-events/cmd)
  mv "$out.tmp" "$out"
}

# argo-eval is this repo's own Go program over Argo Events' packages; its key is a hash of its sources.
build_argo_eval() {
  local src hash out
  src="$(cd "$(dirname "$0")/../argo-eval" && pwd)"
  hash=$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-12)
  out="$BIN_DIR/argo-eval-$hash"
  if [ ! -x "$out" ]; then
    log "building argo-eval (first run only)"
    (cd "$src" && go build -trimpath -o "$out.tmp" .)
    mv "$out.tmp" "$out"
  fi
  echo "$out"
}

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(etcd kube-apiserver argo-events argo-eval)
for t in "${targets[@]}"; do
  case "$t" in
    etcd) build_etcd ;;
    kube-apiserver) build_kube_apiserver ;;
    argo-events) build_argo_events ;;
    argo-eval) build_argo_eval ;;
    *) log "unknown target: $t"; exit 2 ;;
  esac
done
