#!/usr/bin/env bash
# Lab 2 plots: grader/plots/lab02.sh STUDENT_DIR REF_DIR OUT_DIR
#
# Reads the curves lab 2's tests write (grader/labs/lab02.c) from
# STUDENT_DIR/data/ and REF_DIR/data/:
#   lab02-<name>.csv       x,f     each activation on [−5, 5]
#   lab02-<name>-grad.csv  x,df    its derivative
#   lab02-softmax.csv      class,logit,p_t0.5,p_t1,p_t2
#   lab02-log-softmax.csv  class,logit,logp_t0.5,logp_t1,logp_t2
# and draws into OUT_DIR:
#   activations.png   the twelve activations, yours solid over the reference dashed
#   derivatives.png   their derivatives, the same way
#   softmax.png       six logits, their softmax at temperatures ½, 1, 2, and log-softmax
#   NAME.caption      a caption for NAME.png (read by report.sh)
# A panel whose student curve is missing (the test crashed before writing
# it) shows the reference alone and says so; values that are not finite
# numbers are left out of the lines.
set -u
STUDENT=${1:?usage: lab02.sh STUDENT_DIR REF_DIR OUT_DIR}
REF=${2:?usage: lab02.sh STUDENT_DIR REF_DIR OUT_DIR}
OUT=${3:?usage: lab02.sh STUDENT_DIR REF_DIR OUT_DIR}
command -v gnuplot >/dev/null || { echo "lab02.sh: gnuplot not found (Debian: gnuplot-nox)"; exit 1; }
mkdir -p "$OUT" || exit 1
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT

same=0
if [ -d "$STUDENT" ] && [ -d "$REF" ] && [ "$(cd "$STUDENT" && pwd -P)" = "$(cd "$REF" && pwd -P)" ]; then
  same=1   # grading the reference itself: draw it once, as the reference
fi

# A CSV file without its header, blank-separated, finite numbers only.
numeric() {
  awk -F, 'NR > 1 { ok = 1; for (i = 1; i <= NF; i++) if ($i !~ /^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/) ok = 0;
                    if (ok) { for (i = 1; i <= NF; i++) printf "%s%s", $i, (i < NF ? " " : "\n") } }' "$1"
}

NAMES=(step linear sigmoid tanh relu leaky-relu elu gelu softplus softsign swish mish)
TITLES=("step" "linear" "sigmoid σ" "tanh" "ReLU" "leaky ReLU (slope 0.01)" "ELU (α = 1)" "GELU (exact)"
        "softplus" "softsign" "swish (SiLU)" "mish")
PNG_BIG="set terminal pngcairo size 1280,900 font 'DejaVu Sans,10' enhanced; set encoding utf8"
STYLE="set border lw 1.1; set grid lc rgb '#e8e8e8' lt 1; set xzeroaxis lt 1 lc rgb '#bbbbbb'; set yzeroaxis lt 1 lc rgb '#bbbbbb'"
MINE="lw 2.6 lc rgb '#1f77b4'"
REFL="lw 2 lc rgb '#222222' dt (5,4)"
drawn=0

plot_gnuplot() { # name, script
  if gnuplot "$2" 2> "$TMP/$1.err"; then
    drawn=$((drawn + 1))
  else
    echo "lab02.sh: gnuplot failed on $1:"; cat "$TMP/$1.err"
    rm -f "$OUT/$1.png" "$OUT/$1.caption"
  fi
}

