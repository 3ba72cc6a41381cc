#!/usr/bin/env bash
# Checks that every module a target imports is one Package.swift declares for it (a target of
# this package or a product it names), or one the toolchain brings (Foundation, Dispatch, …): a
# module reached only through another package's dependencies builds today and breaks the day
# that package drops it.
#   scripts/check-imports.sh        exit 1 and name each target's undeclared imports
set -euo pipefail
cd "$(dirname "$0")/.."
swift package dump-package | python3 -c '
import json, os, re, sys
package = json.load(sys.stdin)
toolchain = {"Foundation", "FoundationEssentials", "FoundationNetworking", "Dispatch", "Synchronization",
             "Testing", "XCTest", "Glibc", "Darwin", "Musl", "os", "_Concurrency", "Observation", "RegexBuilder"}
pattern = re.compile(r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|package|internal|fileprivate|private)\s+)?import\s+(?:(?:struct|class|enum|protocol|func|var|let|typealias)\s+)?([A-Za-z_][A-Za-z0-9_]*)", re.M)
problems = 0
for target in package["targets"]:
    if target["type"] in ("system", "binary", "plugin", "macro"):
        continue
    folder = target.get("path") or os.path.join("Tests" if target["type"] == "test" else "Sources", target["name"])
    declared = {target["name"]}
    for dependency in target["dependencies"]:
        kind, value = next(iter(dependency.items()))
        declared.add(value[0])  # byName, target or product: its name is the module name here
    imported = {}
    for root, _, files in os.walk(folder):
        for name in files:
            if name.endswith(".swift"):
                path = os.path.join(root, name)
                for module in pattern.findall(open(path, encoding="utf-8").read()):
                    imported.setdefault(module, path)
    for module, path in sorted(imported.items()):
        if module not in declared and module not in toolchain:
            print(target["name"] + f": imports {module} ({path}) without declaring it in Package.swift", file=sys.stderr)
            problems += 1
sys.exit(1 if problems else 0)
'
echo "== every import is declared in Package.swift"
