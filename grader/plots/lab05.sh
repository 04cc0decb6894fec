#!/usr/bin/env bash
# Lab 5 plots: grader/plots/lab05.sh STUDENT_DIR REF_DIR OUT_DIR
#
# Reads the logs lab 5's tests write (grader/labs/lab05.c) from
# STUDENT_DIR/data/ and REF_DIR/data/:
#   lab05-traj-<surface>.csv  step,sgd_x,sgd_y,momentum_x,...,adamw_y  (rosenbrock, beale, saddle)
#   lab05-mlp.csv             step,sgd,momentum,...,adamw   full-batch loss of one MLP
#   lab05-sched-<name>.csv    t,lr   (step, exponential, cosine, warmup)
# and draws into OUT_DIR:
#   trajectories-<surface>.png  every optimizer's path over the surface's contours
#   mlp-loss.png                the eight loss curves on one chart (+ mlp-loss.txt, ASCII)
#   schedules.png               the four learning-rate schedules
#   trajectories.gif            with NNLAB_DEMO=1 only (make demo LAB=5): the three
#                               surfaces animated, for a lecture hall (slow to draw)
#   NAME.caption                a caption for NAME.png (read by report.sh)
# The student's curves are solid and coloured, the reference's dashed. A
# missing student log (the test crashed) leaves the reference drawn alone;
# a value that is not a finite number breaks its line.
set -u
STUDENT=${1:?usage: lab05.sh STUDENT_DIR REF_DIR OUT_DIR}
REF=${2:?usage: lab05.sh STUDENT_DIR REF_DIR OUT_DIR}
OUT=${3:?usage: lab05.sh STUDENT_DIR REF_DIR OUT_DIR}
command -v gnuplot >/dev/null || { echo "lab05.sh: gnuplot not found (Debian: gnuplot-nox)"; exit 1; }
mkdir -p "$OUT" || exit 1
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT

same=0
if [ -d "$STUDENT" ] && [ -d "$REF" ] && [ "$(cd "$STUDENT" && pwd -P)" = "$(cd "$REF" && pwd -P)" ]; then
  same=1   # grading the reference itself: draw it once, as the reference
fi
student_csv() { [ $same = 0 ] && [ -s "$STUDENT/data/$1" ] && echo "$STUDENT/data/$1"; }
ref_csv() { [ -s "$REF/data/$1" ] && echo "$REF/data/$1"; }

# A CSV file without its header, blank-separated; a field that is not a
# finite number becomes NaN (gnuplot leaves it out and breaks the line
# there), so a student's NaN or inf cannot upset the plot.
numeric() {
  awk -F, 'NR > 1 { for (i = 1; i <= NF; i++) {
                      v = $i; if (v !~ /^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/) v = "NaN"
                      printf "%s%s", v, (i < NF ? " " : "\n") } }' "$1"
}

OPTS=(sgd momentum nesterov adagrad rmsprop adadelta adam adamw)
LABELS=("SGD" "momentum" "Nesterov" "AdaGrad" "RMSProp" "AdaDelta" "Adam" "AdamW")
COLORS=("#444444" "#1f77b4" "#17becf" "#2ca02c" "#ff7f0e" "#8c564b" "#d62728" "#e377c2")

png() { echo "set terminal pngcairo size $1 font 'DejaVu Sans,10' enhanced; set encoding utf8"; }
STYLE="set border lw 1.1; set grid lc rgb '#e8e8e8' lt 1"
drawn=0

plot_gnuplot() { # name, script, [extension]
  if gnuplot "$2" 2> "$TMP/$1.err"; then
    drawn=$((drawn + 1))
  else
    echo "lab05.sh: gnuplot failed on $1:"; cat "$TMP/$1.err"
    rm -f "$OUT/$1.${3:-png}" "$OUT/$1.caption" "$OUT/$1.txt"
  fi
}

