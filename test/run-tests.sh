#!/usr/bin/env bash
# The one test command (npm test): builds the library and Job bundle, sets up what the tests need
# (test/harness/setup.sh: Debian packages, the servers built from Go), then runs every Jest project under a
# deadline and ends with a plain "N passed, N failed" line (test/harness/run-jest.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
export CDK8S_CHECK_UPGRADE=false
# A run that cannot start is one failure, in the same last line.
npm run --silent build && bash test/harness/setup.sh || { echo "0 passed, 1 failed"; exit 1; }
exec bash test/harness/run-jest.sh "$@"
