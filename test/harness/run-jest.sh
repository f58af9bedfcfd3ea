#!/usr/bin/env bash
# Runs Jest with its arguments under a deadline, and ends with a plain "N passed, N failed" line.
# The harness stops what it starts; the deadline ($AC_TEST_DEADLINE_SECONDS, default 20 min, several times a
# full run) is for whatever it does not: past it, Jest and every process it started are killed, and the run fails.
set -uo pipefail
deadline="${AC_TEST_DEADLINE_SECONDS:-1200}"
results=$(mktemp)
trap 'rm -f "$results"' EXIT

# timeout puts Jest in a process group of its own and signals the whole group; SIGKILL 10 s after SIGTERM.
start=$SECONDS
timeout --kill-after=10 "$deadline" npx jest --ci --json --outputFile="$results" "$@" &
jest=$!
stopped=0
trap 'stopped=1; kill -TERM "$jest" 2>/dev/null' INT TERM
while wait "$jest"; rc=$?; [ $rc -gt 128 ] && kill -0 "$jest" 2>/dev/null; do :; done
if [ $stopped = 1 ]; then
  echo "interrupted: stopped Jest and every process it started" >&2
elif [ $(( SECONDS - start )) -ge "$deadline" ]; then
  stopped=1
  echo "Jest was still running after ${deadline} s: stopped it and every process it started" >&2
fi

node -e '
const [file, stopped] = [process.argv[1], Number(process.argv[2])];
const text = require("fs").readFileSync(file, "utf8");
// Jest writes no results when it cannot start (a failed globalSetup, say) or is killed first: one failure.
const r = text ? JSON.parse(text) : { numPassedTests: 0, numFailedTests: 1, numPendingTests: 0, numTodoTests: 0 };
// Results written but Jest had to be stopped (it hung, or was interrupted): that is a failure of its own.
const failed = r.numFailedTests + (text && stopped ? 1 : 0);
const skipped = r.numPendingTests + r.numTodoTests;
console.log(`${r.numPassedTests} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$results" "$stopped" || rc=1
exit $rc
