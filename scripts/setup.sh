#!/usr/bin/env bash
# Prepares a checkout for `npm start` / `npm test`. Runs BEFORE node_modules may exist, so it is
# plain bash. Quiet and fast (a few ms) when everything is already in place.
#   1. Debian packages the native libvirt binding, the e2e browser and node-gyp need.
#   2. `npm ci` when node_modules is missing or older than package-lock.json.
#   3. `prisma generate` when the generated client is missing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

# --- 1. system packages ---------------------------------------------------------------------
DEB_PACKAGES=(libvirt-dev libvirt-clients pkg-config chromium python3 make g++)

if command -v dpkg-query >/dev/null 2>&1; then
  # One dpkg-query for all packages; unknown packages print nothing on stdout (error on stderr).
  installed="$(dpkg-query -W -f='${Package} ${Status}\n' "${DEB_PACKAGES[@]}" 2>/dev/null || true)"
  missing=()
  for pkg in "${DEB_PACKAGES[@]}"; do
    if ! grep -qxF "$pkg install ok installed" <<<"$installed"; then
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]} > 0)); then
    if [[ "$(id -u)" -eq 0 ]]; then
      log "installing missing Debian packages: ${missing[*]}"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
      log "missing Debian packages: ${missing[*]}"
      log "install them as root, then re-run:"
      log "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
      exit 1
    fi
  fi
else
  log "dpkg-query not found (not Debian?): make sure these are installed: ${DEB_PACKAGES[*]}"
fi

# --- 2. node_modules ------------------------------------------------------------------------
# npm writes node_modules/.package-lock.json on every install; if it is missing or older than
# package-lock.json, node_modules does not reflect the lockfile. npm 11 honours `allowScripts`.
if [[ ! -f node_modules/.package-lock.json || node_modules/.package-lock.json -ot package-lock.json ]]; then
  log "node_modules missing or stale: running npm ci"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
fi

# --- 3. Prisma client -----------------------------------------------------------------------
if [[ ! -e packages/db/src/generated && -f scripts/prisma-generate.ts ]]; then
  log "generating the Prisma client"
  npx tsx scripts/prisma-generate.ts
fi
