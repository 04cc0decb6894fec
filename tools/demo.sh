#!/usr/bin/env bash
# `make demo`: train the 784-256-128-10 MLP on Fashion-MNIST with the
# progress bar, print its test accuracy, draw build/demo/loss.png and the
# curve in the terminal. Without Fashion-MNIST (no Debian package, no
# network) it says so and trains on a generated data set instead, so the
# first command always shows a network learning.
#
#   tools/demo.sh path/to/nnlab OUTDIR
set -u
NNLAB=$1 OUT=$2
mkdir -p "$OUT"
args=(--model 784-256-128-10 --act relu --opt adam --lr 1e-3 --schedule cosine --epochs 10 --batch 128 --seed 1)
data=fashion-mnist
if ! "$NNLAB" eval --help >/dev/null 2>&1; then
  echo "demo: $NNLAB does not run" >&2; exit 1
fi
if ! find_msg=$("$NNLAB" train --data fashion-mnist --limit 1 --epochs 1 --val 0 --quiet --model 784-10 2>&1 >/dev/null); then
  echo "demo: Fashion-MNIST is not available:"
  echo "      ${find_msg#nnlab train: }"
  echo "demo: falling back to the generated 'spirals' data set (3 classes, 2-D)."
  echo "      For the real thing: apt-get install dataset-fashion-mnist, or make datasets."
  data=spirals
  args=(--model 2-64-64-3 --act relu --opt adam --lr 0.01 --epochs 60 --batch 32 --seed 1)
fi
echo "demo: nnlab train --data $data ${args[*]}"
"$NNLAB" train --data "$data" "${args[@]}" --log "$OUT/run.csv" --save "$OUT/model.safetensors" \
  --plot "$OUT/loss.png" --ascii || exit 1
echo "demo: log $OUT/run.csv, curves $OUT/loss.png, model $OUT/model.safetensors"
