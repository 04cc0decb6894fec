#!/usr/bin/env bash
# Lab 6 plots: grader/plots/lab06.sh STUDENT_DIR REF_DIR OUT_DIR
#
# Reads the CSV logs that lab 6's training tests write (grader/labs/lab06.c),
# each "epoch,train_loss,train_acc,val_loss,val_acc", from STUDENT_DIR/data/
# and REF_DIR/data/:
#   lab06-dropout-none.csv, lab06-dropout.csv   the MLP without and with dropout
#   lab06-early-stop.csv (+ lab06-early-stop-best.csv: best_epoch,stop_epoch,patience)
#   lab06-bn-none.csv, lab06-bn.csv             the deep MLP without and with batch norm
#   lab06-bn-channels.csv   channel,x,xhat,y of the conv-layout forward test (no data set needed)
# and draws into OUT_DIR:
#   dropout.png          loss (training and validation) and validation accuracy per
#                        epoch, without dropout and with yours, the reference's dashed
#   early-stopping.png   the validation loss of the early-stopped run, its best and
#                        its last epoch, and what the run without stopping did next
#   batchnorm.png        the same two panels as dropout.png, without and with batch norm
#   batchnorm-channels.png  the conv-layout forward test's batch, per channel: x, x̂, y
#   dropout.txt, batchnorm.txt   validation curves as ASCII art for the terminal
#   NAME.caption         a caption for NAME.png (read by report.sh)
# The runs without dropout and without batch norm use none of your code: they
# are the same for everyone and are drawn once. Where your log is missing
# (the test crashed before writing it) the reference is drawn alone, and the
# caption says so; where both are missing the plot is left out.
set -u
STUDENT=${1:?usage: lab06.sh STUDENT_DIR REF_DIR OUT_DIR}
REF=${2:?usage: lab06.sh STUDENT_DIR REF_DIR OUT_DIR}
OUT=${3:?usage: lab06.sh STUDENT_DIR REF_DIR OUT_DIR}
command -v gnuplot >/dev/null || { echo "lab06.sh: gnuplot not found (Debian: gnuplot-nox)"; exit 1; }
mkdir -p "$OUT" || exit 1
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT

# When both folders are the same (grading the reference itself) the run is
# drawn once, as the reference.
same=0
if [ -d "$STUDENT" ] && [ -d "$REF" ] && [ "$(cd "$STUDENT" && pwd -P)" = "$(cd "$REF" && pwd -P)" ]; then
  same=1
fi
student_csv() { [ $same = 0 ] && [ -s "$STUDENT/data/$1" ] && echo "$STUDENT/data/$1"; }
ref_csv() { [ -s "$REF/data/$1" ] && echo "$REF/data/$1"; }
either_csv() { student_csv "$1" || ref_csv "$1"; }

# A CSV file without its header, fields separated by blanks, only the rows
# whose every field is a finite number (a NaN or inf drops out).
numeric() {
  awk -F, 'NR > 1 { ok = 1; for (i = 1; i <= NF; i++) if ($i !~ /^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/) ok = 0;
                    if (ok) { for (i = 1; i <= NF; i++) printf "%s%s", $i, (i < NF ? " " : "\n") } }' "$1"
}
last_epoch() { awk 'END { print $1 + 0 }' "$1"; }

PNG="set terminal pngcairo size 1200,540 font 'DejaVu Sans,10' enhanced; set encoding utf8"
STYLE="set border lw 1.1; set grid lc rgb '#e5e5e5' lt 1; set key box lt 1 lc rgb '#bbbbbb' opaque samplen 2.5 spacing 1.1 font ',9'"
RED="lc rgb '#d62728'" BLUE="lc rgb '#1f77b4'" GREY="lc rgb '#555555'"
drawn=0

plot_gnuplot() { # name, gnuplot script file
  if gnuplot "$2" 2> "$TMP/$1.err"; then
    drawn=$((drawn + 1))
  else
    echo "lab06.sh: gnuplot failed on $1:"; cat "$TMP/$1.err"
    rm -f "$OUT/$1.png" "$OUT/$1.txt" "$OUT/$1.caption"
  fi
}

