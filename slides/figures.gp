# The plots of the slides: gnuplot, run in the folder where
# build/slides/figures wrote its .dat files (slides/slides.mk does
# `cd build/slides/fig && gnuplot figures.gp`). One PDF per figure; every
# number plotted comes from the reference library (slides/figures.c).

set encoding utf8
FONT = "DejaVu Sans,9"
set terminal pdfcairo enhanced color font FONT size 12cm,5cm linewidth 1.2
set border lw 0.8 lc rgb "#444444"
set grid lc rgb "#e4e4e4" lt 1 lw 0.6
set key noopaque samplen 2.2 spacing 1.1
set style line 1 lc rgb "#1f77b4" lw 2.2
set style line 2 lc rgb "#ff7f0e" lw 2.2
set style line 3 lc rgb "#2ca02c" lw 2.2
set style line 4 lc rgb "#d62728" lw 2.2
set style line 5 lc rgb "#9467bd" lw 2.2
set style line 6 lc rgb "#8c564b" lw 2.2
set style line 7 lc rgb "#555555" lw 1.6 dt (6,4)
set linetype 1 lc rgb "#1f77b4"
set linetype 2 lc rgb "#ff7f0e"
set linetype 3 lc rgb "#2ca02c"
BLUE = "#1f77b4"; ORANGE = "#ff7f0e"; GREEN = "#2ca02c"; RED = "#d62728"; PURPLE = "#9467bd"; GREY = "#555555"
zeroaxes = "set xzeroaxis lt 1 lc rgb '#aaaaaa' lw 0.7; set yzeroaxis lt 1 lc rgb '#aaaaaa' lw 0.7"
noaxes = "unset xzeroaxis; unset yzeroaxis"

# ------------------------------------------------------------ intro
load "intro-vars.gp"
set output "intro-boundary.pdf"
set terminal pdfcairo size 12cm,5.6cm
set multiplot layout 1,2
set palette defined (0 "#d6e6f5", 1 "#ffe3c8", 2 "#d5efd3")
set cbrange [0:2]; unset colorbox
set size ratio -1
set xrange [-1.2:1.2]; set yrange [-1.2:1.2]
unset grid; set tics scale 0.5 font ",7"
set title sprintf("linear classifier (softmax regression): %.0f%% right", acc_lin)
plot "intro-linear.dat" using 1:2:3 with image notitle, \
     "intro-spirals.dat" using 1:2:($3+1) with points pt 7 ps 0.22 lc variable notitle
set title sprintf("MLP 2-64-64-3, ReLU: %.0f%% right", acc_mlp)
plot "intro-mlp.dat" using 1:2:3 with image notitle, \
     "intro-spirals.dat" using 1:2:($3+1) with points pt 7 ps 0.22 lc variable notitle
unset multiplot
set size noratio; set grid; unset title; set tics scale default font FONT
set autoscale

# ------------------------------------------------------------ lab 1
set output "lab01-outputs.pdf"
set terminal pdfcairo size 11cm,4.6cm
@zeroaxes
set xrange [-6:6]; set yrange [-1.3:1.3]
set xlabel "z = w·x + b"
set key top left
plot "lab01-outputs.dat" using 1:2 with steps ls 1 title "step(z)", \
     "" using 1:3 with steps ls 2 title "sign(z)", \
     "" using 1:4 with lines ls 3 title "σ(z) = 1/(1+e^{−z})"
@noaxes; unset xlabel; set autoscale

set output "lab01-perceptron.pdf"
set terminal pdfcairo size 8.5cm,6.2cm
set xrange [-2.4:2.8]; set yrange [-2.8:4.4]
set xlabel "sepal length (standardised)"; set ylabel "sepal width (standardised)"
set key bottom left font ",7" maxrows 2 width -4
nep = system("wc -l < lab01-perceptron.dat") + 0
line(x, w1, w2, b) = -(w1 * x + b) / w2
plot "lab01-iris.dat" using 1:($3 == 0 ? $2 : 1/0) with points pt 7 ps 0.45 lc rgb BLUE title "setosa (y = 0)", \
     "" using 1:($3 == 1 ? $2 : 1/0) with points pt 5 ps 0.45 lc rgb ORANGE title "versicolor (y = 1)", \
     for [e = 1:nep] "lab01-perceptron.dat" every ::e-1::e-1 using (-2.4):(line(-2.4, $2, $3, $4)):(4.8):(line(2.4, $2, $3, $4) - line(-2.4, $2, $3, $4)) \
         with vectors nohead lw (e == nep ? 2.4 : 1.2) lc rgb (e == nep ? "#000000" : "#9a9a9a") \
         title (e == nep ? sprintf("epoch %d: no mistakes", nep) : (e == 1 ? "epochs 1, 2, ..." : ""))
