#!/usr/bin/env bash
# Builds release binaries (Swift runtime linked statically, as we ship them) and runs the
# benchmark: figures beside a raw SQLite baseline of the same run.
#   scripts/bench.sh [--rows N] [--reps R] [--edits K] [--entries E] [--only import|sync|store|audit]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=(swift build -c release --static-swift-stdlib --scratch-path .build-static)
"${build[@]}" --product tandem
"${build[@]}" --product tandem-server
"${build[@]}" --product tandem-bench
exec .build-static/release/tandem-bench "$@"
