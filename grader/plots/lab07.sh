#!/usr/bin/env bash
# Lab 7 plots: grader/plots/lab07.sh STUDENT_DIR REF_DIR OUT_DIR
#
# Reads what lab 7's training test writes (grader/labs/lab07.c) from
# STUDENT_DIR/data/ and REF_DIR/data/:
#   lab07-train.csv      epoch,train_loss,train_acc,val_loss,val_acc,lr
#   lab07-filters.csv    filter,row,col,weight        the first conv layer
#   lab07-input.csv      row,col,pixel                test image 0
#   lab07-maps.csv       layer,channel,row,col,value  each conv layer's output on it
#   lab07-confusion.csv  true,predicted,count         the 1000 test images
# and the reference band grader/bands/lab07-fashion-cnn.csv, and draws into OUT_DIR:
#   loss-curves.png    training and test loss, test accuracy per epoch: yours
#                      solid, the reference dashed, the band the test checks shaded
#   loss-curves.txt    the test loss as ASCII art
#   filters.png        the first layer's six learned 5×5 filters, yours over the reference's
#   feature-maps.png   one test image and what each conv layer makes of it
#   confusion.png      the confusion matrix of the test images
#   NAME.caption       a caption for NAME.png (read by report.sh)
# Where the student's log is missing (the test crashed, or was not
# attempted) the reference is drawn alone and the caption says so.
set -u
STUDENT=${1:?usage: lab07.sh STUDENT_DIR REF_DIR OUT_DIR}
REF=${2:?usage: lab07.sh STUDENT_DIR REF_DIR OUT_DIR}
OUT=${3:?usage: lab07.sh STUDENT_DIR REF_DIR OUT_DIR}
command -v gnuplot >/dev/null || { echo "lab07.sh: gnuplot not found (Debian: gnuplot-nox)"; exit 1; }
mkdir -p "$OUT" || exit 1
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT
BAND=$(cd "$(dirname "$0")/.." && pwd)/bands/lab07-fashion-cnn.csv

same=0
if [ -d "$STUDENT" ] && [ -d "$REF" ] && [ "$(cd "$STUDENT" && pwd -P)" = "$(cd "$REF" && pwd -P)" ]; then
  same=1   # grading the reference itself: draw it once, as the reference
fi
student_csv() { [ $same = 0 ] && [ -s "$STUDENT/data/$1" ] && echo "$STUDENT/data/$1"; }
ref_csv() { [ -s "$REF/data/$1" ] && echo "$REF/data/$1"; }

# A CSV file without its header, blank-separated, only the rows whose every
# field is a finite number (a student's NaN or inf drops out).
numeric() {
  awk -F, 'NR > 1 { ok = 1; for (i = 1; i <= NF; i++) if ($i !~ /^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/) ok = 0;
                    if (ok) { for (i = 1; i <= NF; i++) printf "%s%s", $i, (i < NF ? " " : "\n") } }' "$1"
}

png() { echo "set encoding utf8; set terminal pngcairo font 'DejaVu Sans,10' enhanced size $1"; }
STYLE="set border lw 1.1; set grid lc rgb '#e5e5e5' lt 1; set key box lt 1 lc rgb '#bbbbbb' opaque samplen 2.5 spacing 1.15"
REF_STYLE="lc rgb '#444444' dt (6,4) lw 2"
CLASSES=("T-shirt/top" "Trouser" "Pullover" "Dress" "Coat" "Sandal" "Shirt" "Sneaker" "Bag" "Ankle boot")
drawn=0

plot_gnuplot() { # name, gnuplot script file
  if gnuplot "$2" 2> "$TMP/$1.err"; then
    drawn=$((drawn + 1))
  else
    echo "lab07.sh: gnuplot failed on $1:"; cat "$TMP/$1.err"
    rm -f "$OUT/$1.png" "$OUT/$1.txt" "$OUT/$1.caption"
  fi
}

