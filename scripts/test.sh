#!/usr/bin/env bash
# The whole test suite: typecheck, then the unit tests and the runtime tests (real containers,
# real cgroups; root only). This is what `npm test` and CI run.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f native/build/Release/lodge_native.node ]; then
  echo "test: the native addon is not built; run 'npm install' (or 'npm run build:native')" >&2
  exit 1
fi
# The database tests need a PostgreSQL with trust auth for user postgres on 127.0.0.1 (CI's
# machine has one on 5432). Where there is none (a fresh Debian machine's cluster asks for a
# password over TCP), a private one is started for the run and removed after it.
if ! PGCONNECT_TIMEOUT=3 psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -w -Atqc 'select 1' >/dev/null 2>&1 ||
  [ -n "${LODGE_TEST_PRIVATE_PG:-}" ]; then
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  pgdir=$(mktemp -d /tmp/lodge-test-pg-XXXXXX)
  chown postgres "$pgdir"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  runuser -u postgres -- "$pgbin/initdb" -D "$pgdir/data" -A trust -U postgres >/dev/null
  runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
    -o "-p $port -k $pgdir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" start >/dev/null
  trap 'runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdir/data" -m fast -w stop >/dev/null; rm -rf "$pgdir"' EXIT
  export LODGE_TEST_PG_PORT=$port
  echo "test: using a private PostgreSQL on 127.0.0.1:$port" >&2
fi

npx tsc -p tsconfig.json --noEmit
# Two workers at most: the runtime suites make real containers on a 2-core machine.
npx jest --maxWorkers=2 "$@"
