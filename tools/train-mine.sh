#!/usr/bin/env bash
# `make train MINE=all|1-5|3,4 [ARGS="..."]`: build `nnlab` from your own lab
# files and train with it, to see your own whole network learn.
#
#   tools/train-mine.sh LABS [nnlab train options...]
#
# For every lab in LABS, each of its module files in labs/NN-topic/ replaces
# the reference module, as in `make grade`, except a file that is still the
# untouched stub (training with it would teach nothing): that module stays
# the reference's, and the table printed first says so. Lab 8 (CUDA) is not
# part of this CPU program.
#
# The program is linked into build/mine/nnlab. Without options it trains the
# recipe of `make demo` (an MLP, reference: about 89% test accuracy); when
# your lab 7 is in, LeNet-5 with the recipe of `make demo-cnn` (reference:
# about 90.8%). Options given replace the recipe entirely.
set -u
set -o pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd) || exit 1
cd "$ROOT" || exit 1

die() { echo "train: $*" >&2; exit 1; }
usage="usage: make train MINE=all|1-7|3,4 [ARGS=\"nnlab train options\"]"
[ $# -ge 1 ] && [ -n "$1" ] || die "$usage"
MINE=$1; shift

BUILD=${BUILD:-build}
CC=${CC:-cc}
MAKE=${MAKE:-make}
OUT=$BUILD/mine

# shellcheck source=tools/labs.sh
. tools/labs.sh && labs_read || exit 1
[ "$MINE" != none ] || die "$usage"
LABS=$(parse_labs "$MINE") || die "MINE=$MINE: see above ($usage)"

# The library, the nnlab program's object: built (or found up to date) by make.
$MAKE --no-print-directory -j"$(nproc 2>/dev/null || echo 2)" BUILD="$BUILD" lib "$BUILD/bin/nnlab" \
  > /dev/null || die "building the reference library failed (run make to see why)"

read -r -a BLAS_CFLAGS <<<"$(pkg-config --cflags openblas 2>/dev/null)"
read -r -a LIBS <<<"$(pkg-config --libs openblas 2>/dev/null || echo -lopenblas) -lz -lm"
# shellcheck disable=SC2206  # CC may be several words, as in make
CCV=($CC)
CFLAGS_MINE=(-std=c11 -Wall -Wextra -O2 -g -Ireference/include -D_POSIX_C_SOURCE=200809L "${BLAS_CFLAGS[@]}")

rm -rf "$OUT" && mkdir -p "$OUT/obj" || die "cannot create $OUT"
declare -A MINE_OBJ=()
lab7_mine=0
printf '  %-4s %-36s %s\n' lab file "linked from"
for n in $LABS; do
  folder=${FOLDER[$n]}
  for m in ${MODULES[$n]}; do
    f=labs/$folder/$m
    case $m in *.cu) printf '  %-4s %-36s %s\n' "$n" "$f" "left out (GPU code: make grade LAB=8)"; continue ;; esac
    if [ ! -f "$f" ]; then
      printf '  %-4s %-36s %s\n' "$n" "$f" "reference (your file is missing)"; continue
    fi
    if stub_untouched "$f" "$folder"; then
      printf '  %-4s %-36s %s\n' "$n" "$f" "reference (yours is the untouched stub)"; continue
    fi
    o=$OUT/obj/${m%.c}.o
    "${CCV[@]}" "${CFLAGS_MINE[@]}" -c "$f" -o "$o" || die "$f does not compile (see above); fix it or leave lab $n out of MINE"
    MINE_OBJ[$m]=$o
    [ "$n" = 7 ] && lab7_mine=1
    printf '  %-4s %-36s %s\n' "$n" "$f" "yours"
  done
done
[ ${#MINE_OBJ[@]} -gt 0 ] || echo "  (none of your files is edited yet: this is the reference's run)"

# Every reference object except the modules replaced by yours.
OBJS=()
for src in reference/src/*.c; do
  m=$(basename "$src")
  if [ -n "${MINE_OBJ[$m]:-}" ]; then OBJS+=("${MINE_OBJ[$m]}"); else OBJS+=("$BUILD/obj/ref/${m%.c}.o"); fi
done
for o in reference/obj/*.o; do   # a student kit: modules shipped compiled
  [ -f "$o" ] || continue
  m=$(basename "$o" .o).c
  [ -f "reference/src/$m" ] && continue
  if [ -n "${MINE_OBJ[$m]:-}" ]; then OBJS+=("${MINE_OBJ[$m]}"); else OBJS+=("$o"); fi
done
"${CCV[@]}" -o "$OUT/nnlab" "$BUILD/obj/apps/nnlab.o" "${OBJS[@]}" "${LIBS[@]}" \
  || die "linking your files with the library failed (a function missing or misspelt?)"

if [ $# -eq 0 ]; then
  if [ $lab7_mine = 1 ]; then
    set -- --data fashion-mnist --model lenet5 --opt adam --lr 2e-3 --schedule cosine --epochs 10 \
           --batch 64 --val 0 --seed 1
    echo "  recipe of make demo-cnn: the reference reaches about 90.8% test accuracy"
  else
    set -- --data fashion-mnist --model 784-256-128-10 --act relu --opt adam --lr 1e-3 \
           --schedule cosine --epochs 10 --batch 128 --seed 1
    echo "  recipe of make demo: the reference reaches about 89% test accuracy"
  fi
  set -- "$@" --log "$OUT/run.csv" --plot "$OUT/loss.png"
fi
echo "  $OUT/nnlab train $*"
exec "$OUT/nnlab" train "$@"
