#!/usr/bin/env bash
# The whole test suite: typecheck, then the unit tests and the runtime tests (real containers,
# real cgroups; root only). This is what `npm test` and CI run.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f native/build/Release/lodge_native.node ]; then
  echo "test: the native addon is not built; run 'npm install' (or 'npm run build:native')" >&2
  exit 1
fi
npx tsc -p tsconfig.json --noEmit
# Two workers at most: the runtime suites make real containers on a 2-core machine.
npx jest --maxWorkers=2 "$@"
