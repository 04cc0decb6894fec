#!/usr/bin/env bash
# Tests of the nnlab program as a user meets it: help, bad flags, missing
# and truncated files, a NaN loss, a save/eval/predict/plot round trip, and
# bit-identical logs for the same seed.
#
#   tools/test-cli.sh path/to/nnlab
set -u
NNLAB=$(realpath "$1")
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$TMP"
pass=0 fail=0

# expect NAME EXIT_CODE PATTERN -- COMMAND...: the exit code must match and
# the combined output must contain PATTERN (an extended regex; "" for any).
expect() {
  local name=$1 want=$2 pattern=$3; shift 4
  "$@" >out.txt 2>&1
  local rc=$?
  if [ "$rc" = "$want" ] && grep -Eq -- "$pattern" out.txt; then
    pass=$((pass + 1)); echo "ok   $name"
  else
    fail=$((fail + 1)); echo "FAIL $name: exit $rc (want $want), output:"; head -n 5 out.txt | sed 's/^/       /'
  fi
}

check() {
  local name=$1; shift
  if "$@"; then pass=$((pass + 1)); echo "ok   $name"; else fail=$((fail + 1)); echo "FAIL $name"; fi
}

expect "no arguments is a usage error" 2 "usage: nnlab" -- "$NNLAB"
expect "--help" 0 "commands:" -- "$NNLAB" --help
for c in train eval predict plot; do
  expect "$c --help" 0 "usage: nnlab $c" -- "$NNLAB" $c --help
done
expect "unknown command" 2 "unknown command 'fly'" -- "$NNLAB" fly
expect "unknown flag" 2 "unknown option '--bogus'" -- "$NNLAB" train --bogus 1
expect "flag without value" 2 "needs a value" -- "$NNLAB" train --epochs
expect "non-numeric value" 2 "--epochs expects an integer" -- "$NNLAB" train --epochs ten
expect "bad activation" 2 "unknown activation 'relux'" -- "$NNLAB" train --act relux
expect "bad optimizer" 2 "unknown optimizer" -- "$NNLAB" train --opt adamm
expect "bad model spec" 1 "cannot read layer '784-x-10'" -- "$NNLAB" train --model 784-x-10 --data xor
expect "model not matching data" 1 "2 features, the model takes 784" -- "$NNLAB" train --data xor --quiet
expect "unknown data set" 1 'unknown data set .cifar.' -- "$NNLAB" train --data cifar --model 2-2
expect "eval needs --model" 2 "--model FILE is required" -- "$NNLAB" eval
expect "eval missing checkpoint" 1 "nothere.safetensors" -- "$NNLAB" eval --model nothere.safetensors
printf 'garbage' >bad.safetensors
expect "eval corrupt checkpoint" 1 "bad.safetensors" -- "$NNLAB" eval --model bad.safetensors
expect "plot missing log" 1 "nolog.csv" -- "$NNLAB" plot nolog.csv -o x.png

# A truncated Fashion-MNIST: every file cut to half its length.
mkdir -p data/fashion-mnist
src=/usr/share/datasets/fashion-mnist
if [ -r $src/t10k-labels-idx1-ubyte.gz ]; then
  for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    gzip -dc $src/$f.gz | head -c 3000 >data/fashion-mnist/$f
  done
  expect "truncated data file" 1 "truncated|size|expected" -- env NNLAB_DATA="$TMP/data" "$NNLAB" train --quiet --epochs 1
fi

# --device and --gemm. Whether `--device cuda` trains depends on the build
# (make gpu) and the machine (a CUDA device): without either, a clear
# message and exit 1; with both, a normal run.
expect "bad --device" 2 "--device must be cpu or cuda" -- "$NNLAB" train --device tpu --data xor
expect "bad --gemm" 2 "--gemm must be own or cublas" -- "$NNLAB" train --device cuda --gemm mkl --data xor
expect "--gemm without --device cuda" 2 "give --device cuda" -- "$NNLAB" train --gemm cublas --data xor
"$NNLAB" train --data xor --model 2-8-2 --epochs 2 --quiet --device cuda >cuda.txt 2>&1
rc=$?
if grep -q "built without CUDA support (make gpu)" cuda.txt; then
  check "--device cuda in a build without CUDA: exit 1, says make gpu" [ $rc = 1 ]