unset xlabel; unset ylabel; set autoscale

set output "lab01-logistic.pdf"
set terminal pdfcairo size 10cm,4.6cm
set xlabel "gradient-descent step"; set ylabel "cross-entropy loss"
set y2label "training accuracy"; set y2tics; set ytics nomirror
set y2range [0.5:1.0]; set yrange [0:0.75]
set key center right
plot "lab01-logistic.dat" using 1:2 with lines ls 1 title "loss", \
     "" using 1:3 axes x1y2 with lines ls 2 title "accuracy"
unset y2label; unset y2tics; set ytics mirror; unset xlabel; unset ylabel; set autoscale

# ------------------------------------------------------------ lab 2
# Columns of lab02-act.dat: x, then f and f' for each nn_act in enum order.
# No key: the slides say "f solid blue, f' dashed orange".
set terminal pdfcairo size 6.4cm,3.4cm font ",8"
@zeroaxes
set xrange [-5:5]
unset key
pstyle = "with lines"
names = "step linear sigmoid tanh relu leaky-relu elu gelu softplus softsign swish mish"
do for [k = 1:12] {
    set output sprintf("lab02-%s.pdf", word(names, k))
    f = 2 * k; d = 2 * k + 1
    if (k == 2 || k == 5 || k == 6 || k == 7 || k == 9 || k == 11 || k == 12) { set yrange [-2:5] } else { set yrange [-1.3:1.3] }
    if (k == 1) { pstyle = "with steps" } else { pstyle = "with lines" }
    plot "lab02-act.dat" using 1:f @pstyle ls 1 title "f(x)", \
         "" using 1:d @pstyle ls 2 dt (5,3) title "f'(x)"
}
@noaxes; set autoscale; set key default; set key noopaque samplen 2.2 spacing 1.1

set output "lab02-vanish.pdf"
set terminal pdfcairo size 10cm,5cm font FONT
set logscale y; set format y "10^{%L}"
set xlabel "layer (1 = next to the input)"; set ylabel "‖∂L/∂W‖"
set key bottom right
plot "lab02-vanish.dat" using 1:2 with linespoints ls 1 pt 7 ps 0.5 title "sigmoid (Xavier init)", \
     "" using 1:3 with linespoints ls 2 pt 7 ps 0.5 title "tanh (Xavier init)", \
     "" using 1:4 with linespoints ls 3 pt 7 ps 0.5 title "ReLU (He init)"
unset logscale y; set format y "%g"; unset xlabel; unset ylabel

set output "lab02-softmax.pdf"
set terminal pdfcairo size 10cm,4.6cm
set style data histograms; set style histogram clustered gap 1; set style fill solid 0.85 border -1
set boxwidth 0.9
set yrange [0:0.85]; set ylabel "probability"
set xlabel "class (logits 2, 1, 0.1, −0.5, 1.5, −1)"
set key top right
plot "lab02-softmax.dat" using 3:xtic(1) lc rgb BLUE title "T = 0.5 (sharper)", \
     "" using 4 lc rgb ORANGE title "T = 1", \
     "" using 5 lc rgb GREEN title "T = 2 (flatter)"
set style data lines; unset xlabel; unset ylabel; set autoscale

# ------------------------------------------------------------ lab 3
set output "lab03-losses.pdf"
set terminal pdfcairo size 12cm,4.8cm
set multiplot layout 1,2
set xrange [0:1]; set yrange [0:5]
set xlabel "prediction p"; set key top center
set title "one example whose target is y = 1"
plot "lab03-losses.dat" using 1:2 with lines ls 1 title "BCE: −log p", \
     "" using 1:4 with lines ls 2 title "MSE: (p − 1)^2"
