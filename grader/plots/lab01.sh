#!/usr/bin/env bash
# Lab 1 plots: grader/plots/lab01.sh STUDENT_DIR REF_DIR OUT_DIR
#
# Reads the CSV logs that lab 1's training tests write (grader/labs/lab01.c)
# from STUDENT_DIR/data/ and REF_DIR/data/, and draws into OUT_DIR:
#   boundary-over-epochs.png   the Iris flowers and the perceptron's line
#                              w·x + b = 0 after each epoch
#   errors-per-epoch.png       mistakes per perceptron epoch
#   logistic-loss.png          logistic regression: loss and accuracy per step
#   logistic-boundary.png      the study table over the trained model's
#                              probability of passing, with p = 0.1, ½, 0.9
#   errors-per-epoch.txt, logistic-loss.txt   the same curves as ASCII art
#   NAME.caption               a caption for NAME.png (read by report.sh)
# The student's curves are solid, the reference's dashed grey. Where the
# student's log is missing (their test crashed before writing it) the
# reference is drawn alone; where both are missing the plot is left out.
set -u
STUDENT=${1:?usage: lab01.sh STUDENT_DIR REF_DIR OUT_DIR}
REF=${2:?usage: lab01.sh STUDENT_DIR REF_DIR OUT_DIR}
OUT=${3:?usage: lab01.sh STUDENT_DIR REF_DIR OUT_DIR}
command -v gnuplot >/dev/null || { echo "lab01.sh: gnuplot not found (Debian: gnuplot-nox)"; exit 1; }
mkdir -p "$OUT" || exit 1
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT

# The student's file, the reference's, or neither; when both folders are the
# same (grading the reference itself) the run is drawn once, as the reference.
same=0
if [ -d "$STUDENT" ] && [ -d "$REF" ] && [ "$(cd "$STUDENT" && pwd -P)" = "$(cd "$REF" && pwd -P)" ]; then
  same=1
fi
student_csv() { [ $same = 0 ] && [ -s "$STUDENT/data/$1" ] && echo "$STUDENT/data/$1"; }
ref_csv() { [ -s "$REF/data/$1" ] && echo "$REF/data/$1"; }
either_csv() { student_csv "$1" || ref_csv "$1"; }

# A CSV file without its header, fields separated by blanks, only the rows
# whose every field is a finite number (a student's NaN or inf drops out).
numeric() {
  awk -F, 'NR > 1 { ok = 1; for (i = 1; i <= NF; i++) if ($i !~ /^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/) ok = 0;
                    if (ok) { for (i = 1; i <= NF; i++) printf "%s%s", $i, (i < NF ? " " : "\n") } }' "$1"
}

# Mean and standard deviation (over the rows, divided by R) of columns 1
# and 2 of a numeric points file: the tests standardize with exactly these.
scaling() {
  awk '{ n++; s1 += $1; s2 += $2; q1 += $1 * $1; q2 += $2 * $2 }
       END { m1 = s1 / n; m2 = s2 / n; v1 = q1 / n - m1 * m1; v2 = q2 / n - m2 * m2;
             printf "%.12g %.12g %.12g %.12g\n", m1, m2, sqrt(v1), sqrt(v2) }' "$1"
}

# Clip the line w0·x' + w1·y' + b = 0, given for standardized x' = (x − m1)/s1,
# y' = (y − m2)/s2, to the box [x0, x1] × [y0, y1] in the original units.
# Input lines "label w0 w1 b"; output one block "x y" per line (two points,
# or none when the line misses the box), blocks separated by two blank lines.
clip_lines() {
  awk -v m1="$1" -v m2="$2" -v s1="$3" -v s2="$4" -v x0="$5" -v x1="$6" -v y0="$7" -v y1="$8" '
    function add(x, y) { if (k == 0 || (x - px) ^ 2 + (y - py) ^ 2 > 1e-18) { X[k] = x; Y[k] = y; k++; px = x; py = y } }
    {
      W0 = $2 / s1; W1 = $3 / s2; B = $4 - W0 * m1 - W1 * m2; k = 0
      if (W1 != 0) for (i = 0; i < 2; i++) { x = i ? x1 : x0; y = -(W0 * x + B) / W1; if (y >= y0 && y <= y1) add(x, y) }
      if (W0 != 0) for (i = 0; i < 2; i++) { y = i ? y1 : y0; x = -(W1 * y + B) / W0; if (x >= x0 && x <= x1) add(x, y) }
      if (NR > 1) printf "\n\n"
      if (k >= 2) printf "%.9g %.9g\n%.9g %.9g\n", X[0], Y[0], X[1], Y[1]
      else printf "NaN NaN\n"
    }'
}

