#!/usr/bin/env bash
# Write a student kit: `make release OUT=dir LABS=1-8 [SOLUTIONS=1-3]`.
#
#   tools/release.sh [--with-hidden] [--force] OUT LABS [SOLUTIONS]
#
# LABS and SOLUTIONS are lab lists: "1-8", "1,3,5", "2-4,7", "all", or
# "" / "none". The kit in OUT holds
#
#   Makefile README.md .gitignore tools/ datasets/ (not downloads/)
#   docs/                     without the instructor's guide (docs/*instructor*)
#   labs/NN-topic/            stub + handout, for each lab in LABS only
#   grader/                   runner, report, public tests and plot scripts of
#                             the chosen labs; never grader/hidden/,
#                             grader/selftest/ (mistake corpora),
#                             grader/gradescope/, grader/batch or grader/slurm/
#   grader/stubs/NN-topic/    the pristine stub of each released lab whose
#                             solution is withheld ("not attempted", IMPL=stub)
#   reference/include/        the public headers
#   reference/src/*.c *.h     the framework (every file that is no lab module)
#   reference/apps/ bench/    the nnlab program and the benchmark
#   reference/obj/<module>.o  each lab module whose lab is NOT in SOLUTIONS,
#                             compiled portable (-O2 -fPIC, no -march=native,
#                             no debug information) for this machine's
#                             architecture; the Makefile and grade.sh link
#                             reference/obj/<module>.o wherever
#                             reference/src/<module>.c is absent
#   reference/src/<module>.c  for labs in SOLUTIONS: the reference source
#   .nnlab-kit                what was released, from which commit, for which CPU
#
# so that `make`, `make grade LAB=n` and `make grade LAB=n IMPL=reference`
# work in the kit exactly as in this tree. Objects are built for every lab
# (1-8), not only those in LABS: grading lab N links every other lab's
# reference module.
#
# --with-hidden also copies grader/hidden/labNN.* for the labs in LABS (the
# Gradescope autograder, never given to students, uses it). --force lets OUT
# be a folder that is not empty (it is emptied first); without it OUT must
# be new, empty, or an earlier kit (one that has .nnlab-kit).
#
# Before it ends the script checks the kit: no "/* BEGIN SOLUTION */" line
# except in the released solutions, no grader/hidden/ (unless --with-hidden),
# no hidden-test table, no reference tests or oracle. A failed check removes
# nothing but exits 1.
#
# Typical use (instructor):
#   make release OUT=/tmp/nnlab-kit LABS=1-3            # first weeks
#   make release OUT=/tmp/nnlab-kit LABS=1-5 SOLUTIONS=1-3   # later: 1-3 solved
#   cd /tmp/nnlab-kit && make grade LAB=1               # what students run
set -u
set -o pipefail

die()  { echo "release: $*" >&2; exit 1; }
note() { echo "release: $*"; }

ROOT=$(cd "$(dirname "$0")/.." && pwd) || die "cannot find the source tree"
cd "$ROOT" || die "cannot enter $ROOT"

