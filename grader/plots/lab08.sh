#!/usr/bin/env bash
# Lab 8 plots: grader/plots/lab08.sh STUDENT_DIR REF_DIR OUT_DIR
#
# Reads the measurements of the "performance report" test (grader/labs/lab08.c)
# from STUDENT_DIR/data/lab08-perf.csv and REF_DIR/data/lab08-perf.csv:
#   kernel,size,ms,rate,unit,ceiling,percent,against
# (rate in GFLOP/s or GB/s; percent of cuBLAS for the products, of the
# device's measured copy bandwidth for the memory-bound kernels) and draws
# into OUT_DIR:
#   performance.png      each kernel's share of its ceiling, yours beside the
#                        reference's, the achieved rate written on each bar
#   performance.txt      the same numbers as a table (shown in the terminal)
#   NAME.caption         captions (read by report.sh)
# On a machine without a CUDA device nothing was measured: performance.png
# then says so (and why, from the grader's notes), rather than showing bars.
set -u
STUDENT=${1:?usage: lab08.sh STUDENT_DIR REF_DIR OUT_DIR}
REF=${2:?usage: lab08.sh STUDENT_DIR REF_DIR OUT_DIR}
OUT=${3:?usage: lab08.sh STUDENT_DIR REF_DIR OUT_DIR}
command -v gnuplot >/dev/null || { echo "lab08.sh: gnuplot not found (Debian: gnuplot-nox)"; exit 1; }
mkdir -p "$OUT" || exit 1
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT

S=$STUDENT/data/lab08-perf.csv R=$REF/data/lab08-perf.csv
same=0
if [ -d "$STUDENT" ] && [ -d "$REF" ] && [ "$(cd "$STUDENT" && pwd -P)" = "$(cd "$REF" && pwd -P)" ]; then
  same=1 # grading the reference itself: one series
fi
PNG="set terminal pngcairo size 1100,640 font 'DejaVu Sans,11' enhanced; set encoding utf8"

# percent KERNEL FILE: the kernel's percent of its ceiling, or "" (missing, not a number).
percent() {
  [ -s "$2" ] || return 0
  awk -F, -v k="$1" 'NR > 1 && $1 == k && $7 ~ /^[0-9.]+$/ { print $7; exit }' "$2"
}
field() { # KERNEL FILE COLUMN
  [ -s "$2" ] || return 0
  awk -F, -v k="$1" -v c="$3" 'NR > 1 && $1 == k { print $c; exit }' "$2"
}

if [ ! -s "$S" ] && [ ! -s "$R" ]; then
  # Nothing measured: say why on the figure (the skip reason of the first test).
  why=$(awk -F'\t' '$2 == "skipped" { sub(/^skipped: /, "", $3); print $3; exit }' \
          "$STUDENT/statuses.txt" 2>/dev/null)
  why=${why:-the performance test did not run}
  why=$(printf '%s' "$why" | sed "s/'/’/g" | fold -s -w 80 | sed ':a;N;$!ba;s/\n/\\n/g')
  gnuplot <<EOF || exit 1
$PNG
set output '$OUT/performance.png'
unset border; unset tics; unset key
set xrange [0:1]; set yrange [0:1]
set label 1 "Nothing was measured" at 0.5,0.62 center font ',20'
set label 2 "$why" at 0.5,0.42 center font ',12'
plot NaN notitle
EOF
  echo "Lab 8's performance: nothing was measured on this machine ($why). Run make grade LAB=8 on a machine with a CUDA device to see your kernels' GFLOP/s and GB/s." \
    | sed 's/\\n/ /g' | tr -s ' ' > "$OUT/performance.caption"
  exit 0
fi

KERNELS=(matmul_naive matmul_tiled vec_add relu_forward relu_backward softmax_rows sum im2col)
LABELS=("matmul naive" "matmul tiled" "vector add" "ReLU fwd" "ReLU bwd" "row softmax" "sum" "im2col")
: > "$TMP/bars.dat"
{
  printf "%-14s %16s %16s\n" kernel "yours" "reference"
  for i in "${!KERNELS[@]}"; do
    k=${KERNELS[$i]}
    ps=$([ $same = 0 ] && percent "$k" "$S") pr=$(percent "$k" "$R")
    printf '"%s" %s %s %s %s\n' "${LABELS[$i]}" "${ps:-NaN}" "${pr:-NaN}" \
      "$(field "$k" "$S" 4)" "$(field "$k" "$R" 4)" >> "$TMP/bars.dat"
    rs=$(field "$k" "$S" 4) rr=$(field "$k" "$R" 4) u=$(field "$k" "$R" 5)
    [ -n "$u" ] || u=$(field "$k" "$S" 5)
    printf "%-14s %9s %-7s %9s %-7s\n" "$k" "${rs:--}" "$u" "${rr:--}" "$u"
  done
} > "$OUT/performance.txt"

if [ $same = 1 ]; then
  series="'$TMP/bars.dat' using 3:xtic(1) title 'reference' lc rgb '#555555'"
  title="Lab 8 kernels (reference): share of the ceiling"
else
  series="'$TMP/bars.dat' using 2:xtic(1) title 'yours' lc rgb '#1f77b4', '' using 3 title 'reference' lc rgb '#bbbbbb'"
  title="Lab 8 kernels: share of the ceiling, yours beside the reference"
fi
gnuplot <<EOF || { echo "lab08.sh: gnuplot failed"; rm -f "$OUT/performance.png"; exit 1; }
$PNG
set output '$OUT/performance.png'
set title "$title" font ',14'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 border -1
set boxwidth 0.9
set yrange [0:*]
set ylabel "% of the ceiling (products: cuBLAS; others: device copy bandwidth)"
set xtics rotate by -30 nomirror
set grid ytics lc rgb '#e8e8e8'
set key top right
plot $series
EOF
ceil_b=$(field "cuBLAS sgemm" "$R" 4); ceil_c=$(field "copy (cudaMemcpy)" "$R" 4)
[ -n "$ceil_b" ] || ceil_b=$(field "cuBLAS sgemm" "$S" 4)
[ -n "$ceil_c" ] || ceil_c=$(field "copy (cudaMemcpy)" "$S" 4)
echo "Each kernel's achieved rate as a share of what this GPU can do: the matrix products against cuBLAS's sgemm (${ceil_b:-?} GFLOP/s at 1024³), the memory-bound kernels against a device-to-device copy (${ceil_c:-?} GB/s). The rates are in performance.txt and in the test output. Measured on the grading machine; the tiled product is graded against the naive one on the same machine." \
  > "$OUT/performance.caption"
