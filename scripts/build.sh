#!/usr/bin/env bash
# Configures and builds twinhub. BUILD_DIR (default build) and SANITIZE=1 (ASan+UBSan) choose
# the flavour; extra arguments go to cmake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
sanitize=OFF
[[ "${SANITIZE:-0}" == 1 ]] && sanitize=ON
if [[ ! -f "$build_dir/build.ninja" ]] || ! grep -q "TWINHUB_SANITIZE:BOOL=$sanitize" "$build_dir/CMakeCache.txt" 2>/dev/null; then
  cmake -S . -B "$build_dir" -G Ninja -DTWINHUB_SANITIZE=$sanitize "$@"
fi
cmake --build "$build_dir" -j "${JOBS:-2}"