# compare NAME TITLE BASE_CSV RUN_CSV BASE_LABEL RUN_LABEL LOSS_MAX: two panels,
# loss and validation accuracy per epoch, for the baseline run (no student
# code, red) and the run with the student's layer (blue; the reference's
# dashed grey beside it). Sets who=yours|reference and partial=1 when the
# student's run is missing.
compare() {
  local name=$1 title=$2 base_f=$3 run_f=$4 base_lab=$5 run_lab=$6 ymax=$7
  local B S R
  B=$(either_csv "$base_f") S=$(student_csv "$run_f") R=$(ref_csv "$run_f")
  who=yours partial=0
  if [ -z "$S" ]; then who=reference; [ $same = 0 ] && partial=1; fi
  local main=${S:-$R}
  if [ -z "$main" ] && [ -z "$B" ]; then return 1; fi
  [ -n "$B" ] && numeric "$B" > "$TMP/$name-base.dat"
  [ -n "$main" ] && numeric "$main" > "$TMP/$name-run.dat"
  local both=0
  [ -n "$S" ] && [ -n "$R" ] && both=1 && numeric "$R" > "$TMP/$name-ref.dat"
  local mine="$run_lab ($who)" xmax
  xmax=$(cat "$TMP/$name"-*.dat | awk '$1 > m { m = $1 } END { print m + 0.5 }')
  {
    echo "$PNG; set output '$OUT/$name.png'"
    echo "$STYLE"
    echo "set multiplot layout 1,2 title \"$title\" font ',13' margins 0.06,0.98,0.10,0.86 spacing 0.07,0"
    echo "set xlabel 'epoch'; set xrange [0.5:$xmax]"
    # Left: the loss. Training dashed thin, validation solid.
    echo "set title 'cross-entropy loss (dashed: training, solid: validation)' font ',11'"
    echo "set ylabel 'mean loss'; set yrange [0:$ymax]; set key top right"
    local parts=()
    if [ -n "$B" ]; then
      parts+=("'$TMP/$name-base.dat' using 1:2 with lines $RED lw 1.4 dt (6,3) notitle")
      parts+=("'$TMP/$name-base.dat' using 1:4 with lines $RED lw 2.6 title '$base_lab'")
    fi
    if [ -n "$main" ]; then
      parts+=("'$TMP/$name-run.dat' using 1:2 with lines $BLUE lw 1.4 dt (6,3) notitle")
      parts+=("'$TMP/$name-run.dat' using 1:4 with lines $BLUE lw 2.6 title '$mine'")
    fi
    [ $both = 1 ] && parts+=("'$TMP/$name-ref.dat' using 1:4 with lines $GREY lw 1.8 dt (4,4) title '$run_lab (reference)'")
    [ "$name" = batchnorm ] && parts+=("log(10) with lines lc rgb '#999999' dt 3 title 'chance: ln 10'")
    (IFS=,; echo "plot ${parts[*]}")
    # Right: the validation accuracy.
    echo "set title 'validation accuracy' font ',11'"
    echo "set ylabel 'accuracy (%)'; set yrange [0:100]; set key bottom right"
    parts=()
    [ -n "$B" ] && parts+=("'$TMP/$name-base.dat' using 1:(100*\$5) with linespoints $RED lw 2.2 pt 7 ps 0.5 title '$base_lab'")
    [ -n "$main" ] && parts+=("'$TMP/$name-run.dat' using 1:(100*\$5) with linespoints $BLUE lw 2.2 pt 7 ps 0.5 title '$mine'")
    [ $both = 1 ] && parts+=("'$TMP/$name-ref.dat' using 1:(100*\$5) with lines $GREY lw 1.8 dt (4,4) title '$run_lab (reference)'")
    [ "$name" = batchnorm ] && parts+=("10 with lines lc rgb '#999999' dt 3 title 'chance: 10%'")
    (IFS=,; echo "plot ${parts[*]}")
    echo "unset multiplot"
    # The terminal's version: validation curves only.
    local col=4 what='validation loss' yr="[0:$ymax]"
    [ "$name" = batchnorm ] && col='(100*$5)' what='validation accuracy %' yr='[0:100]'
    echo "set terminal dumb size 72,18; set output '$OUT/$name.txt'; unset grid; unset key"
    echo "set title '$what: A $base_lab, B $run_lab ($who)'"
    echo "unset ylabel; set xlabel 'epoch'; set yrange $yr; set xrange [0:$xmax]"
    parts=()
    [ -n "$B" ] && parts+=("'$TMP/$name-base.dat' using 1:$col with linespoints pt 'A' title 'A'")
    [ -n "$main" ] && parts+=("'$TMP/$name-run.dat' using 1:$col with linespoints pt 'B' title 'B'")
    (IFS=,; echo "plot ${parts[*]}")
  } > "$TMP/$name.gp"
  plot_gnuplot "$name" "$TMP/$name.gp"
  ref_note=""
  [ $both = 1 ] && ref_note=" Dashed grey: the reference solution's run."
  [ $partial = 1 ] && ref_note=" Your test wrote no log (did it crash?): the reference's run is drawn alone."
  return 0
}

