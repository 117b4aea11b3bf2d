#!/usr/bin/env bash
# Installs what Precis needs, builds it, writes the lumbar phantom and opens the planner on it.
# With no display available it renders the same scene headless to a PNG and says where.
# Usage: scripts/run.sh [precis arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset dev >/dev/null
cmake --build --preset dev --target precis
exec build/dev/app/precis "$@"
