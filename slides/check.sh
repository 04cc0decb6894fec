#!/usr/bin/env bash
# Build the lecture decks and check them (a stage of `make test`).
#
#   slides/check.sh
#
# When pandoc, pdflatex (with beamer, pgf/TikZ, listings and Latin Modern)
# and gnuplot are installed: runs `make slides-pdf` from a clean
# build/slides/, then checks
#   - each deck's PDF exists and has pages;
#   - every figure a deck includes (![...](fig/...) and \input{fig/...},
#     \input{gen/...}) was made, is not empty, and a PDF figure has a page;
#   - no frame of a deck runs off its page (pdflatex's "Overfull \vbox"
#     beyond 4 pt, "Overfull \hbox" beyond 10 pt);
#   - each lab deck ends with its "How lab N is graded" slide (pdftotext).
# One line per check ("ok   ..." or "FAIL ..."), then "N passed, N failed".
# When a tool is missing it builds nothing and prints why, then
# "0 passed, 0 failed, 1 skipped" (install them with `tools/deps.sh slides`).
#
# Environment: MAKE (default make), BUILD and SANITIZE are passed on to make.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd) || exit 2
cd "$ROOT" || exit 2
OUT=build/slides
MAKE=${MAKE:-make}
DECKS=(intro lab01 lab02 lab03 lab04 lab05 lab06 lab07 lab08)

skip() {
  echo "skipped: $* (install: tools/deps.sh slides)"
  echo "0 passed, 0 failed, 1 skipped"
  exit 0
}

# ---------------------------------------------------------------- tools
if ! why=$(slides/need.sh 2>&1); then
  skip "$(printf '%s' "$why" | grep -v 'on Debian' | sed 's/^slides: //' | paste -sd';' -), the slides are not built"
fi

passed=0 failed=0
ok()   { echo "ok   $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

# pages FILE: the page count of a PDF (pdfinfo; else pdflatex's log line
# "Output written on X.pdf (N pages" for a deck), or 0.
pages() {
  local n=''
  if command -v pdfinfo >/dev/null 2>&1; then
    n=$(pdfinfo "$1" 2>/dev/null | awk '/^Pages:/ { print $2 }')
  elif [ -f "${1%.pdf}.log" ]; then
    n=$(grep -o 'Output written on .* (\([0-9]*\) page' "${1%.pdf}.log" | grep -o '([0-9]*' | tr -d '(')
  else
    # A figure without pdfinfo: a PDF header is all we can check.
    head -c 5 "$1" 2>/dev/null | grep -q '%PDF-' && n=1
  fi
  echo "${n:-0}"
}

# ---------------------------------------------------------------- build
rm -rf "$OUT"
start=$SECONDS
MAKEVARS=()
[ -n "${BUILD:-}" ] && MAKEVARS+=("BUILD=$BUILD")
[ -n "${SANITIZE:-}" ] && MAKEVARS+=("SANITIZE=$SANITIZE")
if $MAKE --no-print-directory -j"$(nproc 2>/dev/null || echo 2)" "${MAKEVARS[@]}" slides-pdf \
     > "$ROOT/$OUT.log" 2>&1; then
  ok "make slides-pdf built ${#DECKS[@]} decks in $((SECONDS - start)) s"
else
  fail "make slides-pdf failed (log: $OUT.log):"
  grep -vE '^  (CC|SLIDES|FIGURES) ' "$ROOT/$OUT.log" | tail -n 15 | sed 's/^/     /'
fi

# ---------------------------------------------------------------- decks
for d in "${DECKS[@]}"; do
  pdf=$OUT/$d.pdf
  n=$(pages "$pdf")
  if [ -f "$pdf" ] && [ "$n" -gt 0 ] 2>/dev/null; then ok "$pdf has $n pages"
  else fail "$pdf was not made or has no pages"; fi

  # Figures and generated tables the deck includes.
  while IFS= read -r f; do
    [ -n "$f" ] || continue
    p=$OUT/$f
    if [ ! -s "$p" ]; then fail "$d: figure $p is missing or empty"; continue; fi
    case $p in
      *.pdf) n=$(pages "$p")
             if [ "$n" -gt 0 ] 2>/dev/null; then ok "$d: figure $p"
             else fail "$d: figure $p is not a readable PDF"; fi ;;
      *) ok "$d: table $p" ;;
    esac
  done < <(grep -oE '\]\((fig|gen)/[^) ]+\)|\\input\{(fig|gen)/[^}]+\}' "slides/$d.md" \
             | sed -E 's/^\]\(//; s/\)$//; s/^\\input\{//; s/\}$//' | sort -u)

  # Frames that run off the page.
  log=$OUT/$d.log
  if [ -f "$log" ]; then
    over=$(grep -oE 'Overfull \\vbox \(([0-9.]+)pt too high\) detected at line [0-9]+' "$log" \
           | awk '{ v = $3; sub(/^\(/, "", v); sub(/pt$/, "", v); if (v + 0 > 4) print $NF }')
    # Lines wider than the page by more than 10 pt (a display or a table
    # that runs off the right edge; smaller ones are invisible).
    wide=$(grep -oE 'Overfull \\hbox \(([0-9.]+)pt too wide\)' "$log" \
           | awk '{ v = $3; sub(/^\(/, "", v); sub(/pt$/, "", v); if (v + 0 > 10) printf " %spt", v }')
    if [ -z "$over" ] && [ -z "$wide" ]; then ok "$d: no frame runs off its page"
    else
      why=""
      for line in $over; do   # the title of the frame that line is in
        t=$(head -n "$line" "$OUT/$d.tex" | grep 'begin{frame}' | tail -n 1 \
            | sed -E 's/.*begin\{frame\}(\[[^]]*\])?//; s/^\{//; s/\}$//')
        why+=" \"$t\" runs off the bottom;"
      done
      [ -n "$wide" ] && why+=" lines run off the right edge by$wide;"
      fail "$d:$why see $log"
    fi
  fi

  # Each lab deck ends with its grading slide.
  if [[ $d == lab* ]] && command -v pdftotext >/dev/null 2>&1 && [ -f "$pdf" ]; then
    last=$(pages "$pdf")
    want="How lab $((10#${d#lab})) is graded"
    # (a table continued by allowframebreaks keeps the title, numbered)
    if pdftotext -f "$last" -l "$last" "$pdf" - 2>/dev/null | grep -q "$want"; then
      ok "$d: ends with \"$want\""
    else
      fail "$d: the last page is not \"$want\""
    fi
  fi
done

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
