#!/usr/bin/env bash
# The grader's self-test (a stage of `make test`; alone: make selftest).
#
# For every lab with tests (grader/labs/labNN.c):
#   - the reference solution scores full marks (and its plots are drawn);
#   - the untouched stub scores zero, every test "not attempted";
#   - every known mistake grader/selftest/labNN/<mistake>/ is caught: the
#     folder holds <module>.patch, the mistake as a diff against the
#     reference module (the submission is built under $WORK/labNN/<mistake>/
#     submission/, the lab's other modules copied from the reference), and a
#     file `expect` listing, one per line, the tests that must fail; each of
#     them must fail and the score must stay below full marks.
# Then the stubs are checked (tools/mkstub.sh --check) and
# grader/selftest/hostile.sh runs if it exists.
#
# SELFTEST_LABS="03 04" limits the run to those labs (and leaves out the
# hostile corpus): for working on one lab.
#
# One line per check, then "N passed, N failed"; non-zero exit on a failure.
# Gradings run in parallel (SELFTEST_JOBS, default 2), each into its own
# folder under build/selftest/ (build/selftest-asan with SANITIZE=1).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2

SAN=${SANITIZE:-0}
JOBS=${SELFTEST_JOBS:-2}
MAKE=${MAKE:-make}
GRADE=(grader/grade.sh)
WORK=build/selftest
if [ "$SAN" = 1 ]; then
  GRADE+=(--sanitize); WORK=build/selftest-asan
  BUILD=${BUILD:-build/asan}; [ "$BUILD" = build ] && BUILD=build/asan
else
  BUILD=${BUILD:-build}
