#!/usr/bin/env bash
# Sets up what is missing, builds the `forest` CLI and runs it on a bundled dataset.
# (The web page is not built yet; see README "Status".)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --locked
./target/release/forest train --csv assets/breast_cancer.csv --target diagnosis --model-out target/breast_cancer.model.json
echo
echo "forest is at ./target/release/forest (try: ./target/release/forest --help)"