set title "softmax cross-entropy, 3 classes"
set xrange [-8:8]; set yrange [0:9]; set xlabel "logit of the right class (the others 0)"
plot "lab03-ce.dat" using 1:2 with lines ls 1 title "−log softmax(x)_y"
unset multiplot; unset title; unset xlabel; set autoscale

set output "lab03-init.pdf"
set terminal pdfcairo size 12cm,4.8cm
set multiplot layout 1,2
set logscale y; set format y "10^{%L}"
set xlabel "layer"; set ylabel "std of activations"
set yrange [1e-7:3]; set key bottom left font ",7"
set title "tanh, 12 layers of 256"
plot "lab03-init.dat" using 1:2 with linespoints ls 4 pt 7 ps 0.4 title "U(−0.05, 0.05)", \
     "" using 1:3 with linespoints ls 1 pt 7 ps 0.4 title "Xavier", \
     "" using 1:7 with linespoints ls 3 pt 7 ps 0.4 title "He"
set title "ReLU, 12 layers of 256"
plot "lab03-init.dat" using 1:4 with linespoints ls 4 pt 7 ps 0.4 title "U(−0.05, 0.05)", \
     "" using 1:5 with linespoints ls 1 pt 7 ps 0.4 title "Xavier", \
     "" using 1:6 with linespoints ls 3 pt 7 ps 0.4 title "He"
unset multiplot; unset title; unset logscale y; set format y "%g"; unset xlabel; unset ylabel
set autoscale; set key default; set key noopaque samplen 2.2 spacing 1.1

# ------------------------------------------------------------ lab 4
set output "lab04-gd.pdf"
set terminal pdfcairo size 12cm,4.2cm font ",8"
set multiplot layout 1,3
set xrange [-2.3:2.3]; set yrange [-0.3:5.3]; set xtics 1
set samples 200
array gd_title[3] = ["η = 0.05: too small, crawls", "η = 0.9: zig-zags in", "η = 1.1: too large, diverges"]
do for [k = 1:3] {
    set title gd_title[k]
    plot x**2 with lines lc rgb "#bbbbbb" lw 1.5 notitle, \
         "lab04-gd.dat" using (column(2*k)):(column(2*k+1)) with linespoints lc rgb RED lw 1 pt 7 ps 0.4 notitle
}
unset multiplot; unset title; set autoscale; set xtics autofreq

set output "lab04-batch.pdf"
set terminal pdfcairo size 10cm,5cm font FONT
set xlabel "epochs (passes over the 256 training points)"; set ylabel "training loss (all points)"
set yrange [0:0.8]; set key top right
plot "lab04-batch.dat" using 1:2 with lines ls 1 title "batch (256 per step), η = 0.5", \
     "" using 1:3 with lines ls 2 title "minibatch (16 per step), η = 0.1", \
     "" using 1:4 with lines ls 3 title "stochastic (1 per step), η = 0.02"
unset xlabel; unset ylabel; set autoscale

set output "lab04-fd.pdf"
set terminal pdfcairo size 10cm,5cm
set logscale xy; set format x "10^{%L}"; set format y "10^{%L}"
set xlabel "step h"; set ylabel "relative error of (f(x+h) − f(x−h)) / 2h"
set yrange [1e-14:1]; set key bottom right
plot "lab04-fd.dat" using 1:2 with lines ls 4 title "float (nn\\_sigmoid)", \
     "" using 1:3 with lines ls 1 title "double"
unset logscale; set format x "%g"; set format y "%g"; unset xlabel; unset ylabel; set autoscale

