#!/usr/bin/env bash
# Is everything the decks need installed? Exit 0 if so; otherwise print
# what is missing (with its Debian package) and exit 1.
#
#   slides/need.sh
#
# Used by `make slides` (to say what to install rather than fail inside
# LaTeX) and slides/check.sh (to skip, with the reason).
set -u
missing=()
declare -A TOOL=([pandoc]=pandoc [pdflatex]=texlive-latex-base [kpsewhich]=texlive-binaries
                 [gnuplot]=gnuplot-nox)
for t in pandoc pdflatex kpsewhich gnuplot; do
  command -v "$t" >/dev/null 2>&1 || missing+=("$t (${TOOL[$t]})")
done
if command -v kpsewhich >/dev/null 2>&1; then
  declare -A STY=([beamer.cls]=texlive-latex-recommended [pgfcore.sty]=texlive-pictures
                  [tikz.sty]=texlive-pictures [listings.sty]=texlive-latex-recommended
                  [booktabs.sty]=texlive-latex-recommended [lmodern.sty]=lmodern)
  for f in beamer.cls pgfcore.sty tikz.sty listings.sty booktabs.sty lmodern.sty; do
    [ -n "$(kpsewhich "$f" 2>/dev/null)" ] || missing+=("LaTeX's $f (${STY[$f]})")
  done
fi
if command -v gnuplot >/dev/null 2>&1 && ! gnuplot -e 'set terminal pdfcairo' >/dev/null 2>&1; then
  missing+=("gnuplot's pdfcairo terminal (gnuplot-nox)")
fi
[ ${#missing[@]} = 0 ] && exit 0
printf 'slides: missing %s\n' "${missing[@]}" >&2
echo "slides: on Debian/Ubuntu: sudo apt-get install pandoc texlive-latex-recommended texlive-fonts-recommended texlive-pictures lmodern gnuplot-nox" >&2
exit 1