# ------------------------------------------------------------ what batch norm does
# The conv-layout forward test's batch: each value at (value, channel + jitter),
# before (x), normalised (x̂) and after (y = γ x̂ + β).
S=$(student_csv lab06-bn-channels.csv) R=$(ref_csv lab06-bn-channels.csv)
main=${S:-$R}
if [ -n "$main" ]; then
  who=yours; [ -z "$S" ] && who=reference
  strip() { numeric "$1" | awk '{ j = ((NR * 7919) % 101) / 101 * 0.5 - 0.25; print $1 + j, $2, $3, $4 }'; }
  strip "$main" > "$TMP/ch.dat"
  both=0
  [ -n "$S" ] && [ -n "$R" ] && both=1 && strip "$R" > "$TMP/ch-ref.dat"
  {
    echo "set terminal pngcairo size 1200,460 font 'DejaVu Sans,10' enhanced; set encoding utf8; set output '$OUT/batchnorm-channels.png'"
    echo "$STYLE"
    echo "set multiplot layout 1,3 title \"Batch norm on a [3, 4, 40] batch: every value of each channel ($who)\" font ',13' margins 0.06,0.98,0.12,0.84 spacing 0.04,0"
    echo "set ytics ('channel 0' 0, 'channel 1' 1, 'channel 2' 2, 'channel 3' 3); set yrange [-0.6:3.6]; unset key"
    col=(2 3 4)
    ttl=("input x: each channel its own mean and spread" "x̂ = (x − μ)/√(σ² + ε): mean 0, variance 1" "y = γ x̂ + β: the scale and shift it learns")
    for k in 0 1 2; do
      echo "set title '${ttl[$k]}' font ',10'"
      [ $k = 0 ] || echo "set ytics ('' 0, '' 1, '' 2, '' 3)"
      [ $k = 1 ] && echo "set xrange [-3.5:3.5]" || echo "set xrange [*:*]"
      parts=()
      [ $both = 1 ] && parts+=("'$TMP/ch-ref.dat' using ${col[$k]}:1 with points pt 6 ps 1.1 lc rgb '#aaaaaa'")
      parts+=("'$TMP/ch.dat' using ${col[$k]}:1 with points pt 7 ps 0.5 lc rgb '#1f77b4'")
      (IFS=,; echo "plot ${parts[*]}")
    done
    echo "unset multiplot"
  } > "$TMP/ch.gp"
  plot_gnuplot batchnorm-channels "$TMP/ch.gp"
  note=""
  [ $both = 1 ] && note=" Grey circles: the reference's values; your dots should sit inside them."
  [ -z "$S" ] && [ $same = 0 ] && note=" Your test wrote no values (did it crash?): the reference is drawn alone."
  echo "The batch of the test \"batch norm forward, conv layout\": 3 images of 4 channels of 40 pixels, channel ch drawn around 3ch - 4 with spread ch + 1. Each channel is normalised over all 120 of its values (batch and pixels together): in the middle every channel has mean 0 and spread 1; on the right γ and β give each its own scale and shift again.$note" \
    > "$OUT/batchnorm-channels.caption"
fi

# ------------------------------------------------------------ dropout
if compare dropout "An MLP on 300 Fashion-MNIST images, without and with dropout" \
     lab06-dropout-none.csv lab06-dropout.csv "no dropout" "dropout" 2; then
  echo "The MLP 784-256-256-10 learns 300 Fashion-MNIST images (Adam, lr 0.001) and is validated on 500 others. Without dropout (red) the training loss goes to 0: it has memorised its 300 images, while the validation loss turns after about 10 epochs and climbs, the network growing ever more confident in its mistakes: overfitting. With dropout (blue; 0.2 on the pixels, 0.5 after each hidden layer) the training loss stays well above 0, since each step trains a random thinned network, and the validation loss stays near its minimum. The accuracies differ far less than the losses: what overfitting costs here is mostly calibration, confident wrong answers, which the cross-entropy punishes. The training losses are the trainer's running means in training mode (dropout active); the validation ones are measured in evaluation mode, with dropout off.$ref_note" \
    > "$OUT/dropout.caption"
else
  echo "lab06.sh: no dropout logs in $STUDENT/data or $REF/data: dropout.png left out"
fi

