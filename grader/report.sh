#!/usr/bin/env bash
# Write DIR/report.html for one graded lab: one self-contained page (no
# external file: the PNGs are embedded as base64 data URIs) with the total,
# the score table, the compiler's messages, the plots with their captions
# and any notes from the grading run.
#
#   grader/report.sh --out DIR --lab N --folder NN-topic --impl student|reference|stub
#                    [--source FILE]...
#
# Reads, all optional except results.json:
#   DIR/results.json   the runner's results (Gradescope schema): the total
#   DIR/summary.txt    the runner's summary (shown as it is)
#   DIR/table.html     the runner's score table (an HTML fragment)
#   DIR/compile.log    the compiler's messages about the student's code
#   DIR/notes.txt      notes from grade.sh (a plot script that failed, ...)
#   DIR/plots/*.png    the plots; DIR/plots/NAME.caption gives NAME.png's caption
#   DIR/plots/*.gif    animations, linked (not embedded: they are large)
#   labs/NN-topic/README.md   its first "# " heading titles the page
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR="" LAB="" FOLDER="" IMPL=student SOURCES=()
while [ $# -gt 0 ]; do
  case $1 in
    --out) DIR=${2-}; shift ;;
    --lab) LAB=${2-}; shift ;;
    --folder) FOLDER=${2-}; shift ;;
    --impl) IMPL=${2-}; shift ;;
    --source) SOURCES+=("${2-}"); shift ;;
    *) echo "report: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
[ -d "$DIR" ] || { echo "report: no folder '$DIR' (use --out DIR)" >&2; exit 2; }

esc() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g'; }

# totals: "score<TAB>max" from results.json (jq, else python3; empty without both).
totals() {
  local f=$DIR/results.json
  [ -f "$f" ] || return 0
  if command -v jq >/dev/null 2>&1; then
    jq -r '[(.score // ([.tests[]?.score // 0] | add) // 0), (.max_score // ([.tests[]?.max_score // 0] | add) // 0)] | @tsv' "$f" 2>/dev/null && return
  fi
  if command -v python3 >/dev/null 2>&1; then
    python3 - "$f" <<'EOF' 2>/dev/null && return
import json, sys
r = json.load(open(sys.argv[1]))
t = r.get("tests", [])
s = r.get("score", sum(x.get("score", 0) for x in t))
print("%s\t%s" % (s, r.get("max_score", sum(x.get("max_score", 0) for x in t))))
EOF
  fi
}

fmt_num() { awk -v x="$1" 'BEGIN { if (x == int(x)) printf "%d", x; else printf "%.2f", x }'; }

title="Lab $LAB"
if [ -n "$FOLDER" ] && [ -f "$ROOT/labs/$FOLDER/README.md" ]; then
  h=$(grep -m1 '^# ' "$ROOT/labs/$FOLDER/README.md" | sed 's/^# *//')
  [ -n "$h" ] && title=$h
fi
case $IMPL in
  student) what="your code" ;;
  reference) what="the reference solution" ;;
  stub) what="the untouched stub" ;;
  *) what=$IMPL ;;
esac

IFS=$'\t' read -r score max <<<"$(totals)"
total_html=""
if [ -n "${score:-}" ] && [ -n "${max:-}" ]; then
  s=$(fmt_num "$score") m=$(fmt_num "$max")
  pct=$(awk -v s="$score" -v m="$max" 'BEGIN { printf "%d", (m > 0 ? 100 * s / m + 0.5 : 0) }')
  total_html="<p class=\"total\"><span class=\"score\">$s / $m</span> points ($pct%)</p>"
fi

