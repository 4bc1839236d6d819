#!/usr/bin/env bash
# Install everything the test suite needs, start its services, run it all.
#
#   scripts/test.sh [pytest args...]
#
# On a fresh Debian machine, as root, this installs the Debian packages for
# the services (PostgreSQL) and starts them; it installs outflow and its test
# dependencies into .venv. With CI set, a test that cannot reach its service
# fails instead of being skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ]; then
    export OUTFLOW_TEST_PG_URL="${OUTFLOW_TEST_PG_URL:-$(bash scripts/start-postgres.sh | tail -n 1)}"
else
    echo "scripts/test.sh: not root; using the services already running" >&2
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test,postgres]'

.venv/bin/ruff check outflowfile tests benchmarks
exec .venv/bin/python -m pytest -q "$@"
