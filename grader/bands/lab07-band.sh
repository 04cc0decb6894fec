#!/usr/bin/env bash
# Regenerate lab 7's training band from the reference solution:
#
#   grader/bands/lab07-band.sh [SEEDS]        (default 10 seeds; about 3 s each)
#
# Why a committed band. The test "CNN learns Fashion-MNIST"
# (grader/labs/lab07.c) runs in a binary that links the STUDENT's conv.c and
# pool.c, so it cannot ask the reference how a correct network learns. This
# script asks it once, ahead of time, and commits the answer:
#
#   1. builds the lab 7 test binary with the reference conv.c and pool.c
#      (grader/grade.sh --impl reference, into build/bands/lab07/);
#   2. runs that one test with seeds 1..SEEDS (NNLAB_LAB07_SEED: the seed
#      of the initial weights and of the shuffles; grading uses seed 1);
#   3. takes, per epoch, the lowest and highest training loss, test loss and
#      test accuracy over the seeds, and widens that range by a margin:
#         loss:     [min − m, max + m],  m = 0.5·(max − min) + 0.02 + 5% of max
#         accuracy: [min − m, max + m],  m = 0.5·(max − min) + 0.02
#      (accuracy clipped to [0, 1]);
#   4. writes grader/bands/lab07-fashion-cnn.csv
#         epoch,train_loss_lo,train_loss_hi,test_loss_lo,test_loss_hi,test_acc_lo,test_acc_hi
#      and grader/bands/lab07-fashion-cnn.setup, the test's setup string
#      (model, data sizes, epochs, batch, optimizer): the test refuses a band
#      made for another setup, so change the setup, then rerun this script.
#
# Why those margins. A correct student file computes the same sums as the
# reference in another order, and float rounding then moves the training
# along a slightly different path. Runs from different seeds differ far
# more than that (other initial weights, other batches), so the spread over
# seeds bounds what a correct implementation can do, on this machine and on
# another one (another BLAS kernel, compiler or CPU). The margin on top
# covers the seeds not tried. The mistakes the test is after move the
# curve far more: a backward pass that is wrong anywhere leaves the loss
# well above the band after a few epochs (see grader/selftest/lab07/).
#
# Check the result: `make grade LAB=7 IMPL=reference` must pass the test,
# and `SELFTEST_LABS="07" grader/selftest.sh` must pass.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
SEEDS=${1:-10}
[[ $SEEDS =~ ^[0-9]+$ ]] && [ "$SEEDS" -ge 2 ] || { echo "lab07-band.sh: SEEDS must be a number >= 2" >&2; exit 2; }
WORK=build/bands/lab07
TEST="CNN learns Fashion-MNIST"
export OPENBLAS_NUM_THREADS=1

rm -rf "$WORK" && mkdir -p "$WORK"
echo "lab07-band.sh: building the lab 7 tests with the reference conv.c and pool.c"
grader/grade.sh --lab 7 --impl reference --no-plots --out "$WORK/grade" > "$WORK/grade.log" 2>&1 \
  || { tail -n 20 "$WORK/grade.log"; exit 1; }
[ -x "$WORK/grade/tests" ] || { echo "lab07-band.sh: no test binary (see $WORK/grade.log)" >&2; exit 1; }

for s in $(seq 1 "$SEEDS"); do
  NNLAB_LAB07_SEED=$s "$WORK/grade/tests" --out "$WORK/seed$s" --lab 07 --only "$TEST" \
    > "$WORK/seed$s.log" 2>&1 || true
  log=$WORK/seed$s/data/lab07-train.csv
  [ -s "$log" ] || { echo "lab07-band.sh: seed $s wrote no training log (see $WORK/seed$s.log)" >&2; exit 1; }
  echo "  seed $s: $(tail -n 1 "$log")"
done
[ -s "$WORK/seed1/data/lab07-setup.txt" ] || { echo "lab07-band.sh: the test wrote no setup line" >&2; exit 1; }

# Per epoch over the seeds: min and max of columns train_loss (2),
# val_loss (4), val_acc (5) of the logs (epoch,train_loss,train_acc,val_loss,val_acc,lr).
awk -F, '
  FNR == 1 { next }
  { e = $1 + 0; if (e > E) E = e
    for (k = 0; k < 3; k++) { c = (k == 0 ? 2 : k == 1 ? 4 : 5); v = $c + 0
      if (!((e, k) in lo) || v < lo[e, k]) lo[e, k] = v
      if (!((e, k) in hi) || v > hi[e, k]) hi[e, k] = v } }
  END {
    print "epoch,train_loss_lo,train_loss_hi,test_loss_lo,test_loss_hi,test_acc_lo,test_acc_hi"
    for (e = 1; e <= E; e++) {
      line = e
      for (k = 0; k < 3; k++) {
        w = hi[e, k] - lo[e, k]
        if (k < 2) { m = 0.5 * w + 0.02 + 0.05 * hi[e, k]; a = lo[e, k] - m; b = hi[e, k] + m; if (a < 0) a = 0 }
        else       { m = 0.5 * w + 0.02; a = lo[e, k] - m; b = hi[e, k] + m; if (a < 0) a = 0; if (b > 1) b = 1 }
        line = line sprintf(",%.4f,%.4f", a, b)
      }
      print line
    } }' "$WORK"/seed*/data/lab07-train.csv > grader/bands/lab07-fashion-cnn.csv
cp "$WORK/seed1/data/lab07-setup.txt" grader/bands/lab07-fashion-cnn.setup
echo "lab07-band.sh: wrote grader/bands/lab07-fashion-cnn.csv ($SEEDS seeds) and grader/bands/lab07-fashion-cnn.setup"
cat grader/bands/lab07-fashion-cnn.csv
