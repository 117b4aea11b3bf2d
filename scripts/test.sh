#!/usr/bin/env bash
# Installs what Precis needs, builds everything with warnings as errors, and runs every test
# through ctest (unit, integration, render and gui labels). `.ci/run` runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset ci >/dev/null
cmake --build --preset ci
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
chmod 700 "$XDG_RUNTIME_DIR"
ctest --preset ci -j2 "$@"
