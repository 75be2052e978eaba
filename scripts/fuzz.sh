#!/usr/bin/env bash
# Fuzzes the parsers of untrusted input (fuzz/: a CSV file, a model file, a worker's message,
# an ONNX file)
# with cargo fuzz (libFuzzer, AddressSanitizer, debug assertions and overflow checks on).
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (default: 20 seconds each, every target)
#   Starts from the committed corpus (fuzz/corpus/TARGET) and writes what it finds under
#   target/fuzz/, so the committed corpus stays as it is. Exits non-zero on a crash, leaving
#   the input under target/fuzz/TARGET-artifacts/. To grow the committed corpus, run a
#   target's binary with fuzz/corpus/TARGET as its first directory.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-20}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(csv model_json worker_message onnx_model)

command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz --version 0.13.2
# cargo fuzz passes -Zsanitizer flags, which stable rustc takes only with RUSTC_BOOTSTRAP (the
# one toolchain here is stable).
echo "fuzz: building the targets"
(cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz build -O -a)
bin=fuzz/target/x86_64-unknown-linux-gnu/release
for t in "${targets[@]}"; do
  found=target/fuzz/$t-found
  artifacts=target/fuzz/$t-artifacts
  mkdir -p "$found" "$artifacts"
  echo "fuzz: $t for ${seconds} s"
  if ! "$bin/$t" "$found" "fuzz/corpus/$t" -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=3072 -artifact_prefix="$artifacts/" >"target/fuzz/$t.log" 2>&1; then
    tail -n 40 "target/fuzz/$t.log"
    echo "fuzz: $t crashed; the input is in $artifacts" >&2
    exit 1
  fi
  tail -n 1 "target/fuzz/$t.log"
done
