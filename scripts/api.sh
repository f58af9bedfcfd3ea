#!/usr/bin/env bash
# The public API, from the declarations of src/index.ts: its report (docs/api/agent-cancellation.api.md, by API
# Extractor) and its reference page (docs/api/reference/index.md, by TypeDoc).
#   npm run api               writes both: commit them with the change that changes the API
#   npm run api -- --check    fails when either differs from what the code declares (CI runs this)
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json
if [ "${1:-}" != --check ]; then
  npx api-extractor run --local
  npx typedoc
  exit 0
fi
# Without --local, API Extractor fails on a report that differs and leaves the new one in lib/api/.
if ! npx api-extractor run; then
  echo "the public API changed: review lib/api/agent-cancellation.api.md, then run 'npm run api' and commit docs/api/" >&2
  exit 1
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
npx typedoc --out "$out"
if ! diff -r docs/api/reference "$out"; then
  echo "docs/api/reference is out of date: run 'npm run api' and commit docs/api/" >&2
  exit 1
fi
