#!/usr/bin/env bash
# Builds the harness image (docker/Dockerfile): the release `forest` binary, built here, plus the
# Vulkan loader. Uses docker when its daemon answers, else podman.
#
# Usage: scripts/image.sh [--tag NAME] [--no-lavapipe] [--export DIR] [--smoke]
#   --tag NAME      the image's name (default gpuforest-harness:latest)
#   --no-lavapipe   leaves out the CPU Vulkan driver (about 270 MB): for hosts with a GPU; such an
#                   image refuses to bench a CPU emulation (FOREST_REQUIRE_GPU=1)
#   --export DIR    also writes the image's root filesystem (DIR/rootfs.tar.xz) and its settings
#                   (DIR/config.json), which scripts/image_run.sh runs on a host with no engine
#   --smoke         the CI check: also builds the smoke stage, which runs `forest --help` and a
#                   small `forest bench` inside the image (on lavapipe: a build sees no GPU).
#                   Installs podman when no engine is present, and makes the Debian base image
#                   from Debian's packages (debootstrap) when no registry can be reached. Skips,
#                   saying why, only when no engine can be installed.
set -euo pipefail
cd "$(dirname "$0")/.."

tag=gpuforest-harness:latest
smoke=0
lavapipe=1
export_dir=""
while (($#)); do
  case "$1" in
    --tag) tag="${2:?--tag needs a name}"; shift 2 ;;
    --smoke) smoke=1; shift ;;
    --no-lavapipe) lavapipe=0; shift ;;
    --export) export_dir="${2:?--export needs a folder}"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "image: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

if ((smoke && !lavapipe)); then
  echo "image: --smoke needs lavapipe: a build sees no GPU" >&2; exit 2
fi
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"

engine=""
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  engine=docker
elif command -v podman >/dev/null; then
  engine=podman
elif ((smoke)); then
  echo "image: installing podman and debootstrap"
  if $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
      $sudo apt-get install -y -qq podman debootstrap >/dev/null; then
    engine=podman
  else
    echo "image: SKIPPED the image smoke test: neither docker nor podman is present or installable" >&2
    exit 0
  fi
else
  echo "image: needs docker (with its daemon running) or podman" >&2
  exit 1
fi
# podman: chroot isolation builds where user namespaces and cgroups are not available (CI sandboxes).
build=("$engine" build)
[ "$engine" = podman ] && build+=(--isolation chroot)

# The binary links to the build host's glibc, so the image uses the same Debian release.
debian=bookworm
if [ -r /etc/os-release ] && . /etc/os-release && [ "${ID:-}" = debian ] && [ -n "${VERSION_CODENAME:-}" ]; then
  debian=$VERSION_CODENAME
else
  echo "image: not a Debian host; using debian:$debian-slim (glibc 2.36): build on a host whose glibc is not newer" >&2
fi
base="docker.io/library/debian:$debian-slim"

echo "image: building the release binary"
cargo build --release --locked --bin forest
context=target/image
rm -rf "$context" && mkdir -p "$context"
strip -o "$context/forest" target/release/forest

if ! $engine image inspect "$base" >/dev/null 2>&1 &&
    ! timeout 60 $engine pull -q "$base" >/dev/null 2>&1; then
  # No registry here: the same Debian release, made from Debian's packages, under the base's name.
  command -v debootstrap >/dev/null || $sudo apt-get install -y -qq debootstrap >/dev/null
  echo "image: no registry answers; making $base with debootstrap"
  rootfs=$(mktemp -d)
  $sudo debootstrap --variant=minbase "$debian" "$rootfs" http://deb.debian.org/debian >/dev/null
  # As the registry's slim image ships: no package cache, no package lists.
  $sudo rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  $sudo tar -C "$rootfs" -c . | $engine import - "$base" >/dev/null
  $sudo rm -rf "$rootfs"
fi

args=(--build-arg "DEBIAN=$debian" --build-arg "LAVAPIPE=$lavapipe"
  --build-arg "REQUIRE_GPU=$((1 - lavapipe))" -f docker/Dockerfile)
"${build[@]}" "${args[@]}" -t "$tag" "$context"
mb() { $engine image inspect --format '{{.Size}}' "$1" | awk '{printf "%.0f MB", $1/1e6}'; }
echo "image: built $tag with $engine: $(mb "$tag") ($base: $(mb "$base"))"
if [ -n "$export_dir" ]; then
  mkdir -p "$export_dir"
  cid=$($engine create "$tag")
  $engine export "$cid" | xz -T0 -6 >"$export_dir/rootfs.tar.xz"
  $engine rm "$cid" >/dev/null
  $engine image inspect --format '{{json .Config}}' "$tag" >"$export_dir/config.json"
  echo "image: exported to $export_dir ($(du -h "$export_dir/rootfs.tar.xz" | cut -f1) compressed)"
fi
if ((smoke)); then
  # After the harness, so that its layers are tagged and the smoke stage reuses them.
  echo "image: smoke stage (forest --help, and a bench inside the image)"
  "${build[@]}" "${args[@]}" --target smoke -t "$tag-smoke" "$context"
  $engine rmi "$tag-smoke" >/dev/null
  echo "image: smoke test passed"
fi
