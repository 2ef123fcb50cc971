#!/usr/bin/env bash
# grouped_download_ab.sh - binaries compared on a download of grouped days, interleaved (A, B, A, B, ...).
#
#   bench/grouped_download_ab.sh DATA_DIR OUT_DIR DAYS ROUNDS "label|/abs/path/binary" ...
#
# DATA_DIR gets (once) a generated Deribit OPTIONS trades day (bench/gen_tardis.c, labelled as generated:
# 3,000 options, 300,000 rows), served gzip by the Tardis-compatible test server
# (tests/support/tardis_server.mjs) under DAYS days' names from 2023-11-01 (its rows keep their own day;
# the download warns about that, which does not matter here). Each round downloads them, `--symbols OPTIONS
# --concurrency 8`, with every binary in turn into a fresh directory under OUT_DIR (a local disk directory to
# see the commit's syncfs and renames; tmpfs hides them), all removed at the end: removed between runs,
# ext4 made the next run's creates look for inodes not recently deleted (`recently_deleted` in a profile),
# which is not what is compared (bench/README.md). `sync` before each run, so none writes back what the
# one before left dirty. The last round's outputs are compared with `diff -r` against the first label's
# (SOURCE_DATE_EPOCH=1700000000).
# Prints medians of wall and CPU (user + sys) seconds, the largest peak RSS per label, and the comparison.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
DATA=$1; OUT=$2; DAYS=$3; R=$4; shift 4
[[ -x /usr/bin/time ]] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
mkdir -p "$DATA" "$OUT"
DATA="$(cd "$DATA" && pwd)"
GEN="$DATA/gen_tardis"
[[ "$GEN" -nt "$HERE/gen_tardis.c" ]] || cc -O2 -o "$GEN" "$HERE/gen_tardis.c" -lm
DAYFILE="$DATA/deribit_trades_2023-11-01_OPTIONS.csv"
[[ -s "$DAYFILE.gz" ]] || { "$GEN" options_trades 300000 "$DAYFILE" 7 3000 && gzip -6 -n -f "$DAYFILE"; }
SRV="$DATA/served$DAYS"
mkdir -p "$SRV"
for i in $(seq "$DAYS"); do
  d=$(printf '2023-11-%02d' "$i")
  ln -sf "$DAYFILE.gz" "$SRV/deribit_trades_${d}_OPTIONS.csv.gz"
done
LAST=$(printf '2023-11-%02d' "$DAYS")
RES=$(mktemp)
SERVER=""
trap '[[ -n "$SERVER" ]] && kill "$SERVER" 2>/dev/null; rm -f "$RES" "$OUT/port" "$OUT/err.txt"' EXIT
node "$ROOT/tests/support/tardis_server.mjs" --port 0 --port-file "$OUT/port" --data-dir "$SRV" >/dev/null 2>&1 &
SERVER=$!
for _ in $(seq 100); do [[ -s "$OUT/port" ]] && break; sleep 0.05; done
export TARDIS_DATASETS_URL="http://127.0.0.1:$(cat "$OUT/port")" TARDIS_API_KEY=bench-key SOURCE_DATE_EPOCH=1700000000
for r in $(seq "$R"); do
  for spec in "$@"; do
    IFS='|' read -r lab bin <<<"$spec"
    sync
    /usr/bin/time -f "$lab %e %U %S %M" -a -o "$RES" "$bin" download --from 2023-11-01 --to "$LAST" \
      --exchanges deribit --data-types trades --symbols OPTIONS --concurrency 8 --output "$OUT/$lab$r" \
      >/dev/null 2>"$OUT/err.txt" || { echo "FAILED: $lab" >&2; tail -3 "$OUT/err.txt" >&2; }
  done
done
awk '
  function median(s,   n, a, i, j, t) { n = split(s, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t } return a[int((n + 1) / 2)] }
  { k = $1; if (!(k in wall)) order[++n] = k; wall[k] = wall[k] " " $2; cpu[k] = cpu[k] " " ($3 + $4); if ($5 > rss[k]) rss[k] = $5; rsss[k] = rsss[k] " " int($5 / 1024); runs[k]++ }
  END { for (i = 1; i <= n; i++) { k = order[i];
          printf "%-10s wall %.2f cpu %.2f maxrss %d MB n=%d  (walls:%s; MB:%s)\n", k, median(wall[k]), median(cpu[k]), rss[k] / 1024, runs[k], wall[k], rsss[k] } }' "$RES"
IFS='|' read -r first _ <<<"$1"
echo "objects of the last round ($first): $(find "$OUT/$first$R" -name '*.parquet' | wc -l)"
for spec in "${@:2}"; do
  IFS='|' read -r lab _ <<<"$spec"
  if diff -r "$OUT/$first$R" "$OUT/$lab$R" >/dev/null; then echo "outputs $first = $lab: identical (diff -r)"
  else echo "outputs $first vs $lab: DIFFER"; fi
done
for r in $(seq "$R"); do for spec in "$@"; do IFS='|' read -r lab _ <<<"$spec"; rm -rf "${OUT:?}/$lab$r"; done; done