# ------------------------------------------------------------ the surfaces
# name | gnuplot f(x,y) | x range | y range | contour levels | background (log10 or plain) |
# marked point (x y) | its name | PNG size | title
SURFACES=(
  "rosenbrock|(1-x)**2 + 100*(y-x**2)**2|-1.6:1.5|-0.4:1.8|0.25,1,4,16,64,256|log|1 1|minimum|960,720|Rosenbrock (1 − x)² + 100 (y − x²)², from (−1.2, 1), 1000 steps"
  "beale|(1.5-x+x*y)**2 + (2.25-x+x*y**2)**2 + (2.625-x+x*y**3)**2|0:4|-0.5:1.8|0.03,0.1,0.3,1,3,10,30,100|log|3 0.5|minimum|980,620|Beale's function, from (1, 1.5), 1000 steps"
  "saddle|0.5*(x**2-y**2)|-1.5:1.5|-0.6:2.3|-2,-1.5,-1,-0.5,-0.125,0.125,0.5,1|plain|0 0|saddle point|900,800|Saddle ½ (x² − y²), from (1, 0.001), ≤ 200 steps (a path stops once |y| > 2)"
)

# The background and contour files of one surface, into $TMP/<name>-bg.dat
# and $TMP/<name>-cont.dat; shared by the PNG and the GIF.
prepare_surface() { # name f xr yr levels scale
  local name=$1 f=$2 xr=$3 yr=$4 levels=$5 scale=$6 z
  if [ "$scale" = log ]; then z="log10(f(x,y) + 0.01)"; else z="f(x,y)"; fi
  cat > "$TMP/$name-prep.gp" <<EOF
f(x,y) = $f
set xrange [$xr]; set yrange [$yr]
set isosamples 160,160; set samples 160,160
set table '$TMP/$name-bg.dat'
splot $z
unset table
set contour base; unset surface; set view map
set cntrparam levels discrete $levels
set table '$TMP/$name-cont.dat'
splot f(x,y)
unset table
EOF
  gnuplot "$TMP/$name-prep.gp" 2> "$TMP/$name-prep.err"
}

# The plot commands for the background and contours of a surface.
surface_layers() { # name scale
  local pal
  if [ "$2" = log ]; then pal="set palette defined (0 '#fbfbff', 1 '#dbe4f3', 2 '#b9c9e6', 3 '#93a8d3')"
  else pal="set palette defined (0 '#eaa983', 1 '#ffffff', 2 '#8fb0da'); set cbrange [-2.7:2.7]"; fi
  echo "$pal; unset colorbox"
  printf "plot '%s' using 1:2:3 with image notitle, '%s' using 1:2 with lines lw 0.8 lc rgb '#8090b0' notitle" \
    "$TMP/$1-bg.dat" "$TMP/$1-cont.dat"
}

