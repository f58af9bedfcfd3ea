#!/usr/bin/env bash
# What the tests need beyond npm ci, done before Jest starts (npm test runs this; .ci/run through npm test):
#   - Debian packages for the end-to-end tests: nats-server (the JetStream bus), iproute2 (ip netns for the
#     EventSource), openssl (the bus's certificate). Installed when missing if this is root with apt-get;
#     otherwise this stops at once with the command to run.
#   - the servers built from their Go modules, or reused (build-binaries.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."

missing=()
command -v nats-server >/dev/null || missing+=(nats-server)
command -v ip >/dev/null || missing+=(iproute2)
command -v openssl >/dev/null || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[setup] installing ${missing[*]} with apt-get" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "[setup] missing ${missing[*]}; install them, then run npm test again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

bash test/harness/build-binaries.sh