# ------------------------------------------------------------ lab 5
# Contours of the valley f(x, y) = ½x² + 10y² the trajectories run on.
set table "lab05-contours.dat"
set view map; unset surface; set contour base
set cntrparam levels discrete 0.1, 0.4, 1, 2, 4, 7, 10, 14
set isosamples 120, 120
splot [-5:5] [-1.2:1.2] 0.5 * x**2 + 10 * y**2
unset table
unset contour; set surface
set output "lab05-trajectories.pdf"
set terminal pdfcairo size 12.5cm,6cm font ",8"
set multiplot layout 1,2
set xrange [-5:1]; set yrange [-1:1]
set key below font ",7" maxrows 2
set title "momentum: averaging the gradients"
plot "lab05-contours.dat" with lines lc rgb "#d0d0d0" lw 0.8 notitle, \
     "lab05-sgd.dat" with linespoints ls 7 pt 7 ps 0.3 title "SGD, η = 0.09", \
     "lab05-momentum.dat" with linespoints ls 1 lw 1.4 pt 7 ps 0.3 title "momentum, η = 0.02, μ = 0.9", \
     "lab05-nesterov.dat" with linespoints ls 2 lw 1.4 pt 7 ps 0.3 title "Nesterov, η = 0.02, μ = 0.9"
set title "adaptive: one step size per parameter"
plot "lab05-contours.dat" with lines lc rgb "#d0d0d0" lw 0.8 notitle, \
     "lab05-adagrad.dat" with linespoints ls 3 lw 1.4 pt 7 ps 0.3 title "AdaGrad, η = 1", \
     "lab05-rmsprop.dat" with linespoints ls 5 lw 1.4 pt 7 ps 0.3 title "RMSProp, η = 0.1", \
     "lab05-adam.dat" with linespoints ls 4 lw 1.4 pt 7 ps 0.3 title "Adam, η = 0.15"
unset multiplot; unset title; set autoscale; set key default; set key noopaque samplen 2.2 spacing 1.1

set output "lab05-schedules.pdf"
set terminal pdfcairo size 10cm,4.6cm font FONT
set xlabel "epoch"; set ylabel "learning rate"; set yrange [0:0.11]
set key below maxrows 2
plot "lab05-schedules.dat" using 1:2 with steps ls 1 title "step: ×0.3 every 10", \
     "" using 1:3 with lines ls 2 title "exponential: ×0.9 per epoch", \
     "" using 1:4 with lines ls 3 title "cosine over 30 epochs", \
     "" using 1:5 with lines ls 4 title "linear warm-up, 5 steps"
unset xlabel; unset ylabel; set autoscale; set key default; set key noopaque samplen 2.2 spacing 1.1

set output "lab05-curves.pdf"
set terminal pdfcairo size 10cm,5cm
set xlabel "epoch"; set ylabel "training loss"; set yrange [0:1.7]
set key top right maxrows 3 font ",8"
plot "lab05-curves.dat" using 1:2 with lines ls 7 title "SGD, η = 0.1", \
     "" using 1:3 with lines ls 1 title "momentum, η = 0.05", \
     "" using 1:4 with lines ls 3 title "AdaGrad, η = 0.05", \
     "" using 1:5 with lines ls 5 title "RMSProp, η = 0.003", \
     "" using 1:6 with lines ls 4 title "Adam, η = 0.01"
unset xlabel; unset ylabel; set autoscale

# ------------------------------------------------------------ lab 6
load "lab06-vars.gp"
set output "lab06-overfit.pdf"
set terminal pdfcairo size 11cm,5.6cm
set xlabel "epoch"; set ylabel "loss"; set yrange [0:1.3]
set key below maxrows 2 font ",8"
set arrow 1 from best_epoch, 0 to best_epoch, 1.3 nohead lc rgb GREY dt (3,3)
set label 1 sprintf("← early stopping keeps epoch %d", best_epoch) at best_epoch + 3, 1.2 font ",8"
plot "lab06-overfit.dat" using 1:2 with lines ls 1 lw 1.5 title "train, no regularisation", \
     "" using 1:3 with lines ls 4 lw 1.5 title "validation, no regularisation", \
     "" using 1:4 with lines ls 1 lw 1.5 dt (4,3) title "train, dropout 0.5 + L2", \
     "" using 1:5 with lines ls 4 lw 1.5 dt (4,3) title "validation, dropout 0.5 + L2"
unset arrow 1; unset label 1; unset xlabel; unset ylabel; set autoscale
set key default; set key noopaque samplen 2.2 spacing 1.1

