#!/usr/bin/env bash
# The main job, live: builds tandem and walks through a day of offline editing in the
# exchange programme — a round, organisations, people, exchanges, a bulk CSV import, the
# validation that keeps bad data out, and the round report.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
echo "== building tandem (first build takes a few minutes)"
swift build --product tandem -q
tandem="$PWD/.build/debug/tandem"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TANDEM_DB="$work/ministry.sqlite"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ tandem %s\n' "$*"; "$tandem" "$@"; }

say "The Ministry of Public Administration starts a replica, offline"
run init
round=$(run add round number=5 title="Connected for action" status=open opens_on=2026-04-15 closes_on=2026-09-30 | tail -1)
ministry=$(run add organisation name="Ministry of Public Administration" sector=public | tail -1)
amcham=$(run add organisation name="AmCham Slovenia" sector=private registration_id=SI-AMCHAM | tail -1)
company=$(run add organisation name="Kovina d.o.o." sector=private registration_id=SI-1234567 | tail -1)
municipality=$(run add organisation name="Municipality of Velenje" sector=municipality | tail -1)
ana=$(run add person organisation="$ministry" full_name="Ana Novak (invented)" title="Senior adviser" | tail -1)
marko=$(run add person organisation="$company" full_name="Marko Kranjc (invented)" | tail -1)

say "Two exchanges for round 5 (ids may be given as unique prefixes)"
x1=$(run add exchange round="$round" person="$ana" home="$ministry" host="$company" starts_on=2026-05-04 ends_on=2026-05-08 | tail -1)
run add exchange round="$round" person="$marko" home="$company" host="$ministry" starts_on=2026-06-01 ends_on=2026-06-05 status=proposed
run set exchange "${x1:0:23}" status=confirmed goals="Digital permits: learn from the company's release process"
run get exchange "$x1" --format json

say "More exchanges arrive as a CSV file: one transaction, all or nothing"
cat > "$work/exchanges.csv" <<CSV
round,person,home,host,starts_on,ends_on,status
$round,$ana,$ministry,$municipality,2026-07-06,2026-07-10,confirmed
$round,$marko,$company,$municipality,2026-09-14,2026-09-18,cancelled
CSV
run import exchange "$work/exchanges.csv"

say "Bad input is refused with one line and nothing written"
printf 'round,person,home,host,starts_on,ends_on\n%s,%s,%s,%s,2026-08-10,2026-08-03\n' "$round" "$ana" "$ministry" "$company" > "$work/bad.csv"
run import exchange "$work/bad.csv" || echo "(exit $?)"
run add exchange round="$round" person="$ana" home="$ministry" host="$company" starts_on=2026-05-04 ends_on=2026-05-08 status=maybe || echo "(exit $?)"
run rm organisation "$company" || echo "(exit $?)"

say "What the replica holds, and what waits for the server"
run list exchange --where round="$round" --format csv
run status

say "The round report, computed from the replica"
run report round 5
run report round 5 --format json

say "It is an ordinary SQLite file"
if command -v sqlite3 >/dev/null; then
    printf '$ sqlite3 %s "select status, count(*) from exchange group by status"\n' "$TANDEM_DB"
    sqlite3 "$TANDEM_DB" "select status, count(*) from exchange group by status"
fi
