#!/usr/bin/env bash
# Self-test of the Gradescope autograder (a stage of make test).
#
# Builds lab 1's zip with grader/gradescope/make-zip.sh, unpacks it as a fake
# /autograder tree in a temporary folder (source/ = the zip, submission/,
# results/), runs setup.sh without apt (AUTOGRADER_SKIP_SETUP=1) and
# run_autograder on several submissions, and checks each results.json:
#   the reference module, nested in a folder   -> full marks, hidden tests ran
#   the same as an unprivileged user (root only) -> full marks
#   a file that does not compile               -> 0, a failed "compiles" test
#   no module file at all                      -> 0, says what is missing
#   a program that hangs past the time limit   -> 0, says so
# Every results.json must be valid JSON (/usr/bin/python3 -m json.tool).
# Ends with "N passed, N failed"; exits 1 on a failure. KEEP=1 keeps the folder.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3

pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

T=$(mktemp -d "${TMPDIR:-/tmp}/nnlab-gradescope-test.XXXXXX") || { echo "0 passed, 1 failed"; exit 1; }
chmod 755 "$T"    # the unprivileged user must reach the work folder
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$T"' EXIT

ROW=$(grep -v '^#' grader/labs.tsv | awk -F'\t' '$1 == 1')
M1=$(cut -f3 <<<"$ROW" | cut -d' ' -f1)
REFSRC=reference/src/$M1

# ---------------------------------------------------------------- the zip
ZIP=$T/lab01.zip
if grader/gradescope/make-zip.sh 1 "$ZIP" >"$T/zip.log" 2>&1; then ok "make-zip.sh 1"; else bad "make-zip.sh 1"; cat "$T/zip.log"; fi
if MAKEZIP_PYTHON=1 grader/gradescope/make-zip.sh 1 "$T/lab01-py.zip" >"$T/zip-py.log" 2>&1; then
  check "zip without zip(1) (python3 zipfile): same files, scripts executable" "$PY" - "$ZIP" "$T/lab01-py.zip" <<'PYEOF'
import sys, zipfile
a, b = (zipfile.ZipFile(p) for p in sys.argv[1:3])
names = lambda z: sorted(n for n in z.namelist() if not n.endswith("/"))
ok = names(a) == names(b) and all(b.getinfo(n).external_attr >> 16 & 0o111 for n in ("setup.sh", "run_autograder"))
sys.exit(0 if ok else 1)
PYEOF
else bad "make-zip.sh with python3 zipfile"; cat "$T/zip-py.log"; fi
AG=$T/autograder
mkdir -p "$AG/source"
if command -v unzip >/dev/null 2>&1; then unzip -q "$ZIP" -d "$AG/source"
else "$PY" -c "import zipfile,sys; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" "$ZIP" "$AG/source"
     chmod +x "$AG/source/setup.sh" "$AG/source/run_autograder" 2>/dev/null; fi
check "zip: setup.sh and run_autograder at the top, executable" test -x "$AG/source/setup.sh" -a -x "$AG/source/run_autograder"
check "zip: autograder.conf names lab 1" grep -q '^LAB=1$' "$AG/source/autograder.conf"
check "zip: holds the kit" test -f "$AG/source/nnlab/Makefile" -a -f "$AG/source/nnlab/grader/grade.sh"
if [ -f grader/hidden/lab01.c ]; then
  check "zip: holds lab 1's hidden tests" test -f "$AG/source/nnlab/grader/hidden/lab01.c"
fi
check "zip: no solution source" bash -c "! grep -rqE --exclude='*.o' '^[[:space:]]*/\\*[[:space:]]*BEGIN SOLUTION' '$AG/source'"
check "zip: the lab's reference module only as an object" test ! -e "$AG/source/nnlab/$REFSRC"

export AUTOGRADER_ROOT=$AG AUTOGRADER_SKIP_SETUP=1
if "$AG/source/setup.sh" >"$T/setup.log" 2>&1; then ok "setup.sh (no apt) builds the library"; else bad "setup.sh"; tail -n 20 "$T/setup.log"; fi

