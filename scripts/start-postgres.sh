#!/bin/sh
# Start a local PostgreSQL for outflow's tests (Debian, as root, no systemd).
#
# Idempotent: installs the `postgresql` package if missing, creates and starts
# a cluster, then makes sure the role `outflow` (password `outflow`) and the
# database `outflow_test` exist. The last line printed is the URL to use:
#
#     OUTFLOW_TEST_PG_URL=$(scripts/start-postgres.sh | tail -n 1)
set -eu

ROLE=outflow
PASSWORD=outflow
DB=outflow_test

log() { echo "start-postgres: $*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
    log "must run as root (it installs and starts system PostgreSQL)"
    exit 1
fi

if ! command -v pg_lsclusters >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    log "installing postgresql with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q postgresql >&2 || { apt-get update -q >&2 && apt-get install -y -q postgresql >&2; }
fi

# The newest installed server version, and its cluster (created if absent).
VERSION=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
CLUSTER=$(pg_lsclusters -h | awk -v v="$VERSION" '$1 == v { print $2; exit }')
if [ -z "$CLUSTER" ]; then
    CLUSTER=main
    log "creating cluster $VERSION/$CLUSTER"
    pg_createcluster "$VERSION" "$CLUSTER" >&2
fi
PORT=$(pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1 == v && $2 == c { print $3 }')
STATUS=$(pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1 == v && $2 == c { print $4 }')

if [ "$STATUS" != "online" ]; then
    log "starting cluster $VERSION/$CLUSTER on port $PORT"
    pg_ctlcluster "$VERSION" "$CLUSTER" start >&2
fi

i=0
until pg_isready -q -h 127.0.0.1 -p "$PORT"; do
    i=$((i + 1))
    if [ "$i" -ge 60 ]; then
        log "PostgreSQL did not accept connections on 127.0.0.1:$PORT within 30 s;"
        log "see /var/log/postgresql/postgresql-$VERSION-$CLUSTER.log"
        exit 1
    fi
    sleep 0.5
done

as_postgres() { runuser -u postgres -- psql -p "$PORT" -v ON_ERROR_STOP=1 -qtA "$@"; }

if [ "$(as_postgres -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != "1" ]; then
    log "creating role $ROLE"
    as_postgres -c "CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD'" >&2
else
    as_postgres -c "ALTER ROLE $ROLE LOGIN PASSWORD '$PASSWORD'" >&2
fi

if [ "$(as_postgres -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != "1" ]; then
    log "creating database $DB"
    as_postgres -c "CREATE DATABASE $DB OWNER $ROLE" >&2
fi

echo "postgresql://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DB"