declare -A SURF_MAIN SURF_STEPS
for spec in "${SURFACES[@]}"; do
  IFS='|' read -r name f xr yr levels scale mark mark_name size title <<<"$spec"
  file=lab05-traj-$name.csv
  S=$(student_csv "$file") R=$(ref_csv "$file")
  [ -n "$S" ] || [ -n "$R" ] || { echo "lab05.sh: no $file in $STUDENT/data or $REF/data: trajectories-$name.png left out"; continue; }
  main=${S:-$R}
  numeric "$main" > "$TMP/$name-main.dat"
  [ -n "$S" ] && [ -n "$R" ] && numeric "$R" > "$TMP/$name-ref.dat"
  SURF_MAIN[$name]=$TMP/$name-main.dat
  SURF_STEPS[$name]=$(awk 'END { print $1 + 0 }' "$TMP/$name-main.dat")
  prepare_surface "$name" "$f" "$xr" "$yr" "$levels" "$scale" || { echo "lab05.sh: cannot draw the $name surface:"; cat "$TMP/$name-prep.err"; continue; }
  who=""; [ -z "$S" ] && who=" (reference)"
  {
    echo "$(png "$size"); set output '$OUT/trajectories-$name.png'"
    echo "set border lw 1.1; set title \"$title$who\" font ',12'"
    echo "set xrange [$xr]; set yrange [$yr]; set xlabel 'x'; set ylabel 'y'; set size ratio -1"
    echo "set key outside right top box lc rgb '#bbbbbb' samplen 2.5 spacing 1.2"
    surface_layers "$name" "$scale"
    if [ -f "$TMP/$name-ref.dat" ]; then
      for o in "${!OPTS[@]}"; do
        printf ", '%s' using %d:%d with lines lw 1.6 dt (4,3) lc rgb '#222222' notitle" "$TMP/$name-ref.dat" $((2 + 2 * o)) $((3 + 2 * o))
      done
    fi
    for o in "${!OPTS[@]}"; do
      printf ", '%s' using %d:%d with lines lw 2.2 lc rgb '%s' title '%s'" "$TMP/$name-main.dat" $((2 + 2 * o)) $((3 + 2 * o)) "${COLORS[$o]}" "${LABELS[$o]}"
    done
    [ -f "$TMP/$name-ref.dat" ] && printf ", NaN with lines lw 1.6 dt (4,3) lc rgb '#222222' title 'reference'"
    # the end of every path, and the start and the minimum
    for o in "${!OPTS[@]}"; do
      printf ", '%s' every ::%d::%d using %d:%d with points pt 7 ps 1.1 lc rgb '%s' notitle" "$TMP/$name-main.dat" \
        "${SURF_STEPS[$name]}" "${SURF_STEPS[$name]}" $((2 + 2 * o)) $((3 + 2 * o)) "${COLORS[$o]}"
    done
    printf ", '%s' every ::0::0 using 2:3 with points pt 5 ps 1.4 lc rgb 'black' title 'start'" "$TMP/$name-main.dat"
    printf ", '+' using (%s):(%s) every ::0::0 with points pt 3 ps 2.5 lw 2 lc rgb 'black' title '%s'" "${mark% *}" "${mark#* }" "$mark_name"
    echo
  } > "$TMP/traj-$name.gp"
  plot_gnuplot "trajectories-$name" "$TMP/traj-$name.gp"
  case $name in
    rosenbrock) cap="Rosenbrock's banana valley: the gradient points mostly across the curved valley, not along it. Plain gradient descent (grey) and AdaGrad crawl; momentum and Nesterov overshoot and then coast along the floor; RMSProp, Adam and AdamW take steps of about lr in every direction and run down the valley towards the minimum (+) at (1, 1). AdamW's weight decay pulls it slightly towards 0." ;;
    beale) cap="Beale's function, flat plateaus and steep walls, minimum (+) at (3, ½). The adaptive methods (AdaGrad, RMSProp, AdaDelta, Adam) rescale the tiny gradients of the plateau and reach the minimum; SGD and momentum at rates stable on the walls are still on their way." ;;
    saddle) cap="The saddle ½ (x² − y²) from (1, 0.001), just off the ridge: the gradient along y starts at 0.001. Plain gradient descent and momentum first slide down to the saddle point (0, 0) and leave it only as y grows geometrically; the adaptive methods divide the tiny y-gradient by its own size and leave at once." ;;
  esac
  if [ $same = 0 ] && [ -n "$S" ] && [ -n "$R" ]; then cap="$cap Solid colours: yours; dashed black: the reference (hidden under yours where they agree)."
  elif [ $same = 0 ] && [ -z "$S" ]; then cap="$cap Your test wrote no paths (did it crash?): the reference is drawn alone."; fi
  [ -s "$OUT/trajectories-$name.png" ] && echo "$cap" > "$OUT/trajectories-$name.caption"
done