shopt -s nullglob
{
  cat <<EOF
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nnlab — $(printf '%s' "$title" | esc): grading report</title>
<style>
  body { font-family: "DejaVu Sans", system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; line-height: 1.45; }
  h1 { font-size: 1.6rem; margin-bottom: .2rem; }
  h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
  .meta { color: #666; margin-top: 0; }
  .total { font-size: 1.3rem; margin: 1rem 0; }
  .score { font-weight: bold; font-size: 1.6rem; }
  table { border-collapse: collapse; width: 100%; font-size: .92rem; }
  th, td { border: 1px solid #ddd; padding: .3rem .5rem; text-align: left; vertical-align: top; }
  th { background: #f4f4f4; }
  pre { background: #f7f7f7; border: 1px solid #e3e3e3; padding: .6rem; overflow-x: auto; font-size: .85rem; white-space: pre-wrap; }
  figure { margin: 1.5rem 0; text-align: center; }
  figure img { max-width: 100%; border: 1px solid #eee; }
  figcaption { color: #444; font-size: .92rem; margin-top: .3rem; }
  .note { background: #fff8e1; border-left: 4px solid #f0b400; padding: .5rem .8rem; }
  table.gr-results td:nth-child(2), table.gr-results td:nth-child(3) { white-space: nowrap; }
  table.gr-results tfoot td { font-weight: bold; background: #f4f4f4; }
  tr.gr-passed td:nth-child(3) { color: #17702b; font-weight: bold; }
  tr.gr-not-attempted td:nth-child(3), tr.gr-skipped td:nth-child(3), tr.gr-not-run td:nth-child(3) { color: #777; }
  tr.gr-failed td:nth-child(3), tr.gr-crashed td:nth-child(3), tr.gr-timeout td:nth-child(3), tr.gr-cpu-time td:nth-child(3),
  tr.gr-exited td:nth-child(3), tr.gr-memory td:nth-child(3), tr.gr-output-limit td:nth-child(3),
  tr.gr-file-size td:nth-child(3), tr.gr-tampered td:nth-child(3), tr.gr-compile-error td:nth-child(3) { color: #b00020; font-weight: bold; }
  .gr-hidden { font-size: .75rem; background: #eee; border-radius: 3px; padding: 0 .3rem; color: #555; }
  .gr-hint { color: #8a5a00; }
  td code { white-space: pre-wrap; font-size: .85rem; }
  details pre { margin: .3rem 0 0; }
  footer { color: #888; font-size: .8rem; margin-top: 3rem; }
</style>
</head>
<body>
<h1>$(printf '%s' "$title" | esc)</h1>
<p class="meta">Grading report for $what$(
  if [ ${#SOURCES[@]} -gt 0 ]; then printf ' (<code>%s</code>)' "$(printf '%s ' "${SOURCES[@]}" | sed 's/ $//' | esc)"; fi
) — $(date '+%Y-%m-%d %H:%M')</p>
$total_html
EOF

  echo "<h2>Tests</h2>"
  if [ -s "$DIR/table.html" ]; then
    cat "$DIR/table.html"
  elif [ -s "$DIR/summary.txt" ]; then
    echo "<pre class=\"summary\">"; esc < "$DIR/summary.txt"; echo "</pre>"
  else
    echo "<p>The runner wrote no score table.</p>"
  fi

  if [ -s "$DIR/compile.log" ]; then
    echo "<h2>Compiler messages</h2>"
    echo "<p>What the compiler said about your code (warnings often point at real bugs):</p>"
    echo "<pre>"; head -c 20000 "$DIR/compile.log" | esc; echo "</pre>"
  fi

  pngs=()
  for p in "$DIR"/plots/*.png; do [ -s "$p" ] && pngs+=("$p"); done
  if [ ${#pngs[@]} -gt 0 ]; then
    echo "<h2>Plots</h2>"
    for p in "${pngs[@]}"; do
      [ -s "$p" ] || continue
      name=$(basename "$p" .png)
      if [ -s "$DIR/plots/$name.caption" ]; then
        cap=$(esc < "$DIR/plots/$name.caption")
      else
        cap=$(printf '%s' "$name" | tr '_-' '  ' | esc)
      fi
      printf '<figure>\n<img alt="%s" src="data:image/png;base64,' "$(printf '%s' "$name" | esc)"
      base64 -w0 < "$p"
      printf '">\n<figcaption>%s</figcaption>\n</figure>\n' "$cap"
    done
  fi

  # Animations (make demo LAB=5) are large: linked, not embedded.
  for g in "$DIR"/plots/*.gif; do
    [ -s "$g" ] || continue
    name=$(basename "$g")
    printf '<p>Animation: <a href="plots/%s">%s</a> (open it beside this page).</p>\n' \
      "$(printf '%s' "$name" | esc)" "$(printf '%s' "$name" | esc)"
  done

  if [ -s "$DIR/notes.txt" ]; then
    echo "<h2>Notes</h2>"
    echo "<div class=\"note\"><pre>"; esc < "$DIR/notes.txt"; echo "</pre></div>"
  fi

  cat <<EOF
<footer>nnlab autograder — results.json (Gradescope format) and the plots as PNG files are in the same folder as this page.</footer>
</body>
</html>
EOF
} > "$DIR/report.html.tmp" && mv -f "$DIR/report.html.tmp" "$DIR/report.html"
