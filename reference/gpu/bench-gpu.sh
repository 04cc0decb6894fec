#!/usr/bin/env bash
# `make bench-gpu`: the GPU reference measured on this machine's GPU.
#
#   reference/gpu/bench-gpu.sh NNLAB_GPU_BENCH NNLAB_BENCH NNLAB OUTDIR [ROUNDS]
#
#   1. kernels: the device's measured ceilings (copy bandwidth, FMA
#      throughput); sgemm steps 1-4 and cuBLAS at 1024, 2048, 4096 (FP32, no
#      TF32) in GFLOP/s and % of cuBLAS; the training kernels in GB/s and %
#      of the copy bandwidth. Target: step 4 >= 60% of cuBLAS at 4096.
#   2. epochs on Fashion-MNIST (median of ROUNDS, default 3): the MLP
#      784-256-128-10 and LeNet-5, batch 128, on the GPU (own kernels and
#      cuBLAS), on the CPU reference with one thread (nnlab-bench), and in
#      PyTorch eager on the same GPU where PyTorch with CUDA is installed.
#      Targets: GPU MLP epoch >= 30x faster than the CPU; GPU LeNet-5 epoch
#      no slower than PyTorch's.
#   3. accuracy: `nnlab train` with the same seed on the CPU and on the GPU
#      (ACC_EPOCHS, default 5, each network); target: test accuracies within
#      0.5 points.
# Everything goes to the terminal and to OUTDIR/results.md (the tables of
# docs/gpu-results.md). Without a usable GPU: says why, exits 0.
set -u
GPUB=$1 CPUB=$2 NNLAB=$3 OUT=$4 ROUNDS=${5:-3}
ACC_EPOCHS=${ACC_EPOCHS:-5}
PY=${PYTHON:-/usr/bin/python3}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT" || exit 1
RAW=$OUT/runs.txt MD=$OUT/results.md
: >"$RAW"
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

first=$("$GPUB" kernels 2>&1 | tee "$OUT/kernels.txt" | head -n 1)
case $first in
  skipped:*) echo "bench-gpu: $first"; echo "bench-gpu: nothing measured"; exit 0 ;;
esac
if ! grep -q '^kernel=adam_step' "$OUT/kernels.txt"; then
  echo "bench-gpu: the kernel benchmark failed:"; tail -n 5 "$OUT/kernels.txt"; exit 1
fi
device=$(sed -n 's/^device=//p' "$OUT/kernels.txt")
{
  echo "# GPU results"
  echo
  echo "Measured by \`make bench-gpu\` on $(date -u +%Y-%m-%d): $device;"
  echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-<unset>}, CPU side one thread ($(nproc) cores present)."
  echo
} >"$MD"

# val FILE KEY [FILTER]: the value of KEY on the first line matching FILTER.
val() { grep -- "${3:-}" "$1" | head -n 1 | sed -nE "s/.*(^| )$2=([^ ]+).*/\2/p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
# median SIDE: the median seconds of a side's lines in RAW.
median() {
  grep "side=$1 " "$RAW" | grep -- "${2:-}" | sed -E 's/.* seconds=([0-9.]+).*/\1/' | sort -g |
    awk '{ v[NR] = $1 } END { if (NR) printf "%.4f", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

echo "device: $device"
echo
copy=$(val "$OUT/kernels.txt" rate "ceiling=copy") fma=$(val "$OUT/kernels.txt" rate "ceiling=fma")
printf "measured ceilings: copy %s GB/s, FMA %s GFLOP/s\n\n" "$copy" "$fma"
{
  echo "## Kernels"
  echo
  echo "Ceilings measured on the device: device-to-device copy **$copy GB/s**, FMA throughput **$fma GFLOP/s**."
  echo
  echo "| kernel | size | ms | rate | % of |"
  echo "|---|---|---:|---:|---|"
} >>"$MD"
printf "  %-20s %-18s %10s %12s %9s\n" kernel size ms rate "% of"
while read -r l; do
  k=$(sed -nE 's/.*kernel=([^ ]+).*/\1/p' <<<"$l"); s=$(sed -nE 's/.*size=([^ ]+).*/\1/p' <<<"$l")
  ms=$(sed -nE 's/.*ms=([^ ]+).*/\1/p' <<<"$l"); r=$(sed -nE 's/.*rate=([^ ]+).*/\1/p' <<<"$l")
  u=$(sed -nE 's/.*unit=([^ ]+).*/\1/p' <<<"$l"); p=$(sed -nE 's/.*pct=([^ ]+).*/\1/p' <<<"$l")
  a=$(sed -nE 's/.*against=([^ ]+).*/\1/p' <<<"$l")
  printf "  %-20s %-18s %10s %8s %-7s %5s%% %s\n" "$k" "$s" "$ms" "$r" "$u" "$p" "$a"
  echo "| $k | $s | $ms | $r $u | $p% $a |" >>"$MD"
done < <(grep '^kernel=' "$OUT/kernels.txt")
reg=$(grep '^kernel=sgemm_regblock size=4096' "$OUT/kernels.txt" | sed -nE 's/.*pct=([^ ]+).*/\1/p')
verdict=$(awk -v p="$reg" 'BEGIN { print (p >= 60 ? "met" : "NOT met") }')
echo
echo "register-blocked sgemm at 4096: $reg% of cuBLAS (target >= 60%: $verdict)"
printf "\nRegister-blocked sgemm (step 4) at 4096: **%s%%** of cuBLAS (target >= 60%%: %s).\n\n" "$reg" "$verdict" >>"$MD"

# ------------------------------------------------------------ epochs
dir=
for d in "${NNLAB_DATA:+$NNLAB_DATA/fashion-mnist}" datasets/downloads/fashion-mnist \
         /usr/share/datasets/fashion-mnist; do
  if [ -n "$d" ] && { [ -e "$d/train-labels-idx1-ubyte" ] || [ -e "$d/train-labels-idx1-ubyte.gz" ]; }; then
    dir=$d; break
  fi
done
if [ -z "$dir" ]; then
  echo "bench-gpu: Fashion-MNIST not found (make datasets): epochs and accuracy not measured"
  echo "Epochs and accuracy: not measured (Fashion-MNIST not found)." >>"$MD"
  exit 0
fi
torch_note=""
echo
echo "epochs: $ROUNDS rounds, median reported"
for r in $(seq "$ROUNDS"); do
  for net in mlp lenet; do
    "$GPUB" epoch $net own >>"$RAW" || exit 1
    "$GPUB" epoch $net cublas >>"$RAW" || exit 1
    "$CPUB" $([ $net = mlp ] && echo epoch || echo lenet) >>"$RAW" || exit 1
    t=$("$PY" "$HERE/torch_gpu_bench.py" $net "$dir" 2>&1 | tail -n 1)
    case $t in side=*) echo "$t" >>"$RAW" ;; *) torch_note=$t ;; esac
  done