# ------------------------------------------------------------ loss curves
S=$(student_csv lab07-train.csv) R=$(ref_csv lab07-train.csv)
if [ -n "$S" ] || [ -n "$R" ]; then
  main=${S:-$R} who=yours
  [ -z "$S" ] && who=reference
  numeric "$main" > "$TMP/main.dat"
  both=0
  if [ -n "$S" ] && [ -n "$R" ]; then both=1; numeric "$R" > "$TMP/ref.dat"; fi
  band=0
  if [ -s "$BAND" ]; then numeric "$BAND" > "$TMP/band.dat"; [ -s "$TMP/band.dat" ] && band=1; fi
  {
    echo "$(png 900,760); set output '$OUT/loss-curves.png'"
    echo "$STYLE"
    echo "set multiplot layout 2,1 title 'CNN on 2000 Fashion-MNIST images: $([ $who = yours ] && echo 'your conv.c and pool.c' || echo 'the reference')' font ',12'"
    echo "set lmargin 11; set rmargin 3; set xrange [0.8:*]; set xtics 1; set key top right"
    echo "set ylabel 'mean cross-entropy loss'; set format x ''; set yrange [0:*]"
    printf "plot "
    if [ $band = 1 ]; then
      printf "'%s' using 1:2:3 with filledcurves fs transparent solid 0.18 noborder lc rgb '#1f77b4' title 'band: training loss', " "$TMP/band.dat"
      printf "'%s' using 1:4:5 with filledcurves fs transparent solid 0.18 noborder lc rgb '#d95f02' title 'band: test loss', " "$TMP/band.dat"
    fi
    printf "'%s' using 1:2 with linespoints lw 2.5 pt 7 lc rgb '#1f77b4' title 'training loss (%s)', " "$TMP/main.dat" "$who"
    printf "'%s' using 1:4 with linespoints lw 2.5 pt 5 lc rgb '#d95f02' title 'test loss (%s)'" "$TMP/main.dat" "$who"
    if [ $both = 1 ]; then
      printf ", '%s' using 1:2 with lines %s title 'reference'" "$TMP/ref.dat" "$REF_STYLE"
      printf ", '%s' using 1:4 with lines %s notitle" "$TMP/ref.dat" "$REF_STYLE"
    fi
    echo
    echo "set ylabel 'test accuracy (%)'; set xlabel 'epoch'; set format x '%g'; set yrange [*:*]; set key bottom right"
    printf "plot "
    [ $band = 1 ] && printf "'%s' using 1:(100*\$6):(100*\$7) with filledcurves fs transparent solid 0.18 noborder lc rgb '#238b45' title 'band', " "$TMP/band.dat"
    printf "'%s' using 1:(100*\$5) with linespoints lw 2.5 pt 7 lc rgb '#238b45' title '%s'" "$TMP/main.dat" "$who"
    [ $both = 1 ] && printf ", '%s' using 1:(100*\$5) with lines %s title 'reference'" "$TMP/ref.dat" "$REF_STYLE"
    echo
    echo "unset multiplot"
    echo "set terminal dumb size 64,16; set output '$OUT/loss-curves.txt'; unset grid; unset key; unset multiplot"
    echo "set title 'CNN on Fashion-MNIST: test loss per epoch ($who)'"
    echo "unset ylabel; unset xlabel; set format x '%g'; set xrange [0.8:*]; set yrange [0:*]"
    printf "plot '%s' using 1:4 with linespoints pt '*'\n" "$TMP/main.dat"
  } > "$TMP/loss.gp"
  plot_gnuplot loss-curves "$TMP/loss.gp"
  echo "Top: the mean training loss over each epoch's minibatches and the loss on the 1000 held-out test images after it; bottom: the test accuracy. The shaded bands are what the test \"CNN learns Fashion-MNIST\" accepts, made from the reference run with ten seeds (grader/bands/lab07-band.sh).$([ $both = 1 ] && echo ' Dashed: the reference solution, same seed.')$([ -z "$S" ] && [ $same = 0 ] && echo ' Your test wrote no log (not attempted, or it crashed): the reference is drawn alone.')" \
    > "$OUT/loss-curves.caption"
