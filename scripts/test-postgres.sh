#!/usr/bin/env bash
# A throwaway PostgreSQL for the fleet tests: source this file, and it
#   - installs PostgreSQL from Debian's packages when no initdb is found;
#   - initialises a cluster in a temporary folder (as the postgres user when run as root: initdb refuses root),
#     with password (SCRAM) authentication for the user picus and a random password;
#   - starts it on a free port on 127.0.0.1, and stops it and removes the folder when the shell exits;
#   - exports PICUS_TEST_POSTGRES_URL, PICUS_TEST_POSTGRES_PASSWORD and PICUS_TEST_POSTGRES_CTL (a pg_ctl
#     command line the tests use to stop and start the server).
# Nothing here is used outside the tests.

picus_pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

if [ -z "$(picus_pg_bin)" ] || [ ! -x "$(picus_pg_bin)/initdb" ]; then
    echo "installing PostgreSQL"
    picus_sudo=""
    [ "$(id -u)" -eq 0 ] || picus_sudo="sudo"
    $picus_sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $picus_sudo apt-get install -y -q --no-install-recommends postgresql
fi
PICUS_PG_BIN="$(picus_pg_bin)"

PICUS_PG_DIR="$(mktemp -d /tmp/picus-postgres.XXXXXX)"
PICUS_PG_PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
PICUS_PG_PASSWORD="$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
printf '%s\n' "$PICUS_PG_PASSWORD" > "$PICUS_PG_DIR/password"
chmod 700 "$PICUS_PG_DIR"

if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown -R postgres "$PICUS_PG_DIR"
    picus_pg_as="runuser -u postgres --"
else
    picus_pg_as=""
fi

$picus_pg_as "$PICUS_PG_BIN/initdb" -D "$PICUS_PG_DIR/data" -U picus --pwfile="$PICUS_PG_DIR/password" \
    --auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$PICUS_PG_DIR/initdb.log" 2>&1 \
    || { cat "$PICUS_PG_DIR/initdb.log"; exit 1; }
rm -f "$PICUS_PG_DIR/password"

export PICUS_TEST_POSTGRES_CTL="$picus_pg_as $PICUS_PG_BIN/pg_ctl -D $PICUS_PG_DIR/data -l $PICUS_PG_DIR/server.log -w -o '-h 127.0.0.1 -p $PICUS_PG_PORT -k $PICUS_PG_DIR'"
sh -c "$PICUS_TEST_POSTGRES_CTL start" >/dev/null || { cat "$PICUS_PG_DIR/server.log"; exit 1; }
picus_pg_stop() {
    sh -c "$PICUS_TEST_POSTGRES_CTL stop -m immediate" >/dev/null 2>&1 || true
    rm -rf "$PICUS_PG_DIR"
}
trap picus_pg_stop EXIT

export PICUS_TEST_POSTGRES_URL="postgres://picus@127.0.0.1:$PICUS_PG_PORT/postgres"
export PICUS_TEST_POSTGRES_PASSWORD="$PICUS_PG_PASSWORD"
echo "PostgreSQL $("$PICUS_PG_BIN/postgres" --version | awk '{print $3}') for the fleet tests at $PICUS_TEST_POSTGRES_URL"
