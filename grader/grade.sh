#!/usr/bin/env bash
# Grade one lab (DESIGN.md sections 2 and 4). `make grade LAB=n` runs it.
#
#   grader/grade.sh --lab N [--impl student|reference|stub] [--submission DIR]
#                   [--hidden DIR] [--out DIR] [--sanitize] [--no-plots] [--demo]
#
#   --lab N          1, 01, lab1, lab01, 01-neuron or neuron
#   --impl           student (default): labs/NN-topic/<module>.c (or .cu)
#                    reference: reference/src/<module>.c, reference/gpu/<module>.cu
#                    (must score full marks)
#                    stub: the untouched generated stub (must score zero)
#   --submission DIR grade the module file(s) found in DIR instead of labs/NN-topic/
#   --hidden DIR     also link the instructor's extra tests DIR/*.c (gr_extra_tests)
#   --out DIR        write the results there (default build/grade/labNN)
#   --sanitize       AddressSanitizer + UBSan (objects in build/asan, results in
#                    build/grade-asan/labNN, time limits x3)
#   --no-plots       skip the reference run and the plots (the self-test uses it)
#   --demo           grade the reference into build/demo/labNN and show its plots
#
# What it does: builds the library objects (make, in parallel), compiles the
# lab's module(s) with warnings shown (never -Werror for student code), links
#   runner + the lab's test tables + those objects + every OTHER reference object
# into OUT/tests and runs it. A compile or link error is a "compiles" failure
# reported by the runner (--compile-error), not a grader error. Beside it, the
# same tests run once against the reference module (cached in
# build/grade/labNN/reference/) so the plots can draw the student's curves
# over the reference's; grader/plots/labNN.sh draws them and
# grader/report.sh writes OUT/report.html.
#
# Exit status: 0 whenever grading ran, whatever the score; 2 when the grader
# itself could not run. The last line printed is the runner's
# "N passed, N failed, N skipped".
#
# CUDA labs (a module ending in .cu: lab 8) are compiled with nvcc and linked
# with the GPU reference objects and the CUDA runtime; the settings come from
# `make cuda-env` (reference/gpu/gpu.mk). Without nvcc the module is not
# compiled and every test reports itself skipped, with the reason.
#
# Environment: CC (default cc; may hold words, e.g. "ccache gcc"), MAKE,
# BUILD (where the library objects are: default build, or build/asan).
set -u
ORIG_PWD=$PWD
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2

die() { echo "grade: $*" >&2; exit 2; }
note() { printf '%s\n' "$*" >> "$OUT/notes.txt"; }
rel() { local p=$1; printf '%s\n' "${p#"$ROOT"/}"; }

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; }

LAB_ARG="" IMPL=student SUBMISSION="" HIDDEN="" OUT="" SANITIZE=0 PLOTS=1 DEMO=0
while [ $# -gt 0 ]; do
  case $1 in
    --lab) LAB_ARG=${2-}; shift ;;
    --impl) IMPL=${2-}; shift ;;
    --submission) SUBMISSION=${2-}; shift ;;
    --hidden) HIDDEN=${2-}; shift ;;
    --out) OUT=${2-}; shift ;;
    --sanitize) SANITIZE=1 ;;
    --no-plots) PLOTS=0 ;;
    --demo) DEMO=1; IMPL=reference ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see grader/grade.sh --help)" ;;
  esac
  shift
done