set output "lab06-boundary.pdf"
set terminal pdfcairo size 12cm,5.4cm
set multiplot layout 1,2
set palette defined (0 "#d6e6f5", 1 "#ffe3c8"); set cbrange [0:1]; unset colorbox
set size ratio -1; unset grid; set tics scale 0.5 font ",7"
set xrange [-2:2.8]; set yrange [-1.6:2]
set title "no regularisation: fits the noise"
plot "lab06-plain.dat" using 1:2:3 with image notitle, \
     "lab06-train.dat" using 1:2:($3+1) with points pt 7 ps 0.5 lc variable notitle
set title "dropout 0.5 + L2 (λ = 10^{−3})"
plot "lab06-reg.dat" using 1:2:3 with image notitle, \
     "lab06-train.dat" using 1:2:($3+1) with points pt 7 ps 0.5 lc variable notitle
unset multiplot; set size noratio; set grid; unset title; set tics scale default font FONT; set autoscale

set output "lab06-bn.pdf"
set terminal pdfcairo size 12cm,4.8cm
set multiplot layout 1,2
set size ratio -1
set title "input: features on different scales"
set xlabel "feature 1"; set ylabel "feature 2"
set xrange [-4:16]; set yrange [-6:3]
@zeroaxes
plot "lab06-bn.dat" using 1:2 with points pt 7 ps 0.3 lc rgb BLUE notitle
set title "after batch norm (γ = 1, β = 0)"
set xrange [-4:4]; set yrange [-4:4]
plot "lab06-bn.dat" using 3:4 with points pt 7 ps 0.3 lc rgb ORANGE notitle
unset multiplot; set size noratio; unset title; unset xlabel; unset ylabel; @noaxes; set autoscale

set output "lab06-augment.pdf"
set terminal pdfcairo size 12cm,3.6cm font ",8"
set multiplot layout 1,4
unset key; unset tics; unset border; unset grid
set size ratio -1
set palette gray negative; set cbrange [0:1]; unset colorbox
set xrange [-0.5:111.5]; set yrange [111.5:-0.5]   # 28 × 28 pictures, drawn 4 × 4 per pixel
array aug_title[4] = ["original", "mirrored", "shifted by (−2, 3)", "noise, σ = 0.2"]
do for [k = 0:3] {
    set title aug_title[k + 1]
    plot sprintf("lab06-aug%d.dat", k) matrix with image
}
unset multiplot

# ------------------------------------------------------------ lab 7
set output "lab07-conv.pdf"
set terminal pdfcairo size 13cm,4cm font ",8"
set multiplot layout 1,4
set title "input, 28×28"
set palette gray negative; set cbrange [0:1]
plot "lab07-in.dat" matrix with image
set palette positive defined (-1 "#b2182b", 0 "#ffffff", 1 "#2166ac"); set cbrange [-3:3]
set title "vertical edges"
plot "lab07-edge-x.dat" matrix with image
set title "horizontal edges"
plot "lab07-edge-y.dat" matrix with image
set title "ReLU + max pool 2×2"
set cbrange [-3:3]
plot "lab07-pool-x.dat" matrix with image
unset multiplot
set border; set tics; set grid; set key; set size noratio; unset title; set autoscale

# ------------------------------------------------------------ lab 8
set output "lab08-roofline.pdf"
set terminal pdfcairo size 11cm,5.6cm font FONT
set logscale xy; set format x "10^{%L}"; set format y "10^{%L}"
set xlabel "arithmetic intensity (FLOP per byte moved from memory)"
set ylabel "attainable FLOP/s"
set xrange [0.01:1000]; set yrange [1e9:5e14]
set key bottom right
plot "lab08-roofline.dat" using 1:2 with lines ls 4 title "GPU: 60 TFLOP/s, 4 TB/s", \
     "" using 1:3 with lines ls 1 title "CPU: 1.5 TFLOP/s, 100 GB/s", \
     "lab08-kernels.dat" using 1:2 with points pt 7 ps 0.6 lc rgb "#000000" notitle, \
     "" using 4:5:3 with labels font ",7" notitle
