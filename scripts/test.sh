#!/usr/bin/env bash
# Sets up what is missing, then runs every test: the Rust tests (engine, CLI, GPU kernels on
# lavapipe) in release and with debug checks, the Python package's tests, a short fuzz pass,
# the harness image's smoke test, and the page's end-to-end tests in Chromium (WebGPU on
# SwiftShader).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# lavapipe complains on every device open without a runtime dir.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
  export XDG_RUNTIME_DIR="${TMPDIR:-/tmp}/gpuforest-xdg"
  mkdir -p -m 700 "$XDG_RUNTIME_DIR"
fi
cargo test --release --locked
# Again with debug assertions and overflow checks (the test profile: opt-level 2, checks on).
cargo test --locked
# The Python package (built into .venv by setup): scikit-learn's estimator checks, the CLI's
# model bytes, GPU bits on lavapipe, a Dask cluster of 2 worker processes.
.venv/bin/pytest -q -p no:cacheprovider python/tests
# A short pass over each fuzz target, from the committed corpus.
scripts/fuzz.sh 20
# The harness image: built with podman (or docker), then `forest` runs inside it on lavapipe.
scripts/image.sh --smoke
# Playwright starts `trunk serve` (as scripts/run.sh does) and stops it afterwards.
(cd e2e && npx playwright test)
