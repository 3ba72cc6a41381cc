#!/usr/bin/env bash
# The main job, live, on the embedded SQLite store: a sync server, two organisations editing one
# exchange offline, sync with a field-level merge, a manual conflict the coordinator resolves,
# bad input refused, the programme's rules across records, a schema change the replicas take up,
# an organisation offline for a week exchanging signed bundles with its coordinator, the round report, the history of a record, and an auditor who takes the whole signed history
# home, verifies it, and catches an entry altered behind the server's back.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
echo "== building tandem and tandem-server (the first build takes a few minutes)"
swift build --product tandem -q
swift build --product tandem-server -q
bin="$PWD/.build/debug"
work=$(mktemp -d)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*" >&2; }
tandem() { show "tandem $*"; "$bin/tandem" "$@"; }
admin() { show "tandem-server $*"; "$bin/tandem-server" "$@"; }
as_ministry() { TANDEM_DB="$work/ministry.sqlite" tandem "$@"; }
as_company() { TANDEM_DB="$work/kovina.sqlite" tandem "$@"; }
as_coordinator() { TANDEM_DB="$work/coordinator.sqlite" tandem "$@"; }
as_auditor() { TANDEM_DB="$work/auditor.sqlite" tandem "$@"; }
as_second_auditor() { TANDEM_DB="$work/auditor2.sqlite" tandem "$@"; }

say "A sync server, its store in $work/server (SQLite)"
coordinator_token=$(admin init --data "$work/server")
"$bin/tandem-server" serve --data "$work/server" --port 0 > "$work/server.out" 2> "$work/server.log" &
server_pid=$!
for _ in $(seq 50); do grep -q "listening" "$work/server.out" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o 'http://[^ ]*' "$work/server.out")
echo "serving at $url"

say "Two organisations join the programme"
read -r ministry ministry_token < <(admin org add --data "$work/server" --name "Ministry of Public Administration" --sector public | paste -sd' ')
read -r company company_token < <(admin org add --data "$work/server" --name "Kovina d.o.o." --sector private | paste -sd' ')

say "Each gets a replica; the coordinator too"
as_coordinator init --server "$url" --token "$coordinator_token"
as_ministry init --server "$url" --token "$ministry_token"
as_company init --server "$url" --token "$company_token"
as_coordinator status

say "The coordinator opens round 5; the ministry plans an exchange with the company"
round=$(as_coordinator add round number=5 title="Connected for action" status=open opens_on=2026-04-15 closes_on=2026-09-30)
as_coordinator sync
as_ministry sync
ana=$(as_ministry add person organisation="$ministry" full_name="Ana Novak (invented)" title="Senior adviser")
exchange=$(as_ministry add exchange round="$round" person="$ana" home="$ministry" host="$company" starts_on=2026-05-04 ends_on=2026-05-08 status=proposed)
as_ministry sync
as_company sync
as_company get exchange "$exchange"

say "Both edit the exchange offline: different fields merge, the same date is a manual conflict"
as_ministry set exchange "$exchange" goals="Digital permits: learn the company's release process" starts_on=2026-05-05
as_company set exchange "$exchange" notes="Desk and laptop ready in Velenje" status=confirmed starts_on=2026-05-06
as_ministry sync
as_company sync
as_ministry sync
as_ministry get exchange "$exchange"
as_coordinator sync
as_coordinator conflicts

before_resolution=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
say "The coordinator resolves it"
conflict=$("$bin/tandem" conflicts --db "$work/coordinator.sqlite" --format json | grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4)
as_coordinator resolve "$conflict" --keep incoming
as_ministry sync
as_company sync
as_ministry get exchange "$exchange" --format json
as_company get exchange "$exchange" --format json

say "Bad input is refused with one line and nothing written"
as_company set exchange "$exchange" ends_on=2026-04-01 || echo "(exit $?)"
as_company set round "$round" status=closed || echo "(exit $?: a member may not change a round; the server would refuse it too)"
as_company status

say "The programme's own rules hold across organisations (schema constraints, decided at merge)"
as_company set exchange "$exchange" ends_on=2026-10-02 || echo "(exit $?: exchanges run inside their round's window)"
as_company add exchange round="$round" person="$ana" home="$company" host="$ministry" starts_on=2026-06-01 ends_on=2026-06-05 \
  || echo "(exit $?: the person on an exchange works for its home organisation)"
