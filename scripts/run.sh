#!/usr/bin/env bash
# Sets up what is missing, builds the page and serves it on localhost.
# Usage: scripts/run.sh            (PORT=9000 scripts/run.sh for another port)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
PORT="${PORT:-8080}"
echo
echo "Building the page, then serving it at:  http://127.0.0.1:$PORT/"
echo "(open it in Chrome; the benchmark mode is http://127.0.0.1:$PORT/?bench&rows=100000&trees=100&depth=12&features=32)"
echo
exec trunk --config trunk.toml serve --skip-version-check --release --no-autoreload --address 127.0.0.1 --port "$PORT"