elif grep -q -- "--device cuda: no usable CUDA device: " cuda.txt; then
  check "--device cuda without a usable device: exit 1, says why" [ $rc = 1 ]
else
  check "--device cuda trains (exit 0, test accuracy)" bash -c "[ $rc = 0 ] && grep -q 'test accuracy' cuda.txt"
fi

# A run that diverges stops with a message and keeps its log.
expect "NaN loss stops training" 1 "NaN|infinite" -- "$NNLAB" train --data spirals --model 2-64-3 --opt sgd --lr 1e30 --epochs 3 --quiet --log nan.csv
check "log kept after NaN stop" test -s nan.csv

# Train, save, evaluate, predict, plot.
expect "train spirals" 0 "test accuracy" -- "$NNLAB" train --data spirals --model 2-32-32-3 --opt adam --lr 0.01 --epochs 30 --quiet --log run.csv --save m.safetensors
check "checkpoint written" test -s m.safetensors
check "CSV log has a header and 30 rows" bash -c 'head -n1 run.csv | grep -q "^epoch,train_loss" && [ $(wc -l <run.csv) = 31 ]'
expect "eval the checkpoint" 0 "accuracy" -- "$NNLAB" eval --model m.safetensors --data spirals
expect "predict" 0 "of 5 correct" -- "$NNLAB" predict --model m.safetensors --data spirals --count 5
expect "predict to CSV" 0 "correct" -- "$NNLAB" predict --model m.safetensors --data spirals --count 7 --out p.csv
check "prediction CSV has 7 rows" bash -c '[ $(wc -l <p.csv) = 8 ]'
expect "eval on mismatched data" 1 "features" -- "$NNLAB" eval --model m.safetensors --data fashion-mnist
if command -v gnuplot >/dev/null; then
  expect "plot PNG" 0 "wrote loss.png" -- "$NNLAB" plot run.csv -o loss.png
  check "PNG magic" bash -c 'head -c 8 loss.png | od -An -tx1 | grep -q "89 50 4e 47"'
  expect "plot ASCII" 0 "train_loss" -- "$NNLAB" plot run.csv --ascii
  expect "plot boundary" 0 "wrote b.png" -- "$NNLAB" plot boundary --model m.safetensors --data spirals -o b.png
  check "boundary PNG magic" bash -c 'head -c 8 b.png | od -An -tx1 | grep -q "89 50 4e 47"'
  expect "plot confusion" 0 "wrote c.png" -- "$NNLAB" plot confusion --model m.safetensors --data spirals -o c.png
  expect "plot filters of an MLP" 1 "no conv layer" -- "$NNLAB" plot filters --model m.safetensors -o f.png
  expect "plot samples of a table" 1 "not an image data set" -- "$NNLAB" plot samples --model m.safetensors --data spirals -o s.png
fi
expect "picture needs --model" 2 "need --model" -- "$NNLAB" plot confusion -o c.png

# Same seed, one thread: bit-identical logs (and a different seed differs).
for s in 1 1 2; do
  OPENBLAS_NUM_THREADS=1 "$NNLAB" train --data moons --model 2-16-2 --opt adam --lr 0.01 --epochs 5 --quiet --seed $s --log seed$s-$RANDOM.csv >/dev/null 2>&1
done
check "same seed, identical log" bash -c 'set -- seed1-*.csv; cmp -s "$1" "$2"'
check "other seed, other log" bash -c 'set -- seed1-*.csv; ! cmp -s "$1" seed2-*.csv'

if [ -r $src/t10k-labels-idx1-ubyte.gz ]; then
  for r in a b; do
    OPENBLAS_NUM_THREADS=1 "$NNLAB" train --data fashion-mnist --limit 3000 --model 784-64-10 --epochs 2 \
      --quiet --seed 3 --log fm-$r.csv >/dev/null 2>&1
  done
  check "Fashion-MNIST: same seed, identical log" cmp -s fm-a.csv fm-b.csv
  check "Fashion-MNIST: the log has 2 epochs" bash -c '[ $(wc -l <fm-a.csv) = 3 ]'
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
