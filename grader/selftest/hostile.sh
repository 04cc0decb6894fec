#!/usr/bin/env bash
# The runner against hostile submissions (grader/selftest/hostile/*.c).
#
# Each file there is a test table whose tests misbehave the way student
# code does: exit(0), abort(), fork bombs, endless loops, stack overflows,
# huge mallocs, floods of output, CUnit calls, forged result records,
# closed descriptors, killing the grader. Each is linked with the runner
# and the reference library into a test binary; this script runs them and
# checks the status of every test (from statuses.txt), that results.json
# is valid JSON, the closing line, the messages, the command-line options,
# and that no process a test started is left behind.
#
# One line per check, then "N passed, N failed"; non-zero exit on a
# failure. The library is built in HOSTILE_BUILD (default build), never
# sanitized; binaries and results go to HOSTILE_BUILD/hostile/. With
# SANITIZE=1 the first corpus also runs linked with ASan + UBSan, as
# `make grade SANITIZE=1` links it (library in HOSTILE_ASAN_BUILD, default
# build/asan). About 10 s (20 s with SANITIZE=1) on two cores.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2

LIBBUILD=${HOSTILE_BUILD:-build}
WORK=$LIBBUILD/hostile
SRC=grader/selftest/hostile
MAKE=${MAKE:-make}
start=$SECONDS
passed=0 failed=0
pass() { passed=$((passed + 1)); printf 'ok    %s\n' "$1"; }
fail() { failed=$((failed + 1)); printf 'FAIL  %s\n' "$1"; [ -z "${2:-}" ] || printf '%s\n' "$2" | sed 's/^/      /'; }
finish() { echo "hostile: $((SECONDS - start)) s"; echo "$passed passed, $failed failed"; [ "$failed" = 0 ]; exit; }
check() { if eval "$2"; then pass "$1"; else fail "$1" "${3:-}"; fi; }

rm -rf "$WORK" && mkdir -p "$WORK/bin" "$WORK/obj" || { fail "create $WORK"; finish; }

# ------------------------------------------------------------ build
JOBS=()
case " ${MAKEFLAGS:-} " in *jobserver*) ;; *) JOBS=(-j"$(nproc 2>/dev/null || echo 2)") ;; esac
if ! $MAKE --no-print-directory "${JOBS[@]}" BUILD="$LIBBUILD" SANITIZE=0 "$LIBBUILD/lib/libnnlab.a" \
     > "$WORK/make.log" 2>&1; then
  fail "build $LIBBUILD/lib/libnnlab.a" "$(tail -n 20 "$WORK/make.log")"; finish
fi
read -r -a PKG_CFLAGS <<<"$(pkg-config --cflags cunit openblas 2>/dev/null)"
read -r -a LIBS <<<"$(pkg-config --libs cunit openblas 2>/dev/null || echo -lcunit -lopenblas) -lz -lm"
CFLAGS=(-std=c11 -O2 -g -Wall -Wextra -Wpedantic -Werror -D_POSIX_C_SOURCE=200809L
        -Ireference/include -Igrader "${PKG_CFLAGS[@]}")
CC=${CC:-cc}
built=1
for f in runner runner_util; do
  $CC "${CFLAGS[@]}" -c "grader/$f.c" -o "$WORK/obj/$f.o" 2> "$WORK/obj/$f.log" || built=0
done
check "the runner compiles with -Wall -Wextra -Wpedantic -Werror" '[ $built = 1 ]' \
  "$(cat "$WORK"/obj/runner*.log)"
