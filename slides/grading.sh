#!/usr/bin/env bash
# The "how it is graded" table of a lab deck, from the grader's own tables.
#
#   slides/grading.sh NN > build/slides/gen/labNN-grading.tex
#
# Reads the public tests of grader/labs/labNN.c (name and points of every
# entry of gr_public_tests[]) and counts those of grader/hidden/labNN.c
# (gr_hidden_tests[]: how many and how many points, never their names), and
# writes a LaTeX fragment: the public tests in two columns (continued on
# further slides of an allowframebreaks frame when there are many), then a
# line with the totals. The decks \input it, so the points on the slides
# are always those the grader gives.
set -u
NN=${1:?usage: slides/grading.sh NN}
ROOT=$(cd "$(dirname "$0")/.." && pwd) || exit 1
PUB=$ROOT/grader/labs/lab$NN.c
HID=$ROOT/grader/hidden/lab$NN.c

if [ ! -f "$PUB" ]; then
  printf '%s\n' "The tests of lab $((10#$NN)) are not in this tree yet (\\texttt{grader/labs/lab$NN.c})."
  exit 0
fi

# entries FILE TABLE: "points<TAB>name" for each entry of TABLE in FILE.
entries() {
  perl -0777 -ne '
    s{/\*.*?\*/}{}gs; s{//[^\n]*}{}g;             # comments out
    my $t = $ARGV[0];
    if (/\b\Q'"$2"'\E\s*\[\s*\]\s*=\s*\{(.*?)\n\s*\}\s*;/s) {
      my $body = $1;
      while ($body =~ /\{\s*"((?:[^"\\]|\\.)*)"\s*,\s*(\d+)\s*,/g) { print "$2\t$1\n"; }
    }' "$1"
}

# LaTeX-safe text: escape the special characters, spell out the usual
# Greek letters and symbols, and replace anything else beyond ASCII.
latex() {
  perl -CSD -pe '
    s/\\"/"/g; s/\\\\/\\/g;                        # C string escapes
    s/([\\{}])/\\char`\\$1\{\}/g;                    # \ { } as characters
    s/([&%#_\$])/\\$1/g;
    s/\^/\\textasciicircum{}/g; s/~/\\textasciitilde{}/g;
    s/\|/\\textbar{}/g; s/</\\textless{}/g; s/>/\\textgreater{}/g;
    my %m = ("σ"=>"\\ensuremath{\\sigma}", "α"=>"\\ensuremath{\\alpha}", "β"=>"\\ensuremath{\\beta}",
             "γ"=>"\\ensuremath{\\gamma}", "ε"=>"\\ensuremath{\\varepsilon}", "η"=>"\\ensuremath{\\eta}",
             "λ"=>"\\ensuremath{\\lambda}", "μ"=>"\\ensuremath{\\mu}", "ρ"=>"\\ensuremath{\\rho}",
             "×"=>"\\ensuremath{\\times}", "·"=>"\\ensuremath{\\cdot}", "±"=>"\\ensuremath{\\pm}",
             "≤"=>"\\ensuremath{\\le}", "≥"=>"\\ensuremath{\\ge}", "→"=>"\\ensuremath{\\to}",
             "−"=>"-", "–"=>"--", "—"=>"---", "’"=>"'"'"'", "…"=>"\\ldots{}", "²"=>"\\textsuperscript{2}");
    s/([^\x00-\x7f])/exists $m{$1} ? $m{$1} : "?"/ge;'
}

mapfile -t PUBLIC < <(entries "$PUB" gr_public_tests)
HIDDEN=()
[ -f "$HID" ] && mapfile -t HIDDEN < <(entries "$HID" gr_hidden_tests)

n_pub=${#PUBLIC[@]} p_pub=0
for e in "${PUBLIC[@]}"; do p_pub=$((p_pub + ${e%%$'\t'*})); done
n_hid=${#HIDDEN[@]} p_hid=0
for e in "${HIDDEN[@]}"; do p_hid=$((p_hid + ${e%%$'\t'*})); done

if [ "$n_pub" = 0 ]; then
  printf '%s\n' "No public test could be read from \\texttt{grader/labs/lab$NN.c}."
  exit 0
fi

# One column: a tabular of rows [from, to).
column() {
  local from=$1 to=$2 i e
  printf '\\begin{column}{0.48\\textwidth}\\scriptsize\n\\begin{tabular}{@{}p{0.82\\linewidth}@{}r@{}}\n\\toprule\npublic test & points\\\\\n\\midrule\n'
  for ((i = from; i < to; i++)); do
    e=${PUBLIC[$i]}
    printf '%s & %s\\\\\n' "$(printf '%s' "${e#*$'\t'}" | latex)" "${e%%$'\t'*}"
  done
  printf '\\bottomrule\n\\end{tabular}\n\\end{column}\n'
}

# At most 28 rows a slide (two columns of 14); the rows are spread evenly
# over as many slides as that takes.
MAX_PAGE=28
pages=$(((n_pub + MAX_PAGE - 1) / MAX_PAGE))
PER_PAGE=$(((n_pub + pages - 1) / pages))
for ((start = 0; start < n_pub; start += PER_PAGE)); do
  [ "$start" -gt 0 ] && printf '\\framebreak\n'
  end=$((start + PER_PAGE < n_pub ? start + PER_PAGE : n_pub))
  # Split the page's rows evenly between the two columns.
  half=$(((end - start + 1) / 2))
  printf '\\begin{columns}[T]\n'
  column "$start" $((start + half))
  [ $((start + half)) -lt "$end" ] && column $((start + half)) "$end"
  printf '\\end{columns}\n'
done
printf '\\medskip\n\\footnotesize\n'
printf 'Public tests: %d tests, %d points (source: \\texttt{grader/labs/lab%s.c}).' "$n_pub" "$p_pub" "$NN"
if [ "$n_hid" -gt 0 ]; then
  printf ' Hidden tests: %d tests, %d points, run when your instructor grades.' "$n_hid" "$p_hid"
  printf ' Total: \\textbf{%d points}.\n' $((p_pub + p_hid))
else
  printf ' Total: \\textbf{%d points}.\n' "$p_pub"
fi