done
{
  echo "## Training epochs (Fashion-MNIST, 60000 images, batch 128)"
  echo
  echo "Median of $ROUNDS runs; GPU figures are the second of two epochs (the first pays for CUDA's start-up and the upload)."
  echo
  echo "| network | GPU, own kernels | GPU, cuBLAS | CPU, 1 thread | PyTorch eager, GPU | CPU / GPU | PyTorch / GPU |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
} >>"$MD"
for net in mlp lenet; do
  suf=$([ $net = lenet ] && echo "-lenet")
  own=$(median "nnlab-gpu$suf" "gemm=own") blas=$(median "nnlab-gpu$suf" "gemm=cublas")
  cpu=$(median "nnlab$suf") pt=$(median "torch-gpu$suf")
  name=$([ $net = mlp ] && echo "MLP 784-256-128-10" || echo "LeNet-5")
  echo "  $name: GPU own ${own}s, GPU cuBLAS ${blas}s, CPU ${cpu}s, PyTorch GPU ${pt:+${pt}s}${pt:-n/a};" \
       "CPU/GPU $(ratio "$cpu" "$own")x, PyTorch/GPU $( [ -n "$pt" ] && ratio "$pt" "$own" || echo n/a)"
  echo "| $name | $own s | $blas s | $cpu s | ${pt:-n/a}${pt:+ s} | $(ratio "$cpu" "$own")x | $( [ -n "$pt" ] && ratio "$pt" "$own" || echo n/a) |" >>"$MD"
done
mlp_x=$(ratio "$(median nnlab)" "$(median nnlab-gpu gemm=own)")
le_x=$( [ -n "$(median torch-gpu-lenet)" ] && ratio "$(median torch-gpu-lenet)" "$(median nnlab-gpu-lenet gemm=own)" || echo "")
{
  echo
  echo "- GPU MLP epoch $mlp_x times faster than the one-thread CPU (target >= 30: $(awk -v x="$mlp_x" 'BEGIN { print (x >= 30 ? "met" : "NOT met") }'))."
  if [ -n "$le_x" ]; then
    echo "- GPU LeNet-5 epoch: PyTorch eager takes $le_x times as long (target >= 1, no slower: $(awk -v x="$le_x" 'BEGIN { print (x >= 1 ? "met" : "NOT met") }'))."
  else
    echo "- PyTorch on the GPU: $torch_note"
  fi
  echo
} >>"$MD"
[ -n "$torch_note" ] && echo "  PyTorch: $torch_note"

# ------------------------------------------------------------ accuracy
echo
echo "accuracy: nnlab train, seed 1, $ACC_EPOCHS epochs, CPU and GPU"
{
  echo "## Accuracy: the same run on the CPU and the GPU"
  echo
  echo "\`nnlab train --seed 1 --epochs $ACC_EPOCHS\` (defaults otherwise: Adam 1e-3, batch 128, 10% validation)."
  echo
  echo "| network | CPU test accuracy | GPU test accuracy | difference (points) |"
  echo "|---|---:|---:|---:|"
} >>"$MD"
for model in 784-256-128-10 lenet5; do
  acc() { "$NNLAB" train --data fashion-mnist --model "$model" --epochs "$ACC_EPOCHS" --seed 1 --quiet "$@" 2>&1 |
            sed -nE 's/.*test accuracy ([0-9.]+)%.*/\1/p'; }
  c=$(acc --device cpu) g=$(acc --device cuda)
  d=$(awk -v a="$c" -v b="$g" 'BEGIN { if (a == "" || b == "") print "n/a"; else printf "%.2f", (b > a ? b - a : a - b) }')
  echo "  $model: CPU ${c:-?}%, GPU ${g:-?}%, difference $d points (target <= 0.5)"
  echo "| $model | ${c:-?}% | ${g:-?}% | $d |" >>"$MD"
done
echo
echo "tables written to $MD (raw runs: $RAW)"
