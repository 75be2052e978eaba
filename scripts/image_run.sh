#!/usr/bin/env bash
# Runs the harness image on a GPU host that has no container engine, the way the NVIDIA
# Container Toolkit runs it for `docker run --gpus all` with the `graphics` capability: the
# image's root filesystem unpacked, the host driver's libraries and its Vulkan/EGL files put where
# the toolkit puts them, the device nodes, /proc and /sys made visible, the linker's cache made
# again, and the image's entry point run in a chroot as the image's user with the image's
# environment. Before running it says what is missing (a driver library, a device node, a
# library the ICD links to), so a failure names the file. Needs root.
#
# Usage: scripts/image_run.sh [--debug] [--keep] DIR [forest arguments...]
#   DIR      what `scripts/image.sh --export DIR` wrote: rootfs.tar.xz and config.json
#   --debug  the Vulkan loader says which drivers it tries (VK_LOADER_DEBUG=error,warn,driver)
#   --keep   leaves the unpacked root filesystem (in a new folder under /tmp, named at the end;
#            default: removed afterwards), its mounts undone
# Example: scripts/image_run.sh target/image-export bench --batches 1000,1000000 --runs 11
set -euo pipefail

debug=0
keep=0
while (($#)); do
  case "$1" in
    --debug) debug=1; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n "2,15p" "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) break ;;
  esac
done
dir="${1:?image_run: give the folder that scripts/image.sh --export wrote}"; shift
[ "$(id -u)" -eq 0 ] || { echo "image_run: needs root (mounts and chroot)" >&2; exit 2; }
for f in rootfs.tar.xz config.json; do
  [ -r "$dir/$f" ] || { echo "image_run: $dir/$f is missing" >&2; exit 2; }
done

# Outside DIR: a root whose /dev, /sys and /proc are mounted must never sit in a folder that
# something else copies or deletes (a tool syncing a working tree would walk into the host's).
root=$(mktemp -d /tmp/image_run.XXXXXX) && chmod 755 "$root"
cleanup() {
  umount -R "$root/dev" "$root/sys" "$root/proc" 2>/dev/null || true
  if ((keep)); then echo "image_run: the root filesystem is kept in $root"; else rm -rf "$root"; fi
}
trap cleanup EXIT
tar -C "$root" -xJf "$dir/rootfs.tar.xz"

# The driver's libraries: where the host's linker finds libGLX_nvidia.so.0 (the Vulkan ICD).
glx=$(ldconfig -p | awk '/libGLX_nvidia\.so\.0 .*x86-64/ {print $NF; exit}')
for d in "$(dirname "${glx:-/nonexistent/x}")" /usr/local/nvidia/lib64 /usr/lib/x86_64-linux-gnu /usr/lib64; do
  if [ -e "$d/libGLX_nvidia.so.0" ]; then libs=$d; break; fi
done
[ -n "${libs:-}" ] || { echo "image_run: no libGLX_nvidia.so.0 on this host: is NVIDIA's driver installed?" >&2; exit 1; }
lib="$root/usr/lib/x86_64-linux-gnu"
echo "image_run: the driver's libraries from $libs"
# The toolkit's compute, utility and graphics libraries: CUDA, NVML, and the GL/EGL/Vulkan ones.
shopt -s nullglob
for f in "$libs"/libcuda.so* "$libs"/libnvidia-*.so* "$libs"/lib*_nvidia.so*; do
  cp -a "$f" "$lib/"
done
for need in libGLX_nvidia.so.0 'libnvidia-glcore.so.*' 'libnvidia-tls.so.*' \
    'libnvidia-glvkspirv.so.*' 'libnvidia-gpucomp.so.*'; do
  compgen -G "$lib/$need" >/dev/null || echo "image_run: MISSING $need (not beside $libs/libGLX_nvidia.so.0)"
done

# The manifests the loaders read, from wherever this host keeps them.
place() { # place NAME DEST_DIR SEARCH_DIRS...
  local name=$1 dest=$2; shift 2
  for d in "$@"; do
    if [ -r "$d/$name" ]; then
      mkdir -p "$root/$dest" && cp "$d/$name" "$root/$dest/"
      echo "image_run: $dest/$name from $d"; return 0
    fi
  done
  echo "image_run: MISSING $name (looked in $*)"
}
place nvidia_icd.json etc/vulkan/icd.d /etc/vulkan/icd.d /usr/share/vulkan/icd.d \
  /usr/local/nvidia/share/vulkan/icd.d
place nvidia_layers.json etc/vulkan/implicit_layer.d /etc/vulkan/implicit_layer.d \
  /usr/share/vulkan/implicit_layer.d /usr/local/nvidia/share/vulkan/implicit_layer.d
place 10_nvidia.json usr/share/glvnd/egl_vendor.d /usr/share/glvnd/egl_vendor.d \
  /usr/local/nvidia/share/glvnd/egl_vendor.d

# Device nodes (recursively: on hosts that are themselves containers /dev/nvidia* are mounts of
# their own), /sys, and a /proc of this host (it holds /proc/driver/nvidia).
for m in dev sys; do mkdir -p "$root/$m" && mount --rbind "/$m" "$root/$m" && mount --make-rslave "$root/$m"; done
mkdir -p "$root/proc" && mount -t proc proc "$root/proc"
for n in nvidiactl nvidia0 nvidia-uvm; do
  [ -e "$root/dev/$n" ] || echo "image_run: MISSING /dev/$n"
done
chroot "$root" /sbin/ldconfig

# Nothing the ICD links to may be missing in the image's userland.
missing=$(chroot "$root" /usr/bin/ldd /usr/lib/x86_64-linux-gnu/libGLX_nvidia.so.0 | awk '/not found/ {print $1}')
[ -z "$missing" ] || echo "image_run: MISSING in the image, linked by libGLX_nvidia.so.0: $missing"

# The image's own user, working folder, environment and entry point (config.json is
# `podman image inspect --format '{{json .Config}}'`).
readarray -t conf < <(python3 - "$dir/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
print(c.get("User") or "0")
print(c.get("WorkingDir") or "/")
print("\x1f".join(c.get("Env") or []))
print("\x1f".join(c.get("Entrypoint") or []))
PY
)
user=${conf[0]}; workdir=${conf[1]}
IFS=$'\x1f' read -r -a env <<<"${conf[2]}"
IFS=$'\x1f' read -r -a entry <<<"${conf[3]}"
((debug)) && env+=("VK_LOADER_DEBUG=error,warn,driver")
uid=$(chroot "$root" /usr/bin/id -u "$user"); gid=$(chroot "$root" /usr/bin/id -g "$user")
echo "image_run: running ${entry[*]} $* as $user in $workdir"
set +e
chroot --userspec="$uid:$gid" "$root" /usr/bin/env -i "${env[@]}" HOME="$workdir" \
  /bin/sh -c 'cd "$0" && exec "$@"' "$workdir" "${entry[@]}" "$@"
rc=$?
set -e
exit $rc