with_hidden=0 force=0
while [ $# -gt 0 ]; do
  case "$1" in
    --with-hidden) with_hidden=1; shift ;;
    --force) force=1; shift ;;
    -h|--help) sed -n '2,48p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; break ;;
    -*) die "unknown option '$1' (see tools/release.sh --help)" ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] && [ $# -le 3 ] || die "usage: tools/release.sh [--with-hidden] [--force] OUT LABS [SOLUTIONS]   (e.g. make release OUT=/tmp/kit LABS=1-8 SOLUTIONS=1-3)"
OUT=$1 LABS_ARG=$2 SOL_ARG=${3:-}
[ -n "$OUT" ] || die "OUT is empty: say where the kit goes (make release OUT=dir LABS=1-8)"

# ---------------------------------------------------------------- the lab table
# shellcheck source=tools/labs.sh
. tools/labs.sh && labs_read || die "cannot read the lab table"
labs_out=$(parse_labs "$LABS_ARG") || die "LABS=$LABS_ARG: see above"
sols_out=$(parse_labs "$SOL_ARG") || die "SOLUTIONS=$SOL_ARG: see above"
LABS=() SOLS=()
[ -n "$labs_out" ] && mapfile -t LABS <<<"$labs_out"
[ -n "$sols_out" ] && mapfile -t SOLS <<<"$sols_out"
[ ${#LABS[@]} -gt 0 ] || die "LABS is empty: name the labs to release (LABS=1-8)"
declare -A IN_LABS=() IN_SOLS=()
for l in "${LABS[@]}"; do IN_LABS[$l]=1; done
for l in "${SOLS[@]}"; do IN_SOLS[$l]=1; done

# The reference source of a module: reference/src/ or reference/gpu/.
module_source() {
  local m=$1
  if [ -f "reference/src/$m" ]; then echo "reference/src/$m"
  elif [ -f "reference/gpu/$m" ]; then echo "reference/gpu/$m"
  fi
}
declare -A IS_MODULE=()
for l in "${ALL_LABS[@]}"; do for m in ${MODULES[$l]}; do IS_MODULE[$m]=$l; done; done

# ---------------------------------------------------------------- the output folder
case "$OUT" in /*) ;; *) OUT=$PWD/$OUT ;; esac
OUT=${OUT%/}
case "$OUT/" in
  /|//) die "refusing to write the kit into /" ;;
  "$ROOT"/build/?*) ;;
  "$ROOT"/*) die "refusing to write the kit into $OUT, inside the source tree (use a folder outside it, or under build/)" ;;
esac
case "$OUT" in *[[:space:]]*) note "warning: '$OUT' holds a space: make cannot build the kit there; students should move it" ;; esac
if [ -e "$OUT" ] && [ ! -d "$OUT" ]; then die "$OUT exists and is not a folder"; fi
if [ -d "$OUT" ] && [ -n "$(ls -A "$OUT" 2>/dev/null)" ]; then
  if [ "$force" = 1 ] || [ -f "$OUT/.nnlab-kit" ]; then
    find "$OUT" -mindepth 1 -maxdepth 1 -exec rm -rf {} + || die "cannot empty $OUT"
  else
    die "$OUT is not empty and holds no earlier kit; choose a new folder (or tools/release.sh --force)"
  fi
fi
mkdir -p "$OUT" || die "cannot create $OUT"

# copy PATH...: copy files/folders into the kit under the same relative path.
copy() {
  local p
  for p in "$@"; do
    [ -e "$p" ] || continue
    mkdir -p "$OUT/$(dirname "$p")" && cp -pR "$p" "$OUT/$p" || die "cannot copy $p"
  done
}

note "kit for labs ${LABS[*]} (solutions: ${SOLS[*]:-none}) -> $OUT"
copy Makefile README.md .gitignore LICENSE tools
# The README links the instructor's guide, which the kit leaves out: keep the
# words, drop the link (a dead link would also fail `make docs`).
sed -i 's|\[`docs/instructor-guide.md`\](docs/instructor-guide.md)|the instructor'"'"'s guide (not in this kit)|' "$OUT/README.md"
# docs/, but not the instructor's guide (it discusses the solutions).
if [ -d docs ]; then
  while IFS= read -r -d '' f; do
    case "${f,,}" in *instructor*) continue ;; esac
    copy "$f"
  done < <(find docs -mindepth 1 -maxdepth 1 -print0)
fi
# datasets/ without downloads (fetched by `make datasets` in the kit).
mkdir -p "$OUT/datasets"
for f in datasets/* datasets/.[!.]*; do
  [ -e "$f" ] || continue
  [ "$f" = datasets/downloads ] && continue
  copy "$f"
done
# Object files in reference/obj/ must survive a student's `git add -A`.
printf '\n# A student kit ships compiled reference modules.\n!/reference/obj/\n!/reference/obj/*.o\n' >>"$OUT/.gitignore"

# labs/: the chosen labs only (stub + handout).
for l in "${LABS[@]}"; do
  [ -d "labs/${FOLDER[$l]}" ] || die "labs/${FOLDER[$l]} is missing (run the stub generator first)"
  copy "labs/${FOLDER[$l]}"
done
[ -f labs/README.md ] && copy labs/README.md

# grader/: everything but the instructor's parts; in its per-lab folders
# (labs/ public tests, plots/, hidden/ with --with-hidden) only the files of
# the chosen labs (labNN.*), plus shared files.
copy_lab_files() {   # copy_lab_files DIR: DIR's files, labNN.* only for chosen labs
  local d=$1 f b
  [ -d "$d" ] || return 0
  mkdir -p "$OUT/$d"
  for f in "$d"/* "$d"/.[!.]*; do
    [ -e "$f" ] || continue
    b=${f##*/}
    if [[ "$b" =~ ^lab0*([0-9]+)([._-]|$) ]]; then
      [ -n "${IN_LABS[$((10#${BASH_REMATCH[1]}))]:-}" ] || continue
    fi
    copy "$f"
  done
}
mkdir -p "$OUT/grader"
for f in grader/* grader/.[!.]*; do
  [ -e "$f" ] || continue
  case "${f#grader/}" in
    hidden|selftest|selftest.sh|gradescope|batch|slurm|stubs) continue ;;
    labs|plots|bands) copy_lab_files "$f"; continue ;;
  esac
  copy "$f"
done
[ "$with_hidden" = 1 ] && copy_lab_files grader/hidden

# reference/: headers, framework, apps, benchmark; lab modules as objects.
copy reference/include reference/apps reference/bench reference/nnlab.pc.in
mkdir -p "$OUT/reference/src" "$OUT/reference/obj"
for f in reference/src/* reference/gpu/*; do
  [ -f "$f" ] || continue
  [ -n "${IS_MODULE[${f##*/}]:-}" ] && continue
  copy "$f"
