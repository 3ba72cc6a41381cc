#!/usr/bin/env bash
# Runs every test: installs what is missing, checks the format, builds once, runs all test
# suites (unit and end-to-end against the built binaries) beside a throwaway PostgreSQL cluster
# (scripts/with-postgres.sh: started here, removed afterwards even when tests fail), and
# smoke-runs the benchmark.
#   scripts/test.sh                     everything
#   TANDEM_SEED=N scripts/test.sh       reuse a seed printed by a failed random test
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

echo "== format check (swift format lint, .swift-format)"
swift format lint --strict --recursive --parallel Package.swift Protocol Client Server Sources Tests Benchmarks

echo "== imports (every module a target imports is declared for it in Package.swift)"
scripts/check-imports.sh

echo "== build"
swift build --build-tests

echo "== tests (SQLite and PostgreSQL stores)"
scripts/with-postgres.sh swift test --skip-build --parallel

echo "== schemathesis against a live tandem-server and its /openapi.json (fails on a 5xx or a non-conforming answer)"
scripts/schemathesis.sh

echo "== benchmark smoke run (small sizes; the real run is scripts/bench.sh)"
scripts/with-postgres.sh .build/debug/tandem-bench --rows 2000 --edits 3 --entries 2000 --clients 40 --seconds 2
