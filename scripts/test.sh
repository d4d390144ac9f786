#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test (unit and integration,
# real sockets, real processes). SANITIZE=1 builds into build-asan with ASan+UBSan instead.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
if [[ "${SANITIZE:-0}" == 1 ]]; then
  export BUILD_DIR=${BUILD_DIR:-build-asan}
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi
build_dir=${BUILD_DIR:-build}
if [[ "${SANITIZE:-0}" == 1 ]]; then
  ./scripts/build.sh -DTWINHUB_BUILD_BENCH=OFF  # the benchmark tools are not tests
else
  ./scripts/build.sh
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
cd "$build_dir"
ctest --output-on-failure --timeout 120 "$@"
