#!/usr/bin/env bash
# Build and run libFuzzer targets against the reference library.
#
#   usage: tools/fuzz.sh OUTDIR SECONDS TARGET...
#   e.g.   tools/fuzz.sh build/fuzz 60 idx csv safetensors
#
# For each TARGET, reference/fuzz/fuzz_<TARGET>.c is linked with every
# reference/src/*.c under clang's -fsanitize=fuzzer,address,undefined into
# OUTDIR/fuzz_<TARGET>, then run for SECONDS on a copy of
# reference/fuzz/corpus/<TARGET>/ (the seeds stay untouched; what the fuzzer
# finds stays in OUTDIR). Prints "fuzz <TARGET>: N runs, no crash", or the
# crash with the input that caused it, and closes with
# "fuzz: N passed, N failed" (the line `make test` adds up). Exits non-zero
# on a crash or a build failure. Without clang and libFuzzer it says so and
# exits 0: fuzzing is a check we add where the tools exist.
set -u

usage() {
  echo "usage: $0 OUTDIR SECONDS TARGET..." >&2
  exit 2
}
[ $# -ge 3 ] || usage
case $2 in '' | *[!0-9]* | 0) echo "fuzz: SECONDS must be a whole number >= 1" >&2; usage ;; esac

mkdir -p "$1" || exit 2
OUT=$(cd "$1" && pwd)            # absolute: we change folder next
SECONDS_EACH=$2
shift 2
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
CLANG=${CLANG:-clang}
# UBSan must stop at the first finding, or libFuzzer would not see it.
# shellcheck disable=SC2054  # the commas belong to -fsanitize=
SAN=(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)

# Is there a clang that can link a libFuzzer target? Try a trivial one.
probe=$OUT/.probe
if ! command -v "$CLANG" >/dev/null 2>&1 ||
   ! printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
       'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
       'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' |
     "$CLANG" -x c - -fsanitize=fuzzer -o "$probe" >/dev/null 2>&1; then
  echo "fuzz: skipped (clang with libFuzzer not found)"
  echo "0 passed, 0 failed, $# skipped"
  exit 0
fi
rm -f "$probe"

BLAS_CFLAGS=$(pkg-config --cflags openblas 2>/dev/null)
BLAS_LIBS=$(pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
CFLAGS=(-std=c11 -g -O1 -Ireference/include -D_POSIX_C_SOURCE=200809L "-DNNLAB_ROOT=\"$ROOT\"")

# The library, once for all targets: coverage-instrumented (fuzzer-no-link)
# and sanitized, compiled in parallel.
LIBDIR=$OUT/lib
rm -rf "$LIBDIR" && mkdir -p "$LIBDIR"
pids=()
for src in reference/src/*.c; do
  obj=$LIBDIR/$(basename "${src%.c}").o
  # shellcheck disable=SC2086  # BLAS_CFLAGS is a list of flags
  "$CLANG" "${CFLAGS[@]}" $BLAS_CFLAGS -fsanitize=fuzzer-no-link "${SAN[@]}" \
    -c "$src" -o "$obj" 2>"$obj.log" &
  pids+=($!)
done
lib_ok=1
for pid in "${pids[@]}"; do wait "$pid" || lib_ok=0; done
if [ "$lib_ok" = 0 ]; then
  echo "fuzz: the library does not build with clang:"
  cat "$LIBDIR"/*.log | head -n 30
  echo "fuzz: 0 passed, $# failed"
  exit 1
fi

passed=0 failed=0
for target in "$@"; do
  src=reference/fuzz/fuzz_$target.c
  exe=$OUT/fuzz_$target
  log=$OUT/fuzz_$target.log
  if [ ! -f "$src" ]; then
    echo "fuzz $target: no $src"
    failed=$((failed + 1)); continue
  fi
  # shellcheck disable=SC2086
  if ! "$CLANG" "${CFLAGS[@]}" $BLAS_CFLAGS -fsanitize=fuzzer "${SAN[@]}" "$src" \
       "$LIBDIR"/*.o -o "$exe" $BLAS_LIBS -lz -lm >"$log" 2>&1; then
    echo "fuzz $target: build failed"
    head -n 20 "$log"
    failed=$((failed + 1)); continue
  fi

  corpus=$OUT/corpus_$target
  rm -rf "$corpus" && mkdir -p "$corpus"
  [ -d "reference/fuzz/corpus/$target" ] && cp -R "reference/fuzz/corpus/$target/." "$corpus/"

  # -timeout: one input running over 10 s is a hang; -rss_limit_mb: a
  # runaway allocation is a finding too. Crashing inputs go to OUTDIR.
  OPENBLAS_NUM_THREADS=1 "$exe" -max_total_time="$SECONDS_EACH" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$OUT/${target}-" \
    "$corpus" >"$log" 2>&1
  rc=$?
  runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n 1)
  [ -n "$runs" ] || runs=$(sed -nE 's/^Done ([0-9]+) runs.*/\1/p' "$log" | tail -n 1)
  if [ "$rc" = 0 ]; then
    echo "fuzz $target: ${runs:-?} runs, no crash"
    passed=$((passed + 1))
  else
    echo "fuzz $target: CRASH after ${runs:-?} runs (exit $rc; full log: $log)"
    grep -E '^==[0-9]+==ERROR|^SUMMARY|runtime error|deadly signal|Test unit written|^artifact_prefix|ERROR: libFuzzer' "$log" |
      head -n 12 | sed 's/^/    /'
    failed=$((failed + 1))
  fi
done

echo "fuzz: $passed passed, $failed failed"
[ "$failed" = 0 ]