# ------------------------------------------------------------ the MLP
S=$(student_csv lab05-mlp.csv) R=$(ref_csv lab05-mlp.csv)
if [ -n "$S" ] || [ -n "$R" ]; then
  main=${S:-$R}
  numeric "$main" > "$TMP/mlp.dat"
  both=0
  if [ -n "$S" ] && [ -n "$R" ]; then numeric "$R" > "$TMP/mlp-ref.dat"; both=1; fi
  # y range from the reference (or the main run), a wild student curve clipped.
  ytop=$(awk '{ for (i = 2; i <= NF; i++) if ($i != "NaN" && $i > m) m = $i } END { printf "%.3g", (m > 0 ? m * 1.08 : 1.5) }' \
           "$([ $both = 1 ] && echo "$TMP/mlp-ref.dat" || echo "$TMP/mlp.dat")")
  {
    echo "$(png 980,600); set output '$OUT/mlp-loss.png'"
    echo "$STYLE"
    echo "set title \"One MLP (2-32-32-3, ReLU) on three spirals, 300 full-batch steps per optimizer$([ -z "$S" ] && echo ' (reference)')\" font ',12'"
    echo "set xlabel 'step'; set ylabel 'cross-entropy loss'; set xrange [0:*]; set yrange [0:$ytop]"
    echo "set key outside right top box lc rgb '#bbbbbb' samplen 2.5 spacing 1.2"
    # the reference underneath, yours on top: where they agree only yours shows
    printf "plot NaN notitle"
    if [ $both = 1 ]; then
      for o in "${!OPTS[@]}"; do
        printf ", '%s' using 1:%d with lines lw 1.6 dt (4,3) lc rgb '#222222' notitle" "$TMP/mlp-ref.dat" $((2 + o))
      done
    fi
    for o in "${!OPTS[@]}"; do
      printf ", "
      printf "'%s' using 1:%d with lines lw 2.4 lc rgb '%s' title '%s'" "$TMP/mlp.dat" $((2 + o)) "${COLORS[$o]}" "${LABELS[$o]}"
    done
    [ $both = 1 ] && printf ", NaN with lines lw 1.6 dt (4,3) lc rgb '#222222' title 'reference'"
    echo
    echo "set terminal dumb size 72,20; set output '$OUT/mlp-loss.txt'; unset grid"
    echo "set title 'MLP loss per step ($([ -n "$S" ] && echo yours || echo reference))'"
    echo "unset ylabel; set key inside top right; set ytics 0.25"
    echo "plot '$TMP/mlp.dat' using 1:2 with lines title 'sgd', '' using 1:3 with lines title 'momentum', '' using 1:8 with lines title 'adam'"
  } > "$TMP/mlp.gp"
  plot_gnuplot mlp-loss "$TMP/mlp.gp"
  cap="The same network from the same initial weights, trained by each optimizer at its usual learning rate (SGD 0.5, momentum, Nesterov and AdaGrad 0.1, RMSProp 0.005, AdaDelta 1, Adam and AdamW 0.01). The loss starts near ln 3 ≈ 1.1 for everyone."
  if [ $both = 1 ]; then cap="$cap Solid colours: yours; dashed black: the reference."
  elif [ $same = 0 ] && [ -z "$S" ]; then cap="$cap Your test wrote no losses (did it crash?): the reference is drawn alone."; fi
  [ -s "$OUT/mlp-loss.png" ] && echo "$cap" > "$OUT/mlp-loss.caption"
else
  echo "lab05.sh: no lab05-mlp.csv in $STUDENT/data or $REF/data: mlp-loss.png left out"
fi

# ------------------------------------------------------------ the schedules
SCHEDS=(step exponential cosine warmup)
SLABELS=("step decay (×½ every 10)" "exponential (×0.95 per epoch)" "cosine (T = 40, lr_{min} = 0.005)" "linear warm-up (10 steps)")
SCOLORS=("#1f77b4" "#2ca02c" "#d62728" "#9467bd")
parts=() any=0 any_student=0 missing=()
for i in "${!SCHEDS[@]}"; do
  n=${SCHEDS[$i]} file=lab05-sched-${SCHEDS[$i]}.csv
  S=$(student_csv "$file") R=$(ref_csv "$file")
  [ -n "$S" ] && { numeric "$S" > "$TMP/sched-$n.dat"; any_student=1; }
  [ -n "$R" ] && numeric "$R" > "$TMP/sched-$n-ref.dat"
  if [ -n "$S" ]; then
    parts+=("'$TMP/sched-$n.dat' using 1:2 with linespoints lw 2.4 pt 7 ps 0.55 lc rgb '${SCOLORS[$i]}' title '${SLABELS[$i]}'")
    [ -n "$R" ] && parts+=("'$TMP/sched-$n-ref.dat' using 1:2 with lines lw 1.6 dt (4,3) lc rgb '#222222' $([ $any = 0 ] && echo "title 'reference (dashed)'" || echo notitle)")
    any=1
  elif [ -n "$R" ]; then
    [ $same = 0 ] && missing+=("$n")
    parts+=("'$TMP/sched-$n-ref.dat' using 1:2 with linespoints lw 2.4 pt 7 ps 0.55 lc rgb '${SCOLORS[$i]}' title '${SLABELS[$i]}$([ $same = 0 ] && echo ' (reference)')'")
  fi