# One 3 × 4 grid: suffix "" (the functions) or "-grad" (the derivatives).
grid() {
  local suffix=$1 name=$2 heading=$3 n_panels=0 missing=() any_student=0 keyed=0
  if [ $same = 0 ]; then
    for i in "${!NAMES[@]}"; do [ -s "$STUDENT/data/lab02-${NAMES[$i]}$suffix.csv" ] && any_student=1; done
    if [ $any_student = 1 ]; then heading="$heading: yours (solid blue) over the reference (dashed black)"
    else heading="$heading (reference solution: your tests wrote no curves)"; fi
  else
    heading="$heading (reference solution)"
  fi
  {
    echo "$PNG_BIG; set output '$OUT/$name.png'"
    echo "$STYLE"
    echo "set multiplot layout 3,4 rowsfirst title \"$heading\" font ',14' margins 0.05,0.98,0.06,0.90 spacing 0.06,0.09"
    echo "set xrange [-5:5]; set xtics 2.5; set mxtics 2; set key top left samplen 2 font ',9'"
    for i in "${!NAMES[@]}"; do
      local f=lab02-${NAMES[$i]}$suffix.csv s="" r="" t=${TITLES[$i]}
      [ $same = 0 ] && [ -s "$STUDENT/data/$f" ] && s=$TMP/s-$i$suffix.dat && numeric "$STUDENT/data/$f" > "$s"
      [ -s "$REF/data/$f" ] && r=$TMP/r-$i$suffix.dat && numeric "$REF/data/$f" > "$r"
      if [ $any_student = 1 ] && [ -z "$s" ] && [ -n "$r" ]; then missing+=("${TITLES[$i]}"); t="$t (no curve from you)"; fi
      echo "set title \"$t\" font ',11'"
      if [ -z "$s" ] && [ -z "$r" ]; then
        echo "unset key; set yrange [-1:1]; set label 1 'no data' at 0,0 center; plot NaN notitle; unset label 1"
        continue
      fi
      n_panels=$((n_panels + 1))
      # y range: the reference's (or the student's) with 12% margins; a wild
      # student curve stretches it by at most one reference height each way.
      local yr
      yr=$(awk -v haveR="${r:+1}" '
          FNR == 1 { file++ }
          { y = $2; if (haveR && file == 1) { if (!nr++) rlo = rhi = y; if (y < rlo) rlo = y; if (y > rhi) rhi = y }
                    else { if (!ns++) slo = shi = y; if (y < slo) slo = y; if (y > shi) shi = y } }
          END {
            if (!nr) { rlo = slo; rhi = shi }
            h = rhi - rlo; if (h < 0.5) { c = (rhi + rlo) / 2; rlo = c - 0.5; rhi = c + 0.5; h = 1 }
            lo = rlo - 0.12 * h; hi = rhi + 0.12 * h
            if (ns) { if (slo < lo) lo = (slo > rlo - h) ? slo - 0.05 * h : rlo - h; if (shi > hi) hi = (shi < rhi + h) ? shi + 0.05 * h : rhi + h }
            printf "[%.6g:%.6g]\n", lo, hi
          }' ${r:+"$r"} ${s:+"$s"})
      echo "set yrange $yr"
      # The key once, in the first panel, and wherever the reference is alone.
      if [ $keyed = 0 ] || { [ -z "$s" ] && [ $any_student = 1 ]; }; then echo "set key"; keyed=1; else echo "unset key"; fi
      local parts=()
      [ -n "$s" ] && parts+=("'$s' using 1:2 with lines $MINE title 'yours'")
      if [ -n "$r" ]; then
        if [ -n "$s" ]; then parts+=("'$r' using 1:2 with lines $REFL title 'reference'")
        else parts+=("'$r' using 1:2 with lines lw 2.6 lc rgb '#333333' title 'reference'"); fi
      fi
      local IFS=,
      echo "plot ${parts[*]}"
      unset IFS
    done
    echo "unset multiplot"
  } > "$TMP/$name.gp"
  [ $n_panels = 0 ] && { echo "lab02.sh: no lab02-*$suffix.csv curves anywhere: $name.png left out"; return; }
  plot_gnuplot "$name" "$TMP/$name.gp"
  local cap
  if [ -z "$suffix" ]; then
    cap="Each activation f(x) on [-5, 5]"
  else
    cap="Each derivative f'(x) on [-5, 5] (at the kinks of step, ReLU and leaky ReLU, the value the header fixes)"
  fi
  if [ $same = 1 ]; then cap="$cap, as the reference solution computes it."
  elif [ $any_student = 1 ]; then cap="$cap: yours solid blue, the reference dashed black. Where the two differ, the test of that function says by how much."
  else cap="$cap: the reference alone (your tests wrote no curves)."; fi
  [ $same = 0 ] && [ ${#missing[@]} -gt 0 ] && [ $any_student = 1 ] && \
    cap="$cap No curve came from your code for: $(IFS=,; echo "${missing[*]}" | sed 's/,/, /g') (did its test crash?)."
  echo "$cap" > "$OUT/$name.caption"
}

grid "" activations "Activation functions f(x)"
grid "-grad" derivatives "Derivatives f'(x) of the activations"

# ------------------------------------------------------------ softmax
sm_s="" sm_r="" ls_s="" ls_r=""
[ $same = 0 ] && [ -s "$STUDENT/data/lab02-softmax.csv" ] && sm_s=$TMP/sm-s.dat && numeric "$STUDENT/data/lab02-softmax.csv" > "$sm_s"
[ -s "$REF/data/lab02-softmax.csv" ] && sm_r=$TMP/sm-r.dat && numeric "$REF/data/lab02-softmax.csv" > "$sm_r"
[ $same = 0 ] && [ -s "$STUDENT/data/lab02-log-softmax.csv" ] && ls_s=$TMP/ls-s.dat && numeric "$STUDENT/data/lab02-log-softmax.csv" > "$ls_s"
[ -s "$REF/data/lab02-log-softmax.csv" ] && ls_r=$TMP/ls-r.dat && numeric "$REF/data/lab02-log-softmax.csv" > "$ls_r"
sm_main=${sm_s:-$sm_r} ls_main=${ls_s:-$ls_r}
if [ -n "$sm_main" ] || [ -n "$ls_main" ]; then
  logits=${sm_main:-$ls_main}
  sm_who=yours; [ -z "$sm_s" ] && sm_who=reference
  ls_who=yours; [ -z "$ls_s" ] && ls_who=reference
  {
    echo "set terminal pngcairo size 1280,480 font 'DejaVu Sans,10' enhanced; set encoding utf8"
    echo "set output '$OUT/softmax.png'"
    echo "$STYLE; unset xzeroaxis"
    echo "set multiplot layout 1,3 title 'Softmax of six logits z, at temperatures T (softmax(z / T))' font ',14' margins 0.06,0.98,0.13,0.84 spacing 0.07,0.1"
    echo "set xrange [-0.6:5.6]; set xtics 1; set xlabel 'class j'; set style fill solid 0.85 border lc rgb '#333333'"
    echo "set title 'logits z_j' font ',11'; unset key; set yrange [-2:4]; set xzeroaxis lt 1 lc rgb '#888888'"
    echo "set boxwidth 0.6; plot '$logits' using 1:2 with boxes lc rgb '#9e9ac8' notitle, '' using 1:(\$2 + (\$2 < 0 ? -0.25 : 0.25)):(sprintf('%g', \$2)) with labels notitle"
    # Grouped bars, one colour per temperature; the reference as black markers.
    echo "set title 'softmax(z / T): probabilities p_j' font ',11'; set key top left font ',9' samplen 1.5"
    echo "set yrange [0:1.0]; set ytics 0.2; set boxwidth 0.26"
    if [ -n "$sm_main" ]; then
      parts=("'$sm_main' using (\$1-0.27):3 with boxes lc rgb '#fdae6b' title 'T = ½$([ "$sm_who" = reference ] && echo ' (reference)')'"
             "'$sm_main' using 1:4 with boxes lc rgb '#e6550d' title 'T = 1'"
             "'$sm_main' using (\$1+0.27):5 with boxes lc rgb '#7f2704' title 'T = 2'")
      if [ -n "$sm_s" ] && [ -n "$sm_r" ]; then
        parts+=("'$sm_r' using (\$1-0.27):3 with points pt 6 ps 1.3 lw 1.6 lc rgb 'black' title 'reference'"
                "'$sm_r' using 1:4 with points pt 6 ps 1.3 lw 1.6 lc rgb 'black' notitle"
                "'$sm_r' using (\$1+0.27):5 with points pt 6 ps 1.3 lw 1.6 lc rgb 'black' notitle")
      fi
      (IFS=,; echo "plot ${parts[*]}")
    else
      echo "set label 1 'no softmax data' at 2.5,0.5 center; plot NaN notitle; unset label 1"
    fi
    echo "set title 'log-softmax(z / T): log p_j' font ',11'; set yrange [*:0.5]; set ytics autofreq; set key bottom left"
    if [ -n "$ls_main" ]; then
      parts=("'$ls_main' using (\$1-0.27):3 with boxes lc rgb '#bcbddc' title 'T = ½$([ "$ls_who" = reference ] && echo ' (reference)')'"
             "'$ls_main' using 1:4 with boxes lc rgb '#807dba' title 'T = 1'"
             "'$ls_main' using (\$1+0.27):5 with boxes lc rgb '#3f007d' title 'T = 2'")
      if [ -n "$ls_s" ] && [ -n "$ls_r" ]; then
        parts+=("'$ls_r' using (\$1-0.27):3 with points pt 6 ps 1.3 lw 1.6 lc rgb 'black' title 'reference'"
                "'$ls_r' using 1:4 with points pt 6 ps 1.3 lw 1.6 lc rgb 'black' notitle"
                "'$ls_r' using (\$1+0.27):5 with points pt 6 ps 1.3 lw 1.6 lc rgb 'black' notitle")
      fi
      (IFS=,; echo "plot ${parts[*]}")
    else
      echo "set yrange [-1:1]; set label 1 'no log-softmax data' at 2.5,0 center; plot NaN notitle; unset label 1"
    fi
    echo "unset multiplot"
  } > "$TMP/softmax.gp"
  plot_gnuplot softmax "$TMP/softmax.gp"
  cap="Left: six logits. Middle: their softmax at temperatures T = ½, 1 and 2 (each group of bars sums to 1; a low T sharpens the distribution towards the largest logit, a high T flattens it). Right: log-softmax of the same rows."
  if [ $same = 0 ] && [ -n "$sm_s$ls_s" ] && [ -n "$sm_r$ls_r" ]; then
    cap="$cap Bars: yours; black circles: the reference."
  elif [ $same = 0 ] && [ -z "$sm_s$ls_s" ]; then
    cap="$cap Your softmax tests wrote no data (did they crash?): the reference is drawn alone."
  fi
  echo "$cap" > "$OUT/softmax.caption"
else
  echo "lab02.sh: no softmax data in $STUDENT/data or $REF/data: softmax.png left out"
fi

echo "lab02.sh: $drawn plot(s) drawn into $OUT"
exit 0
