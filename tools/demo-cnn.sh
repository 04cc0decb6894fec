#!/usr/bin/env bash
# `make demo-cnn`: train LeNet-5 on Fashion-MNIST and draw every picture
# into OUTDIR: the curves, the confusion matrix, test images with their
# predicted labels, the first layer's filters; then a small MLP on the
# 2-D spirals and its decision boundary.
#
#   tools/demo-cnn.sh path/to/nnlab OUTDIR
set -u
NNLAB=$1 OUT=$2
mkdir -p "$OUT"
run() { echo "demo-cnn: nnlab $*"; "$NNLAB" "$@" || exit 1; }

if "$NNLAB" train --data fashion-mnist --limit 1 --epochs 1 --val 0 --quiet --model 784-10 >/dev/null 2>&1; then
  # The two runs of the README's accuracy table (seed 1, all 60 000 training
  # images, 10 epochs, cosine schedule): LeNet-5, then LeNet-5 with batch
  # norm and dropout. About a minute each at one thread.
  run train --data fashion-mnist --model lenet5 --opt adam --lr 2e-3 --schedule cosine --epochs 10 \
      --batch 64 --val 0 --seed 1 --log "$OUT/lenet5.csv" --plot "$OUT/lenet5-loss.png" --quiet
  run train --data fashion-mnist --model lenet5-bn --opt momentum --lr 0.05 --weight-decay 5e-4 \
      --schedule cosine --epochs 10 --batch 64 --val 0 --seed 1 --log "$OUT/cnn.csv" \
      --save "$OUT/cnn.safetensors" --plot "$OUT/cnn-loss.png" --quiet
  run plot confusion --model "$OUT/cnn.safetensors" --data fashion-mnist -o "$OUT/cnn-confusion.png"
  run plot samples --model "$OUT/cnn.safetensors" --data fashion-mnist -o "$OUT/cnn-samples.png"
  run plot filters --model "$OUT/cnn.safetensors" -o "$OUT/cnn-filters.png"
else
  echo "demo-cnn: Fashion-MNIST is not available (apt-get install dataset-fashion-mnist, or make datasets);"
  echo "          skipping the CNN, drawing the 2-D pictures only."
fi
run train --data spirals --model 2-64-64-3 --opt adam --lr 0.01 --epochs 60 --batch 32 --seed 1 \
    --quiet --save "$OUT/spirals.safetensors"
run plot boundary --model "$OUT/spirals.safetensors" --data spirals -o "$OUT/spirals-boundary.png"
echo "demo-cnn: pictures in $OUT"
