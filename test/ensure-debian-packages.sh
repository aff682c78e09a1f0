#!/usr/bin/env bash
# Makes sure the Debian packages a test suite or benchmark needs are installed, so that the
# README's `npm test` is enough on a fresh machine: as root it installs the missing ones with
# apt-get (Debian's archive is, with npm, the only package source the project's machines
# reach); otherwise it stops and prints the exact command to run. Every suite that needs a
# system package calls this one script (directly, or through test/ensure-debian-packages.ts).
#
#   bash test/ensure-debian-packages.sh PACKAGE...
#
# Installed packages are checked with dpkg-query, so a second call costs milliseconds.
set -euo pipefail
if [ $# -eq 0 ]; then
  echo "usage: $0 PACKAGE..." >&2
  exit 2
fi

missing=()
find_missing() {
  missing=()
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
  done
}

find_missing "$@"
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "Missing Debian packages: ${missing[*]}. Install them, then run the tests again:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

# Test files run in parallel and may ask at the same time: one installs while the others wait
# here, then find the packages in place. apt itself waits for a dpkg lock held by anyone else.
exec 9>"${TMPDIR:-/tmp}/tuner-ensure-debian-packages.lock"
flock 9
find_missing "$@"
[ ${#missing[@]} -eq 0 ] && exit 0

echo "ensure-debian-packages: installing ${missing[*]} (apt-get, as root)" >&2
started=$SECONDS
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq </dev/null
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
echo "ensure-debian-packages: installed ${missing[*]} in $((SECONDS - started)) s" >&2
