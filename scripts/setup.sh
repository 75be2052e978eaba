#!/usr/bin/env bash
# Installs what the project needs and skips what is already there (a second run is fast).
# Usage: scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

apt_install() {
  local missing=()
  for p in "$@"; do have_pkg "$p" || missing+=("$p"); done
  if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# Vulkan loader + lavapipe (a CPU Vulkan driver): the GPU kernels' tests run on it when no GPU
# is present. Chromium: the e2e tests' browser (its WebGPU runs on SwiftShader without a GPU).
apt_install libvulkan1 mesa-vulkan-drivers chromium
command -v npm >/dev/null || apt_install nodejs npm

# The page: Rust to wasm, built by trunk, with wasm-bindgen-cli at the exact version of the
# wasm-bindgen crate in Cargo.lock (trunk refuses a mismatch). trunk 0.22 needs a newer rustc.
rustup target list --installed | grep -qx wasm32-unknown-unknown ||
  rustup target add wasm32-unknown-unknown

TRUNK_VERSION=0.21.14
if [ "$(trunk --version 2>/dev/null)" != "trunk $TRUNK_VERSION" ]; then
  echo "setup: installing trunk $TRUNK_VERSION (about 9 minutes on 2 cores)"
  cargo install --locked trunk --version "$TRUNK_VERSION"
fi

WASM_BINDGEN_VERSION=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  echo "setup: installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # Not --locked: a locked dependency of this release is gone from the registry.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# The e2e tests' Node packages (Playwright drives Debian's Chromium; it downloads no browser).
if [ ! -d e2e/node_modules/@playwright/test ] || [ e2e/package-lock.json -nt e2e/node_modules/.package-lock.json ]; then
  echo "setup: installing the e2e tests' Node packages"
  (cd e2e && npm ci --no-audit --no-fund --loglevel=error)
fi

# The Python package: a virtual environment (.venv) with maturin and the tests' packages, and
# the package built into it from python/ (cargo rebuilds only what changed).
python3 -c "import venv, ensurepip" 2>/dev/null || apt_install python3-venv
[ -x .venv/bin/python ] || python3 -m venv .venv
if ! cmp -s python/requirements-dev.txt .venv/requirements-dev.txt; then
  echo "setup: installing the Python package's build and test requirements"
  .venv/bin/pip install -q --disable-pip-version-check -r python/requirements-dev.txt
  cp python/requirements-dev.txt .venv/requirements-dev.txt
fi
# maturin's build hook runs the `maturin` program by name: the environment's bin first on PATH
# (it is not activated here).
PATH="$PWD/.venv/bin:$PATH" .venv/bin/pip install -q --disable-pip-version-check --no-build-isolation ./python

echo "setup: done"
