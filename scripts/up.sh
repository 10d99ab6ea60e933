#!/usr/bin/env bash
# Brings up a single-node corekube cluster on this machine (installing what it needs first).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec pnpm -s corekube up "$@"
