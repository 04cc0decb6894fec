#!/usr/bin/env bash
# Regenerate lab 4's committed loss bands from the reference solution.
#
#   grader/bands/lab04-mkbands.sh [spirals|fashion]...     (default: both)
#
# Builds the nnlab library (make, so build/lib/libnnlab.a holds the
# reference backprop.c), compiles grader/bands/lab04-mkbands.c against it and
# writes grader/bands/lab04-spirals.csv and lab04-fashion.csv: for every
# epoch, the min and max of the reference's mean training loss over the
# seeds of grader/bands/lab04-runs.h. Single-threaded OpenBLAS, as the
# grader. Run it after changing lab04-runs.h or anything the runs depend on
# (the reference's backprop.c, forward.c's He init, the RNG, the spirals
# generator), then commit the CSV files. See grader/bands/README.md.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
MAKE=${MAKE:-make}
CC=${CC:-cc}
export OPENBLAS_NUM_THREADS=1

$MAKE --no-print-directory -j2 build/lib/libnnlab.a >/dev/null
read -r -a BLAS_CFLAGS <<<"$(pkg-config --cflags openblas 2>/dev/null)"
read -r -a LIBS <<<"$(pkg-config --libs openblas 2>/dev/null || echo -lopenblas) -lz -lm"
mkdir -p build/bands
# shellcheck disable=SC2086  # CC may be several words
$CC -std=c11 -O2 -Wall -Wextra -D_POSIX_C_SOURCE=200809L -DNNLAB_ROOT="\"$ROOT\"" \
  -Ireference/include -Igrader "${BLAS_CFLAGS[@]}" \
  -o build/bands/lab04-mkbands grader/bands/lab04-mkbands.c build/lib/libnnlab.a "${LIBS[@]}"
build/bands/lab04-mkbands grader/bands "$@"
