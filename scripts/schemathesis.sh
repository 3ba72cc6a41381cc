#!/usr/bin/env bash
# Fuzzes a live tandem-server against its own GET /openapi.json with schemathesis: every answer
# must be a non-5xx whose status, Content-Type and body the document describes. Schemathesis's
# warnings stay on (a run where every request got 401 says so), and afterwards the server's own
# request counts (GET /metrics) must show a 2xx for every operation a coordinator's token can
# succeed at: a run that never got past authentication or validation fails.
#   scripts/schemathesis.sh                 after `swift build` (uses .build/debug/tandem-server)
#   ST_MAX_EXAMPLES=N ST_SEED=N scripts/schemathesis.sh
# Needs python3 with venv; schemathesis goes into .build-venv (pinned, ~30 s the first time).
# Exits non-zero when schemathesis finds a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
VENV=.build-venv
SERVER=.build/debug/tandem-server
MAX_EXAMPLES=${ST_MAX_EXAMPLES:-40}
SEED=${ST_SEED:-$RANDOM}

[ -x "$SERVER" ] || { echo "schemathesis.sh: $SERVER is missing; run swift build first" >&2; exit 1; }
if ! "$VENV/bin/st" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    echo "== installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

"$SERVER" init --data "$WORK/data" --format json > "$WORK/init.json"
# Rate limits off: the fuzzer sends far more than a sync would (429 is documented regardless).
LOG_LEVEL=error "$SERVER" serve --data "$WORK/data" --port 0 --push-rate 0 --pull-rate 0 \
    > "$WORK/serve.out" 2> "$WORK/serve.err" &
SERVER_PID=$!
URL=
for _ in $(seq 1 100); do
    URL=$(sed -n 's/^tandem-server listening on \(http[^ ]*\)$/\1/p' "$WORK/serve.out")
    [ -n "$URL" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/serve.err" >&2; exit 1; }
    sleep 0.1
done
[ -n "$URL" ] || { echo "schemathesis.sh: the server did not start" >&2; exit 1; }
TOKEN=$("$SERVER" token issue --data "$WORK/data" --role coordinator --format json \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')

echo "== schemathesis $SCHEMATHESIS_VERSION against $URL/openapi.json (max $MAX_EXAMPLES examples an operation, seed $SEED)"
START=$(date +%s)
STATUS=0
ST="$PWD/$VENV/bin/st"
# From the scratch folder: schemathesis leaves a .schemathesis/ cache where it runs.
# One worker: with two, Python 3.11 (Debian's included) crashes inside hypothesis now and then
# ("AST constructor recursion depth mismatch", python/cpython#106905), which is no finding of
# ours; --max-time bounds the run either way.
(cd "$WORK" && "$ST" run "$URL/openapi.json" \
    --header "Authorization: Bearer $TOKEN" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,unsupported_method,ignored_auth \
    --max-examples "$MAX_EXAMPLES" --seed "$SEED" --workers 1 --request-timeout 10 \
    --max-time 110 --generation-database none --no-color) 2>&1 | tee "$WORK/st.out" || STATUS=$?
echo "== schemathesis: exit $STATUS after $(( $(date +%s) - START )) s"
# Its warnings are shown, and the one that says the token did not work fails the run.
if grep -Eq "^(Missing authentication|Authentication failed)" "$WORK/st.out"; then
    echo "schemathesis.sh: schemathesis got 401/403 for most requests: the token did not work" >&2
    STATUS=1
fi
# Every operation answered 2xx at least once with the coordinator's token. Not expected where
# the fuzzer cannot guess an id that exists (schemathesis warns "missing test data" for them):
# POST /v1/conflicts/{id}/resolve (no conflict), POST /v1/erase (no such record), GET /v1/bundle
# (?for= no such organisation).
curl -fsS -H "Authorization: Bearer $TOKEN" "$URL/metrics" > "$WORK/metrics.txt" || {
    echo "schemathesis.sh: cannot read $URL/metrics" >&2
    exit 1
}
python3 - "$WORK/metrics.txt" "$URL" <<'PY' || STATUS=1
import json, re, sys, urllib.request
metrics, url = sys.argv[1:]
document = json.load(urllib.request.urlopen(url + "/openapi.json"))
unreachable = {("POST", "/v1/conflicts/{id}/resolve"), ("POST", "/v1/erase"), ("GET", "/v1/bundle")}
succeeded, answered = set(), {}
pattern = re.compile(r'^tandem_http_requests_total\{endpoint="([^"]*)",method="([^"]*)",status="([0-9]+)"\} ([0-9.e+]+)$')
for line in open(metrics):
    match = pattern.match(line.strip())
    if not match: continue
    endpoint, method, status, count = match.groups()
    answered.setdefault((method, endpoint), {})[status] = int(float(count))
    if status.startswith("2") and float(count) > 0: succeeded.add((method, endpoint))
operations = {(method.upper(), path) for path, item in document["paths"].items() for method in item
              if method in ("get", "post", "put", "patch", "delete")}
missing = sorted(operations - unreachable - succeeded)
for method, path in sorted(operations):
    print(f"   {method:5} {path:32} {answered.get((method, path), {})}")
if missing:
    print("schemathesis.sh: no 2xx answer to " + ", ".join(f"{m} {p}" for m, p in missing)
          + " (every request refused: authentication or validation?)", file=sys.stderr)
    sys.exit(1)
print(f"== every one of {len(operations - unreachable)} operations answered 2xx at least once")
PY
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "schemathesis.sh: the server died during the run" >&2
    cat "$WORK/serve.err" >&2
    exit 1
fi
exit "$STATUS"
