#!/usr/bin/env bash
# The one test command (npm test): builds the library and Job bundle, runs every Jest project,
# and ends with a plain "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
export CDK8S_CHECK_UPGRADE=false
npm run --silent build || exit 1
results=$(mktemp)
npx jest --ci --json --outputFile="$results" "$@"
rc=$?
node -e '
const text = require("fs").readFileSync(process.argv[1], "utf8");
// Jest writes no results when it cannot start (a failed globalSetup, say): that is one failure.
const r = text ? JSON.parse(text) : { numPassedTests: 0, numFailedTests: 1, numPendingTests: 0, numTodoTests: 0 };
const skipped = r.numPendingTests + r.numTodoTests;
console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$results" || rc=1
rm -f "$results"
exit $rc
