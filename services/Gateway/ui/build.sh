#!/usr/bin/env bash
# Builds the dashboard into ui/dist (run by the Gateway's build): installs Node.js and npm from the distribution's
# packages when missing (as servers.sh installs the servers), the locked packages when package-lock.json changed, then
# type-checks and bundles.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v npm >/dev/null 2>&1; then
  echo "[ui] Node.js and npm are missing: installing them from the distribution's packages"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
