#!/usr/bin/env bash
# `make test-gpu`: the GPU reference's three test programs, one closing line.
#
#   GPU_TESTS    nnlab-gpu-tests: kernels and training on the GPU against
#                the CPU (every test skipped, with the reason, without a device)
#   GPU_SKIP     instead of GPU_TESTS: why they were not built (no nvcc)
#   HOST_TESTS   nnlab-gpu-host-tests: plain C, the dropout stream's jump-ahead
#   EMU_BUILD    the command that builds EMU_TESTS, the kernels and the
#   EMU_TESTS    training path run on the CPU emulator (needs CUDA_INCLUDE/
#   CUDA_INCLUDE cuda_runtime.h; skipped, with the reason, without it)
#
# Prints each program's lines, then "N passed, N failed, N skipped" (the sum);
# exits non-zero when a test failed or a program crashed.
set -u
passed=0 failed=0 skipped=0

# count LOG: add a program's closing line to the totals (missing: one failure).
count() {
  local line
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
  if [ -z "$line" ]; then
    failed=$((failed + 1)); echo "FAIL  $2 ended without its closing line"; return
  fi
  read -r p _ f _ s _ <<<"${line//,/}"
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + ${s:-0}))
}

run() { # name, program
  local log
  log=$(mktemp) || exit 2
  echo "==> $1"
  "$2" >"$log" 2>&1
  local rc=$?
  grep -v -E '^[0-9]+ passed, [0-9]+ failed' "$log" | sed 's/^/  /'
  count "$log" "$1"
  [ $rc = 0 ] || [ "$(grep -c '^FAIL' "$log")" != 0 ] || { failed=$((failed + 1)); echo "FAIL  $1 exited $rc"; }
  rm -f "$log"
}

if [ -n "${GPU_TESTS:-}" ]; then
  run "GPU tests (a CUDA device)" "$GPU_TESTS"
else
  echo "==> GPU tests (a CUDA device): skipped: ${GPU_SKIP:-not built}"
  skipped=$((skipped + 1))
fi

run "pcg jump-ahead (plain C)" "$HOST_TESTS"

if [ -f "${CUDA_INCLUDE:-/nonexistent}/cuda_runtime.h" ]; then
  if log=$($EMU_BUILD 2>&1); then
    run "kernels and training on the CPU emulator" "$EMU_TESTS"
  else
    echo "$log" | tail -n 20
    echo "FAIL  building the emulator tests"; failed=$((failed + 1))
  fi
else
  echo "==> kernels on the CPU emulator: skipped: the CUDA headers are not there ($CUDA_INCLUDE/cuda_runtime.h)"
  skipped=$((skipped + 1))
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
