#!/usr/bin/env bash
# `make bench`: nnlab against PyTorch, one thread each, alternating runs in
# separate processes, on one epoch of Fashion-MNIST:
#   - the 784-256-128-10 MLP (batch 128, SGD lr 0.1), with the sgemm floor:
#     the epoch's matrix-product FLOPs at the rate OpenBLAS reaches on
#     those shapes;
#   - LeNet-5 (batch 128, SGD momentum 0.9, lr 0.01), with the GFLOP/s of
#     each conv layer forward and backward.
# Prints seconds per epoch (median of ROUNDS, default 5), ratios and peak
# resident memory. Both sides run with the same OPENBLAS_CORETYPE (printed).
#
#   reference/bench/bench.sh path/to/nnlab-bench OUTDIR [ROUNDS]
set -u
BENCH=$1 OUT=$2 ROUNDS=${3:-5}
PY=${PYTHON:-/usr/bin/python3}
HERE=$(dirname "$0")
mkdir -p "$OUT"
RAW=$OUT/runs.txt
: >"$RAW"
cores=$(nproc)
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
echo "bench: OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-<unset>} OPENBLAS_NUM_THREADS=1," \
     "$cores cores, $ROUNDS rounds, median reported"

dir=
for d in "${NNLAB_DATA:+$NNLAB_DATA/fashion-mnist}" datasets/downloads/fashion-mnist \
         /usr/share/datasets/fashion-mnist; do
  if [ -n "$d" ] && { [ -e "$d/train-labels-idx1-ubyte" ] || [ -e "$d/train-labels-idx1-ubyte.gz" ]; }; then
    dir=$d; break
  fi
done
if [ -z "$dir" ]; then
  echo "bench: Fashion-MNIST not found; run 'make datasets' or apt-get install dataset-fashion-mnist" >&2
  exit 1
fi
have_torch=1
if ! "$PY" -c "import torch" 2>/dev/null; then
  have_torch=0
  echo "bench: PyTorch not installed for $PY: nnlab side only (apt-get install python3-torch)"
fi

# median SIDE KEY [FILTER]: the median of KEY over the lines of SIDE.
median() {
  grep "side=$1 " "$RAW" | grep -- "${3:-}" | sed -E "s/.*[ ]$2=([0-9.]+).*/\1/" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
row() { printf "  %-30s %8.3f s/epoch   peak RSS %7.1f MB\n" "$1" "$2" "$3"; }

for r in $(seq "$ROUNDS"); do
  "$BENCH" epoch >>"$RAW" || exit 1
  [ $have_torch = 1 ] && { "$PY" "$HERE/torch_bench.py" mlp "$dir" >>"$RAW" || exit 1; }
  "$BENCH" floor >>"$RAW" || exit 1
  "$BENCH" lenet >>"$RAW" || exit 1
  [ $have_torch = 1 ] && { "$PY" "$HERE/torch_bench.py" lenet "$dir" >>"$RAW" || exit 1; }
  "$BENCH" convs >>"$RAW" || exit 1
done

torch_version=$(grep -m1 -o 'torch=[^ ]*' "$RAW" | cut -d= -f2)
echo
echo "MLP 784-256-128-10, one epoch (60000 images), batch 128, SGD lr 0.1"
nn=$(median nnlab seconds); nn_mem=$(median nnlab peak_rss_mb)
fl=$(median floor seconds); fl_rate=$(median floor gflops)
row "nnlab" "$nn" "$nn_mem"
if [ $have_torch = 1 ]; then
  pt=$(median torch seconds); pt_mem=$(median torch peak_rss_mb)
  row "PyTorch $torch_version" "$pt" "$pt_mem"
fi
printf "  %-30s %8.3f s/epoch   (sgemm at %.1f GFLOP/s on the epoch's shapes)\n" \
  "floor: matrix products only" "$fl" "$fl_rate"
echo "  nnlab / floor            = $(ratio "$nn" "$fl")   (target <= 1.15)"
if [ $have_torch = 1 ]; then
  echo "  nnlab / PyTorch          = $(ratio "$nn" "$pt")   (target <= 0.95)"
  echo "  memory nnlab / PyTorch   = $(ratio "$nn_mem" "$pt_mem")   (target <= 0.333)"
fi

echo
echo "LeNet-5, one epoch (60000 images), batch 128, SGD momentum 0.9, lr 0.01"
ln=$(median nnlab-lenet seconds); ln_mem=$(median nnlab-lenet peak_rss_mb)
row "nnlab" "$ln" "$ln_mem"
if [ $have_torch = 1 ]; then
  lt=$(median torch-lenet seconds); lt_mem=$(median torch-lenet peak_rss_mb)
  row "PyTorch $torch_version" "$lt" "$lt_mem"
  echo "  nnlab / PyTorch          = $(ratio "$ln" "$lt")   (target <= 0.8)"
  echo "  memory nnlab / PyTorch   = $(ratio "$ln_mem" "$lt_mem")   (target <= 0.5)"
fi
for layer in conv1 conv2; do
  printf "  nnlab %s: forward %6.1f GFLOP/s (%.3f s/epoch), backward %6.1f GFLOP/s (%.3f s/epoch)\n" \
    "$layer" "$(median conv fwd_gflops "layer=$layer ")" "$(median conv fwd_seconds "layer=$layer ")" \
    "$(median conv bwd_gflops "layer=$layer ")" "$(median conv bwd_seconds "layer=$layer ")"
done
echo "  (conv1 backward computes no input gradient: nothing consumes it)"
echo
echo "raw runs: $RAW"
