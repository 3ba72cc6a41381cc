#!/usr/bin/env bash
# Builds release binaries and runs the benchmark (figures beside a raw SQLite baseline of the same run).
#   scripts/bench.sh [--rows N] [--reps R] [--edits K]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product tandem -q
swift build -c release --product tandem-bench -q
exec .build/release/tandem-bench "$@"
