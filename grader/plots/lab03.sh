#!/usr/bin/env bash
# Lab 3 plots: grader/plots/lab03.sh STUDENT_DIR REF_DIR OUT_DIR
#
# Reads what lab 3's test "deep network: activations by init"
# (grader/labs/lab03.c) writes into STUDENT_DIR/data/ and REF_DIR/data/:
#   lab03-deep-<act>-<init>.csv        layer,lo,hi,fraction   one histogram per hidden layer
#   lab03-deep-<act>-<init>-stats.csv  layer,mean,std,rms,zero,saturated
#   lab03-network.csv                  layer,n_in,n_out,weights,biases,params
# (act: tanh, relu; init: small = U(±0.01), large = U(±1), xavier, he) and
# draws into OUT_DIR:
#   activations-tanh.png   histograms of each hidden layer's tanh activations,
#                          a row per initialisation: yours filled blue, the
#                          reference's outlined black
#   activations-relu.png   the same for ReLU, on a log10 axis (the zeros left out)
#   layer-scale.png        the spread of the activations layer by layer, per
#                          initialisation: yours solid, the reference dashed
#   layer-scale.txt        that, as numbers, for the terminal
#   params.png, params.txt the network's parameter count, layer by layer
#   NAME.caption           a caption for NAME.png (read by report.sh)
# Where the student's data are missing (their test crashed before writing
# them) the reference is drawn alone and the caption says so; values that
# are not finite numbers are left out.
set -u
STUDENT=${1:?usage: lab03.sh STUDENT_DIR REF_DIR OUT_DIR}
REF=${2:?usage: lab03.sh STUDENT_DIR REF_DIR OUT_DIR}
OUT=${3:?usage: lab03.sh STUDENT_DIR REF_DIR OUT_DIR}
command -v gnuplot >/dev/null || { echo "lab03.sh: gnuplot not found (Debian: gnuplot-nox)"; exit 1; }
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

ACTS=(tanh relu)
INITS=(small large xavier he)
INIT_TITLES=("U(±0.01)" "U(±1)" "Xavier" "He")
INIT_PADDED=("U(±0.01)" "U(±1)   " "Xavier  " "He      ")  # for the terminal: ± is two bytes
LAYERS=6
drawn=0

plot_gnuplot() { # name, script
  if gnuplot "$2" 2> "$TMP/$1.err"; then
    drawn=$((drawn + 1))
  else
    echo "lab03.sh: gnuplot failed on $1:"; cat "$TMP/$1.err"
    rm -f "$OUT/$1.png" "$OUT/$1.caption"
  fi
}

# The numeric copies: TMP/s-<act>-<init>[-stats].dat (student), TMP/r-... (reference).
any_student=0 any_ref=0
for act in "${ACTS[@]}"; do
  for init in "${INITS[@]}"; do
    for kind in "" "-stats"; do
      f=lab03-deep-$act-$init$kind.csv
      if [ $same = 0 ] && [ -s "$STUDENT/data/$f" ]; then
        numeric "$STUDENT/data/$f" > "$TMP/s-$act-$init$kind.dat"; any_student=1
      fi
      if [ -s "$REF/data/$f" ]; then
        numeric "$REF/data/$f" > "$TMP/r-$act-$init$kind.dat"; any_ref=1
      fi
    done
  done
done
# have NAME: TMP/NAME.dat exists and holds data.
have() { [ -s "$TMP/$1.dat" ]; }

