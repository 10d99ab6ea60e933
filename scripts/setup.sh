#!/usr/bin/env bash
# Installs what corekube needs on a fresh Debian/Ubuntu machine: pnpm (pinned), the workspace's
# packages, and (with --test) Debian's etcd, which the conformance tests and benchmarks compare with.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=9.15.9
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

need_root() {
  if [ "$(id -u)" -ne 0 ]; then echo "corekube setup: run as root (sudo $0 $*) to install system packages" >&2; exit 1; fi
}

if ! command -v node >/dev/null 2>&1 || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "corekube setup: Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))." >&2
  echo "  Install it from your distribution or nodejs.org, then run this again." >&2
  exit 1
fi

if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version)" != "$PNPM_VERSION" ]; then
  echo "corekube setup: installing pnpm $PNPM_VERSION with npm"
  npm install -g "pnpm@$PNPM_VERSION" >/dev/null
fi

if [ "$want_test" = 1 ] && ! command -v etcd >/dev/null 2>&1; then
  need_root
  echo "corekube setup: installing Debian's etcd-server (the reference the tests compare with)"
  export DEBIAN_FRONTEND=noninteractive
  # Keep the package's service from starting: the tests start their own etcd on loopback.
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && own_policy=1
  fi
  apt-get update -qq
  apt-get install -y -qq etcd-server >/dev/null
  [ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
fi

pnpm install --frozen-lockfile --reporter=silent