# Folders given on the command line are relative to where it was typed.
abspath() { case $1 in ''|/*) printf '%s' "$1" ;; *) printf '%s/%s' "$ORIG_PWD" "$1" ;; esac; }
SUBMISSION=$(abspath "$SUBMISSION") HIDDEN=$(abspath "$HIDDEN") OUT=$(abspath "$OUT")

# ------------------------------------------------------------ the lab
[ -n "$LAB_ARG" ] || die "say which lab: make grade LAB=1 (labs: $(grep -v '^#' grader/labs.tsv | cut -f1 | paste -sd' '))"
want=$LAB_ARG
want=${want#lab}; want=${want#Lab}; want=${want#-}
LAB="" FOLDER="" MODULES=""
while IFS=$'\t' read -r n dir files; do
  case $n in ''|\#*) continue ;; esac
  if [[ $want =~ ^[0-9]+$ ]] && [ "$((10#$want))" = "$n" ] \
     || [ "$want" = "$dir" ] || [ "$want" = "${dir#*-}" ]; then
    LAB=$n FOLDER=$dir MODULES=$files
  fi
done < grader/labs.tsv
[ -n "$LAB" ] || die "no lab '$LAB_ARG' (labs: $(grep -v '^#' grader/labs.tsv | cut -f1 | paste -sd' '))"
NN=$(printf '%02d' "$LAB")
read -r -a MODS <<<"$MODULES"

case $IMPL in
  student|reference|stub) ;;
  *) die "IMPL must be student, reference or stub (not '$IMPL')" ;;
esac
if [ -n "$SUBMISSION" ]; then
  [ "$IMPL" = student ] || die "SUBMISSION is graded as IMPL=student"
  [ -d "$SUBMISSION" ] || die "SUBMISSION=$SUBMISSION is not a folder"
fi

TABLES=grader/labs/lab$NN.c
HIDDEN_TABLES=grader/hidden/lab$NN.c
[ -f "$TABLES" ] || die "lab $LAB has no tests yet ($TABLES is missing)"
[ -f grader/runner.c ] || die "grader/runner.c is missing"
CUDA_LAB=0
for m in "${MODS[@]}"; do
  case $m in
    *.c) ;;
    *.cu) CUDA_LAB=1 ;;
    *) die "lab $LAB's module $m is neither C nor CUDA: this grader builds .c and .cu modules" ;;
  esac
done
# ref_source M: the reference source of lab module M (C or CUDA), or "".
ref_source() {
  local f
  for f in "reference/src/$1" "reference/gpu/$1"; do
    [ -f "$f" ] && { printf '%s\n' "$f"; return; }
  done
}

# ------------------------------------------------------------ where
MAKE=${MAKE:-make}
CC=${CC:-cc}
if [ "$SANITIZE" = 1 ]; then
  BUILD=${BUILD:-build/asan}
  case $BUILD in build|build/) BUILD=build/asan ;; esac
  GRADE_ROOT=build/grade-asan
  # shellcheck disable=SC2054  # one flag, with commas
  SAN=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  TIME_SCALE=(--time-scale 3)
else
  BUILD=${BUILD:-build}
  GRADE_ROOT=build/grade
  SAN=() TIME_SCALE=()
fi
[ "$DEMO" = 1 ] && [ -z "$OUT" ] && OUT=build/demo/lab$NN
OUT=${OUT:-$GRADE_ROOT/lab$NN}
REF_DIR=$GRADE_ROOT/lab$NN/reference
STUB_DIR=build/stubs/$NN
GRADER_OBJ=$BUILD/obj/grader

# CUDA labs: nvcc and the GPU objects, from reference/gpu/gpu.mk.
NVCC="" NVCC_FLAGS="" CUDA_LIBS="" GPU_OBJS="" GPU_LAB_OBJ="" CUDA_MISSING=""
if [ "$CUDA_LAB" = 1 ]; then
  if env_text=$(${MAKE:-make} -s --no-print-directory -C "$ROOT" cuda-env BUILD="$BUILD" 2>/dev/null); then
    eval "$env_text"
  else
    CUDA_MISSING="this tree has no GPU build rules (reference/gpu/gpu.mk)"
  fi
  [ -n "$NVCC" ] || CUDA_MISSING=${CUDA_MISSING:-nvcc not found}
fi
read -r -a NVCCV <<<"$NVCC"
read -r -a NVCC_ARGS <<<"$NVCC_FLAGS"
read -r -a CUDA_LIBV <<<"$CUDA_LIBS"

mkdir -p "$OUT" "$GRADE_ROOT/lab$NN" "$STUB_DIR" || die "cannot create $OUT"
OUT=$(cd "$OUT" && pwd) || die "cannot enter $OUT"
# Results of an earlier run must not pass for this one's.
rm -rf "$OUT/results.json" "$OUT/summary.txt" "$OUT/table.html" "$OUT/statuses.txt" \
       "$OUT/data" "$OUT/plots" "$OUT/report.html" "$OUT/obj" "$OUT/tests" "$OUT/notes.txt" \
       "$OUT/compile.log" "$OUT/runner.log" "$OUT/plots.log" "$OUT/build.log"
mkdir -p "$OUT/obj" && : > "$OUT/notes.txt"

export OPENBLAS_NUM_THREADS=1

read -r -a BLAS_CFLAGS <<<"$(pkg-config --cflags openblas 2>/dev/null)"
read -r -a CUNIT_CFLAGS <<<"$(pkg-config --cflags cunit 2>/dev/null)"
read -r -a LIBS <<<"$(pkg-config --libs openblas 2>/dev/null || echo -lopenblas) $(pkg-config --libs cunit 2>/dev/null || echo -lcunit) -lz -lm"
[ -n "$NVCC" ] && LIBS+=("${CUDA_LIBV[@]}")
# Student code: the flags of the handout, warnings shown, never -Werror.
STUDENT_CFLAGS=(-std=c11 -Wall -Wextra -O2 -g -Ireference/include "${BLAS_CFLAGS[@]}" "${SAN[@]}")
# The instructor's extra tests (HIDDEN=dir): as the lab's own test tables.
EXTRA_CFLAGS=(-std=c11 -Wall -Wextra -O2 -g -Ireference/include -Igrader "${BLAS_CFLAGS[@]}" "${CUNIT_CFLAGS[@]}" "${SAN[@]}")
[ -n "$NVCC" ] && EXTRA_CFLAGS+=(-DNNLAB_HAVE_CUDA -isystem "${CUDA_HOME:-/usr/local/cuda}/include" -Ireference/gpu)
# shellcheck disable=SC2206  # CC may be several words, as in make
CCV=($CC)

# ------------------------------------------------------------ the library, runner, tables
# make builds what is out of date: every reference object, the runner and
# this lab's tables. Under a parent make with a jobserver, share its slots.
JOBS=()
case " ${MAKEFLAGS:-} " in
  *jobserver*) ;;
  *) JOBS=(-j"$(nproc 2>/dev/null || echo 2)") ;;
esac
SANVAR=(); [ "$SANITIZE" = 1 ] && SANVAR=(SANITIZE=1)
if ! $MAKE --no-print-directory "${JOBS[@]}" -C "$ROOT" grade-objs GRADE_LAB="$NN" BUILD="$BUILD" "${SANVAR[@]}" \
     > "$OUT/build.log" 2>&1; then
  tail -n 30 "$OUT/build.log" >&2
  die "building the library and the grader failed (full log: $(rel "$OUT/build.log"))"
fi
n=$(grep -c "  CC  " "$OUT/build.log"); [ "$n" -gt 0 ] && echo "  compiled $n file(s) of the nnlab library and the grader into $BUILD/"

# Every reference object except this lab's modules: the student's replace them.
# A student kit (tools/release.sh) ships the lab modules it does not solve as
# objects, reference/obj/<module>.o, in place of their source.
is_lab_module() { [[ " ${MODS[*]} " == *" $1 "* ]]; }
OTHER_OBJS=() LAB_REF_OBJS=()
for src in reference/src/*.c; do
  b=$(basename "$src")
  o=$BUILD/obj/ref/${b%.c}.o
  [ -f "$o" ] || die "$o was not built"
  if is_lab_module "$b"; then LAB_REF_OBJS+=("$o"); else OTHER_OBJS+=("$o"); fi
done
for o in reference/obj/*.o; do
  [ -f "$o" ] || continue
  b=$(basename "$o" .o)
  [ -f "reference/src/$b.c" ] || [ -f "reference/gpu/$b.cu" ] && continue
  # A CUDA module's object (kernels.o) links only into a CUDA lab's tests.
  if grep -qE "[[:space:]]$b\.cu([[:space:]]|\$)" grader/labs.tsv && [ "$CUDA_LAB" != 1 ]; then continue; fi
  if is_lab_module "$b.c" || is_lab_module "$b.cu"; then LAB_REF_OBJS+=("$o"); else OTHER_OBJS+=("$o"); fi
done
# A CUDA lab links the GPU reference too; its own module's reference is GPU_LAB_OBJ.
if [ "$CUDA_LAB" = 1 ] && [ -n "$NVCC" ]; then
  for o in $GPU_OBJS; do
    [ -f "$o" ] || die "$o was not built"
    OTHER_OBJS+=("$o")
  done
  for m in "${MODS[@]}"; do
    [ -f "reference/gpu/$m" ] && [ -f "$GPU_LAB_OBJ" ] && LAB_REF_OBJS+=("$GPU_LAB_OBJ")
  done
fi
# ref_object M: the compiled reference of lab module M, or "".
ref_object() {
  if [ -f "reference/src/$1" ]; then printf '%s\n' "$BUILD/obj/ref/${1%.c}.o"
  elif [ -f "reference/gpu/$1" ] && [ -n "$NVCC" ]; then printf '%s\n' "$GPU_LAB_OBJ"
  elif [ -f "reference/obj/${1%.*}.o" ]; then printf '%s\n' "reference/obj/${1%.*}.o"; fi
}
# The runner (grader/runner.c and its helpers grader/runner_*.c), the tables.
TABLE_OBJS=()
for r in grader/runner*.c; do TABLE_OBJS+=("$GRADER_OBJ/$(basename "$r" .c).o"); done
TABLE_OBJS+=("$GRADER_OBJ/labs/lab$NN.o")
[ -f "$HIDDEN_TABLES" ] && TABLE_OBJS+=("$GRADER_OBJ/hidden/lab$NN.o")

# HIDDEN=dir: the instructor's extra tests, compiled here (the path may hold spaces).
if [ -n "$HIDDEN" ]; then
  [ -d "$HIDDEN" ] || die "HIDDEN=$HIDDEN is not a folder"
  mkdir -p "$OUT/obj/extra"
  found=0
  for f in "$HIDDEN"/*.c; do
    [ -f "$f" ] || continue
    found=1
    o=$OUT/obj/extra/$(basename "$f" .c).o
    "${CCV[@]}" "${EXTRA_CFLAGS[@]}" -c "$f" -o "$o" || die "the extra tests $f do not compile"
    TABLE_OBJS+=("$o")
  done
  [ $found = 1 ] || die "HIDDEN=$HIDDEN holds no .c file"
fi

# ------------------------------------------------------------ stubs and sources
# The pristine stub of each module: what "not attempted" is measured against.
STUBS=()
for m in "${MODS[@]}"; do
  ref=$(ref_source "$m")
  if [ -n "$ref" ]; then
    tmp=$STUB_DIR/.$m.$$
    tools/mkstub.sh "$ref" > "$tmp" || { rm -f "$tmp"; die "cannot generate the stub of $ref"; }
    if cmp -s "$tmp" "$STUB_DIR/$m"; then rm -f "$tmp"; else mv -f "$tmp" "$STUB_DIR/$m"; fi
    STUBS+=("$STUB_DIR/$m")
  elif [ -f "grader/stubs/$FOLDER/$m" ]; then   # a release without the solutions
    STUBS+=("grader/stubs/$FOLDER/$m")
  else
    die "no stub for $m (neither reference/src/$m, reference/gpu/$m nor grader/stubs/$FOLDER/$m)"
  fi
done

SOURCES=()
for i in "${!MODS[@]}"; do
  m=${MODS[$i]}
  case $IMPL in
    student) SOURCES+=("$(rel "${SUBMISSION:-labs/$FOLDER}/$m")") ;;
    reference)
      if [ -n "$(ref_source "$m")" ]; then SOURCES+=("$(ref_source "$m")")
      elif [ -n "$(ref_object "$m")" ]; then SOURCES+=("$(ref_object "$m")")   # compiled, no source
      else die "no reference solution of $m here (neither reference/src/$m, reference/gpu/$m nor reference/obj/${m%.*}.o)"
      fi ;;
    stub) SOURCES+=("${STUBS[$i]}") ;;
  esac
done

# For "not attempted": a student file still equal to the stub it was
# generated from (hash in labs/NN-topic/.stub.sha256) counts as untouched
# even when the generator has changed since.
STUB_ARGS=() STUDENT_ARGS=()
for i in "${!MODS[@]}"; do
  s=${SOURCES[$i]} st=${STUBS[$i]}
  if [ "$IMPL" = student ] && [ -f "$s" ] && [ -f "labs/$FOLDER/.stub.sha256" ] \
     && ! cmp -s "$s" "$st"; then
    h=$(sha256sum < "$s" | cut -d' ' -f1)
    grep -q "^$h " "labs/$FOLDER/.stub.sha256" && st=$s
  fi
  case $s in *.o) continue ;; esac   # a compiled reference: nothing to compare
  STUDENT_ARGS+=(--student "$s") STUB_ARGS+=(--stub "$st")
done

# ------------------------------------------------------------ the reference run (for the plots)
# Same tables, the reference module linked: cached in REF_DIR, rebuilt only
# when an input changed. A lock keeps parallel gradings from racing on it.
reference_run() {
  local key objs=("${TABLE_OBJS[@]}" "${LAB_REF_OBJS[@]}" "${OTHER_OBJS[@]}") refsrc=()
  for m in "${MODS[@]}"; do [ -n "$(ref_source "$m")" ] && refsrc+=(--student "$(ref_source "$m")"); done
  exec 9> "$GRADE_ROOT/lab$NN/.reference.lock"
  flock 9
  key=$( { printf '%s\n' "${CCV[*]}" "${SAN[*]}" "${TIME_SCALE[*]}" "$HIDDEN"; cat "${objs[@]}" "${STUBS[@]}"; } | sha256sum | cut -d' ' -f1)
  if [ -f "$REF_DIR/results.json" ] && [ "$(cat "$REF_DIR/.inputs.sha256" 2>/dev/null)" = "$key" ]; then
    return 0
  fi
  rm -rf "$REF_DIR" && mkdir -p "$REF_DIR" || return 1
  "${CCV[@]}" "${SAN[@]}" -o "$REF_DIR/tests" "${objs[@]}" "${LIBS[@]}" > "$REF_DIR/link.log" 2>&1 || return 1
  # Source/stub pairs only where the reference source is here (a kit ships
  # a compiled object instead: nothing to compare with the stub).
  [ ${#refsrc[@]} = 0 ] || refsrc+=("${STUB_ARGS[@]}")
  "$REF_DIR/tests" --out "$REF_DIR" --lab "$NN" "${refsrc[@]}" "${TIME_SCALE[@]}" \
    > "$REF_DIR/runner.log" 2>&1
  [ -f "$REF_DIR/results.json" ] || return 1
  echo "$key" > "$REF_DIR/.inputs.sha256"
}

REF_PID=""
if [ "$PLOTS" = 1 ] && [ "$IMPL" != reference ]; then
  if [ ${#LAB_REF_OBJS[@]} = ${#MODS[@]} ]; then
    reference_run > "$GRADE_ROOT/lab$NN/reference.log" 2>&1 &
    REF_PID=$!
  elif [ -z "$CUDA_MISSING" ]; then
    note "No reference solution of lab $LAB is available here: the plots show your curves alone."
  fi
fi

# ------------------------------------------------------------ compile and link
echo "  grading lab $LAB ($IMPL): $(for s in "${SOURCES[@]}"; do rel "$s"; done | paste -sd' ')"
COMPILE_LOG=$OUT/compile.log
: > "$COMPILE_LOG"
failed_build=0
STUDENT_OBJS=()
# compile_module SRC OBJ: C with the student flags, CUDA with nvcc.
compile_module() {
  case $1 in
    *.cu) "${NVCCV[@]}" "${NVCC_ARGS[@]}" -c "$1" -o "$2" ;;
    *) "${CCV[@]}" "${STUDENT_CFLAGS[@]}" -c "$1" -o "$2" ;;
  esac
}
for i in "${!MODS[@]}"; do
  s=${SOURCES[$i]} m=${MODS[$i]}
  o=$OUT/obj/${m%.*}.o
  case $s in *.o) STUDENT_OBJS+=("$s"); continue ;; esac   # a compiled reference
  if [ -n "$CUDA_MISSING" ] && [[ $m == *.cu ]]; then
    # No nvcc: the tables were built without CUDA and skip every test.
    note "$m was not compiled ($CUDA_MISSING): every test is skipped on this machine."
    [ -f "$s" ] || echo "$s: file not found (lab $LAB needs ${MODS[*]})"
    continue
  fi
  echo "  $([[ $m == *.cu ]] && echo NVCC || echo "CC  ")    $(rel "$s")"
  if [ ! -f "$s" ]; then
    echo "$s: file not found (lab $LAB needs ${MODS[*]})" | tee -a "$COMPILE_LOG"
    failed_build=1; continue
  fi
  # Warnings go to the terminal and into the log (the report shows them).
  compile_module "$s" "$o" > "$OUT/obj/cc.log" 2>&1
  rc=$?
  cat "$OUT/obj/cc.log"; cat "$OUT/obj/cc.log" >> "$COMPILE_LOG"
  if [ $rc != 0 ]; then failed_build=1; else STUDENT_OBJS+=("$o"); fi
done
if [ $failed_build = 0 ]; then
  echo "  LD      $(rel "$OUT/tests")"
  if ! "${CCV[@]}" "${SAN[@]}" -o "$OUT/tests" "${TABLE_OBJS[@]}" "${STUDENT_OBJS[@]}" "${OTHER_OBJS[@]}" \
         "${LIBS[@]}" > "$OUT/obj/ld.log" 2>&1; then
    missing=$(grep -o "undefined reference to \`[^']*'" "$OUT/obj/ld.log" | sed "s/.*\`//; s/'$//" | sort -u | tr '\n' ' ')
    twice=$(grep -o "multiple definition of \`[^']*'" "$OUT/obj/ld.log" | sed "s/.*\`//; s/'$//" | sort -u | tr '\n' ' ')
    { echo "Linking your code with the tests failed."
      [ -n "$missing" ] && echo "  Not defined by your code (renamed or removed?): $missing"
      [ -n "$twice" ] && echo "  Defined twice (a function of another module, or a global without static?): $twice"
      echo "The linker said:"
      head -n 40 "$OUT/obj/ld.log"; } | tee -a "$COMPILE_LOG"
    failed_build=1
  fi
fi

RUN_ARGS=(--out "$OUT" --lab "$NN" "${STUDENT_ARGS[@]}" "${STUB_ARGS[@]}" "${TIME_SCALE[@]}")
if [ $failed_build = 1 ]; then
  # The runner still writes the report: "compiles" failed, every test not run.
  # It links against the stub, which always compiles.
  mkdir -p "$OUT/obj/stub"
  STUB_OBJS=()
  for i in "${!MODS[@]}"; do
    o=$OUT/obj/stub/${MODS[$i]%.*}.o
    compile_module "${STUBS[$i]}" "$o" 2>> "$OUT/obj/stub.log" \
      || die "the stub ${STUBS[$i]} does not compile (see $(rel "$OUT/obj/stub.log"))"
    STUB_OBJS+=("$o")
  done
  "${CCV[@]}" "${SAN[@]}" -o "$OUT/tests" "${TABLE_OBJS[@]}" "${STUB_OBJS[@]}" "${OTHER_OBJS[@]}" "${LIBS[@]}" \
    > "$OUT/obj/ld-stub.log" 2>&1 || { cat "$OUT/obj/ld-stub.log" >&2; die "cannot link the grader"; }
  RUN_ARGS+=(--compile-error "$COMPILE_LOG")
fi

# ------------------------------------------------------------ run
"$OUT/tests" "${RUN_ARGS[@]}" 2>&1 | tee "$OUT/runner.log"
[ -f "$OUT/results.json" ] || die "the runner wrote no results (see $(rel "$OUT/runner.log"))"
CLOSING=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$OUT/runner.log" | tail -n 1)

# ------------------------------------------------------------ plots and report
PLOT_DIR=$OUT/plots
if [ "$PLOTS" = 1 ]; then
  ref_for_plots=$REF_DIR
  [ "$IMPL" = reference ] && ref_for_plots=$OUT
  if [ -n "$REF_PID" ] && ! wait "$REF_PID"; then
    note "The reference run failed, so the plots show your curves alone (see $(rel "$GRADE_ROOT/lab$NN/reference.log"))."
    ref_for_plots=""
  fi
  script=grader/plots/lab$NN.sh
  if [ $failed_build = 1 ]; then
    note "Your code did not build (see the compiler messages), so there is nothing to plot."
  elif [ -f "$script" ]; then
    mkdir -p "$PLOT_DIR"
    # NNLAB_DEMO=1 (make demo LAB=n) lets a script draw extras for a lecture hall.
    if ! NNLAB_DEMO=$DEMO timeout 120 bash "$script" "$OUT" "${ref_for_plots:-$OUT/no-reference}" "$PLOT_DIR" > "$OUT/plots.log" 2>&1; then
      note "The plot script $script failed; the plots may be missing or incomplete. Its last lines:"
      tail -n 5 "$OUT/plots.log" | sed 's/^/    /' >> "$OUT/notes.txt"
    fi
    # An empty PNG is a plot gnuplot could not draw: leave it out, say so.
    empty=$(find "$PLOT_DIR" -maxdepth 1 -name '*.png' -size 0 -printf '%f ' 2>/dev/null)
    if [ -n "$empty" ]; then
      find "$PLOT_DIR" -maxdepth 1 -name '*.png' -size 0 -delete
      note "Not drawn: $empty(see $(rel "$OUT/plots.log"))."
    fi
  else
    note "Lab $LAB draws no plots."
  fi
fi

REPORT_ARGS=(--out "$OUT" --lab "$LAB" --folder "$FOLDER" --impl "$IMPL")
for s in "${SOURCES[@]}"; do REPORT_ARGS+=(--source "$(rel "$s")"); done
grader/report.sh "${REPORT_ARGS[@]}" || echo "grade: could not write the report (see above)" >&2

# ------------------------------------------------------------ closing
shopt -s nullglob
pngs=("$PLOT_DIR"/*.png "$PLOT_DIR"/*.gif)
asciis=("$PLOT_DIR"/*.txt)
for a in "${asciis[@]}"; do echo; cat "$a"; done
echo
if [ -s "$OUT/notes.txt" ]; then sed 's/^/  note: /' "$OUT/notes.txt"; fi
[ -f "$OUT/report.html" ] && echo "  report: $(rel "$OUT/report.html")"
if [ ${#pngs[@]} -gt 0 ]; then
  echo "  plots:  $(rel "$PLOT_DIR")/ (${#pngs[@]} images: $(for p in "${pngs[@]}"; do basename "$p"; done | tr '\n' ' '))"
fi
echo "  results.json (Gradescope): $(rel "$OUT/results.json")"
if [ "$DEMO" = 1 ]; then
  echo "  This was lab $LAB's reference solution. Open the report in a browser to see the plots;"
  echo "  grade your own labs/$FOLDER/ with: make grade LAB=$LAB"
fi
echo "${CLOSING:-0 passed, 0 failed, 0 skipped}"
exit 0