done
if [ ${#parts[@]} -gt 0 ]; then
  {
    echo "$(png 980,520); set output '$OUT/schedules.png'"
    echo "$STYLE"
    echo "set title 'Learning-rate schedules, lr0 = 0.1' font ',12'"
    echo "set xlabel 'epoch (or step) t'; set ylabel 'learning rate'; set xrange [0:50]; set yrange [0:0.11]"
    echo "set key top right box lc rgb '#bbbbbb' opaque samplen 2.5 spacing 1.2"
    (IFS=,; echo "plot ${parts[*]}")
  } > "$TMP/sched.gp"
  plot_gnuplot schedules "$TMP/sched.gp"
  cap="Step decay holds the rate for step_size epochs at a time; exponential decay shrinks it a little every epoch; cosine annealing follows half a cosine from lr0 down to lr_min at t = T, flat at both ends; warm-up ramps the rate up linearly over the first steps (lr0 (t + 1)/warmup), then holds lr0."
  if [ $same = 0 ] && [ $any_student = 1 ]; then cap="$cap Coloured: yours; dashed black: the reference."; fi
  [ ${#missing[@]} -gt 0 ] && [ $any_student = 1 ] && cap="$cap No curve came from your code for: ${missing[*]} (did its test crash?)."
  [ -s "$OUT/schedules.png" ] && echo "$cap" > "$OUT/schedules.caption"
else
  echo "lab05.sh: no lab05-sched-*.csv in $STUDENT/data or $REF/data: schedules.png left out"
fi

# ------------------------------------------------------------ the animation (make demo LAB=5)
# Three panels side by side; frame k shows every path up to the fraction
# k/FRAMES of its run, with a dot at the current position. Drawn only in
# demo mode: it takes several seconds.
if [ "${NNLAB_DEMO:-0}" = 1 ]; then
  FRAMES=60
  have=()
  for spec in "${SURFACES[@]}"; do
    IFS='|' read -r name _ <<<"$spec"
    [ -n "${SURF_MAIN[$name]:-}" ] && [ -s "$TMP/$name-bg.dat" ] && have+=("$spec")
  done
  if [ ${#have[@]} -gt 0 ]; then
    {
      echo "set terminal gif animate delay 8 loop 0 optimize size $((560 * ${#have[@]})),560 font 'DejaVuSans,10'"
      echo "set output '$OUT/trajectories.gif'; set encoding utf8"
      echo "do for [k=0:$FRAMES] {"
      echo "  set multiplot layout 1,${#have[@]} title sprintf('Optimizers on three test surfaces   (%d%% of each run)', k * 100 / $FRAMES) font ',13'"
      for spec in "${have[@]}"; do
        IFS='|' read -r name f xr yr levels scale _ <<<"$spec"
        n=${SURF_STEPS[$name]}
        echo "  K = int(k * $n / $FRAMES)"
        echo "  set title '${name^}' font ',12'; set xrange [$xr]; set yrange [$yr]; set size ratio -1"
        echo "  set key top right opaque font ',9' samplen 1.5 spacing 0.9"
        [ "$name" = "${have[0]%%|*}" ] || echo "  unset key"
        # a few flat colours in the background keep the GIF small
        printf "  %s" "$(surface_layers "$name" "$scale" | sed '1s/$/; set palette maxcolors 8/')"
        for o in "${!OPTS[@]}"; do
          printf ", '%s' every ::0::K using %d:%d with lines lw 2.2 lc rgb '%s' title '%s'" "${SURF_MAIN[$name]}" $((2 + 2 * o)) $((3 + 2 * o)) "${COLORS[$o]}" "${LABELS[$o]}"
          printf ", '%s' every ::K::K using %d:%d with points pt 7 ps 1.3 lc rgb '%s' notitle" "${SURF_MAIN[$name]}" $((2 + 2 * o)) $((3 + 2 * o)) "${COLORS[$o]}"
        done
        echo
      done
      echo "  unset multiplot"
      echo "}"
    } > "$TMP/anim.gp"
    plot_gnuplot trajectories "$TMP/anim.gp" gif
    [ -s "$OUT/trajectories.gif" ] && echo "lab05.sh: trajectories.gif drawn ($FRAMES frames)"
  fi
fi

echo "lab05.sh: $drawn plot(s) drawn into $OUT"
exit 0
