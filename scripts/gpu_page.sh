#!/usr/bin/env bash
# On the GPU machine: the page (a built dist/) in headless Chromium on the real GPU, served
# with the two cross-origin isolation headers that `trunk serve` sends (NOCOI=1: without
# them), its console lines in $OUT/NAME.log and screenshots at 1920x1080 and 1280x720 in
# $OUT/NAME/ once the benchmark logs {"bench":"done"}. Chromium comes from
# ../shared/tools/gpu-chromium (parts a and b copied into STAGE first, part c carried as
# .gpu-chromium/c), as that tool's README says; this differs from its run.sh in the headers
# and the screenshots.
# Usage: scripts/gpu_page.sh STAGE DIST NAME SECONDS '/?bench&rows=1000000&trees=200&depth=12&features=32'
set -u
stage=$1 dist=$2 name=$3 secs=$4 q=$5
OUT=${OUT:-target/gpu-page}   # the device machine sets OUT; its files come back from there
c=$(pwd)/.gpu-chromium/c
root=/opt/gpu-chromium
if [ ! -x $root/usr/lib/chromium/chromium-headless-shell ]; then
  cat "$stage"/hs.part.* > "$stage/chromium-headless-shell.deb" || exit 1
  mkdir -p $root
  for f in "$stage"/*.deb; do dpkg -x "$f" $root; done
fi
for f in "$c"/*.deb; do dpkg -x "$f" $root; done
for f in "$c"/fonts-dejavu-core_*.deb "$c"/fontconfig-config_*.deb; do [ -f "$f" ] && dpkg -x "$f" /; done
export LD_LIBRARY_PATH=$root/usr/lib/x86_64-linux-gnu:$root/usr/lib/x86_64-linux-gnu/pulseaudio:$root/lib/x86_64-linux-gnu:$root/usr/lib/chromium
[ -f /usr/share/vulkan/icd.d/nvidia_icd.json ] || export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -n "${NOCOI:-}" ]; then python3 -m http.server 18765 --bind 127.0.0.1 --directory "$dist" >/dev/null 2>&1 &
else python3 scripts/coi_server.py "$dist" 18765 & fi
srv=$!
sleep 1
$root/usr/lib/chromium/chromium-headless-shell --no-sandbox --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync --user-data-dir="$(mktemp -d)" \
  --enable-unsafe-webgpu --enable-features=Vulkan --use-vulkan=native --ignore-gpu-blocklist \
  --disable-vulkan-surface --use-angle=vulkan --remote-debugging-port=9222 --window-size=1920,1080 \
  "http://127.0.0.1:18765$q" 2>/tmp/chr-$name.log </dev/null &
chr=$!
mkdir -p "$OUT/$name"
timeout $((secs + 30)) python3 scripts/cdp_watch.py 9222 "$OUT/$name" "$secs" > "$OUT/$name.log" 2>&1
kill $chr $srv 2>/dev/null
# Nothing of this browser may run on into the next measurement.
pkill -f chromium-headless-shell; sleep 3; pkill -9 -f chromium-headless-shell; pkill -f coi_server.py; sleep 1
grep -E "Uncaught|ERROR:.*(WebGPU|Vulkan)" /tmp/chr-$name.log | head -5
