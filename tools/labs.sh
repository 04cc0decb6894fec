# The lab table, for the scripts that take lab lists (tools/release.sh,
# tools/train-mine.sh). Source it from the top of the tree:
#
#   . tools/labs.sh && labs_read || exit 1
#
# labs_read fills ALL_LABS (the lab numbers, in order), FOLDER[lab] and
# MODULES[lab] (space-separated module files) from grader/labs.tsv.
# parse_labs LIST prints the lab numbers of "1-3,5", "all" or "none", one
# per line, sorted and unique. stub_untouched FILE FOLDER says whether FILE
# is still the stub it was generated as (its hash is in
# labs/FOLDER/.stub.sha256).

LABS_TABLE=grader/labs.tsv
declare -A FOLDER=() MODULES=()
ALL_LABS=()

labs_read() {
  local lab folder files
  [ -f "$LABS_TABLE" ] || { echo "$LABS_TABLE is missing" >&2; return 1; }
  while IFS=$'\t' read -r lab folder files _; do
    case "$lab" in ''|'#'*) continue ;; esac
    [[ "$lab" =~ ^[0-9]+$ ]] || { echo "$LABS_TABLE: bad lab number '$lab'" >&2; return 1; }
    FOLDER[$lab]=$folder
    MODULES[$lab]=${files//,/ }
    ALL_LABS+=("$lab")
  done <"$LABS_TABLE"
  [ ${#ALL_LABS[@]} -gt 0 ] || { echo "$LABS_TABLE lists no lab" >&2; return 1; }
}

parse_labs() {
  local list=$1 part a b i
  case "$list" in ''|none) return 0 ;; all) printf '%s\n' "${ALL_LABS[@]}"; return 0 ;; esac
  {
    IFS=', ' read -r -a parts <<<"$list"
    for part in "${parts[@]}"; do
      [ -n "$part" ] || continue
      if [[ "$part" =~ ^([0-9]+)-([0-9]+)$ ]]; then
        a=$((10#${BASH_REMATCH[1]})) b=$((10#${BASH_REMATCH[2]}))
        [ "$a" -le "$b" ] || { echo "bad range '$part'" >&2; return 1; }
      elif [[ "$part" =~ ^[0-9]+$ ]]; then
        a=$((10#$part)) b=$a
      else
        echo "bad lab list '$list' (use e.g. 1-8, 1,3,5, all or none)" >&2; return 1
      fi
      for ((i = a; i <= b; i++)); do
        [ -n "${FOLDER[$i]:-}" ] || { echo "no lab $i in $LABS_TABLE" >&2; return 1; }
        echo "$i"
      done
    done
  } | sort -n -u
}

stub_untouched() {
  local h
  h=$(sha256sum <"$1" | cut -d' ' -f1)
  grep -q "^$h " "labs/$2/.stub.sha256" 2>/dev/null
}
