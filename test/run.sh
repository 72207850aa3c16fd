#!/usr/bin/env bash
# Runs every test file (expanded here: Node 20's --test runs 0 .ts files given a directory or quoted glob)
# and fails when no test ran.
set -uo pipefail
cd "$(dirname "$0")/.."
shopt -s globstar nullglob
files=(test/**/*.test.ts)
[ ${#files[@]} -gt 0 ] || { echo "test/run.sh: no test files found" >&2; exit 1; }
log=$(mktemp)
start=$(date +%s)
node --import tsx --test --test-reporter=spec --test-concurrency=2 "${files[@]}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
n=$(grep -E '^ℹ tests [0-9]+' "$log" | awk '{print $3}' | tail -1)
echo "test time: $(( $(date +%s) - start )) s"
rm -f "$log"
if [ -z "$n" ] || [ "$n" -eq 0 ]; then echo "test/run.sh: 0 tests ran" >&2; exit 1; fi
exit "$rc"