# grade NAME [ENV=VALUE...]: run run_autograder on submission/ as it is now.
grade() {
  local name=$1; shift
  rm -rf "$AG/results"
  env "$@" "$AG/source/run_autograder" >"$T/run-$name.log" 2>&1
  local rc=$?
  check "$name: run_autograder exits 0" test "$rc" = 0
  if "$PY" -m json.tool "$AG/results/results.json" >/dev/null 2>&1; then ok "$name: results.json is valid JSON"
  else bad "$name: results.json is valid JSON"; tail -n 20 "$T/run-$name.log"; fi
}
jq_() { "$PY" -c "import json,sys; r=json.load(open(sys.argv[1])); print($1)" "$AG/results/results.json" 2>/dev/null; }
full_marks() {
  local s m
  s=$(jq_ "r['score']") m=$(jq_ "sum(t.get('max_score', 0) for t in r['tests'])")
  [ -n "$s" ] && [ -n "$m" ] && "$PY" -c "import sys; sys.exit(not (float('$m') > 0 and abs(float('$s') - float('$m')) < 1e-9))"
}

# ---------------------------------------------------------------- reference, nested
mkdir -p "$AG/submission/my lab 1"
cp "$REFSRC" "$AG/submission/my lab 1/$M1"
grade reference AUTOGRADER_USER=
check "reference: full marks ($(jq_ "r.get('score')")/$(jq_ "sum(t.get('max_score', 0) for t in r['tests'])"))" full_marks
hidden_name=$(awk '/gr_hidden_tests\[\][[:space:]]*=/ { on = 1; next } on && match($0, /"[^"]+"/) { print substr($0, RSTART + 1, RLENGTH - 2); exit }' grader/hidden/lab01.c 2>/dev/null)
if [ -n "$hidden_name" ]; then
  check "reference: the hidden tests ran ('$hidden_name')" bash -c "$PY -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(not any(t.get(\"name\") == sys.argv[2] for t in r[\"tests\"]))' '$AG/results/results.json' '$hidden_name'"
fi

if [ "$(id -u)" = 0 ] && id -u nobody >/dev/null 2>&1; then
  grade "as nobody" AUTOGRADER_USER=nobody
  check "as nobody: full marks" full_marks
  check "as nobody: the work copy belongs to nobody" test "$(stat -c %U "$AG/work/nnlab/labs")" = nobody
else
  echo "skip the user switch (not root, or no user nobody)"
fi

# ---------------------------------------------------------------- broken
rm -rf "$AG/submission" && mkdir -p "$AG/submission"
printf '#include "nnlab/neuron.h"\nfloat nn_neuron_sum(const float *w, float b, const float *x, int n) {\n  return b +\n}\n' \
  >"$AG/submission/$M1"
grade broken AUTOGRADER_USER=
check "broken: score 0" test "$(jq_ "r['score']")" = 0
check "broken: a failed 'compiles' test" bash -c "$PY -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(not any(t.get(\"name\",\"\").lower().startswith(\"compil\") and t.get(\"status\") == \"failed\" for t in r[\"tests\"]))' '$AG/results/results.json'"

# ---------------------------------------------------------------- missing
rm -rf "$AG/submission" && mkdir -p "$AG/submission"
echo "I forgot the file" >"$AG/submission/notes.txt"
grade missing AUTOGRADER_USER=
check "missing: score 0" test "$(jq_ "r['score']")" = 0
check "missing: output names the file" bash -c "$PY -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(sys.argv[2] not in r[\"output\"])' '$AG/results/results.json' '$M1'"

# ---------------------------------------------------------------- timeout
# The reference with a constructor that never returns: the test program
# hangs at its start, so only the autograder's own limit can stop it.
rm -rf "$AG/submission" && mkdir -p "$AG/submission"
{ cat "$REFSRC"; printf '\n__attribute__((constructor)) static void hang(void) { for (;;) {} }\n'; } >"$AG/submission/$M1"
grade timeout AUTOGRADER_USER= AUTOGRADER_TIMEOUT=3
check "timeout: score 0" test "$(jq_ "r['score']")" = 0
check "timeout: output says so" bash -c "grep -qi 'limit' '$AG/results/results.json'"

echo "gradescope: $pass passed, $fail failed"
[ "$fail" = 0 ]
