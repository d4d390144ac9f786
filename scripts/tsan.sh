#!/usr/bin/env bash
# ThreadSanitizer: builds build-tsan with -fsanitize=thread and runs the unit tests and the
# hub-mode integration tests (the code with threads: cnats callbacks handed to the loop, the
# health and control threads). Every process the tests start is built with
# TSan too; all of them write their reports under one directory, and any report fails the run,
# whether or not the test that started the process noticed. Races inside libzmq, cnats and libuv
# (not built with TSan) are suppressed by tests/tsan.supp; ours never are.
#
#   scripts/tsan.sh            unit + hub-mode integration tests
#   scripts/tsan.sh -R REGEX   any ctest selection
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
export BUILD_DIR=${BUILD_DIR:-build-tsan}
if [[ ! -f $BUILD_DIR/build.ninja ]]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DTWINHUB_TSAN=ON -DTWINHUB_BUILD_BENCH=OFF
fi
cmake --build "$BUILD_DIR" -j "${JOBS:-2}"
reports=$(mktemp -d /tmp/twinhub-tsan.XXXXXX)
export TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp log_path=$reports/report second_deadlock_stack=1 history_size=4"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
rc=0
run() { (cd "$BUILD_DIR" && ctest --output-on-failure --timeout 300 "$@") || rc=$?; }
if (($#)); then
  run "$@"
else
  run -L unit
  run -R "^(HubMode|HubHardening): "
fi
if compgen -G "$reports/report*" >/dev/null; then
  echo "== ThreadSanitizer reports ($reports):"
  for f in "$reports"/report*; do echo "--- $f"; head -n 60 "$f"; done
  exit 1
fi
rm -rf "$reports"
echo "== ThreadSanitizer: no reports"
exit "$rc"
