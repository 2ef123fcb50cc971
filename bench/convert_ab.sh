#!/bin/bash
# convert_ab.sh - binaries compared on one-file converts, interleaved (A, B, A, B, ...).
#
#   bench/convert_ab.sh TAG ROUNDS "FILE [FILE...]" "label|/abs/path/binary" ...
#
# Each round converts every FILE at --threads 1 (taskset -c 0) and --threads 2 with every binary in
# turn, outputs on tmpfs (/dev/shm/TAG, removed after each run), SOURCE_DATE_EPOCH=1700000000.
# Prints per file, thread count and label the median wall and CPU (user + sys) seconds, the largest
# peak RSS and the output bytes (the same every round: the last run's).
set -u
TAG=$1; R=$2; FILES=$3; shift 3
O=/dev/shm/$TAG; RES=$O.times; mkdir -p "$O"; : > "$RES"
export SOURCE_DATE_EPOCH=1700000000
for r in $(seq "$R"); do for f in $FILES; do for t in 1 2; do
  pin=""; [[ $t == 1 ]] && pin="taskset -c 0"
  for spec in "$@"; do
    IFS='|' read -r lab bin <<<"$spec"
    out="$O/$lab$r$t"
    /usr/bin/time -f "$(basename "$f") $t $lab %e %U %S %M" -a -o "$RES" $pin "$bin" convert "$f" --output "$out" \
      --threads $t >/dev/null 2>"$O/err.txt" || { echo "FAILED: $lab $f" >&2; cat "$O/err.txt" >&2; }
    echo "$(basename "$f") $t $lab bytes $(find "$out" -name '*.parquet' -printf '%s\n' | awk '{s += $1} END {print s}')" >> "$RES.bytes"
    rm -rf "$out"
  done
done; done; done
awk '
  function median(s,   n, a, i, j, t) { n = split(s, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t } return a[int((n + 1) / 2)] }
  FNR == NR { bytes[$1 " " $2 " " $3] = $5; next }
  { k = $1 " " $2 " " $3; if (!(k in wall)) order[++n] = k; wall[k] = wall[k] " " $4; cpu[k] = cpu[k] " " ($5 + $6); if ($7 > rss[k]) rss[k] = $7; runs[k]++ }
  END { for (i = 1; i <= n; i++) { k = order[i]; split(k, p, " ");
          printf "%s threads %s %-6s wall %.3f cpu %.3f maxrss %d MB bytes %s n=%d\n", p[1], p[2], p[3], median(wall[k]), median(cpu[k]), rss[k] / 1024, bytes[k], runs[k] } }' \
  "$RES.bytes" "$RES"
rm -rf "$O" "$RES" "$RES.bytes"
