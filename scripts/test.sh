#!/usr/bin/env bash
# Sets up what is missing, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# lavapipe complains on every device open without a runtime dir.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
  export XDG_RUNTIME_DIR="${TMPDIR:-/tmp}/gpuforest-xdg"
  mkdir -p -m 700 "$XDG_RUNTIME_DIR"
fi
cargo test --release --locked