challenge=$(as_ministry add challenge round="$round" title="Paperless permits" proposer="$ministry")
as_ministry sync
as_coordinator sync
as_coordinator set challenge "$challenge" status=selected || echo "(exit $?: a selected challenge needs a mentor)"
as_coordinator set challenge "$challenge" status=selected mentor="$ana"
as_coordinator sync

say "The programme changes its schema while replicas are offline: a new optional field"
as_coordinator schema --format json | python3 -c '
import json, sys
schema = json.load(sys.stdin)
practice = next(table for table in schema["tables"] if table["name"] == "practice")
practice["fields"].append({"name": "website", "type": "text"})
json.dump(schema, sys.stdout)' > "$work/schema-v2.json"
admin schema apply --data "$work/server" "$work/schema-v2.json"
as_ministry sync
as_ministry status

say "Kovina's site team is offline for a week: a USB stick carries bundles both ways"
as_site() { TANDEM_DB="$work/site.sqlite" tandem "$@"; }
mkdir -p "$work/usb"
as_site init --org "$company"
as_coordinator sync
as_coordinator bundle export "$work/usb/to-kovina.tandem" --for "$company"
as_site bundle import "$work/usb/to-kovina.tandem"
as_site get exchange "$exchange"
practice=$(as_site add practice organisation="$company" title="Welding school for interns" tags="training;industry" website=https://kovina.example/school)
as_site set exchange "$exchange" notes="Site visit: bring safety boots"
as_site bundle export "$work/usb/from-kovina.tandem"
gzip -dc "$work/usb/from-kovina.tandem" | head -n 1 | cut -c1-160
as_coordinator bundle import "$work/usb/from-kovina.tandem"
as_coordinator sync
as_coordinator get practice "$practice"
as_coordinator bundle export "$work/usb/to-kovina-2.tandem" --for "$company"
as_site bundle import "$work/usb/to-kovina-2.tandem"
as_site bundle import "$work/usb/to-kovina.tandem" || echo "(exit $?: an older bundle is refused)"
gzip -dc "$work/usb/from-kovina.tandem" | sed 's/Welding/Melting/' | gzip -c > "$work/usb/altered.tandem"
as_coordinator bundle import "$work/usb/altered.tandem" || echo "(exit $?: an altered bundle is refused, nothing queued)"
say "Back online, the site syncs: the server answers duplicate for what the bundle brought, nothing applies twice"
as_site remote "$url" --token "$company_token"
as_site sync
as_site status

say "The round report, from any replica"
as_coordinator sync
as_coordinator report round 5

say "Everything that happened to the exchange, from the history"
as_coordinator history exchange "$exchange"

say "An auditor takes the whole history home and checks it without trusting the server"
auditor_token=$(admin token issue --data "$work/server" --role auditor)
as_auditor init --server "$url" --token "$auditor_token"
as_auditor audit pull
as_auditor audit verify
as_auditor audit export --format csv | cut -d, -f1-4,6-11 | tail -n 5
admin verify --data "$work/server"

say "The exchange as it stood before the coordinator resolved the conflict ($before_resolution)"
as_auditor get exchange "$exchange" --as-of "$before_resolution"

say "Someone alters an entry in the server's store behind its back"
python3 - "$work/server/store.sqlite" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
# Not a personal value: an entry holds those only as commitments (SPEC §8).
seq = db.execute("SELECT min(seq) FROM log WHERE entry LIKE '%ready in Velenje%'").fetchone()[0]
if seq is None:
    sys.exit("demo: no entry holds the exchange's notes")
db.execute("UPDATE log SET entry = replace(entry, 'ready in Velenje', 'ready in Celje') WHERE seq = ?", (seq,))
db.commit()
print(f"(entry {seq} now says the desk is ready in Celje; its hash was left as it was)")
PY
admin verify --data "$work/server" || echo "(exit $?)"
as_second_auditor init --server "$url" --token "$auditor_token"
as_second_auditor audit pull
as_second_auditor audit verify || echo "(exit $?: the auditor names the altered entry)"
as_auditor audit verify
echo "(the first auditor's copy, taken before, is intact and still verifies)"
