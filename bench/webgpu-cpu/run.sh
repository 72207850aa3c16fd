#!/usr/bin/env bash
# Runs a Node command with a software WebGPU adapter (Dawn → OpenGL ES → Mesa llvmpipe), so the gpu
# backend's WebGPU path runs on a CPU-only machine:
#   bash bench/webgpu-cpu/run.sh node --import tsx bench/gpu-check.ts --small
#   SOFTSHARE_GPU_MODE=webgpu bash bench/webgpu-cpu/run.sh node --import tsx --test test/ops/*.test.ts
# Mesa's EGL/GLES packages are fetched once with `apt-get download` (Debian bookworm) into ~/.cache.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/softshare-webgpu-cpu
lib=$cache/root/usr/lib/x86_64-linux-gnu
mkdir -p "$cache"
# one download at a time (test files may start this concurrently on a clean machine)
exec 9>"$cache/.lock"
flock 9
if [ ! -e "$lib/libEGL_mesa.so.0" ]; then
  mkdir -p "$cache/debs" && cd "$cache/debs"
  pkgs=(libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri libglapi-mesa libgbm1 libglvnd0 libllvm15 \
    libdrm2 libdrm-amdgpu1 libdrm-intel1 libdrm-nouveau2 libdrm-radeon1 libwayland-server0 libwayland-client0 \
    libxcb-dri2-0 libxcb-dri3-0 libxcb-present0 libxcb-sync1 libxcb-xfixes0 libxshmfence1 libx11-xcb1 \
    libxcb-randr0 libz3-4 libsensors5 libelf1 libedit2 libpciaccess0 libxcb1 libx11-6 libxau6 libxdmcp6 \
    libbsd0 libmd0 libexpat1 libxxf86vm1 libxext6)
  # a clean machine may have no package lists yet: refresh them once (needs root) and retry
  apt-get download "${pkgs[@]}" >/dev/null 2>&1 || { apt-get update -qq && apt-get download "${pkgs[@]}" >/dev/null; }
  for d in *.deb; do dpkg-deb -x "$d" "$cache/root"; done
  cd "$root"
fi
flock -u 9
exec 9>&-
export LD_LIBRARY_PATH=$lib:$cache/root/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export __EGL_VENDOR_LIBRARY_DIRS=$cache/root/usr/share/glvnd/egl_vendor.d
export LIBGL_DRIVERS_PATH=$lib/dri
export EGL_PLATFORM=surfaceless
cmd=$1; shift
exec "$cmd" --import "$root/bench/webgpu-cpu/preload.mjs" "$@"