# ------------------------------------------------------------ early stopping
S=$(student_csv lab06-early-stop.csv) R=$(ref_csv lab06-early-stop.csv)
main=${S:-$R}
if [ -n "$main" ]; then
  who=yours; [ -z "$S" ] && who=reference
  numeric "$main" > "$TMP/es.dat"
  best_f=$(student_csv lab06-early-stop-best.csv); [ -z "$S" ] && best_f=$(ref_csv lab06-early-stop-best.csv)
  read -r best stop patience < <(awk -F, 'NR == 2 { print $1, $2, $3 }' "${best_f:-/dev/null}" 2>/dev/null)
  best=${best:-0} stop=${stop:-$(last_epoch "$TMP/es.dat")} patience=${patience:-5}
  full=$(either_csv lab06-dropout-none.csv)
  [ -n "$full" ] && numeric "$full" > "$TMP/full.dat"
  ref_stop=""
  if [ -n "$S" ] && [ -n "$R" ]; then
    ref_stop=$(awk -F, 'NR == 2 { print $2 }' "$(ref_csv lab06-early-stop-best.csv)" 2>/dev/null)
  fi
  {
    echo "set terminal pngcairo size 860,560 font 'DejaVu Sans,10' enhanced; set encoding utf8; set output '$OUT/early-stopping.png'"
    echo "$STYLE"
    echo "set title \"Early stopping with patience $patience ($who)\" font ',13'"
    xmax=$(cat "$TMP/es.dat" ${full:+"$TMP/full.dat"} | awk '$1 > m { m = $1 } END { print m + 0.5 }')
    echo "set xlabel 'epoch'; set ylabel 'mean cross-entropy loss'; set yrange [0:2]; set xrange [0.5:$xmax]; set key top right"
    if [ "$best" -gt 0 ] 2>/dev/null; then
      echo "set arrow 1 from $best, graph 0 to $best, graph 1 nohead lc rgb '#2ca02c' lw 2 dt (6,3)"
      echo "set label 1 'best epoch $best: its weights are kept' at $best, graph 0.93 left offset 0.5,0 tc rgb '#2ca02c'"
    fi
    echo "set arrow 2 from $stop, graph 0 to $stop, graph 1 nohead lc rgb '#d62728' lw 2"
    echo "set label 2 'stopped after epoch $stop' at $stop, graph 0.86 left offset 0.5,0 tc rgb '#d62728'"
    if [ -n "$ref_stop" ] && [ "$ref_stop" != "$stop" ]; then
      echo "set arrow 3 from $ref_stop, graph 0 to $ref_stop, graph 1 nohead $GREY lw 1.5 dt (4,4)"
      echo "set label 3 'reference stopped after $ref_stop' at $ref_stop, graph 0.79 left offset 0.5,0 $GREY"
    fi
    parts=()
    [ -n "$full" ] && parts+=("'$TMP/full.dat' using 1:4 with lines lc rgb '#bbbbbb' lw 2.2 title 'validation, had it not stopped'")
    parts+=("'$TMP/es.dat' using 1:2 with lines $BLUE lw 1.4 dt (6,3) title 'training'")
    parts+=("'$TMP/es.dat' using 1:4 with linespoints $BLUE lw 2.6 pt 7 ps 0.6 title 'validation'")
    (IFS=,; echo "plot ${parts[*]}")
  } > "$TMP/es.gp"
  plot_gnuplot early-stopping "$TMP/es.gp"
  note=""
  [ -n "$ref_stop" ] && [ "$ref_stop" != "$stop" ] && note=" Dashed grey: where the reference solution stopped."
  [ -z "$S" ] && [ $same = 0 ] && note=" Your test wrote no log (did it crash?): the reference's run is drawn alone."
  echo "The MLP without dropout, trained with early stopping: after every epoch the trainer calls nn_early_stop_update with the validation loss, saves the weights when it returns 1 (a new lowest loss) and stops when it returns -1, $patience epochs without one; then it puts the saved weights back. Light grey: the validation loss of the same run had it not stopped.$note" \
    > "$OUT/early-stopping.caption"
else
  echo "lab06.sh: no early-stopping log in $STUDENT/data or $REF/data: early-stopping.png left out"
fi

# ------------------------------------------------------------ batch norm
if compare batchnorm "A deep MLP (six hidden layers of 128) at learning rate 0.5, without and with batch norm" \
     lab06-bn-none.csv lab06-bn.csv "no batch norm" "batch norm" 3; then
  base=$(either_csv lab06-bn-none.csv)
  diverged=""
  if [ -n "$base" ]; then
    nb=$(numeric "$base" | awk 'END { print NR }')
    nr=$(numeric "$(either_csv lab06-bn.csv || echo "$base")" | awk 'END { print NR }')
    [ "$nb" -lt "$nr" ] && diverged=" Without batch norm the loss became NaN and the trainer stopped after epoch $nb."
  fi
  echo "Plain SGD with learning rate 0.5 on 2000 images, minibatches of 256. Without batch norm (red) the first steps are far too large for six stacked layers: the loss jumps, most ReLUs die, and the network sits at chance (loss ln 10, 10% accuracy) for most of the run.$diverged With batch norm after every hidden dense layer (blue), each layer's input is re-centred and re-scaled on every batch, and the same learning rate trains the network within two epochs. The validation curves wobble: at this learning rate the weights move faster than the running averages that evaluation uses can follow.$ref_note" \
    > "$OUT/batchnorm.caption"
else
  echo "lab06.sh: no batch-norm logs in $STUDENT/data or $REF/data: batchnorm.png left out"
fi

echo "lab06.sh: $drawn plot(s) drawn into $OUT"
exit 0
