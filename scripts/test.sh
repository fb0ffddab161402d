#!/usr/bin/env bash
# The whole test suite, as the README promises: installs what is missing, then typecheck, lint,
# format, build, and unit + component + integration + browser end-to-end tests (vitest projects).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/dockerd.sh || echo "kdlab test: no Docker engine — the Docker tests will fail and say why"
mkdir -p test-output

echo "== typecheck"; npx tsc -p tsconfig.json
npx svelte-check --tsconfig ./tsconfig.json --fail-on-warnings --output human
echo "== lint"; npx eslint --max-warnings 0 .
echo "== format"; npx prettier --check .
echo "== build"; node scripts/build.mjs
echo "== tests"
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=test-output/vitest.json "$@" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync("test-output/vitest.json", "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' || true
exit $status
