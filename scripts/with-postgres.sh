#!/usr/bin/env bash
# Runs a command beside a throwaway PostgreSQL cluster, and removes the cluster afterwards —
# also when the command fails or is interrupted:
#   scripts/with-postgres.sh swift test --skip-build
# The command sees TANDEM_TEST_POSTGRES=postgres://postgres@127.0.0.1:PORT/postgres (a superuser
# with trust authentication, fsync off: for tests and benchmarks only, never for data). Members
# of the role `tandem_password_users` must give their password (scram-sha-256), for the tests
# of how tandem-server passes one.
# Installs Debian's `postgresql` when it is missing. initdb refuses to run as root: as root the
# cluster runs as the `postgres` user (runuser); otherwise as the caller.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh postgresql
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PGDATA=$(mktemp -d /tmp/tandem-pg.XXXXXX)
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$PGDATA"
    as_owner=(runuser -u postgres --)
fi
stop() {
    "${as_owner[@]}" "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PGDATA"
}
trap stop EXIT INT TERM
# A free port on loopback.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${as_owner[@]}" "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --no-sync >/dev/null
hba="$PGDATA/pg_hba.conf"
{ echo "host all +tandem_password_users 127.0.0.1/32 scram-sha-256"; cat "$hba"; } > "$hba.new"
mv "$hba.new" "$hba"
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$hba"
"${as_owner[@]}" "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $PGDATA -c fsync=off -c max_connections=300" start >/dev/null
"$PGBIN/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE ROLE tandem_password_users NOLOGIN"
echo "== PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (throwaway, $PGDATA)"
export TANDEM_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/postgres"
status=0
"$@" || status=$?
exit $status
