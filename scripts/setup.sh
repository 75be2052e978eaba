#!/usr/bin/env bash
# Installs what the project needs and skips what is already there (a second run is fast).
# Usage: scripts/setup.sh
set -euo pipefail

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

# Vulkan loader + lavapipe (a CPU Vulkan driver): the GPU kernels' tests run on it when no GPU is present.
apt_install libvulkan1 mesa-vulkan-drivers

echo "setup: done"
