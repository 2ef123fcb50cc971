#!/bin/bash
# grouped_ab.sh - binaries compared on a grouped file, interleaved (A, B, A, B, ...).
#
#   bench/grouped_ab.sh DATA_DIR TAG ROUNDS "label|ENV=VAL|/abs/path/binary" ...
#
# DATA_DIR holds the inputs of grouped_bench.sh (run it once to generate them): the trades day of
# 3,000 Deribit options in one file and the same rows under one symbol (the anchor). INPUT_EXT=.csv.gz
# takes both gzipped (gzip each .csv first), as Tardis serves them; the default is the plain .csv. Each round runs,
# at 1 and 2 threads, the anchor with the first spec's binary, then every spec on the grouped file
# under `ulimit -n 256`. Outputs go to fresh directories under /dev/shm/TAG (tmpfs: no file-system
# writeback or inode scans from earlier runs in the figures), each removed right after its run: kept,
# they take more of the machine's memory every round, and on a virtual machine whose memory was never
# touched the next runs' fresh pages each cost the host a fault (a grouped run's system time tripled
# by the third round). Prints medians of
# wall and CPU (user + sys) seconds and the largest peak RSS per label and thread count.
set -u
D=$1; TAG=$2; R=$3; shift 3
O=/dev/shm/$TAG; RES=$O.times; mkdir -p "$O"; : > "$RES"
export SOURCE_DATE_EPOCH=1700000000
DAY=2023-11-01; ONE=BTC-2NOV23-20000-C; EXT=${INPUT_EXT:-.csv}
IFS='|' read -r _ _ ABIN <<<"$1"
for r in $(seq "$R"); do for t in 1 2; do
  /usr/bin/time -f "anchor $t %e %U %S %M" -a -o "$RES" "$ABIN" convert "$D/deribit_trades_${DAY}_${ONE}$EXT" \
    --output "$O/a$r$t" --threads $t >/dev/null 2>&1
  rm -rf "$O/a$r$t"
  for spec in "$@"; do
    IFS='|' read -r lab envs bin <<<"$spec"
    env $envs /bin/sh -c 'ulimit -n 256 && exec "$0" "$@"' /usr/bin/time -f "$lab $t %e %U %S %M" -a -o "$RES" \
      "$bin" convert "$D/deribit_trades_${DAY}_OPTIONS$EXT" --output "$O/$lab$r$t" --threads $t >/dev/null 2>"$O/err.txt" ||
      { echo "FAILED: $lab" >&2; cat "$O/err.txt" >&2; }
    rm -rf "${O:?}/$lab$r$t"
  done
done; done
rm -rf "$O"
sort -k2,2n -k1,1 "$RES" | awk '
  function median(s,   n, a, i, j, t) { n = split(s, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t } return a[int((n + 1) / 2)] }
  { k = $2 " " $1; if (!(k in wall)) order[++n] = k; wall[k] = wall[k] " " $3; cpu[k] = cpu[k] " " ($4 + $5); if ($6 > rss[k]) rss[k] = $6; runs[k]++ }
  END { for (i = 1; i <= n; i++) { k = order[i]; split(k, p, " ");
          printf "threads %s %-12s wall %.2f cpu %.2f maxrss %d MB n=%d\n", p[1], p[2], median(wall[k]), median(cpu[k]), rss[k] / 1024, runs[k] } }'
rm -f "$RES"
