#!/usr/bin/env bash
# Installs the system packages Tandem needs on Debian/Ubuntu when they are missing:
# libsqlite3-dev (GRDB), libcurl4-openssl-dev (HTTP), zlib1g-dev (gzip), openssl (the TLS tests
# make a throwaway certificate authority with it), python3 and python3-cryptography
# (scripts/verify-history.py and its tests: without the cryptography module the script checks
# hashes only, and VerifyScriptTests fail rather than accept unchecked signatures).
# Safe to run again; does nothing when all are there.
set -euo pipefail
packages=(libsqlite3-dev libcurl4-openssl-dev zlib1g-dev openssl python3 python3-cryptography "$@")
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get -o DPkg::Lock::Timeout=300 update -qq
$sudo apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
