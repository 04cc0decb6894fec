#!/usr/bin/env bash
# Lab 4 plots: grader/plots/lab04.sh STUDENT_DIR REF_DIR OUT_DIR
#
# Reads the CSV logs that lab 4's tests write (grader/labs/lab04.c) from
# STUDENT_DIR/data/ and REF_DIR/data/, and draws into OUT_DIR:
#   spirals-loss.png     your mean training loss per epoch on the spirals,
#                        over the reference's band (the min and max of its
#                        seeds, widened by the stated margin) and its own curve
#   fashion-loss.png     the same on the Fashion-MNIST subset (when it ran)
#   spirals-boundary.png the decision regions of your trained network next to
#                        the reference's, with the training points
#   gradcheck.png        the gradient-check table: the largest relative error
#                        of each parameter array, by your nn_grad_check and by
#                        the grader's, against the 1e-4 limit
#   gradcheck.txt        the same table as text (printed in the terminal)
#   spirals-loss.txt     the spirals curve and band as ASCII art
#   NAME.caption         a caption for NAME.png (read by report.sh)
# Where your log is missing (the test crashed first, or was not attempted)
# the reference is drawn alone and the caption says so; where both are
# missing the plot is left out. Grading the reference itself (both folders
# the same) draws it once, as the reference.
set -u
STUDENT=${1:?usage: lab04.sh STUDENT_DIR REF_DIR OUT_DIR}
REF=${2:?usage: lab04.sh STUDENT_DIR REF_DIR OUT_DIR}
OUT=${3:?usage: lab04.sh STUDENT_DIR REF_DIR OUT_DIR}
command -v gnuplot >/dev/null || { echo "lab04.sh: gnuplot not found (Debian: gnuplot-nox)"; exit 1; }
mkdir -p "$OUT" || exit 1
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT

same=0
if [ -d "$STUDENT" ] && [ -d "$REF" ] && [ "$(cd "$STUDENT" && pwd -P)" = "$(cd "$REF" && pwd -P)" ]; then
  same=1
fi
student_csv() { [ $same = 0 ] && [ -s "$STUDENT/data/$1" ] && echo "$STUDENT/data/$1"; }
ref_csv() { [ -s "$REF/data/$1" ] && echo "$REF/data/$1"; }

# A CSV file without its header, blank-separated; a field that is not a
# finite number (a student's NaN or inf) becomes NaN, which gnuplot skips.
numeric() {
  awk -F, 'NR > 1 { for (i = 1; i <= NF; i++) { v = $i; if (v !~ /^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/) v = "NaN";
                    printf "%s%s", v, (i < NF ? " " : "\n") } }' "$1"
}
# Field 1 of the data row of a one-row summary CSV (the held-out accuracy).
accuracy_of() { [ -s "$1" ] && awk -F, 'NR == 2 { printf "%.1f%%", 100 * $1 }' "$1"; }

PNG="set terminal pngcairo size 900,560 font 'DejaVu Sans,10' enhanced; set encoding utf8"
STYLE="set border lw 1.2; set grid lc rgb '#e5e5e5' lt 1; set key box lt 1 lc rgb '#bbbbbb' opaque samplen 2.5 spacing 1.15"
REF_STYLE="lc rgb '#444444' dt (6,4) lw 2"
drawn=0

plot_gnuplot() { # name, gnuplot script file
  if gnuplot "$2" 2> "$TMP/$1.err"; then
    drawn=$((drawn + 1))
  else
    echo "lab04.sh: gnuplot failed on $1:"; cat "$TMP/$1.err"
    rm -f "$OUT/$1.png" "$OUT/$1.txt" "$OUT/$1.caption"
  fi
}