else
  echo "lab07.sh: no training log in $STUDENT/data or $REF/data: loss-curves.png left out"
fi

# ------------------------------------------------------------ filters
# One row of six tiles per run; each tile gray, scaled to its own min..max.
S=$(student_csv lab07-filters.csv) R=$(ref_csv lab07-filters.csv)
I=$(student_csv lab07-filters-init.csv); [ -z "$I" ] && I=$(ref_csv lab07-filters-init.csv)
if [ -n "$S" ] || [ -n "$R" ]; then
  rows=() labels=()
  [ -n "$I" ] && { numeric "$I" > "$TMP/filt0.dat"; rows+=("$TMP/filt0.dat"); labels+=("at the start"); }
  [ -n "$S" ] && { numeric "$S" > "$TMP/filt${#rows[@]}.dat"; rows+=("$TMP/filt${#rows[@]}.dat"); labels+=("yours, trained"); }
  [ -n "$R" ] && { numeric "$R" > "$TMP/filt${#rows[@]}.dat"; rows+=("$TMP/filt${#rows[@]}.dat"); labels+=("reference, trained"); }
  nf=$(awk 'BEGIN { m = 0 } { if ($1 + 1 > m) m = $1 + 1 } END { print m }' "${rows[0]}")
  k=$(awk 'BEGIN { m = 0 } { if ($2 + 1 > m) m = $2 + 1 } END { print m }' "${rows[0]}")
  if [ "${nf:-0}" -ge 1 ] && [ "${k:-0}" -ge 1 ]; then
    nr=${#rows[@]}
    H=$((60 + 145 * nr))
    {
      echo "$(png $((200 + 130 * nf)),$H); set output '$OUT/filters.png'"
      echo "set palette gray; unset colorbox; unset xtics; unset ytics; unset key; set border lw 0.5"
      echo "set lmargin 0.5; set rmargin 0.5; set bmargin 0.3; set tmargin 1.4"
      echo "set size ratio -1; set xrange [-0.5:$k - 0.5]; set yrange [$k - 0.5:-0.5]"
      echo "set multiplot title 'First conv layer: its $nf ${k}×${k} filters (black = most negative, white = most positive weight)' font ',11'"
      r=0
      for f in "${rows[@]}"; do
        for o in $(seq 0 $((nf - 1))); do
          awk -v o="$o" '$1 == o { print $3, $2, $4 }' "$f" > "$f.$o"
          read -r lo hi < <(awk 'NR == 1 { a = b = $3 } { if ($3 < a) a = $3; if ($3 > b) b = $3 } END { if (a == b) { a -= 1; b += 1 } print a, b }' "$f.$o")
          x=$(awk -v o="$o" -v n="$nf" 'BEGIN { printf "%.4f", 0.17 + 0.82 * o / n }')
          y=$(awk -v r="$r" -v n="$nr" 'BEGIN { printf "%.4f", 1 - (r + 1) * (0.86 / n) - 0.08 }')
          w=$(awk -v n="$nf" 'BEGIN { printf "%.4f", 0.82 / n }')
          hh=$(awk -v n="$nr" 'BEGIN { printf "%.4f", 0.86 / n }')
          echo "set origin $x,$y; set size $w,$hh; set cbrange [$lo:$hi]"
          lbl=""; [ "$o" = 0 ] && lbl="set label 1 '${labels[$r]}' at graph -0.12, graph 0.5 right font ',11'"
          echo "unset label; $lbl; set title 'filter $o' font ',9' offset 0,-0.6"
          echo "plot '$f.$o' using 1:2:3 with image"
        done
        r=$((r + 1))
      done
      echo "unset multiplot"
    } > "$TMP/filters.gp"
    plot_gnuplot filters "$TMP/filters.gp"
    echo "The first convolution layer's $nf filters, each scaled to its own range: at the start (random He-initialised weights, the same for you and the reference: same seed), then after the 6 epochs. In so short a run they move only part of the way from their random start; trained longer on more images they become edge and blob detectors. The same start and the same batches make a correct conv.c end near the reference's filters; a wrong weight gradient makes them drift elsewhere, or not move at all.$([ -z "$S" ] && [ $same = 0 ] && echo ' Your test wrote no filters: the reference is drawn alone.')" \
      > "$OUT/filters.caption"
  fi
fi

# ------------------------------------------------------------ feature maps
# The main run only (yours, else the reference): the input, then each conv
# layer's channels, blue (negative) – white (0) – red (positive), each map
# scaled to its own largest |value|.
M=$(student_csv lab07-maps.csv) I=$(student_csv lab07-input.csv) who=yours
if [ -z "$M" ] || [ -z "$I" ]; then M=$(ref_csv lab07-maps.csv) I=$(ref_csv lab07-input.csv) who=reference; fi
if [ -n "$M" ] && [ -n "$I" ]; then
  numeric "$M" > "$TMP/maps.dat"
  numeric "$I" > "$TMP/input.dat"
  layers=$(awk '{ print $1 }' "$TMP/maps.dat" | sort -un | tr '\n' ' ')
  # Tiles: row 0 holds the input; then each layer, 8 maps per row.
  {
    nrow=1
    for l in $layers; do
      c=$(awk -v l="$l" '$1 == l && $2 + 1 > m { m = $2 + 1 } END { print m + 0 }' "$TMP/maps.dat")
      nrow=$((nrow + (c + 7) / 8))
    done
    echo "$(png 1000,$((70 + 125 * nrow))); set output '$OUT/feature-maps.png'"
    echo "unset colorbox; unset xtics; unset ytics; unset key; set border lw 0.5; set size ratio -1"
    echo "set lmargin 0.5; set rmargin 0.5; set bmargin 0.3; set tmargin 1.4"
    echo "set multiplot title \"One test image through $([ $who = yours ] && echo 'your' || echo "the reference's") trained CNN: the output of each conv layer (blue < 0 < red)\" font ',11'"
    th=$(awk -v n="$nrow" 'BEGIN { printf "%.4f", 0.9 / n }')
    tw=0.1125
    ih=$(awk 'END { print $1 + 1 }' "$TMP/input.dat")
    echo "set palette gray; set cbrange [0:1]; set xrange [-0.5:$ih - 0.5]; set yrange [$ih - 0.5:-0.5]"
    echo "set origin 0.02,$(awk -v t="$th" 'BEGIN { printf "%.4f", 0.92 - t }'); set size $tw,$th"
    echo "set title 'input (test image 0)' font ',9' offset 0,-0.6"
    echo "plot '$TMP/input.dat' using 2:1:3 with image"
    echo "set palette defined (-1 '#2166ac', 0 '#f7f7f7', 1 '#b2182b')"
    row=1 n=0
    for l in $layers; do
      n=$((n + 1))
      c=$(awk -v l="$l" '$1 == l && $2 + 1 > m { m = $2 + 1 } END { print m + 0 }' "$TMP/maps.dat")
      sz=$(awk -v l="$l" '$1 == l && $3 + 1 > m { m = $3 + 1 } END { print m + 0 }' "$TMP/maps.dat")
      for ch in $(seq 0 $((c - 1))); do
        f=$TMP/map.$l.$ch
        awk -v l="$l" -v c="$ch" '$1 == l && $2 == c { print $4, $3, $5 }' "$TMP/maps.dat" > "$f"
        m=$(awk '{ v = $3 < 0 ? -$3 : $3; if (v > m) m = v } END { print (m > 0 ? m : 1) }' "$f")
        r=$((row + ch / 8)) col=$((ch % 8))
        x=$(awk -v c="$col" 'BEGIN { printf "%.4f", 0.02 + c * 0.1225 }')
        y=$(awk -v r="$r" -v t="$th" 'BEGIN { printf "%.4f", 0.92 - (r + 1) * t }')
        echo "set origin $x,$y; set size $tw,$th; set cbrange [-$m:$m]"
        echo "set xrange [-0.5:$sz - 0.5]; set yrange [$sz - 0.5:-0.5]"
        echo "set title 'conv $n, map $ch' font ',9' offset 0,-0.6"
        echo "plot '$f' using 1:2:3 with image"
      done
      row=$((row + (c + 7) / 8))
    done
    echo "unset multiplot"
  } > "$TMP/maps.gp"
  plot_gnuplot feature-maps "$TMP/maps.gp"
  echo "Test image 0 (an ankle boot) and the output of each convolution layer for it, before the ReLU: each map is one filter slid over the image (or over the previous layer's maps), red where it responds positively, blue where negatively, scaled to its own largest value. The first layer's maps keep the picture and pick out its edges; the second layer's, after 2×2 max pooling, are coarser and more abstract.$([ $who = reference ] && [ $same = 0 ] && echo ' Your test wrote no feature maps: these are the reference'"'"'s.')" \
    > "$OUT/feature-maps.caption"
fi

# ------------------------------------------------------------ confusion matrix
C=$(student_csv lab07-confusion.csv) who=yours
[ -z "$C" ] && { C=$(ref_csv lab07-confusion.csv); who=reference; }
if [ -n "$C" ]; then
  numeric "$C" > "$TMP/conf.dat"
  read -r n right < <(awk '{ n += $3; if ($1 == $2) r += $3 } END { print n + 0, r + 0 }' "$TMP/conf.dat")
  ref_acc=""
  R=$(ref_csv lab07-confusion.csv)
  if [ "$who" = yours ] && [ -n "$R" ]; then
    ref_acc=$(numeric "$R" | awk '{ n += $3; if ($1 == $2) r += $3 } END { if (n) printf "%.1f", 100 * r / n }')
  fi
  max=$(awk '{ if ($3 > m) m = $3 } END { print (m > 0 ? m : 1) }' "$TMP/conf.dat")
  {
    echo "$(png 860,780); set output '$OUT/confusion.png'"
    echo "set title \"Confusion matrix on $n test images ($who): accuracy $(awk -v r="$right" -v n="$n" 'BEGIN { if (n) printf "%.1f", 100 * r / n }') %$([ -n "$ref_acc" ] && echo ", reference $ref_acc %")\" font ',12'"
    echo "set xlabel 'predicted class'; set ylabel 'true class'; unset key"
    echo "set xrange [-0.5:9.5]; set yrange [9.5:-0.5]; set size ratio -1"
    printf "set xtics rotate by -40 ("; for i in "${!CLASSES[@]}"; do printf "%s\"%s\" %d" "$([ "$i" = 0 ] || echo ', ')" "${CLASSES[$i]}" "$i"; done; echo ")"
    printf "set ytics ("; for i in "${!CLASSES[@]}"; do printf "%s\"%s\" %d" "$([ "$i" = 0 ] || echo ', ')" "${CLASSES[$i]}" "$i"; done; echo ")"
    echo "set palette defined (0 '#ffffff', 1 '#08306b'); set cbrange [0:$max]; set cblabel 'images'"
    echo "plot '$TMP/conf.dat' using 2:1:3 with image, \\"
    echo "  '' using 2:1:(\$3 > 0 && \$3 <= $max / 2 ? sprintf('%d', \$3) : '') with labels tc rgb '#222222' font ',9', \\"
    echo "  '' using 2:1:(\$3 > $max / 2 ? sprintf('%d', \$3) : '') with labels tc rgb '#ffffff' font ',9'"
  } > "$TMP/conf.gp"
  plot_gnuplot confusion "$TMP/conf.gp"
  echo "Each row is a true class, each column the class your CNN predicted; the right answers run down the diagonal. Fashion-MNIST's hard pairs show up off it: shirts, T-shirts, pullovers and coats are easily confused, trousers, bags and sandals hardly ever.$([ $who = reference ] && [ $same = 0 ] && echo ' Your test wrote no predictions: this is the reference'"'"'s matrix.')" \
    > "$OUT/confusion.caption"
fi

echo "lab07.sh: $drawn plot(s) drawn into $OUT"
exit 0
