#!/usr/bin/env bash
# Test of `make train MINE=...` (tools/train-mine.sh), a stage of make test.
#
# In a scratch copy of the tree: labs 1-7 "solved" (each module file is the
# reference's source with a comment added, so it is no longer the stub) train
# a network on spirals with MINE=all; an untouched stub stays the
# reference's; a file that does not compile stops with a message naming it;
# a bad lab list is refused. Ends with "N passed, N failed".
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/nnlab-train-mine.XXXXXX") || { echo "0 passed, 1 failed"; exit 1; }
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

cd "$ROOT" || exit 1
tar --exclude=./build --exclude=./.git --exclude=./datasets/downloads -cf - . | tar -C "$T" -xf - || { echo "0 passed, 1 failed"; exit 1; }
cd "$T" || exit 1
while IFS=$'\t' read -r n folder files; do
  case $n in ''|\#*|8) continue ;; esac
  for m in $files; do { cat "reference/src/$m"; echo "/* solved by a student */"; } > "labs/$folder/$m"; done
done < grader/labs.tsv
SPIRALS=(--data spirals --model 2-64-64-3 --opt adam --lr 0.01 --epochs 30 --batch 32 --seed 1 --quiet)

out=$(tools/train-mine.sh all "${SPIRALS[@]}" 2>&1); rc=$?
if [ $rc = 0 ]; then ok "MINE=all builds and trains"; else bad "MINE=all (exit $rc)"; echo "$out" | tail -n 20; fi
n=$(grep -c ' yours$' <<<"$out")
[ "$n" -ge 9 ] && ok "MINE=all links the student's 9 module files ($n)" || bad "MINE=all links 9 student files (got $n)"
acc=$(sed -nE 's/.*test accuracy ([0-9.]+)%.*/\1/p' <<<"$out")
awk -v a="${acc:-0}" 'BEGIN { exit !(a >= 90) }' && ok "the student's network learns spirals ($acc%)" \
  || bad "the student's network learns spirals (test accuracy ${acc:-none}, want >= 90%)"

cp "$ROOT/labs/03-forward/forward.c" labs/03-forward/forward.c
out=$(tools/train-mine.sh 3 "${SPIRALS[@]}" 2>&1)
grep -q 'forward.c.*reference (yours is the untouched stub)' <<<"$out" && ok "an untouched stub stays the reference's" \
  || { bad "an untouched stub stays the reference's"; echo "$out" | head; }

echo "this does not compile" >> labs/02-activations/activations.c
out=$(tools/train-mine.sh 1-2 "${SPIRALS[@]}" 2>&1); rc=$?
[ $rc != 0 ] && grep -q 'activations.c does not compile' <<<"$out" && ok "a file that does not compile is named, exit $rc" \
  || { bad "a file that does not compile (exit $rc)"; echo "$out" | tail -n 5; }

out=$(tools/train-mine.sh 0-12 2>&1); rc=$?
[ $rc != 0 ] && grep -q 'no lab 0' <<<"$out" && ok "MINE=0-12 is refused" || bad "MINE=0-12 is refused (exit $rc)"
echo "train-mine: $pass passed, $fail failed"
[ $fail = 0 ]
