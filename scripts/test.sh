#!/usr/bin/env bash
# Install everything the test suite needs, start its services, run it all.
#
#   scripts/test.sh [pytest args...]
#
# On a fresh Debian machine, as root, this installs the Debian packages for
# the services (PostgreSQL, a one-node Slurm, a one-node Grid Engine with its
# DRMAA library) and starts them; it installs outflow and its test
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
.venv/bin/python -m pip install --quiet -e '.[test,postgres,workers]'

if [ "$(id -u)" = 0 ]; then
    # Cluster services (after the venv: start-sge.sh checks DRMAA from the
    # Python the tests use). Only SGE_ROOT/SGE_CELL are exported: exporting
    # DRMAA_LIBRARY_PATH would switch `--cluster slurm` to DRMAA, and
    # LD_PRELOAD would put jemalloc into every process of the run; the
    # sge_drmaa fixture hands both to the processes that need them.
    bash scripts/start-slurm.sh >/dev/null
    sge_env=$(PYTHON="$PWD/.venv/bin/python" bash scripts/start-sge.sh)
    SGE_ROOT=$(sed -n 's/^SGE_ROOT=//p' <<<"$sge_env")
    SGE_CELL=$(sed -n 's/^SGE_CELL=//p' <<<"$sge_env")
    export SGE_ROOT SGE_CELL
fi

if [ "$(id -u)" = 0 ]; then
    # Programs the tests drive: Graphviz's dot renders `outflow --dag`; a
    # headless Chromium, through chromedriver, opens `outflow --report`;
    # examples/variants aligns and calls with samtools and bcftools.
    missing=""
    command -v dot >/dev/null 2>&1 || missing="$missing graphviz"
    command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
    command -v chromedriver >/dev/null 2>&1 || missing="$missing chromium-driver"
    # Software environments: podman (with Debian's runc: its crun cannot
    # set RLIMIT_NOFILE here), busybox-static for the test images, Lmod.
    command -v podman >/dev/null 2>&1 || missing="$missing podman"
    command -v runc >/dev/null 2>&1 || missing="$missing runc"
    [ -x /bin/busybox ] || missing="$missing busybox-static"
    [ -r /etc/profile.d/lmod.sh ] || missing="$missing lmod"
    # samtools and bcftools: examples/variants runs them (tests/cli/test_variants.py).
    command -v samtools >/dev/null 2>&1 || missing="$missing samtools"
    command -v bcftools >/dev/null 2>&1 || missing="$missing bcftools"
    if [ -n "$missing" ]; then
        echo "scripts/test.sh: installing$missing with apt-get" >&2
        export DEBIAN_FRONTEND=noninteractive
        # shellcheck disable=SC2086 # a list of package names
        apt-get install -y -q $missing >/dev/null 2>&1 \
            || { apt-get update -q >/dev/null && apt-get install -y -q $missing >/dev/null; }
    fi
fi

# podman's settings for the tests (outflow itself needs none): no ulimits
# (this machine cannot raise RLIMIT_NOFILE), runc as the OCI runtime.
if [ -z "${CONTAINERS_CONF:-}" ]; then
    CONTAINERS_CONF="${TMPDIR:-/tmp}/outflow-test-containers.conf"
    printf '[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\n' >"$CONTAINERS_CONF"
    export CONTAINERS_CONF
fi

.venv/bin/ruff check outflowfile tests benchmarks
.venv/bin/mypy  # the files and settings are in pyproject.toml
exec .venv/bin/python -m pytest -q --durations=15 "$@"
