#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz, clang with ASan+UBSan) into build-fuzz and runs each
# for SECONDS_PER_HARNESS (default 60) on a copy of its corpus. Stops at the first crash and
# prints the reproducer. Usage: scripts/fuzz.sh [SECONDS_PER_HARNESS] [HARNESS...]
# New inputs libFuzzer finds stay in build-fuzz/corpus/<name>; tests/fuzz/corpus is not changed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
build_dir=${BUILD_DIR:-build-fuzz}

if ! command -v clang++ >/dev/null; then
  # Debian 12: clang 14; libFuzzer's runtime is in libclang-rt-14-dev.
  echo "== installing clang and libFuzzer"
  apt-get install -y clang libclang-rt-14-dev
fi
if [[ ! -f "$build_dir/build.ninja" ]]; then
  # -O1 and no NDEBUG: the product's assert()s are invariants the fuzzer should hit too.
  CC=clang CXX=clang++ cmake -S . -B "$build_dir" -G Ninja -DTWINHUB_FUZZ=ON -DTWINHUB_BUILD_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g"
fi

harnesses=("$@")
if [[ ${#harnesses[@]} == 0 ]]; then
  for f in tests/fuzz/*_fuzz.cc; do harnesses+=("$(basename "$f" _fuzz.cc)"); done
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for name in "${harnesses[@]}"; do
  corpus="$build_dir/corpus/$name"
  artifacts="$build_dir/artifacts/$name/"
  mkdir -p "$corpus" "$artifacts"
  cp -n tests/fuzz/corpus/"$name"/* "$corpus"/
  dict=()
  case "$name" in
    heartbeat | aggregate | desired_state | lease) dict=(-dict=tests/fuzz/json.dict) ;;
    sidecar_config | fleet) dict=(-dict=tests/fuzz/yaml.dict) ;;
  esac
  cmake --build "$build_dir" --target "${name}_fuzz" -j "${JOBS:-2}"
  echo "== $name: ${seconds}s"
  if ! "$build_dir/bin/${name}_fuzz" -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
       "${dict[@]}" -print_final_stats=1 -artifact_prefix="$artifacts" "$corpus" 2>"$build_dir/$name.log"; then
    tail -n 40 "$build_dir/$name.log"
    reproducer=$(ls -t "$artifacts" | head -n 1)
    if [[ -z "$reproducer" ]]; then
      echo "!! $name: failed without a reproducer (see $build_dir/$name.log)"
      exit 1
    fi
    echo "!! $name: crash; reproducer: $artifacts$reproducer"
    echo "   replay: $build_dir/bin/${name}_fuzz $artifacts$reproducer"
    exit 1
  fi
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)|^Done' "$build_dir/$name.log" || true
done
echo "== no crash in ${#harnesses[@]} harnesses"
