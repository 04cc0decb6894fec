#!/usr/bin/env bash
# `make bench`: nnlab's MLP epoch against PyTorch's, one thread each,
# alternating runs in separate processes, and the sgemm floor.
#
#   reference/bench/bench.sh path/to/nnlab-bench OUTDIR [ROUNDS]
#
# Prints seconds per epoch (median of ROUNDS, default 5), the ratio, peak
# resident memory of each side, and the floor: the epoch's matrix-product
# FLOPs at the rate OpenBLAS reaches on those shapes. Both sides run with
# the same OPENBLAS_CORETYPE (printed) and one thread.
set -u
BENCH=$1 OUT=$2 ROUNDS=${3:-5}
PY=${PYTHON:-/usr/bin/python3}
HERE=$(dirname "$0")
mkdir -p "$OUT"
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
echo "bench: OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-<unset>} OPENBLAS_NUM_THREADS=1, $(nproc) cores, $ROUNDS rounds"

dir=
for d in "${NNLAB_DATA:+$NNLAB_DATA/fashion-mnist}" datasets/downloads/fashion-mnist /usr/share/datasets/fashion-mnist; do
  [ -n "$d" ] && [ -e "$d/train-labels-idx1-ubyte" -o -e "$d/train-labels-idx1-ubyte.gz" ] && { dir=$d; break; }
done
if [ -z "$dir" ]; then
  echo "bench: Fashion-MNIST not found; run 'make datasets' or apt-get install dataset-fashion-mnist" >&2
  exit 1
fi
have_torch=1
"$PY" -c "import torch" 2>/dev/null || { have_torch=0; echo "bench: PyTorch not installed ($PY): nnlab side only (apt-get install python3-torch)"; }

: >"$OUT/mlp.txt"
for r in $(seq "$ROUNDS"); do
  "$BENCH" epoch >>"$OUT/mlp.txt" || exit 1
  [ $have_torch = 1 ] && { "$PY" "$HERE/torch_mlp.py" "$dir" >>"$OUT/mlp.txt" || exit 1; }
  "$BENCH" floor >>"$OUT/mlp.txt" || exit 1
done

# median SIDE KEY: the median of KEY over the rounds of SIDE.
median() {
  grep "side=$1 " "$OUT/mlp.txt" | sed -E "s/.*$2=([0-9.]+).*/\1/" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
nn=$(median nnlab seconds); nn_mem=$(median nnlab peak_rss_mb)
fl=$(median floor seconds); fl_rate=$(median floor gflops)
echo
echo "MLP 784-256-128-10, one epoch of Fashion-MNIST (60000), batch 128, SGD lr 0.1, 1 thread"
printf "  %-28s %8.3f s/epoch   peak RSS %7.1f MB\n" "nnlab" "$nn" "$nn_mem"
if [ $have_torch = 1 ]; then
  pt=$(median torch seconds); pt_mem=$(median torch peak_rss_mb)
  printf "  %-28s %8.3f s/epoch   peak RSS %7.1f MB\n" "PyTorch $(grep -m1 -o 'torch=[^ ]*' "$OUT/mlp.txt" | cut -d= -f2)" "$pt" "$pt_mem"
fi
printf "  %-28s %8.3f s/epoch   (sgemm at %.1f GFLOP/s on the epoch's shapes)\n" "floor (matrix products only)" "$fl" "$fl_rate"
echo
awk -v nn="$nn" -v fl="$fl" 'BEGIN { printf "  nnlab / floor   = %.3f   (target <= 1.15)\n", nn / fl }'
if [ $have_torch = 1 ]; then
  awk -v nn="$nn" -v pt="$pt" 'BEGIN { printf "  nnlab / PyTorch = %.3f   (target <= 0.95)\n", nn / pt }'
  awk -v a="$nn_mem" -v b="$pt_mem" 'BEGIN { printf "  memory nnlab / PyTorch = %.3f   (target <= 0.333)\n", a / b }'
fi
echo "  raw runs: $OUT/mlp.txt"