done
[ -d reference/gpu/emu ] && copy reference/gpu/emu   # make test-gpu-emu in the kit

CC=${CC:-cc}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
# shellcheck disable=SC2206
read -r -a BLAS_CFLAGS <<<"$($PKG_CONFIG --cflags openblas 2>/dev/null)"
OBJ_CFLAGS=(-std=c11 -O2 -g0 -fPIC -fno-semantic-interposition -Wall -Wextra
            "-ffile-prefix-map=$ROOT/=" -Ireference/include -D_POSIX_C_SOURCE=200809L
            "${BLAS_CFLAGS[@]}")
shipped_src=() shipped_obj=() missing=()
for l in "${ALL_LABS[@]}"; do
  for m in ${MODULES[$l]}; do
    src=$(module_source "$m")
    if [ -z "$src" ]; then
      missing+=("$m (lab $l: no reference source)"); continue
    fi
    if [ -n "${IN_SOLS[$l]:-}" ]; then
      copy "$src"; shipped_src+=("$src"); continue
    fi
    obj=reference/obj/${m%.*}.o
    case "$m" in
      *.c)
        "$CC" "${OBJ_CFLAGS[@]}" -c "$src" -o "$OUT/$obj" || die "cannot compile $src"
        ;;
      *.cu)
        NVCC=${NVCC:-}
        [ -z "$NVCC" ] && for c in nvcc "${CUDA_HOME:-/usr/local/cuda}/bin/nvcc"; do
          command -v "$c" >/dev/null 2>&1 && { NVCC=$c; break; }
        done
        if [ -z "$NVCC" ]; then
          missing+=("$m (lab $l: no nvcc to compile it; the kit's lab $l IMPL=reference will not link)")
          continue
        fi
        # The GPU build's own flags (-gencode for each CUDA_ARCH, PTX).
        NVCC_FLAGS=$(NVCC="$NVCC" make -s --no-print-directory cuda-env | sed -n "s/^NVCC_FLAGS='\(.*\)'$/\1/p")
        # shellcheck disable=SC2086  # NVCC_FLAGS is a list of words
        "$NVCC" $NVCC_FLAGS -c "$src" -o "$OUT/$obj" || die "cannot compile $src with $NVCC"
        ;;
      *) missing+=("$m (lab $l: unknown kind of source)"); continue ;;
    esac
    # No symbol table entries for static helpers' local labels, no comments.
    strip --strip-debug "$OUT/$obj" 2>/dev/null || true
    shipped_obj+=("$obj")
  done