# ------------------------------------------------------------ loss over the band
# loss_plot NAME TITLE WHAT: lab04-NAME-loss.csv (epoch,loss,band_lo,band_hi).
loss_plot() {
  local name=$1 title=$2 what=$3 S R main who
  S=$(student_csv "lab04-$name-loss.csv") R=$(ref_csv "lab04-$name-loss.csv")
  if [ -z "$S" ] && [ -z "$R" ]; then
    echo "lab04.sh: no lab04-$name-loss.csv in $STUDENT/data or $REF/data: $name-loss.png left out"
    return
  fi
  main=${S:-$R} who=yours
  [ -z "$S" ] && who=reference
  numeric "$main" > "$TMP/$name.dat"
  [ -n "$R" ] && numeric "$R" > "$TMP/$name-ref.dat"
  # The band: from the reference's log if there is one (it is the same band).
  band=$TMP/$name.dat; [ -n "$R" ] && band=$TMP/$name-ref.dat
  # The first epoch outside the band, marked on the plot.
  out=$(awk '!($2 >= $3 && $2 <= $4) { print $1, ($2 == "NaN" ? $4 : $2); exit }' "$TMP/$name.dat")
  acc=$(accuracy_of "$(student_csv "lab04-$name-summary.csv" || ref_csv "lab04-$name-summary.csv")")
  racc=$(accuracy_of "$(ref_csv "lab04-$name-summary.csv")")
  epochs=$(awk 'END { print $1 }' "$band")
  {
    echo "$PNG; set output '$OUT/$name-loss.png'"
    echo "$STYLE"
    echo "set title \"$title\" font ',12'"
    echo "set xlabel 'epoch'; set ylabel 'mean training loss (cross-entropy)'; set xrange [0.5:$epochs + 0.5]"
    echo "set yrange [0:*]; set key top right"
    [ -n "$out" ] && echo "set label 1 'left the band at epoch ${out%% *}' at ${out%% *}, ${out##* } offset 1,1 tc rgb '#b30000' font ',10' front"
    printf "plot '%s' using 1:3:4 with filledcurves fc rgb '#cfe3f3' fs solid 0.9 title 'reference band (seeds, widened)'" "$band"
    if [ "$who" = yours ] && [ -n "$R" ]; then
      printf ", '%s' using 1:2 with lines %s title 'reference (same seed)%s'" "$TMP/$name-ref.dat" "$REF_STYLE" "${racc:+, $racc held out}"
    fi
    printf ", '%s' using 1:2 with lines lw 2.5 lc rgb '%s' title '%s%s'" "$TMP/$name.dat" \
      "$([ "$who" = yours ] && echo '#d95f02' || echo '#222222')" "$([ "$who" = yours ] && echo 'yours' || echo 'reference')" "${acc:+, $acc held out}"
    [ -n "$out" ] && printf ", '%s' using 1:2 every ::%d::%d with points pt 7 ps 1.6 lc rgb '#b30000' notitle" "$TMP/$name.dat" "$((${out%% *} - 1))" "$((${out%% *} - 1))"
    echo
    if [ "$name" = spirals ]; then
      echo "set terminal dumb size 70,17; set output '$OUT/$name-loss.txt'; unset grid; unset key; unset label 1"
      echo "set title '$name: mean loss per epoch ($who: *) and the band (+)'"
      echo "unset ylabel; set xlabel 'epoch'; set yrange [0:1.4]; set ytics 0.4"
      printf "plot '%s' using 1:3 with lines lt 0, '' using 1:4 with lines lt 0, '%s' using 1:2 with points pt '*'\n" "$band" "$TMP/$name.dat"
    fi
  } > "$TMP/$name-loss.gp"
  plot_gnuplot "$name-loss" "$TMP/$name-loss.gp"
  local cap="$what Shaded: the reference's band, the lowest and highest loss of the reference solution trained from several seeds, widened by 10% + 0.02; the test fails when the curve leaves it."
  if [ "$who" = yours ] && [ -n "$R" ]; then cap="$cap Dashed: the reference trained from your run's seed; a correct solution follows it closely."; fi
  [ -n "$out" ] && cap="$cap Your curve leaves the band at epoch ${out%% *} (red dot)."
  [ "$who" = reference ] && [ $same = 0 ] && cap="$cap Your test wrote no log (not attempted, or it crashed first): the reference is drawn alone."
  echo "$cap" > "$OUT/$name-loss.caption"
}

loss_plot spirals "Training on the spirals (2-32-32-3 ReLU, batch 16, lr 0.1)" \
  "Mean training loss of each epoch of nn_mlp_train_epoch() on the 1000 spiral points (rows sorted by class), seed 1."
loss_plot fashion "Training on a Fashion-MNIST subset (784-64-10 ReLU, batch 32, lr 0.05)" \
  "Mean training loss of each epoch on the first 5000 Fashion-MNIST training images, seed 1; the accuracy is on the first 1000 test images."

