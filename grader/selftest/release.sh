#!/usr/bin/env bash
# Self-test of tools/release.sh (a stage of make test).
#
# Releases a kit of lab 1 into a temporary folder (and one with lab 1's
# solution released), checks what it holds and what it must not hold, then
# in the kit: `make grade LAB=1` (the stub: score 0, every test "not
# attempted") and `make grade LAB=1 IMPL=reference` (full marks from the
# shipped object). Ends with "N passed, N failed"; exits 1 on a failure.
#
# KEEP=1 keeps the temporary folder.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3

pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

T=$(mktemp -d "${TMPDIR:-/tmp}/nnlab-release-test.XXXXXX") || { echo "0 passed, 1 failed"; exit 1; }
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$T"' EXIT

# The lab table: lab 1's folder and module(s), and lab 2's (the one not released).
row() { grep -v '^#' grader/labs.tsv | awk -F'\t' -v n="$1" '$1 == n'; }
F1=$(row 1 | cut -f2) M1=$(row 1 | cut -f3)
F2=$(row 2 | cut -f2)

# jfield FILE EXPR: a value from results.json (EXPR in Python, r = the JSON).
jfield() { "$PY" -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$1" 2>/dev/null; }

# ---------------------------------------------------------------- usage errors
check "no arguments is a usage error" bash -c '! tools/release.sh >/dev/null 2>&1'
check "a bad lab list is refused" bash -c "! tools/release.sh '$T/x' 1-x >/dev/null 2>&1"
check "an unknown lab is refused" bash -c "! tools/release.sh '$T/x' 99 >/dev/null 2>&1"
mkdir -p "$T/busy" && echo keep >"$T/busy/mine.txt"
check "a non-empty folder that is no kit is refused" bash -c "! tools/release.sh '$T/busy' 1 >/dev/null 2>&1"
check "... and left alone" test -f "$T/busy/mine.txt"

# ---------------------------------------------------------------- the kit
K=$T/kit
if tools/release.sh "$K" 1 >"$T/release.log" 2>&1; then ok "release LABS=1"; else bad "release LABS=1"; cat "$T/release.log"; fi
check "kit has the Makefile, README, tools, datasets" test -f "$K/Makefile" -a -f "$K/README.md" -a -d "$K/tools" -a -f "$K/datasets/iris.csv"
check "kit has lab 1's stub and only lab 1" bash -c "[ -d '$K/labs/$F1' ] && [ ! -e '$K/labs/$F2' ]"
check "kit has the public headers" test -f "$K/reference/include/nnlab/neuron.h"
check "kit has the framework sources" test -f "$K/reference/src/tensor.c" -a -f "$K/reference/src/rng.c"
check "kit has no datasets/downloads" test ! -e "$K/datasets/downloads"
check "kit has no grader/hidden" test ! -e "$K/grader/hidden"
check "kit has no grader/selftest" test ! -e "$K/grader/selftest" -a ! -e "$K/grader/selftest.sh"
check "kit has no gradescope or batch tools" test ! -e "$K/grader/gradescope" -a ! -e "$K/grader/batch"
check "kit has no reference tests (oracle)" test ! -e "$K/reference/tests"
check "kit has no lab-module source" bash -c "
  for l in \$(grep -v '^#' grader/labs.tsv | cut -f3); do
    for m in \$l; do [ ! -e '$K/reference/src/'\$m ] || exit 1; done; done"
check "kit has every lab module as an object" bash -c "
  for m in \$(grep -v '^#' grader/labs.tsv | cut -f3 | tr ' ' '\n' | grep '\.c\$'); do
    [ -f \"reference/src/\$m\" ] || continue
    [ -s '$K/reference/obj/'\${m%.c}.o ] || exit 1; done"
check "no BEGIN SOLUTION line in the kit" bash -c "! grep -rqE --exclude='*.o' '^[[:space:]]*/\\*[[:space:]]*BEGIN SOLUTION' '$K'"
check "no hidden-test table in the kit" bash -c "! grep -rqE --exclude='*.o' 'gr_hidden_tests[[:space:]]*\\[[[:space:]]*\\][[:space:]]*=' '$K'"
check "objects hold no debug information" bash -c "! readelf -S '$K/reference/obj/${M1%.c}.o' 2>/dev/null | grep -q debug_info"
check "objects compiled without -march=native (no AVX-512)" bash -c "! objdump -d '$K/reference/obj/${M1%.c}.o' 2>/dev/null | grep -q zmm"
check "pristine stub shipped for the grader" cmp -s "$K/grader/stubs/$F1/$M1" "labs/$F1/$M1"
check ".gitignore keeps reference/obj/*.o" grep -q '!/reference/obj/\*.o' "$K/.gitignore"
check "releasing into an earlier kit works" bash -c "tools/release.sh '$K' 1 >/dev/null 2>&1"

# ---------------------------------------------------------------- it builds and grades
G=$K/build/grade/lab01
( cd "$K" && make --no-print-directory grade LAB=1 ) >"$T/grade-student.log" 2>&1
rc=$?
check "kit: make grade LAB=1 runs (exit 0)" test "$rc" = 0
if [ -f "$G/results.json" ]; then
  ok "kit: results.json written"
  check "kit: the stub scores 0" test "$(jfield "$G/results.json" "r.get('score', -1)")" = 0
  check "kit: the stub is 'not attempted', not 'failed'" grep -qi "not attempted" "$G/results.json"
  check "kit: the reference run for the plots works (shipped object)" bash -c "! grep -q 'reference run failed' '$T/grade-student.log'"
else
  bad "kit: results.json written"; tail -n 30 "$T/grade-student.log"
fi
( cd "$K" && make --no-print-directory grade LAB=1 IMPL=reference ) >"$T/grade-ref.log" 2>&1
rc=$?
check "kit: make grade LAB=1 IMPL=reference runs (exit 0)" test "$rc" = 0
if [ -f "$G/results.json" ]; then
  score=$(jfield "$G/results.json" "r['score']")
  max=$(jfield "$G/results.json" "sum(t.get('max_score', 0) for t in r['tests'])")
  if [ -n "$score" ] && [ -n "$max" ] && [ "$max" != 0 ] && "$PY" -c "import sys; sys.exit(abs(float('$score') - float('$max')) > 1e-9)"; then
    ok "kit: the shipped reference object scores full marks ($score/$max)"
  else
    bad "kit: the shipped reference object scores full marks (got $score/$max)"; tail -n 30 "$T/grade-ref.log"
  fi
else
  bad "kit: IMPL=reference wrote results.json"; tail -n 30 "$T/grade-ref.log"
fi
( cd "$K" && make --no-print-directory grade LAB=1 IMPL=stub ) >"$T/grade-stub.log" 2>&1
check "kit: make grade LAB=1 IMPL=stub scores 0" bash -c "[ \"\$($PY -c 'import json; print(json.load(open(\"$G/results.json\"))[\"score\"])')\" = 0 ]"

if command -v doxygen >/dev/null 2>&1; then
  check "kit: make docs (no link to what the kit leaves out)" \
    bash -c "cd '$K' && make --no-print-directory docs >'$T/docs.log' 2>&1"
fi

# ---------------------------------------------------------------- released solutions
S=$T/kit-sol
if tools/release.sh "$S" 1-2 1 >"$T/release-sol.log" 2>&1; then ok "release LABS=1-2 SOLUTIONS=1"; else bad "release LABS=1-2 SOLUTIONS=1"; cat "$T/release-sol.log"; fi
check "released solution: lab 1 source shipped" test -f "$S/reference/src/$M1"
check "released solution: no lab 1 object" test ! -e "$S/reference/obj/${M1%.c}.o"
check "released solution: lab 2 still an object" bash -c "ls '$S/reference/obj/'*.o >/dev/null 2>&1 && [ ! -e '$S/reference/src/$(row 2 | cut -f3 | cut -d' ' -f1)' ]"
check "released solution: BEGIN SOLUTION only in lab 1's source" bash -c "
  [ \"\$(grep -rlE --exclude='*.o' '^[[:space:]]*/\\*[[:space:]]*BEGIN SOLUTION' '$S')\" = '$S/reference/src/$M1' ]"
( cd "$S" && make --no-print-directory grade LAB=1 IMPL=reference ) >"$T/grade-sol.log" 2>&1
check "released solution: IMPL=reference grades from the source" bash -c "
  $PY -c 'import json,sys; r=json.load(open(\"$S/build/grade/lab01/results.json\")); sys.exit(r[\"score\"] != sum(t.get(\"max_score\",0) for t in r[\"tests\"]) or r[\"score\"] == 0)'"

echo "release: $pass passed, $fail failed"
[ "$fail" = 0 ]
