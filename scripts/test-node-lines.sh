#!/usr/bin/env bash
# Runs the whole test suite under each supported Node line (22 and 26; pnpm scripts already use 24).
# Each line's binary comes from the `node` package on the npm registry, as the root devDependency does.
set -euo pipefail
cd "$(dirname "$0")/.."
lines=("${@:-22.23.3 26.10.0}")
# shellcheck disable=SC2206
lines=(${lines[*]})
status=0
for v in "${lines[@]}"; do
  echo "=== Node $v"
  if ! npx -y -p "node@$v" -- node --test --test-concurrency=2 --test-timeout=120000 \
    "packages/*/test/**/*.test.ts" "examples/*/test/**/*.test.ts"; then
    echo "=== Node $v: FAILED"
    status=1
  fi
done
exit $status