[ $built = 1 ] || finish
RUNNER=("$WORK/obj/runner.o" "$WORK/obj/runner_util.o")
for c in "$SRC"/*.c; do
  name=$(basename "$c" .c)
  if ! $CC "${CFLAGS[@]}" -pthread -o "$WORK/bin/$name" "$c" "${RUNNER[@]}" "$LIBBUILD/lib/libnnlab.a" \
       "${LIBS[@]}" > "$WORK/obj/$name.log" 2>&1; then
    fail "build $c" "$(head -n 20 "$WORK/obj/$name.log")"
  fi
done
# A binary with no test table at all (--compile-error must still work).
$CC -pthread -o "$WORK/bin/empty" "${RUNNER[@]}" "$LIBBUILD/lib/libnnlab.a" "${LIBS[@]}" \
  > "$WORK/obj/empty.log" 2>&1 || fail "build the runner alone" "$(head -n 20 "$WORK/obj/empty.log")"

# ------------------------------------------------------------ helpers
json_ok() {
  if [ -x /usr/bin/python3 ]; then /usr/bin/python3 -m json.tool "$1" > /dev/null 2>&1
  else head -c 1 "$1" | grep -q '{' && tail -c 2 "$1" | grep -q '}'; fi
}

# run NAME OUTNAME [ARGS...]: run bin/NAME into WORK/OUTNAME; check the
# reports are there, results.json parses, and stdout ends with the
# closing line. Sets RC.
run() {
  local bin=$1 tag=$2 out=$WORK/$2; shift 2
  local t0=$SECONDS
  "$WORK/bin/$bin" --out "$out" "$@" > "$out.log" 2>&1
  RC=$?
  local last; last=$(tail -n 1 "$out.log")
  check "$bin ($tag): results.json is valid JSON, runner exit $RC, $((SECONDS - t0)) s" \
    'json_ok "$out/results.json" && [ -f "$out/summary.txt" ] && [ -f "$out/table.html" ] && [ -f "$out/statuses.txt" ]' \
    "$(tail -n 5 "$out.log")"
  check "$bin ($tag): closing line \"$last\"" \
    '[[ $last =~ ^[0-9]+\ passed,\ [0-9]+\ failed,\ [0-9]+\ skipped$ ]] && [ "$last" = "$(tail -n 1 "$out/summary.txt")" ]'
}

# expect OUTNAME TEST KEYWORD-REGEX [TEXT]: the test's status keyword in
# statuses.txt matches, and its status line holds TEXT.
expect() {
  local out=$WORK/$1 name=$2 kw=$3 text=${4:-}
  local line; line=$(awk -F'\t' -v n="$name" '$1 == n' "$out/statuses.txt" 2>/dev/null)
  local got_kw; got_kw=$(cut -f2 <<<"$line")
  check "$1: '$name' is $kw${text:+ ($text)}" \
    '[[ $got_kw =~ ^($kw)$ ]] && { [ -z "$text" ] || [[ $line == *"$text"* ]]; }' "got: ${line:-nothing}"
}

# contains OUTNAME FILE TEXT: a report file holds TEXT.
contains() {
  local out=$1 file=$2 text=$3
  check "$out: $file says \"$text\"" 'grep -qF -- "$text" "$WORK/$out/$file"'
}

# ------------------------------------------------------------ basics
run basics basics
expect basics "passes first" passed
expect basics "exit zero" exited "exited with status 0 before finishing"
expect basics "abort" crashed "SIGABRT"
expect basics "infinite loop" timeout "timed out after 1 s"
expect basics "stack overflow" crashed "crashed: SIGSEGV (segmentation fault)"
contains basics summary.txt "the stack overflowed"
expect basics "huge malloc" crashed "SIGSEGV"
contains basics summary.txt "a NULL pointer was used (address 0x0)"
expect basics "out of memory" memory "exceeded memory (2048 MB)"
expect basics "prints 100 MB" output-limit "printed more than 10 MB"
expect basics "divides by zero" crashed "SIGFPE"
expect basics "passes last" passed
contains basics summary.txt "Total: 3 / 11 points"
check "basics: runner exit status 1 (some tests failed)" '[ $RC = 1 ]'

# ------------------------------------------------------------ processes
run processes processes
expect processes "passes first" passed
expect processes "fork bomb" timeout "timed out after 1 s"
expect processes "sleeps with children" timeout
expect processes "leaves a daemon" passed
# Which limit comes first depends on free cores: either is right.
expect processes "burns cpu in threads" "cpu-time|timeout"
expect processes "lowers its cpu limit" cpu-time "exceeded CPU time (4 s)"
expect processes "passes last" passed

# ------------------------------------------------------------ CUnit
run cunit cunit
expect cunit "passes first" passed
expect cunit "CU_cleanup_registry" "tampered|crashed"
expect cunit "CU_cleanup_registry then exit" "exited|crashed"
expect cunit "CU_TRUE spam then exit" exited
expect cunit "CU_PASS spam then a failure" failed
expect cunit "CU_clear_previous_results" tampered "changed CUnit's state"
expect cunit "CU_initialize_registry" "tampered|crashed"
expect cunit "passes last" passed

# ------------------------------------------------------------ the channel
run channel channel
expect channel "passes first" passed
expect channel "forged record then a failure" failed
contains channel summary.txt "the real verdict: failed"
expect channel "forged record then _exit(0)" exited
expect channel "1 MB of noise on the channel" passed
expect channel "closes every fd" tampered "closed the grader's report channel"
expect channel "passes last" passed

# ------------------------------------------------------------ killing the grader
run kill kill
if [ "$(id -u)" = 0 ]; then
  expect kill "kills the grader" failed
  expect kill "passes last" passed
  # The same as an ordinary user, who has no one to switch to: the kill
  # works, the grader dies, and results.json (rewritten after each test)
  # is still valid and shows what ran.
  if command -v setpriv > /dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups \
       test -x "$WORK/bin/kill" 2> /dev/null; then
    nb=$(mktemp -d) && chmod 777 "$nb"
    # (in $(...): the shell would report "Killed" after our closing line)
    rc=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$WORK/bin/kill" --out "$nb/out" \
           > "$nb/log" 2>&1; echo $?)
    check "kill, as nobody: the grader is killed (exit $rc)" '[ $rc = 137 ]'
    check "kill, as nobody: results.json is still valid" 'json_ok "$nb/out/results.json"'
    check "kill, as nobody: the first test passed, the killer and the next are not run" \
      'grep -qx "passes first	passed	passed" "$nb/out/statuses.txt" && [ "$(grep -c "	not-run	" "$nb/out/statuses.txt")" = 2 ]' \
      "$(cat "$nb/out/statuses.txt" 2>/dev/null)"
    # Non-root, the fork bomb and the daemon are contained too.
    setpriv --reuid=65534 --regid=65534 --clear-groups "$WORK/bin/processes" --out "$nb/proc" \
      --only "fork bomb" > "$nb/proc.log" 2>&1
    check "processes, as nobody: fork bomb times out" \
      'grep -q "^fork bomb	timeout	" "$nb/proc/statuses.txt"' "$(cat "$nb/proc.log")"
    rm -rf "$nb"
  fi
else
  # As an ordinary user the grader itself is killed (see kill.c).
  check "kill, not root: the grader is killed" '[ $RC = 137 ]'
  expect kill "passes first" passed
  expect kill "kills the grader" not-run
fi

# ------------------------------------------------------------ text and reports
run text text
expect text "passes first" passed
expect text 'prints "junk" <b>&amp;</b> and a newline' passed
expect text "fails with quotes" failed
expect text "close check fails" failed
contains text summary.txt "out[3]: expected 0.731059, got 0.5 (rel err 0.19 > tol 1e-05)"
contains text summary.txt "hint: did you forget the bias?"
expect text "near check NaN" failed
contains text summary.txt "x[1]: expected 0.25, got nan (not a finite number: never passes)"
expect text "checks pass" passed
expect text "skips" skipped "skipped: no CUDA device on this machine"
expect text "writes a 20 MB file" file-size "exceeded the file size limit (16 MB)"
expect text "writes a csv" passed
expect text "no function" failed
expect text "hidden passes" passed
contains text summary.txt "Total: 7 / 12 points (5 points in skipped tests not counted)"
contains text summary.txt "5 passed, 5 failed, 1 skipped"
check "text: the CSV a test wrote is in DIR/data" '[ -s "$WORK/text/data/hostile.csv" ]'
check "text: table.html escapes what tests print" \
  '! grep -q "<script>" "$WORK/text/table.html" && grep -qF "&lt;script&gt;" "$WORK/text/table.html"'
check "text: hidden tests are hidden in results.json" \
  'grep -q "\"name\": \"hidden passes\", \"score\": 3, \"max_score\": 3, \"status\": \"passed\", \"visibility\": \"hidden\"" "$WORK/text/results.json"'
check "text: the top-level output tells nothing of hidden tests" \
  'grep -q "^  \"output\": \"nnlab grader, text: public tests 4 passed, 5 failed, 1 skipped; 1 hidden tests.\",$" "$WORK/text/results.json"'
check "text: a skipped test has max_score 0 and no status" \
  'grep -q "\"name\": \"skips\", \"score\": 0, \"max_score\": 0, \"visibility\"" "$WORK/text/results.json"'

# ------------------------------------------------------------ not attempted
A=(--student "$SRC/attempt-student.src" --stub "$SRC/attempt-stub.src"
   --student "$SRC/other-student.src" --stub "$SRC/other-stub.src")
run attempt attempt "${A[@]}"
for t in "same body" "same modulo comments and spaces" "two same" "braces in strings and comments" \
         "after a struct and an initializer" "second pair"; do
  expect attempt "$t" not-attempted
done
for t in "changed body" "changed string literal" "one same one changed" "missing in student" \
         "unknown function" "no functions listed" "unterminated at end"; do
  expect attempt "$t" passed
done
contains attempt summary.txt "still the untouched stub: f_same, f_respaced"
contains attempt summary.txt "0 / 1    not attempted"
# Garbage for sources (an ELF binary, a missing file) changes nothing and
# crashes nothing: every test runs and passes.
run attempt garbage --student "$WORK/bin/attempt" --stub "$WORK/bin/text" \
  --student /nonexistent/file.c --stub "$SRC/attempt-stub.src" \
  --student "$SRC/attempt-stub.src" --stub "$WORK/bin/attempt"
check "garbage sources: all 13 tests run and pass (exit $RC)" \
  '[ $RC = 0 ] && [ "$(tail -n 1 "$WORK/garbage.log")" = "13 passed, 0 failed, 0 skipped" ]'
run attempt self --student "$WORK/bin/attempt" --stub "$WORK/bin/attempt"

# ------------------------------------------------------------ options
out=$("$WORK/bin/basics" --list)
check "--list: one line per test, name TAB points TAB visibility TAB limit" \
  '[ "$(wc -l <<<"$out")" = 10 ] && grep -qx "passes last	2	visible	1" <<<"$out"' "$out"
out=$("$WORK/bin/text" --list --time-scale 3 | tail -n 1)
check "--list --time-scale 3: hidden tests, scaled limits" '[ "$out" = "hidden passes	3	hidden	3" ]' "$out"
run basics only --only abort
check "--only abort: one test" '[ "$(wc -l < "$WORK/only/statuses.txt")" = 1 ]'
expect only abort crashed
run basics scaled --only "infinite loop" --time-scale 0.5
expect scaled "infinite loop" timeout "timed out after 0.5 s"
printf 'labs/01-neuron/neuron.c:3:5: error: expected \x27;\x27 before \x27}\x27 token\n' > "$WORK/cc-error.log"
run basics compile --compile-error "$WORK/cc-error.log"
expect compile compiles compile-error "the code does not compile"
expect compile "passes last" not-run "not run: the code does not compile"
contains compile summary.txt "error: expected ';' before '}' token"
contains compile summary.txt "0 passed, 11 failed, 0 skipped"
check "--compile-error: compiles is worth all 11 points, the rest 0" \
  'grep -q "^  \"max_score\": 11,$" "$WORK/compile/results.json" && grep -q "\"name\": \"compiles\", \"score\": 0, \"max_score\": 11," "$WORK/compile/results.json"'
run empty empty-compile --compile-error /nonexistent/compile.log
check "no tables, --compile-error: only compiles" \
  '[ "$(cut -f1,2 "$WORK/empty-compile/statuses.txt")" = "compiles	compile-error" ]'
run empty empty
check "no tables: 0 tests, exit 0" '[ $RC = 0 ] && [ ! -s "$WORK/empty/statuses.txt" ]'
"$WORK/bin/basics" --out "$WORK/usage" --bogus > /dev/null 2>&1; rc=$?
check "an unknown option is a usage error (exit $rc)" '[ $rc = 2 ]'
"$WORK/bin/basics" --out "$WORK/usage" --student x.c > /dev/null 2>&1; rc=$?
check "--student without --stub is a usage error (exit $rc)" '[ $rc = 2 ]'
"$WORK/bin/basics" --out "$WORK/usage" --only "no such test" > /dev/null 2>&1; rc=$?
check "--only with an unknown test is a usage error (exit $rc)" '[ $rc = 2 ]'

# ------------------------------------------------------------ under AddressSanitizer
# SANITIZE=1 (make test SANITIZE=1): the runner linked with ASan + UBSan, as
# `make grade SANITIZE=1` links it. No RLIMIT_AS there (ASan's shadow needs
# terabytes): a relative RLIMIT_DATA bounds memory instead, and the
# sanitizers' reports become the statuses.
if [ "${SANITIZE:-0}" = 1 ]; then
  ABUILD=${HOSTILE_ASAN_BUILD:-build/asan}
  SAN=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  if ! $MAKE --no-print-directory "${JOBS[@]}" BUILD="$ABUILD" SANITIZE=1 "$ABUILD/lib/libnnlab.a" \
       > "$WORK/make-asan.log" 2>&1; then
    fail "build $ABUILD/lib/libnnlab.a" "$(tail -n 20 "$WORK/make-asan.log")"
  elif ! $CC "${CFLAGS[@]}" "${SAN[@]}" -pthread -o "$WORK/bin/asan-basics" "$SRC/basics.c" \
       grader/runner.c grader/runner_util.c "$ABUILD/lib/libnnlab.a" "${LIBS[@]}" \
       > "$WORK/obj/asan.log" 2>&1; then
    fail "build basics with ASan" "$(head -n 20 "$WORK/obj/asan.log")"
  else
    run asan-basics asan --time-scale 3
    check "asan: runner exit 1, LeakSanitizer silent" '[ $RC = 1 ] && ! grep -q LeakSanitizer "$WORK/asan.log"'
    expect asan "passes first" passed
    expect asan "exit zero" exited "exited with status 0"
    expect asan "stack overflow" crashed "crashed: AddressSanitizer: stack-overflow"
    expect asan "huge malloc" memory "exceeded memory (2048 MB)"
    expect asan "out of memory" memory
    expect asan "prints 100 MB" output-limit
    expect asan "divides by zero" crashed "undefined behaviour (UBSan)"
    contains asan summary.txt "runtime error: division by zero"
    expect asan "infinite loop" timeout "timed out after 3 s"
    expect asan "passes last" passed
  fi
fi

# ------------------------------------------------------------ nothing left behind
left=""
for c in /proc/[0-9]*/comm; do
  [ "$(cat "$c" 2>/dev/null)" = grhostile ] && left="$left ${c#/proc/}"
done
check "no process a test started is still running" '[ -z "$left" ]' "left:$left"
finish