# ------------------------------------------------------------ decision boundary
# Class colours (blue, orange, green); a grid point's colour fades to white
# as the network's confidence (largest softmax probability) falls to 1/3.
rgb_grid() { # boundary CSV -> "x y r g b"
  awk -F, 'BEGIN { split("66 133 244", c0, " "); split("244 140 40", c1, " "); split("52 168 83", c2, " ") }
    NR > 1 { k = $3; t = ($4 - 1/3) / (2/3); if (t < 0) t = 0; if (t > 1) t = 1; t = 0.18 + 0.6 * t
             if (k == 0) { r = c0[1]; g = c0[2]; b = c0[3] } else if (k == 1) { r = c1[1]; g = c1[2]; b = c1[3] }
             else if (k == 2) { r = c2[1]; g = c2[2]; b = c2[3] } else { r = g = b = 128; t = 1 }
             printf "%s %s %d %d %d\n", $1, $2, 255 + (r - 255) * t, 255 + (g - 255) * t, 255 + (b - 255) * t }' "$1"
}
SB=$(student_csv lab04-spirals-boundary.csv) RB=$(ref_csv lab04-spirals-boundary.csv)
P=$(student_csv lab04-spirals-points.csv || ref_csv lab04-spirals-points.csv)
if { [ -n "$SB" ] || [ -n "$RB" ]; } && [ -n "$P" ]; then
  numeric "$P" > "$TMP/points.dat"
  panels=()
  [ -n "$SB" ] && { rgb_grid "$SB" > "$TMP/sb.dat"; panels+=("$TMP/sb.dat|yours|$(accuracy_of "$(student_csv lab04-spirals-summary.csv)")"); }
  [ -n "$RB" ] && { rgb_grid "$RB" > "$TMP/rb.dat"; panels+=("$TMP/rb.dat|reference|$(accuracy_of "$(ref_csv lab04-spirals-summary.csv)")"); }
  w=$((520 * ${#panels[@]} + 40)); [ "$w" -lt 760 ] && w=760
  {
    echo "set terminal pngcairo size $w,560 font 'DejaVu Sans,10' enhanced; set encoding utf8"
    echo "set output '$OUT/spirals-boundary.png'"
    echo "set multiplot layout 1,${#panels[@]} title 'The spirals: decision regions of the trained network (colour: predicted arm; pale: unsure)' font ',12'"
    echo "set size ratio -1; set xrange [-1.3:1.3]; set yrange [-1.3:1.3]; set xtics 0.5; set ytics 0.5; unset key"
    for p in "${panels[@]}"; do
      IFS='|' read -r file who acc <<<"$p"
      echo "set title '$who${acc:+ ($acc of the held-out points right)}' font ',11'"
      printf "plot '%s' using 1:2:3:4:5 with rgbimage, " "$file"
      printf "'%s' using 1:(\$3 == 0 ? \$2 : 1/0) with points pt 7 ps 0.45 lc rgb '#1a3f8f', " "$TMP/points.dat"
      printf "'' using 1:(\$3 == 1 ? \$2 : 1/0) with points pt 7 ps 0.45 lc rgb '#a04a00', "
      printf "'' using 1:(\$3 == 2 ? \$2 : 1/0) with points pt 7 ps 0.45 lc rgb '#1b5e20'\n"
    done
    echo "unset multiplot"
  } > "$TMP/boundary.gp"
  plot_gnuplot spirals-boundary "$TMP/boundary.gp"
  cap="What the trained network predicts at every point of the plane, coloured by arm (blue, orange, green) and paler where its largest softmax probability is lower, with the 1000 training points on top."
  if [ -n "$SB" ] && [ -n "$RB" ]; then cap="$cap Left: your network; right: the reference's, trained from the same seed. A correct backward pass and training loop give nearly the same picture."
  elif [ -z "$SB" ] && [ $same = 0 ]; then cap="$cap Your test wrote no boundary (not attempted, or it crashed first): the reference is drawn alone."; fi
  echo "$cap" > "$OUT/spirals-boundary.caption"
else
  echo "lab04.sh: no spirals boundary in $STUDENT/data or $REF/data: spirals-boundary.png left out"
fi

# ------------------------------------------------------------ gradient-check table
G=$(student_csv lab04-gradcheck.csv) who=yours
[ -z "$G" ] && { G=$(ref_csv lab04-gradcheck.csv); who=reference; }
if [ -n "$G" ]; then
  # row index, label, yours, grader (values below 1e-12, 0 included, drawn at 1e-12)
  awk -F, 'NR > 1 { n++; y = $3; g = $4; if (y !~ /^[0-9.eE+-]+$/) y = 1e3; if (g !~ /^[0-9.eE+-]+$/) g = 1e3
                    if (y < 1e-12) y = 1e-12; if (g < 1e-12) g = 1e-12; if (y > 1e3) y = 1e3; if (g > 1e3) g = 1e3
                    printf "%d \"%s\" %.3e %.3e %d\n", n, $1, y, g, (y <= 1e-4 && g <= 1e-4) }' "$G" > "$TMP/gc.dat"
  rows=$(wc -l < "$TMP/gc.dat")
  {
    echo "set terminal pngcairo size 900,$((190 + 22 * rows)) font 'DejaVu Sans,10' enhanced; set encoding utf8"
    echo "set output '$OUT/gradcheck.png'"
    echo "$STYLE; set grid xtics noytics"
    echo "set title 'Gradient check: largest relative error per parameter array$([ "$who" = reference ] && echo ' (reference)')' font ',12'"
    echo "set logscale x; set xrange [1e-12:10]; set format x '10^{%L}'; set xlabel 'max_i |numeric_i - analytic_i| / (|numeric_i| + |analytic_i|)'"
    echo "set yrange [$rows + 0.7:0.3]; set ytics scale 0 font ',9'; set key outside bottom center horizontal"
    echo "set arrow 1 from 1e-4, graph 0 to 1e-4, graph 1 nohead lw 2 dt (4,3) lc rgb '#b30000' front"
    echo "set label 1 'limit 1e-4' at 1.3e-4, graph 0.02 tc rgb '#b30000' font ',9' front"
    echo "set style fill solid 0.85 noborder"
    printf "plot '%s' using (1e-12):1:(1e-12):3:(\$1-0.32):(\$1+0.32):ytic(2) with boxxyerror lc rgb '#2b8cbe' title '%s', " "$TMP/gc.dat" \
      "$([ "$who" = yours ] && echo 'your nn\_grad\_check' || echo 'nn\_grad\_check (reference)')"
    printf "'' using 3:(\$5 > 0.5 ? 1/0 : \$1):(1e-12):3:(\$1-0.32):(\$1+0.32) with boxxyerror lc rgb '#d7301f' title 'above the limit', "
    printf "'' using 4:1 with points pt 6 ps 1.2 lw 1.5 lc rgb '#222222' title \"the grader's check\"\n"
  } > "$TMP/gradcheck.gp"
  plot_gnuplot gradcheck "$TMP/gradcheck.gp"
  echo "Each row checks one backward function (or one parameter array of a 3-5-4-3 tanh network) against central differences of the objective in double, (f(θ + h) - f(θ - h)) / 2h with h = 1e-3: bars from your nn_grad_check on your code, circles from the grader's own check of the same gradient. Rows at 1e-12 are exact (a linear objective, or a zero gradient); right gradients sit near 1e-7 (float rounding) to 1e-5, wrong ones at 1e-2 to 1. A bar right of the limit in red fails the test \"gradient check of your layers\"; a bar far from its circle means the gradient check itself is off." \
    > "$OUT/gradcheck.caption"
  # The text table for the terminal.
  awk -F, -v who="$who" 'NR == 1 { printf "gradient check (%s): largest relative error per parameter array, limit 1e-4\n", who
                                    printf "  %-24s %7s %12s %12s  %s\n", "what", "params", "yours", "grader", "" ; next }
    { ok = ($3 + 0 <= 1e-4 && $4 + 0 <= 1e-4 && $3 ~ /^[0-9.eE+-]+$/ && $4 ~ /^[0-9.eE+-]+$/)
      printf "  %-24s %7d %12s %12s  %s\n", $1, $2, $3, $4, ok ? "ok" : "TOO LARGE (worst at index " $5 ")" }' "$G" > "$OUT/gradcheck.txt"
else
  echo "lab04.sh: no lab04-gradcheck.csv in $STUDENT/data or $REF/data: gradcheck.png left out"
fi

echo "lab04.sh: $drawn plot(s) drawn into $OUT"
exit 0
