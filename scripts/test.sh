#!/usr/bin/env bash
# The whole test suite: install what it needs, type-check every package, run every test
# (unit, simulation, conformance against Debian's etcd, real processes).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test

echo "== type check"
pnpm -s typecheck

echo "== tests"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0
pnpm -s vitest run --reporter=default --reporter=json --outputFile="$out/results.json" "$@" || status=$?
if [ -f "$out/results.json" ]; then
  node -e 'const r=require(process.argv[1]); console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""))' "$out/results.json"
fi
exit $status
