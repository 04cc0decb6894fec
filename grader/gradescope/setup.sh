#!/usr/bin/env bash
# Gradescope runs this once, as root, on its Ubuntu image, to build the
# autograder image (it is copied into the zip by grader/gradescope/make-zip.sh).
#
#   - installs the Debian/Ubuntu packages the kit needs;
#   - creates the unprivileged user that run_autograder grades as (student
#     code never runs as root);
#   - builds the kit's library, runner and tests once, so each submission only
#     compiles the student's file; grades the stub (caching the reference
#     run the plots use) and the reference (a sanity check: full marks).
#
# Environment (for testing outside Gradescope):
#   AUTOGRADER_ROOT        default /autograder
#   AUTOGRADER_SKIP_SETUP  1: skip apt-get and the user
#   AUTOGRADER_USER        the grading user (default student; empty: none)
set -u
ROOT=${AUTOGRADER_ROOT:-/autograder}
SRC=$ROOT/source
GRADE_USER=${AUTOGRADER_USER-student}
PACKAGES="build-essential pkg-config libopenblas-dev libcunit1-dev zlib1g-dev gnuplot-nox fonts-dejavu-core"

die() { echo "setup.sh: $*" >&2; exit 1; }

if [ "${AUTOGRADER_SKIP_SETUP:-0}" != 1 ]; then
  [ "$(id -u)" = 0 ] || die "run me as root (Gradescope does), or set AUTOGRADER_SKIP_SETUP=1"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q || die "apt-get update failed"
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $PACKAGES || die "apt-get install failed: $PACKAGES"
  if [ -n "$GRADE_USER" ] && ! id -u "$GRADE_USER" >/dev/null 2>&1; then
    useradd --create-home --shell /bin/bash "$GRADE_USER" || die "cannot create the user $GRADE_USER"
  fi
fi

[ -f "$SRC/nnlab/Makefile" ] || die "$SRC/nnlab/Makefile is missing: the zip holds the kit under nnlab/"
LAB=
# shellcheck disable=SC1090,SC1091
[ -f "$SRC/autograder.conf" ] && . "$SRC/autograder.conf"
[ -n "$LAB" ] || die "$SRC/autograder.conf names no LAB"
NN=$(printf '%02d' "$((10#$LAB))")
cd "$SRC/nnlab" || die "cannot enter $SRC/nnlab"
export OPENBLAS_NUM_THREADS=1
# Build the library, the runner and the lab's tests once, and grade the stub
# once (which caches the reference run the plots draw over): run_autograder
# copies the kit with its build/ (timestamps kept), so each submission only
# compiles the student's file and runs the tests.
make --no-print-directory -j"$(nproc 2>/dev/null || echo 2)" lib grade-objs GRADE_LAB="$NN" \
  || die "building the kit failed"
# The image's sanity check: the stub must score 0, the reference full marks.
score() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["score"], r.get("max_score", sum(t.get("max_score", 0) for t in r["tests"])))' "$1" 2>/dev/null; }
make --no-print-directory grade LAB="$LAB" IMPL=stub >/dev/null 2>&1
echo "setup.sh: the stub scores $(score "build/grade/lab$NN/results.json" | tr ' ' /) (want 0)"
make --no-print-directory grade LAB="$LAB" IMPL=reference OUT=build/setup-check >/dev/null 2>&1
read -r s m <<<"$(score build/setup-check/results.json)"
if [ -n "${s:-}" ] && [ "$s" = "$m" ]; then echo "setup.sh: the reference scores $s/$m"
else echo "setup.sh: WARNING: the reference scores ${s:-?}/${m:-?}, not full marks: check the kit (make grade LAB=$LAB IMPL=reference)" >&2; fi
# Keep the cached reference run, drop the check's results.
rm -rf build/setup-check
find "build/grade/lab$NN" -mindepth 1 -maxdepth 1 ! -name reference ! -name '.reference.lock' -exec rm -rf {} + 2>/dev/null
chmod -R a+rX "$SRC"
echo "setup.sh: ready"