# Purple shades, light to dark, for successive epochs (n of them).
shade() {
  awk -v i="$1" -v n="$2" 'BEGIN { t = (n > 1) ? i / (n - 1) : 1;
    r = 0.80 + (0.25 - 0.80) * t; g = 0.78 + (0.00 - 0.78) * t; b = 0.92 + (0.49 - 0.92) * t;
    printf "#%02x%02x%02x\n", r * 255, g * 255, b * 255 }'
}

PNG="set terminal pngcairo size 860,600 font 'DejaVu Sans,10' enhanced; set encoding utf8"
STYLE="set border lw 1.2; set grid lc rgb '#e5e5e5' lt 1; set key box lt 1 lc rgb '#bbbbbb' opaque samplen 2.5 spacing 1.15"
REF_STYLE="lc rgb '#555555' dt (6,4) lw 2"
drawn=0

plot_gnuplot() { # name, gnuplot script file
  if gnuplot "$2" 2> "$TMP/$1.err"; then
    drawn=$((drawn + 1))
  else
    echo "lab01.sh: gnuplot failed on $1:"; cat "$TMP/$1.err"
    rm -f "$OUT/$1.png" "$OUT/$1.txt" "$OUT/$1.caption"
  fi
}

# ------------------------------------------------------------ the perceptron
S=$(student_csv lab01-perceptron.csv) R=$(ref_csv lab01-perceptron.csv)
P=$(either_csv lab01-iris-points.csv)
[ -n "$P" ] || P=$(ref_csv lab01-iris-points.csv)
if [ -n "$P" ] && { [ -n "$S" ] || [ -n "$R" ]; }; then
  numeric "$P" > "$TMP/iris.dat"
  read -r m1 m2 s1 s2 < <(scaling "$TMP/iris.dat")
  read -r x0 x1 y0 y1 < <(awk 'NR == 1 { a = b = $1; c = d = $2 } { if ($1 < a) a = $1; if ($1 > b) b = $1; if ($2 < c) c = $2; if ($2 > d) d = $2 }
    END { px = (b - a) * 0.08; py = (d - c) * 0.10; printf "%g %g %g %g\n", a - px, b + px, c - py, d + py }' "$TMP/iris.dat")
  awk '$3 == 0' "$TMP/iris.dat" > "$TMP/setosa.dat"
  awk '$3 == 1' "$TMP/iris.dat" > "$TMP/versicolor.dat"

  # The lines to draw: after each epoch up to the last one that moved the
  # line (w, b changed); a correct rule stops moving it once an epoch makes
  # no mistake.
  main=${S:-$R} who=yours
  [ -z "$S" ] && who=reference
  numeric "$main" > "$TMP/perc.dat"
  read -r last moved_last < <(awk '{ if ($3 != w0 || $4 != w1 || $5 != b) L = $1; w0 = $3; w1 = $4; b = $5; E = $1 }
                                  END { if (!L) L = 1; print L, (L == E) }' "$TMP/perc.dat")
  clean=""; [ "$moved_last" = 0 ] && clean=1
  awk -v L="$last" '$1 <= L { print "e" $1, $3, $4, $5 }' "$TMP/perc.dat" > "$TMP/lines.in"
  n=$(wc -l < "$TMP/lines.in")
  clip_lines "$m1" "$m2" "$s1" "$s2" "$x0" "$x1" "$y0" "$y1" < "$TMP/lines.in" > "$TMP/lines.dat"
  {
    echo "$PNG; set output '$OUT/boundary-over-epochs.png'"
    echo "$STYLE"
    echo "set title \"Perceptron on Iris$([ "$who" = reference ] && echo ' (reference)'): the line w·x + b = 0 after each epoch\" font ',12'"
    echo "set xlabel 'sepal length (cm)'; set ylabel 'sepal width (cm)'"
    echo "set xrange [$x0:$x1]; set yrange [$y0:$y1]; set key outside right top"
    printf "plot '%s' using 1:2 with points pt 7 ps 1.1 lc rgb '#2b8cbe' title 'setosa (y = 0)', " "$TMP/setosa.dat"
    printf "'%s' using 1:2 with points pt 9 ps 1.3 lc rgb '#e6550d' title 'versicolor (y = 1)'" "$TMP/versicolor.dat"
    i=0
    while read -r label w0 w1 b; do
      ep=${label#e}
      errs=$(awk -v e="$ep" '$1 == e { print $2 }' "$TMP/perc.dat")
      c=$(shade "$i" "$n")
      lw=2; [ "$i" = $((n - 1)) ] && lw=3.5
      t="epoch $ep: $errs mistake$([ "$errs" = 1 ] || echo s)"
      [ "$i" = $((n - 1)) ] && [ -n "$clean" ] && t="$t (final)"
      printf ", '%s' index %d using 1:2 with lines lw %s lc rgb '%s' title '%s'" "$TMP/lines.dat" "$i" "$lw" "$c" "$t"
      i=$((i + 1))
    done < "$TMP/lines.in"
    if [ -n "$S" ] && [ -n "$R" ]; then
      numeric "$R" > "$TMP/perc-ref.dat"
      awk 'END { print "r", $3, $4, $5 }' "$TMP/perc-ref.dat" \
        | clip_lines "$m1" "$m2" "$s1" "$s2" "$x0" "$x1" "$y0" "$y1" > "$TMP/ref-line.dat"
      printf ", '%s' using 1:2 with lines %s title 'reference, final'" "$TMP/ref-line.dat" "$REF_STYLE"
    fi
    echo
  } > "$TMP/boundary.gp"
  plot_gnuplot boundary-over-epochs "$TMP/boundary.gp"
  echo "The perceptron's line w·x + b = 0 after each epoch, from light (epoch 1) to dark (the last one that moved it), over the 100 setosa and versicolor flowers it learns from: the rule moves the line only when a flower is on the wrong side, so once an epoch makes no mistake the line stays put.$([ -n "$S" ] && [ -n "$R" ] && echo ' Dashed grey: the reference solution'"'"'s final line.')$([ -z "$S" ] && [ $same = 0 ] && echo ' Your test wrote no log (did it crash?): the reference is drawn alone.')" \
    > "$OUT/boundary-over-epochs.caption"

  # Errors per epoch: bars for the main run, the reference dashed on top.
  {
    echo "$PNG; set output '$OUT/errors-per-epoch.png'"
    echo "$STYLE"
    echo "set title 'Perceptron on Iris: mistakes in each epoch' font ',12'"
    echo "set xlabel 'epoch'; set ylabel 'misclassified flowers (updates)'"
    echo "set xrange [0.3:10.7]; set xtics 1; set yrange [0:*]; set ytics 1; set offsets 0, 0, 0.6, 0"
    echo "set style fill solid 0.85 border lc rgb '#08306b'; set boxwidth 0.6"
    # From the first epoch without a mistake on, none: say so on the plot.
    conv=$(awk '$2 == 0 && !c { c = $1 } $2 != 0 && c { c = -1 } END { print c + 0 }' "$TMP/perc.dat")
    [ "$conv" -gt 0 ] 2>/dev/null && \
      echo "set label 1 'no mistakes from epoch $conv on: converged' at $conv - 0.3, graph 0.06 left font ',10' tc rgb '#08306b'"
    printf "plot '%s' using 1:2 with boxes lc rgb '#4292c6' title '%s'" "$TMP/perc.dat" \
      "$([ "$who" = yours ] && echo 'your perceptron' || echo 'reference')"
    [ -n "$S" ] && [ -n "$R" ] && printf ", '%s' using 1:2 with linespoints %s pt 6 ps 1.4 title 'reference'" "$TMP/perc-ref.dat" "$REF_STYLE"
    echo
    echo "set terminal dumb size 64,17; set output '$OUT/errors-per-epoch.txt'; unset grid; unset key"
    echo "set title 'perceptron on Iris: mistakes per epoch ($([ "$who" = yours ] && echo 'yours' || echo 'reference'))'"
    echo "unset ylabel; set xlabel 'epoch'; set ytics 1; set yrange [0:*]; set offsets 0, 0, 0.5, 0"
    printf "plot '%s' using 1:2 with linespoints pt '*'\n" "$TMP/perc.dat"
  } > "$TMP/errors.gp"
  plot_gnuplot errors-per-epoch "$TMP/errors.gp"
  echo "How many flowers the perceptron got wrong (and so updated on) in each pass over the data. Once an epoch has no mistake, w and b stop changing: the rule has converged.$([ -n "$S" ] && [ -n "$R" ] && echo ' Dashed grey: the reference solution.')" \
    > "$OUT/errors-per-epoch.caption"
else
  echo "lab01.sh: no perceptron log in $STUDENT/data or $REF/data: boundary-over-epochs.png and errors-per-epoch.png left out"
fi

# ------------------------------------------------------------ logistic regression
S=$(student_csv lab01-logistic.csv) R=$(ref_csv lab01-logistic.csv)
if [ -n "$S" ] || [ -n "$R" ]; then
  main=${S:-$R} who=yours
  [ -z "$S" ] && who=reference
  numeric "$main" > "$TMP/logi.dat"
  [ -n "$R" ] && numeric "$R" > "$TMP/logi-ref.dat"
  both=0; [ -n "$S" ] && [ -n "$R" ] && both=1
  mt=$([ "$who" = yours ] && echo 'yours' || echo 'reference')
  {
    echo "$PNG; set output '$OUT/logistic-loss.png'"
    echo "$STYLE"
    echo "set multiplot layout 2,1 title 'Logistic regression on the study table: full-batch gradient descent, lr = 0.5' font ',12'"
    echo "set lmargin 12; set rmargin 4; set key top right"
    echo "set ylabel 'mean cross-entropy loss'; set format x ''; set yrange [0:0.75]; set xrange [0:*]"
    printf "plot '%s' using 1:2 with lines lw 2.5 lc rgb '#2171b5' title '%s'" "$TMP/logi.dat" "$mt"
    [ $both = 1 ] && printf ", '%s' using 1:2 with lines %s title 'reference'" "$TMP/logi-ref.dat" "$REF_STYLE"
    echo ", log(2) with lines lc rgb '#999999' dt 3 title 'ln 2 (w = 0: every p = ½)'"
    echo "set ylabel 'training accuracy (%)'; set xlabel 'gradient steps'; set format x '%g'; set yrange [40:100]; set key bottom right"
    printf "plot '%s' using 1:(100*\$3) with steps lw 2.5 lc rgb '#238b45' title '%s'" "$TMP/logi.dat" "$mt"
    [ $both = 1 ] && printf ", '%s' using 1:(100*\$3) with steps %s title 'reference'" "$TMP/logi-ref.dat" "$REF_STYLE"
    echo
    echo "unset multiplot"
    echo "set terminal dumb size 64,15; set output '$OUT/logistic-loss.txt'; unset grid; unset key"
    echo "set title 'logistic regression: loss per step ($mt)'"
    echo "unset ylabel; set xlabel 'gradient step'; set format x '%g'; set yrange [0:0.75]; set ytics 0.2"
    printf "plot '%s' using 1:2 with lines\n" "$TMP/logi.dat"
  } > "$TMP/logistic.gp"
  plot_gnuplot logistic-loss "$TMP/logistic.gp"
  echo "Top: the mean cross-entropy loss before each gradient step; it starts at ln 2 (every p = ½ when w = 0) and, with a small enough learning rate, never goes up. Bottom: the share of the 30 students classified right (p >= ½).$([ $both = 1 ] && echo ' Dashed grey: the reference solution.')" \
    > "$OUT/logistic-loss.caption"

  # The study table in hours over the final model's probability of passing,
  # p = σ(w·x' + b) with x' the standardized hours, and its contours.
  P=$(either_csv lab01-study-points.csv)
  [ -n "$P" ] || P=$(ref_csv lab01-study-points.csv)
  if [ -n "$P" ] && [ -s "$TMP/logi.dat" ]; then
    numeric "$P" > "$TMP/study.dat"
    read -r m1 m2 s1 s2 < <(scaling "$TMP/study.dat")
    read -r steps w0 w1 b < <(awk 'END { print $1, $4, $5, $6 }' "$TMP/logi.dat")
    x0=0 x1=10.5 y0=3.5 y1=9.5
    awk '$3 == 0' "$TMP/study.dat" > "$TMP/failed.dat"
    awk '$3 == 1' "$TMP/study.dat" > "$TMP/passed.dat"
    # p = 0.1, ½, 0.9 where w·x' + b = logit p = −ln 9, 0, ln 9.
    for c in -2.1972245773 0 2.1972245773; do
      echo "c $w0 $w1 $(awk -v b="$b" -v c="$c" 'BEGIN { printf "%.9g", b - c }')"
    done | clip_lines "$m1" "$m2" "$s1" "$s2" "$x0" "$x1" "$y0" "$y1" > "$TMP/contours.dat"
    {
      echo "$PNG; set output '$OUT/logistic-boundary.png'"
      echo "$STYLE"
      echo "set title \"Logistic regression after $steps steps: the model's probability of passing\" font ',12'"
      echo "set xlabel 'hours of study'; set ylabel 'hours of sleep the night before'"
      echo "set xrange [$x0:$x1]; set yrange [$y0:$y1]; set key outside right top"
      echo "set palette defined (0 '#f4a6a0', 0.5 '#ffffff', 1 '#9fd8a8'); set cbrange [0:1]"
      echo "set cblabel 'p = σ(w·x + b)'; set cbtics 0.25; set colorbox user origin 0.86,0.12 size 0.025,0.45"
      echo "set urange [$x0:$x1]; set vrange [$y0:$y1]; set samples 210; set isosamples 120"
      echo "p(x, y) = 1 / (1 + exp(-($w0 * (x - $m1) / $s1 + $w1 * (y - $m2) / $s2 + $b)))"
      printf "plot '++' using 1:2:(p(\$1, \$2)) with image pixels notitle"
      printf ", '%s' index 2 using 1:2 with lines lw 2 dt (3,3) lc rgb '#238b45' title 'p = 0.9'" "$TMP/contours.dat"
      printf ", '%s' index 1 using 1:2 with lines lw 3 lc rgb '#3f007d' title 'p = ½%s'" "$TMP/contours.dat" \
        "$([ "$who" = reference ] && echo ' (reference)')"
      printf ", '%s' index 0 using 1:2 with lines lw 2 dt (3,3) lc rgb '#cb181d' title 'p = 0.1'" "$TMP/contours.dat"
      if [ $both = 1 ]; then
        awk 'END { print "r", $4, $5, $6 }' "$TMP/logi-ref.dat" \
          | clip_lines "$m1" "$m2" "$s1" "$s2" "$x0" "$x1" "$y0" "$y1" > "$TMP/lref.dat"
        printf ", '%s' using 1:2 with lines %s title 'reference, p = ½'" "$TMP/lref.dat" "$REF_STYLE"
      fi
      printf ", '%s' using 1:2 with points pt 2 ps 1.6 lw 2.5 lc rgb '#a50f15' title 'failed (y = 0)'" "$TMP/failed.dat"
      printf ", '%s' using 1:2 with points pt 7 ps 1.4 lc rgb '#006d2c' title 'passed (y = 1)'" "$TMP/passed.dat"
      echo
    } > "$TMP/lboundary.gp"
    plot_gnuplot logistic-boundary "$TMP/lboundary.gp"
    echo "The 30 (made-up) students of datasets/study.csv over the trained model's probability of passing, p = σ(w·x + b): red where it predicts a fail, green where a pass. The solid line is the decision boundary p = ½, the dotted ones p = 0.1 and 0.9; the model learns on standardized hours, the plot is in hours.$([ $both = 1 ] && echo ' Dashed grey: the reference solution'"'"'s boundary.')" \
      > "$OUT/logistic-boundary.caption"
  fi
else
  echo "lab01.sh: no logistic-regression log in $STUDENT/data or $REF/data: logistic-loss.png left out"
fi

echo "lab01.sh: $drawn plot(s) drawn into $OUT"
exit 0