fi
export BUILD MAKE OPENBLAS_NUM_THREADS=1
# A run limited to some labs works in a folder of its own, so that two of
# them (one lab each) can run at the same time.
if [ -n "${SELFTEST_LABS:-}" ]; then
  labs_key=${SELFTEST_LABS// /-}
  WORK=$WORK-only/${labs_key//[^0-9-]/}
fi

passed=0 failed=0 skipped=0
pass() { passed=$((passed + 1)); printf 'ok    %s\n' "$1"; }
skip() { skipped=$((skipped + 1)); printf 'skip  %s\n' "$1"; }
fail() { failed=$((failed + 1)); printf 'FAIL  %s\n' "$1"; [ -z "${2:-}" ] || printf '%s\n' "$2" | sed 's/^/      /'; }

if ! { rm -rf "$WORK" && mkdir -p "$WORK"; }; then
  echo "selftest: cannot create $WORK"; echo "0 passed, 1 failed"; exit 1
fi

# ------------------------------------------------------------ the stubs
if out=$(tools/mkstub.sh --check 2>&1); then
  pass "the stubs in labs/ are up to date and compile warning-free"
else
  fail "the stubs in labs/ (tools/mkstub.sh --check)" "$(grep -v '^ok ' <<<"$out" | head -n 40)"
fi

# ------------------------------------------------------------ the labs
declare -A MODULES
LABS=()
while IFS=$'\t' read -r n _ files; do
  case $n in ''|\#*) continue ;; esac
  nn=$(printf '%02d' "$n")
  [ -f "grader/labs/lab$nn.c" ] || continue
  [ -z "${SELFTEST_LABS:-}" ] || [[ " $SELFTEST_LABS " == *" $nn "* ]] || continue
  LABS+=("$nn"); MODULES[$nn]=$files
done < grader/labs.tsv

if [ ${#LABS[@]} = 0 ]; then
  echo "selftest: no lab has tests yet (grader/labs/labNN.c)"
fi

# Build the library, the runner and every lab's tables once, before the
# parallel gradings (whose own make then finds everything up to date).
for nn in "${LABS[@]}"; do
  SANVAR=(); [ "$SAN" = 1 ] && SANVAR=(SANITIZE=1)
  if ! log=$($MAKE --no-print-directory -j"$(nproc 2>/dev/null || echo 2)" grade-objs GRADE_LAB="$nn" BUILD="$BUILD" "${SANVAR[@]}" 2>&1); then
    fail "lab $nn: building the library and the grader" "$(tail -n 30 <<<"$log")"
    echo "$passed passed, $failed failed"; exit 1
  fi
done

# The gradings to run: "NAME<TAB>OUT<TAB>grade.sh arguments..." (tab-separated).
JOBLIST=()
add_job() { local IFS=$'\t'; JOBLIST+=("$*"); }
for nn in "${LABS[@]}"; do
  add_job "lab$nn reference" "$WORK/lab$nn/reference" --lab "$nn" --impl reference
  add_job "lab$nn stub" "$WORK/lab$nn/stub" --lab "$nn" --impl stub --no-plots
  for d in grader/selftest/lab"$nn"/*/; do
    [ -d "$d" ] || continue
    name=$(basename "$d")
    sub=$WORK/lab$nn/$name/submission
    mkdir -p "$sub"
    # Each module from the reference, with the mistake's patch applied where
    # there is one (a patch that no longer applies is a failed check).
    broken=""
    for m in ${MODULES[$nn]}; do
      ref=reference/src/$m; [ -f "$ref" ] || ref=reference/gpu/$m
      if [ -f "$d/$m.patch" ]; then
        patch --quiet --force -o "$sub/$m" "$ref" "$d/$m.patch" >/dev/null 2>&1 || broken="$d$m.patch"
      else
        cp "$ref" "$sub/$m"
      fi
    done
    if [ -n "$broken" ]; then
      fail "lab$nn mistake $name: $broken no longer applies to the reference (remake it: see grader/selftest/README.md)"
      continue
    fi
    add_job "lab$nn mistake $name" "$WORK/lab$nn/$name" --lab "$nn" --submission "$sub" --no-plots
  done
done

# run_job LINE: one grading, its output into OUT.log.
run_job() {
  local IFS=$'\t' name out
  read -r -a fields <<<"$1"
  name=${fields[0]} out=${fields[1]}
  mkdir -p "$out"
  "${GRADE[@]}" --out "$out" "${fields[@]:2}" > "$out.log" 2>&1
  echo $? > "$out.rc"
}

running=0
for j in "${JOBLIST[@]}"; do
  run_job "$j" &
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then wait -n; running=$((running - 1)); fi
done
wait

# ------------------------------------------------------------ the checks
# status_of OUT TEST: the runner's keyword for TEST (statuses.txt: name, keyword,
# status in words), "" when it is not listed.
status_of() { awk -F'\t' -v t="$2" '$1 == t { print $2; exit }' "$1/statuses.txt"; }

# totals OUT: "score<TAB>max" from results.json (empty without jq/python3).
totals() {
  local file=$1/results.json
  if command -v jq >/dev/null 2>&1; then
    jq -r '[(.score // 0), (.max_score // ([.tests[]?.max_score // 0] | add) // 0)] | @tsv' "$file" 2>/dev/null
  elif command -v python3 >/dev/null 2>&1; then
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("%s\t%s" % (r.get("score",0), r.get("max_score", sum(t.get("max_score",0) for t in r.get("tests",[])))))' "$file" 2>/dev/null
  fi
}
# all_skipped OUT: every test of the grading was skipped (lab 8 on a machine
# without a CUDA device); then nothing about the code can be observed.
all_skipped() { awk -F'\t' '$2 != "skipped" { bad = 1 } END { exit (bad || NR == 0) }' "$1/statuses.txt"; }
skip_reason() { awk -F'\t' '$2 == "skipped" { sub(/^skipped: /, "", $3); print $3; exit }' "$1/statuses.txt"; }
num_eq() { awk -v a="$1" -v b="$2" 'BEGIN { exit !((a - b) < 1e-9 && (b - a) < 1e-9) }'; }

# ran NAME OUT: the grading ran and wrote its results; else a failed check.
ran() {
  local name=$1 out=$2 rc
  rc=$(cat "$out.rc" 2>/dev/null || echo "?")
  if [ "$rc" != 0 ] || [ ! -f "$out/results.json" ] || [ ! -f "$out/statuses.txt" ]; then
    fail "$name: grading did not run (exit $rc; see $out.log)" "$(tail -n 15 "$out.log" 2>/dev/null)"
    return 1
  fi
  if ! tail -n 1 "$out.log" | grep -qE '^[0-9]+ passed, [0-9]+ failed'; then
    fail "$name: the last line printed is not \"N passed, N failed, N skipped\" (see $out.log)"
  fi
}

for j in "${JOBLIST[@]}"; do
  IFS=$'\t' read -r -a fields <<<"$j"
  name=${fields[0]} out=${fields[1]}
  ran "$name" "$out" || continue
  IFS=$'\t' read -r score max <<<"$(totals "$out")"
  score=${score:-} max=${max:-}
  if all_skipped "$out" && [[ $name != *" stub" ]]; then
    skip "$name: every test skipped ($(skip_reason "$out"))"
    continue
  fi
  case $name in
    *" reference")
      bad=$(awk -F'\t' '$2 != "passed" && $2 != "skipped" { printf "  %s: %s\n", $1, $3 }' "$out/statuses.txt")
      if [ -z "$bad" ] && { [ -z "$score" ] || num_eq "$score" "$max"; }; then
        pass "$name scores full marks${score:+ ($score/$max)}"
      else
        fail "$name scores full marks${score:+ (got $score/$max)}" "${bad:-the score is below full marks}"
      fi
      lab=${name%% *}
      if [ -f "grader/plots/$lab.sh" ]; then
        pngs=$(find "$out/plots" -name '*.png' -size +0 2>/dev/null | wc -l)
        if [ "$pngs" -gt 0 ] && ! grep -qE 'plot script .* failed|^Not drawn' "$out/notes.txt" 2>/dev/null; then
          pass "$name: grader/plots/$lab.sh draws $pngs plot(s) into the report"
        else
          fail "$name: grader/plots/$lab.sh draws its plots" "$(tail -n 8 "$out/plots.log" 2>/dev/null)"
        fi
      fi
      ;;
    *" stub")
      bad=$(awk -F'\t' '$2 != "not-attempted" && $2 != "skipped" { printf "  %s: %s\n", $1, $3 }' "$out/statuses.txt")
      if [ -z "$bad" ] && { [ -z "$score" ] || num_eq "$score" 0; }; then
        pass "$name scores zero, every test \"not attempted\""
      else
        fail "$name scores zero, every test \"not attempted\"${score:+ (got $score/$max)}" "$bad"
      fi
      ;;
    *)
      mistake=${name##* mistake }
      lab=${name%% *}
      expect=grader/selftest/$lab/$mistake/expect
      problems=""
      if [ ! -f "$expect" ]; then
        problems+="  no $expect file"$'\n'
      else
        while IFS= read -r t || [ -n "$t" ]; do
          t=${t%$'\r'}
          case $t in ''|\#*) continue ;; esac
          st=$(status_of "$out" "$t")
          if [ -z "$st" ]; then problems+="  \"$t\": no such test"$'\n'
          elif [ "$st" = passed ]; then problems+="  \"$t\": passed, but it must fail"$'\n'
          fi
        done < "$expect"
      fi
      if [ -n "$score" ] && num_eq "$score" "$max"; then problems+="  full marks ($score/$max), but it must score less"$'\n'; fi
      if [ -z "$problems" ]; then
        pass "$name is caught${score:+ ($score/$max)}"
      else
        fail "$name is caught" "${problems%$'\n'}"
      fi
      ;;
  esac
done

# ------------------------------------------------------------ hostile submissions
if [ -f grader/selftest/hostile.sh ] && [ -z "${SELFTEST_LABS:-}" ]; then
  out=$(bash grader/selftest/hostile.sh 2>&1); rc=$?
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' <<<"$out" | tail -n 1)
  if [ -n "$line" ]; then
    grep -E '^(ok|FAIL|not ok)' <<<"$out"
    p=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line"); nf=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
    passed=$((passed + p)); failed=$((failed + nf))
    if [ "$rc" != 0 ] && [ "$nf" = 0 ]; then fail "grader/selftest/hostile.sh exited $rc" "$(tail -n 10 <<<"$out")"; fi
  elif [ "$rc" = 0 ]; then
    pass "grader/selftest/hostile.sh"
  else
    fail "grader/selftest/hostile.sh (exit $rc)" "$(tail -n 20 <<<"$out")"
  fi
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