# ------------------------------------------------------------ histograms
histograms() { # act, spread column of the stats (3 std, 4 rms), its symbol
  local act=$1 col=$2 sym=$3 name=activations-$1 missing=()
  local heading xr xlabel
  if [ "$act" = tanh ]; then
    heading="tanh activations of each hidden layer of a 784-256×6-10 network"
    xr="[-1:1]"; xlabel="a"
  else
    heading="ReLU activations of each hidden layer, log10 of the positive ones"
    xr="[-10:7]"; xlabel="log10 a"
  fi
  if [ $same = 1 ]; then heading="$heading (reference)"
  elif [ $any_student = 1 ]; then heading="$heading: yours (blue) and the reference (black outline)"
  else heading="$heading (reference: your test wrote no data)"; fi
  local panels=0
  {
    echo "set terminal pngcairo size 1500,1000 font 'DejaVu Sans,9' enhanced; set encoding utf8"
    echo "set output '$OUT/$name.png'"
    echo "set border lw 0.8; set grid xtics lc rgb '#eeeeee' lt 1"
    echo "set multiplot layout 4,$LAYERS rowsfirst title \"$heading\" font ',13' margins 0.07,0.99,0.06,0.90 spacing 0.018,0.05"
    echo "set xrange $xr; set yrange [0:*]; set offsets 0, 0, graph 0.22, 0; set format y ''; set ytics scale 0.5; unset key"
    echo "set style fill solid 0.75 noborder; set boxwidth 1.0 relative"
    if [ "$act" = tanh ]; then echo "set xtics -1,1,1 scale 0.6"; else echo "set xtics -8,4,4 scale 0.6"; fi
    for i in "${!INITS[@]}"; do
      local init=${INITS[$i]} s="" r=""
      have "s-$act-$init" && s=$TMP/s-$act-$init.dat
      have "r-$act-$init" && r=$TMP/r-$act-$init.dat
      [ $any_student = 1 ] && [ -z "$s" ] && [ -n "$r" ] && missing+=("$act ${INIT_TITLES[$i]}")
      for l in $(seq 1 $LAYERS); do
        local t="" who=$s spread="" rspread=""
        [ -z "$who" ] && who=$r
        [ $i = 0 ] && t="layer $l"
        echo "set title \"$t\" font ',11' offset 0,-0.4"
        if [ $l = 1 ]; then echo "set ylabel \"${INIT_TITLES[$i]}\" font ',12' offset 1.5,0"; else echo "unset ylabel"; fi
        if [ $i = 3 ]; then echo "set xlabel '$xlabel' offset 0,0.6"; else echo "unset xlabel"; fi
        if [ -z "$who" ]; then
          echo "set label 1 'no data' at graph 0.5,0.5 center; plot NaN notitle; unset label 1"
          continue
        fi
        panels=$((panels + 1))
        # The spread of this layer, written in the corner: yours (and the reference's).
        [ -n "$s" ] && have "s-$act-$init-stats" && \
          spread=$(awk -v l="$l" -v c="$col" '$1 == l { printf "%.2g", $c }' "$TMP/s-$act-$init-stats.dat")
        have "r-$act-$init-stats" && \
          rspread=$(awk -v l="$l" -v c="$col" '$1 == l { printf "%.2g", $c }' "$TMP/r-$act-$init-stats.dat")
        local lab=""
        if [ -n "$s" ]; then lab="$sym $spread"; [ -n "$rspread" ] && lab="$lab\\nref $rspread"
        else lab="$sym $rspread"; fi
        echo "set label 2 \"$lab\" at graph 0.97,0.93 right font ',8' tc rgb '#333333'"
        local parts=()
        if [ -n "$s" ]; then
          parts+=("'$s' using ((\$1 == $l) ? (\$2 + \$3) / 2 : NaN):4:(\$3 - \$2) with boxes lc rgb '#3b7dd8'")
          [ -n "$r" ] && parts+=("'$r' using ((\$1 == $l) ? (\$2 + \$3) / 2 : NaN):4:(\$3 - \$2) with boxes fs empty lc rgb '#111111' lw 1.1")
        else
          parts+=("'$r' using ((\$1 == $l) ? (\$2 + \$3) / 2 : NaN):4:(\$3 - \$2) with boxes lc rgb '#555555'")
        fi
        local IFS=,
        echo "plot ${parts[*]}"
        unset IFS
        echo "unset label 2"
      done
    done
    echo "unset multiplot"
  } > "$TMP/$name.gp"
  [ $panels = 0 ] && { echo "lab03.sh: no $act histograms anywhere: $name.png left out"; return; }
  plot_gnuplot "$name" "$TMP/$name.gp"
  local cap
  if [ "$act" = tanh ]; then
    cap="How the tanh activations of a 784-256-256-256-256-256-256-10 network (zero biases, 200 standard-normal inputs) spread out in hidden layers 1 to 6, for four initialisations (rows). U(±0.01): each layer shrinks the signal about 11 times, and from layer 2 on every activation sits in the two middle bins: vanishing activations, and with them vanishing gradients. U(±1): most units saturate at ±1, where tanh' ≈ 0. Xavier keeps a wide, unsaturated spread in every layer; so does He, a little wider. σ is the standard deviation of each layer."
  else
    cap="The same network with ReLU, as log10 of the positive activations (ReLU zeroes about half). U(±0.01) shifts the mass about 1.2 decades down per layer (vanishing); U(±1) about 0.8 decades up (exploding: layer 6 reaches 10^5); Xavier loses a factor √2 per layer; He keeps the scale: rms is the root mean square of each layer."
  fi
  if [ $same = 1 ]; then cap="$cap Reference solution."
  elif [ $any_student = 1 ]; then cap="$cap Yours in blue, the reference's outlined in black (the same seeds: with the same draws the two coincide)."
  else cap="$cap The reference alone: your test wrote no histograms (did it crash?)."; fi
  [ $same = 0 ] && [ ${#missing[@]} -gt 0 ] && cap="$cap No data from your code for: $(IFS=,; echo "${missing[*]}" | sed 's/,/, /g')."
  echo "$cap" > "$OUT/$name.caption"
}

histograms tanh 3 σ
histograms relu 4 rms

# ------------------------------------------------------------ the spread, layer by layer
COLORS=("#d62728" "#ff7f0e" "#2ca02c" "#1f77b4")
scale_parts() { # act, column: the plot command's parts
  local act=$1 col=$2 parts=() dashed=0
  for i in "${!INITS[@]}"; do
    local init=${INITS[$i]} c=${COLORS[$i]}
    if have "s-$act-$init-stats"; then
      parts+=("'$TMP/s-$act-$init-stats.dat' using 1:(\$$col > 0 ? \$$col : NaN) with linespoints lw 2.4 pt 7 ps 0.9 lc rgb '$c' title '${INIT_TITLES[$i]}'")
      if have "r-$act-$init-stats"; then
        parts+=("'$TMP/r-$act-$init-stats.dat' using 1:(\$$col > 0 ? \$$col : NaN) with lines lw 1.6 dt (5,4) lc rgb '$c' notitle")
        dashed=1
      fi
    elif have "r-$act-$init-stats"; then
      parts+=("'$TMP/r-$act-$init-stats.dat' using 1:(\$$col > 0 ? \$$col : NaN) with linespoints lw 2 dt (5,4) pt 6 lc rgb '$c' title '${INIT_TITLES[$i]}$([ $same = 0 ] && echo ', reference')'")
    fi
  done
  [ $dashed = 1 ] && parts+=("NaN with lines lw 1.6 dt (5,4) lc rgb '#555555' title 'reference (dashed)'")
  local IFS=,
  echo "${parts[*]}"
}
tp=$(scale_parts tanh 3) rp=$(scale_parts relu 4)
if [ -n "$tp" ] || [ -n "$rp" ]; then
  {
    echo "set terminal pngcairo size 1200,520 font 'DejaVu Sans,10' enhanced; set encoding utf8"
    echo "set output '$OUT/layer-scale.png'"
    echo "set border lw 1.1; set grid lc rgb '#e5e5e5' lt 1; set logscale y; set format y '10^{%L}'"
    echo "set multiplot layout 1,2 title 'The spread of the activations, layer by layer' font ',13'"
    echo "set xrange [0.8:6.2]; set xtics 1; set xlabel 'hidden layer'; set key font ',9' samplen 2.5 spacing 1.05 box lc rgb '#cccccc' opaque"
    echo "set title 'tanh: standard deviation σ of each layer'; set ylabel 'σ'; set key bottom left"
    if [ -n "$tp" ]; then echo "plot $tp"; else echo "set label 1 'no data' at graph 0.5,0.5 center; plot NaN notitle; unset label 1"; fi
    echo "set title 'ReLU: root mean square of each layer'; set ylabel 'rms'; set key top left"
    if [ -n "$rp" ]; then echo "plot $rp"; else echo "set label 1 'no data' at graph 0.5,0.5 center; plot NaN notitle; unset label 1"; fi
    echo "unset multiplot"
  } > "$TMP/scale.gp"
  plot_gnuplot layer-scale "$TMP/scale.gp"
  cap="The spread of each hidden layer's activations under each initialisation, on a log scale: a line that falls is a signal vanishing, one that climbs a signal exploding. For tanh, Xavier (Var w = 2/(fan_in + fan_out)) keeps σ nearly level; for ReLU, He (Var w = 2/fan_in) keeps the rms level, while Xavier loses a factor √2 a layer (ReLU halves E a²)."
  if [ $same = 1 ]; then cap="$cap Reference solution."
  elif [ $any_student = 1 ]; then cap="$cap Yours solid, the reference dashed in the same colour."
  else cap="$cap The reference alone: your test wrote no data."; fi
  echo "$cap" > "$OUT/layer-scale.caption"

  # The same numbers for the terminal: layer 1 -> layer 6, yours (reference).
  {
    if [ $same = 1 ] || [ $any_student = 0 ]; then
      echo "Activation spread, layer 1 -> layer 6 (reference; σ for tanh, rms for ReLU):"
    else
      echo "Activation spread, layer 1 -> layer 6, yours [reference] (σ for tanh, rms for ReLU):"
    fi
    for act in "${ACTS[@]}"; do
      col=3; [ "$act" = relu ] && col=4
      for i in "${!INITS[@]}"; do
        init=${INITS[$i]}
        ends() { awk -v c="$col" '$1 == 1 { a = $c } $1 == 6 { b = $c } END { if (a == "" || b == "") print "(no data)"; else printf "%9.3g -> %-9.3g", a, b }' "$1"; }
        line=""
        if [ $same = 0 ] && have "s-$act-$init-stats"; then
          line=$(ends "$TMP/s-$act-$init-stats.dat")
          have "r-$act-$init-stats" && line="$line  [$(ends "$TMP/r-$act-$init-stats.dat" | sed 's/^ *//; s/ *$//')]"
        elif have "r-$act-$init-stats"; then
          line=$(ends "$TMP/r-$act-$init-stats.dat")
          [ $same = 0 ] && [ $any_student = 1 ] && line="$line  (reference: no data from you)"
        else
          line="(no data)"
        fi
        printf '  %-4s  %s  %s\n' "$act" "${INIT_PADDED[$i]}" "$line"
      done
    done
  } | sed 's/ *$//' > "$OUT/layer-scale.txt"
else
  echo "lab03.sh: no lab03-deep-*-stats.csv anywhere: layer-scale.png left out"
fi

# ------------------------------------------------------------ the parameter count
NET=""
[ $same = 0 ] && [ -s "$STUDENT/data/lab03-network.csv" ] && NET=$STUDENT/data/lab03-network.csv
[ -z "$NET" ] && [ -s "$REF/data/lab03-network.csv" ] && NET=$REF/data/lab03-network.csv
if [ -n "$NET" ]; then
  numeric "$NET" > "$TMP/net.dat"
  # One line per layer: "layer|W shape|weights + biases = params", then the total.
  awk 'function th(x,   s, o) { s = sprintf("%d", x); o = ""; while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) } return s o }
       { printf "%d|%d -> %d|W [%d, %d]|%d·%d + %d|%s\n", $1, $2, $3, $3, $2, $2, $3, $3, th($6); t += $6; w += $4; b += $5 }
       END { printf "total|||%s weights + %s biases|%s\n", th(w), th(b), th(t) }' "$TMP/net.dat" > "$TMP/rows.txt"
  {
    echo "Parameters of the 784-256-256-256-256-256-256-10 network (fan_in·fan_out weights + fan_out biases):"
    awk -F'|' 'BEGIN { printf "  %-6s %-12s %-13s %-31s %9s\n", "layer", "units", "weights", "count", "params" }
               { gsub(/·/, "*", $4); printf "  %-6s %-12s %-13s %-31s %9s\n", $1, $2, $3, $4, $5 }' "$TMP/rows.txt"
  } > "$OUT/params.txt"
  n=$(wc -l < "$TMP/rows.txt")
  {
    echo "set terminal pngcairo size 900,$((110 + 34 * (n + 1))) font 'DejaVu Sans,12' enhanced; set encoding utf8"
    echo "set output '$OUT/params.png'"
    echo "unset border; unset tics; unset key; set xrange [0:1]; set yrange [0:$((n + 1))]"
    echo "set lmargin 2; set rmargin 2; set tmargin 3.2; set bmargin 1"
    echo "set title 'Parameters of the 784-256-256-256-256-256-256-10 network' font ',14'"
    y=$n
    echo "set label 'layer' at 0.02,$y.5 font ',12:Bold'; set label 'units' at 0.12,$y.5 font ',12:Bold'"
    echo "set label 'weights' at 0.30,$y.5 font ',12:Bold'; set label 'fan\\_in·fan\\_out + biases' at 0.50,$y.5 font ',12:Bold'"
    echo "set label 'parameters' at 0.98,$y.5 right font ',12:Bold'"
    echo "set arrow from 0,$n nohead lc rgb '#888888'; set arrow from 0,1 to 1,1 nohead lc rgb '#888888'"
    echo "set arrow from 0,$n to 1,$n nohead lc rgb '#888888'"
    while IFS='|' read -r a b c d e; do
      y=$((y - 1))
      bold=""; [ "$a" = total ] && bold=":Bold"
      echo "set label \"$a\" at 0.02,$y.5 font ',12$bold'"
      echo "set label \"${b/->/→}\" at 0.12,$y.5"
      echo "set label \"$c\" at 0.30,$y.5"
      echo "set label \"$d\" at 0.50,$y.5"
      echo "set label \"$e\" at 0.98,$y.5 right font ',12$bold'"
    done < "$TMP/rows.txt"
    echo "plot NaN notitle"
  } > "$TMP/params.gp"
  plot_gnuplot params "$TMP/params.gp"
  echo "Where the parameters of the network in the histograms are: a dense layer from n_in to n_out units has an n_out × n_in weight matrix and n_out biases. The first layer, on 784 pixels, holds most of them; the biases are a rounding error. At 4 bytes a float the network takes $(awk -F'|' '$1 == "total" { gsub(/,/, "", $5); printf "%.1f", $5 * 4 / 1048576 }' "$TMP/rows.txt") MiB." \
    > "$OUT/params.caption"
else
  echo "lab03.sh: no lab03-network.csv in $STUDENT/data or $REF/data: params.png left out"
fi

echo "lab03.sh: $drawn plot(s) drawn into $OUT"
exit 0