done
[ ${#shipped_obj[@]} -gt 0 ] || rmdir "$OUT/reference/obj" 2>/dev/null

# grader/stubs/NN-topic/<module>: the pristine stub of each released lab
# whose solution is withheld (grade.sh measures "not attempted" against it
# and grades it with IMPL=stub; it cannot regenerate it without the source).
for l in "${LABS[@]}"; do
  [ -n "${IN_SOLS[$l]:-}" ] && continue
  for m in ${MODULES[$l]}; do
    src=$(module_source "$m")
    [ -n "$src" ] || continue
    mkdir -p "$OUT/grader/stubs/${FOLDER[$l]}"
    tools/mkstub.sh "$src" >"$OUT/grader/stubs/${FOLDER[$l]}/$m" \
      || die "tools/mkstub.sh $src failed"
  done
done

rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain 2>/dev/null | head -n 1)
{
  echo "# nnlab student kit, written by tools/release.sh"
  echo "labs=${LABS[*]}"
  echo "solutions=${SOLS[*]}"
  echo "hidden=$with_hidden"
  echo "commit=$rev${dirty:+ (with uncommitted changes)}"
  echo "objects=${shipped_obj[*]}"
  echo "arch=$(uname -m) ($("$CC" --version 2>/dev/null | head -n 1))"
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$OUT/.nnlab-kit"

# ---------------------------------------------------------------- checks
bad=0
allowed=" ${shipped_src[*]} "
# 1. Solution markers only in released solutions (a marker line, not a
#    mention of it in a script or a doc).
while IFS= read -r -d '' f; do
  rel=${f#"$OUT"/}
  case "$allowed" in *" $rel "*) continue ;; esac
  echo "release: CHECK FAILED: $rel holds a BEGIN SOLUTION block" >&2; bad=1
done < <(grep -rlZ --exclude='*.o' -E '^[[:space:]]*/\*[[:space:]]*BEGIN SOLUTION[[:space:]]*\*/' "$OUT" 2>/dev/null)
# 2. No lab module source but the released ones.
for l in "${ALL_LABS[@]}"; do
  [ -n "${IN_SOLS[$l]:-}" ] && continue
  for m in ${MODULES[$l]}; do
    for d in reference/src reference/gpu; do
      [ -e "$OUT/$d/$m" ] && { echo "release: CHECK FAILED: $d/$m (lab $l solution) is in the kit" >&2; bad=1; }
    done
  done
done
# 3. No hidden tests, no reference tests (their oracle computes the answers).
if [ "$with_hidden" = 0 ]; then
  [ -e "$OUT/grader/hidden" ] && { echo "release: CHECK FAILED: grader/hidden/ is in the kit" >&2; bad=1; }
  if grep -rlE --exclude='*.o' 'gr_hidden_tests[[:space:]]*\[[[:space:]]*\][[:space:]]*=' "$OUT" >/dev/null 2>&1; then
    echo "release: CHECK FAILED: a hidden-test table is defined in the kit:" >&2
    grep -rlE --exclude='*.o' 'gr_hidden_tests[[:space:]]*\[[[:space:]]*\][[:space:]]*=' "$OUT" >&2; bad=1
  fi
fi
for p in reference/tests grader/selftest grader/gradescope; do
  [ -e "$OUT/$p" ] && { echo "release: CHECK FAILED: $p is in the kit" >&2; bad=1; }
done
[ "$bad" = 0 ] || die "the kit in $OUT failed its checks (see above)"

for m in "${missing[@]}"; do note "warning: not shipped: $m"; done
note "${#shipped_obj[@]} reference module(s) as objects, ${#shipped_src[@]} as source (released solutions); no withheld solution source, $([ "$with_hidden" = 1 ] && echo "hidden tests INCLUDED (autograder kit)" || echo "no hidden tests")"
note "done: $OUT (try: cd $OUT && make grade LAB=${LABS[0]})"
