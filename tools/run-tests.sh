#!/usr/bin/env bash
# `make test`: build everything with warnings as errors, run every test
# stage, and close with one line "N passed, N failed, N skipped".
#
# Each stage prints its own "N passed, N failed[, N skipped]" line, which is
# added to the totals; a stage that crashes without such a line counts as
# one failure. SANITIZE=1 builds and runs under AddressSanitizer + UBSan in
# build/asan (the Python oracle and libFuzzer stages are skipped there: the
# first cannot load an ASan library, the second is ASan-built already).
set -u
cd "$(dirname "$0")/.."

SAN=${SANITIZE:-0}
BUILD=build; [ "$SAN" = 1 ] && BUILD=build/asan
MAKE_ARGS=(--no-print-directory WERROR=1 SANITIZE="$SAN" BUILD="$BUILD")
LOGDIR=$BUILD/test-logs
mkdir -p "$LOGDIR"
export OPENBLAS_NUM_THREADS=1

passed=0 failed=0 skipped=0
declare -a failures=()

# add_counts NAME LOG RC: add the stage's closing counts to the totals.
add_counts() {
  local name=$1 log=$2 rc=$3 line p f s
  line=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
  if [ -z "$line" ]; then
    failed=$((failed + 1)); failures+=("$name (exit $rc, no result line; see $log)"); return
  fi
  p=$(sed -E 's/.*\b([0-9]+) passed.*/\1/' <<<"$line")
  f=$(sed -E 's/.*\b([0-9]+) failed.*/\1/' <<<"$line")
  s=0; grep -q skipped <<<"$line" && s=$(sed -E 's/.*\b([0-9]+) skipped.*/\1/' <<<"$line")
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  if [ "$f" != 0 ] || { [ "$rc" != 0 ] && [ "$f" = 0 ]; }; then
    [ "$f" = 0 ] && failed=$((failed + 1))
    failures+=("$name (see $log)")
  fi
}

# stage NAME COMMAND...: run one stage, show its tail, record its counts.
stage() {
  local name=$1; shift
  local log=$LOGDIR/$name.log start=$SECONDS
  echo "==> $name"
  "$@" >"$log" 2>&1
  local rc=$?
  grep -E '^(FAIL|fuzz|oracle|not ok)|Test: .*FAILED|^  +[0-9]+\. ' "$log" | head -n 40
  add_counts "$name" "$log" "$rc"
  echo "    $(grep -E '[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1) [$((SECONDS - start)) s]"
}

# One pass/fail test for a whole command.
single() {
  local name=$1; shift
  if "$@"; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
}

echo "==> build (-Werror, $BUILD)"
if ! make -j"$(nproc)" "${MAKE_ARGS[@]}" all >"$LOGDIR/build.log" 2>&1; then
  tail -n 40 "$LOGDIR/build.log"
  echo "build failed (full log: $LOGDIR/build.log)"
  echo "0 passed, 1 failed"
  exit 1
fi

# kit_check: in a student kit (make release) there are no reference tests;
# check instead that each lab's shipped reference grades to full marks.
kit_check() {
  local dir n total p=0 f=0
  for dir in labs/[0-9][0-9]-*/; do
    n=${dir#labs/}; n=${n%%-*}
    make --no-print-directory grade LAB="$n" IMPL=reference PLOTS=0 OUT="$BUILD/kit-test/lab$n" >/dev/null 2>&1
    total=$(grep -E '^Total: ' "$BUILD/kit-test/lab$n/summary.txt" 2>/dev/null)
    if [[ $total =~ ^Total:\ ([0-9.]+)\ /\ ([0-9.]+) ]] && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]; then
      echo "ok   lab $n: the reference scores full marks ($total)"; p=$((p + 1))
    else
      echo "FAIL lab $n: the reference does not score full marks (${total:-no summary})"; f=$((f + 1))
    fi
  done
  echo "$p passed, $f failed"
}

if [ -d reference/tests ]; then
  stage unit "$BUILD/bin/nnlab-tests"
fi
stage cli tools/test-cli.sh "$BUILD/bin/nnlab"
if [ -d grader/selftest ]; then
  stage grader env WERROR=1 SANITIZE="$SAN" BUILD="$BUILD" grader/selftest.sh
else
  stage kit kit_check
fi
if [ "$SAN" = 1 ]; then
  echo "==> oracle, fuzz, docs: skipped under SANITIZE=1"
else
  if [ ! -f reference/tests/oracle.py ]; then
    :   # a student kit: no oracle
  elif [ -x /usr/bin/python3 ]; then
    stage oracle /usr/bin/python3 reference/tests/oracle.py "$BUILD/lib/libnnlab.so"
  else
    echo "==> oracle: skipped (no /usr/bin/python3)"; skipped=$((skipped + 1))
  fi
  [ -d reference/tests ] && stage train-mine tools/test-train-mine.sh
  # The GPU reference: its tests skip (with the reason) without a device.
  [ -f reference/gpu/gpu.mk ] && stage gpu make --no-print-directory "${MAKE_ARGS[@]}" test-gpu
  for t in release gradescope batch; do
    [ -f "grader/selftest/$t.sh" ] && stage "$t" "grader/selftest/$t.sh"
  done
  [ -f slides/check.sh ] && stage slides slides/check.sh
  [ -d reference/fuzz ] && stage fuzz tools/fuzz.sh build/fuzz "${FUZZ_SECONDS:-10}" idx csv safetensors
  if command -v doxygen >/dev/null 2>&1; then
    stage docs single docs make --no-print-directory docs
  else
    echo "==> docs: skipped (doxygen not installed)"; skipped=$((skipped + 1))
  fi
fi

if [ ${#failures[@]} -gt 0 ]; then
  echo; echo "failed stages:"; printf '  %s\n' "${failures[@]}"
fi
echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
