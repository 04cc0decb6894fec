#!/usr/bin/env bash
# Self-test of grader/batch (a stage of make test).
#
# Makes a class of six in a temporary folder (names with spaces and a comma,
# files nested in folders) and grades it, lab guessed from the file names:
#   "alice ref"        the reference module, in a subfolder  -> full marks, graded
#   "bob stub"         the untouched stub                      -> 0, not attempted, graded
#   "carol, broken"    a file that does not compile            -> 0, compile error
#   "dave"             no module file                          -> 0, missing file
#   "erin hangs"       the test program never starts a test    -> 0, timeout
#   "frank crashes"    every function dereferences NULL        -> 0, every test failed
# with an instructor's extra test (--hidden), and checks gradebook.csv row by
# row, each results.json and report.html.
# Ends with "N passed, N failed"; exits 1 on a failure. KEEP=1 keeps the folder.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3

pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
jsonok() { "$PY" -m json.tool "$1" >/dev/null 2>&1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/nnlab-batch-test.XXXXXX") || { echo "0 passed, 1 failed"; exit 1; }
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$T"' EXIT

ROW=$(grep -v '^#' grader/labs.tsv | awk -F'\t' '$1 == 1')
F1=$(cut -f2 <<<"$ROW") M1=$(cut -f3 <<<"$ROW" | cut -d' ' -f1)

S=$T/submissions
mkdir -p "$S/alice ref/lab 1/src" "$S/bob stub" "$S/carol, broken" "$S/dave"
cp "reference/src/$M1" "$S/alice ref/lab 1/src/$M1"
mkdir -p "$S/alice ref/__MACOSX/lab 1" && echo junk >"$S/alice ref/__MACOSX/lab 1/._$M1"
cp "labs/$F1/$M1" "$S/bob stub/$M1"
printf '#include "nnlab/neuron.h"\nint nn_neuron_sum(void) { return }\n' >"$S/carol, broken/$M1"
echo "see attached" >"$S/dave/README.txt"
# erin: the reference with a constructor that never returns (the test
# program hangs before any test: only the batch's --timeout stops it).
mkdir -p "$S/erin hangs"
{ cat "reference/src/$M1"; printf '\n__attribute__((constructor)) static void hang(void) { for (;;) {} }\n'; } >"$S/erin hangs/$M1"
# frank: every function dereferences NULL first (every test crashes).
mkdir -p "$S/frank crashes"
sed 's|^\([[:space:]]*\)/\* TODO:.*\*/|&\n\1*(volatile int *)0 = 1;|' "labs/$F1/$M1" >"$S/frank crashes/$M1"

# An instructor's extra test (--hidden, a folder with a space in its name).
mkdir -p "$T/extra tests"
cat >"$T/extra tests/extra.c" <<'EOF'
#include "grader.h"
#include <math.h>
#include "nnlab/neuron.h"
static void test_extra(void) { CU_ASSERT(fabsf(nn_neuron_sigmoid(0.0f) - 0.5f) < 1e-6f); }
const gr_test gr_extra_tests[] = {
    {"batch self-test extra", 1, 2.0, "nn_neuron_sigmoid", test_extra},
    {NULL, 0, 0, NULL, NULL}
};
EOF

# ---------------------------------------------------------------- usage
check "usage error without arguments" bash -c '! grader/batch >/dev/null 2>&1'
check "a missing submissions folder is refused" bash -c "! grader/batch '$T/nope' '$T/o' >/dev/null 2>&1"
check "a bad -j is refused" bash -c "! grader/batch -j x '$S' '$T/o' >/dev/null 2>&1"

# ---------------------------------------------------------------- the batch
O="$T/out dir"
start=$SECONDS
grader/batch -j 3 --timeout 20 --hidden "$T/extra tests" "$S" "$O" >"$T/batch.log" 2>&1
rc=$?
check "batch exits 0 (took $((SECONDS - start)) s)" test "$rc" = 0
check "batch guessed lab 1" grep -q 'lab 1 (guessed' "$T/batch.log"
[ "$rc" = 0 ] || tail -n 30 "$T/batch.log"
B=$O/gradebook.csv
check "gradebook.csv written" test -s "$B"
check "gradebook header" test "$(head -n 1 "$B" 2>/dev/null)" = "student,score,max_score,passed,failed,not_attempted,status"
check "one row per student" test "$(tail -n +2 "$B" 2>/dev/null | wc -l)" = 6

# row NAME EXPR: EXPR (Python, on the row dict r, numbers as float) is true.
row() {
  "$PY" - "$B" "$1" "$2" <<'PYEOF'
import csv, sys
path, name, expr = sys.argv[1:4]
rows = {r["student"]: r for r in csv.DictReader(open(path, newline=""))}
r = rows.get(name)
if r is None:
    print("  no row for %r (rows: %s)" % (name, list(rows))); sys.exit(1)
for k in ("score", "max_score", "passed", "failed", "not_attempted"):
    try: r[k] = float(r[k])
    except ValueError: r[k] = None
ok = eval(expr, {}, {"r": r})
if not ok: print("  row:", r)
sys.exit(0 if ok else 1)
PYEOF
}
check "alice ref: full marks, graded" row "alice ref" "r['status'] == 'graded' and r['max_score'] > 0 and r['score'] == r['max_score'] and r['failed'] == 0 and r['not_attempted'] == 0"
check "bob stub: 0, every test not attempted" row "bob stub" "r['status'] == 'graded' and r['score'] == 0 and r['passed'] == 0 and r['not_attempted'] > 0 and r['failed'] == 0"
check "carol, broken: 0, compile error" row "carol, broken" "r['status'] == 'compile error' and r['score'] == 0 and r['passed'] == 0"
check "dave: 0, missing file, max_score known" row "dave" "r['status'] == 'missing file' and r['score'] == 0 and r['max_score'] > 0"
check "erin hangs: 0, timeout" row "erin hangs" "r['status'] == 'timeout' and r['score'] == 0"
check "frank crashes: 0, every test failed, graded" row "frank crashes" "r['status'] == 'graded' and r['score'] == 0 and r['passed'] == 0 and r['failed'] > 0 and r['not_attempted'] == 0"
check "frank crashes: the report says segmentation fault" grep -qi "segmentation fault" "$O/frank crashes/results.json"
for n in "alice ref" "bob stub" "carol, broken" "dave" "erin hangs" "frank crashes"; do
  check "$n: results.json is valid JSON" jsonok "$O/$n/results.json"
done
check "alice ref: report.html" test -s "$O/alice ref/report.html"
check "--hidden: the extra test ran" grep -q "batch self-test extra" "$O/alice ref/results.json"
check "alice ref: graded the nested file, not the __MACOSX copy" grep -q "lab 1/src/$M1" "$O/alice ref/grade.log"
check "work copies removed" test ! -e "$O/.work"
check "no objects or test programs copied out" bash -c "! ls '$O/alice ref/tests' '$O/alice ref/obj' '$O/alice ref/reference' >/dev/null 2>&1"

echo "batch: $pass passed, $fail failed"
[ "$fail" = 0 ]
