#!/usr/bin/env bash
# `make gradescope LAB=n`: write build/gradescope/labNN.zip, the Gradescope
# autograder of lab n ("Autograder configuration: Zip file upload").
#
#   grader/gradescope/make-zip.sh LAB [OUT_ZIP]
#
# The zip holds, at its top:
#   setup.sh          Gradescope runs it once as root: apt-get installs the
#                     kit's packages, adds the user `student`, builds the library
#   run_autograder    grades one submission as `student` (see its header)
#   autograder.conf   LAB, FOLDER, MODULES of this lab
#   nnlab/            the student kit of this lab (tools/release.sh LAB),
#                     WITH this lab's hidden tests: the zip is never given to
#                     students
# Students submit their module file(s) (e.g. neuron.c), alone or in a folder.
#
# Uses zip when installed, else python3's zipfile (MAKEZIP_PYTHON=1 forces
# it), else stops with a message. Test it without Gradescope:
# grader/selftest/gradescope.sh.
set -u
set -o pipefail

die() { echo "gradescope: $*" >&2; exit 1; }

ROOT=$(cd "$(dirname "$0")/../.." && pwd) || die "cannot find the source tree"
cd "$ROOT" || die "cannot enter $ROOT"
[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: make gradescope LAB=n   (grader/gradescope/make-zip.sh LAB [OUT_ZIP])"
LAB_ARG=$1
[[ "$LAB_ARG" =~ ^[0-9]+$ ]] || die "LAB must be a lab number (make gradescope LAB=1), not '$LAB_ARG'"
LAB=$((10#$LAB_ARG))
NN=$(printf '%02d' "$LAB")

TABLE=grader/labs.tsv
FOLDER='' MODULES=''
while IFS=$'\t' read -r lab folder files _; do
  case "$lab" in ''|'#'*) continue ;; esac
  if [ "$((10#$lab))" = "$LAB" ]; then FOLDER=$folder MODULES=${files//,/ }; fi
done <"$TABLE"
[ -n "$FOLDER" ] || die "no lab $LAB in $TABLE"
[ -f "grader/hidden/lab$NN.c" ] || echo "gradescope: warning: grader/hidden/lab$NN.c is missing: the autograder will run the public tests only" >&2

ZIP=${2:-build/gradescope/lab$NN.zip}
case "$ZIP" in /*) ;; *) ZIP=$ROOT/$ZIP ;; esac
mkdir -p "$ROOT/build/gradescope" "$(dirname "$ZIP")" || die "cannot create $(dirname "$ZIP")"
STAGE=$(mktemp -d "$ROOT/build/gradescope/lab$NN.stage.XXXXXX") || die "cannot create a staging folder"
trap 'rm -rf "$STAGE" "$STAGE.log"' EXIT

tools/release.sh --with-hidden --force "$STAGE/nnlab" "$LAB" "" >"$STAGE.log" 2>&1 \
  || { cat "$STAGE.log" >&2; die "tools/release.sh failed (log above)"; }
[ -f "$STAGE/nnlab/grader/hidden/lab$NN.c" ] || [ ! -f "grader/hidden/lab$NN.c" ] \
  || die "the kit lacks grader/hidden/lab$NN.c"

cp grader/gradescope/setup.sh grader/gradescope/run_autograder "$STAGE/" || die "cannot copy the scripts"
chmod 755 "$STAGE/setup.sh" "$STAGE/run_autograder"
{
  echo "# lab graded by this autograder (written by grader/gradescope/make-zip.sh)"
  echo "LAB=$LAB"
  echo "FOLDER=$FOLDER"
  echo "MODULES=\"$MODULES\""
} >"$STAGE/autograder.conf"

rm -f "$ZIP"
if command -v zip >/dev/null 2>&1 && [ "${MAKEZIP_PYTHON:-0}" != 1 ]; then
  (cd "$STAGE" && zip -q -r -X "$ZIP" setup.sh run_autograder autograder.conf nnlab) \
    || die "zip failed"
elif command -v python3 >/dev/null 2>&1; then
  # zipfile keeps the files' modes (setup.sh and run_autograder stay executable).
  python3 - "$STAGE" "$ZIP" <<'PYEOF' || die "python3 zipfile failed"
import os, sys, zipfile
stage, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for top in ("setup.sh", "run_autograder", "autograder.conf", "nnlab"):
        p = os.path.join(stage, top)
        if os.path.isfile(p):
            z.write(p, top)
            continue
        for d, dirs, files in os.walk(p):
            dirs.sort()
            for f in sorted(files):
                full = os.path.join(d, f)
                z.write(full, os.path.relpath(full, stage))
PYEOF
else
  die "neither zip nor python3 is installed: install one (sudo apt-get install zip)"
fi
echo "gradescope: wrote ${ZIP#"$ROOT"/} (lab $LAB, $MODULES; hidden tests included: do not give this zip to students)"
