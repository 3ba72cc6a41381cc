#!/usr/bin/env bash
# Builds release binaries (Swift runtime linked statically, as we ship them) and runs the
# benchmark: every figure beside a floor measured in the same run (raw SQLite, Ed25519 alone),
# with a PASS/FAIL line against its target (issue 9 §7, issue 10 §6) and a summary at the end.
#   scripts/bench.sh [--rows N] [--reps R] [--edits K] [--entries E] [--held H1,H2,...] [--window W] [--bootstrap N]
#                    [--clients C] [--seconds S]
#                    [--only import|sync|store|bootstrap|audit|postgres|load|bundle|check|personal|group[,...]] [--strict]
#   scripts/bench.sh --held 10000,100000,1000000     the full §7 run (today's merge needs over an hour to fill 1M)
# A missed target prints FAIL and still exits 0; with --strict it exits 1. See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=(swift build -c release --static-swift-stdlib --scratch-path .build-static)
"${build[@]}" --product tandem
"${build[@]}" --product tandem-server
"${build[@]}" --product tandem-bench
# The PostgreSQL part runs beside a throwaway cluster (started here, removed afterwards).
exec scripts/with-postgres.sh .build-static/release/tandem-bench "$@"
