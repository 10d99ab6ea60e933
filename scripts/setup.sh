#!/usr/bin/env bash
# Installs what corekube needs on a fresh Debian/Ubuntu machine: pnpm (pinned), the workspace's
# packages, the node's Debian tools, and (with --test) Debian's etcd, which the conformance tests and
# benchmarks compare with, plus the registry and CNI plugins the kubelet's tests use.
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

# Debian packages, each checked by a file it installs: the node's tools (the kubelet runs pods with
# util-linux's unshare/nsenter/setpriv, busybox-static, catatonit as the pause process, iproute2 and
# iptables for networking) and, for the tests, etcd, Debian's CNI plugins and a registry with skopeo/umoci.
apt_wanted=()
want_pkg() { [ -e "$2" ] || apt_wanted+=("$1"); }
want_pkg busybox-static /bin/busybox
want_pkg catatonit /usr/bin/catatonit
want_pkg iproute2 /usr/sbin/ip
want_pkg iptables /usr/sbin/iptables
want_pkg util-linux /usr/bin/setpriv
want_pkg attr /usr/bin/setfattr
if [ "$want_test" = 1 ]; then
  want_pkg etcd-server /usr/bin/etcd
  want_pkg containernetworking-plugins /usr/lib/cni/bridge
  want_pkg docker-registry /usr/bin/docker-registry
  want_pkg skopeo /usr/bin/skopeo
  want_pkg umoci /usr/bin/umoci
  want_pkg nftables /usr/sbin/nft
fi
if [ "${#apt_wanted[@]}" -gt 0 ]; then
  need_root
  echo "corekube setup: installing Debian packages: ${apt_wanted[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Keep packages' services (etcd, the registry) from starting: tests start their own on loopback.
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && own_policy=1
  fi
  apt-get update -qq
  apt-get install -y -qq "${apt_wanted[@]}" >/dev/null
  [ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
fi

pnpm install --frozen-lockfile --reporter=silent
