#!/usr/bin/env bash
# `market-tick convert --threads 2` with one core partly taken by another
# process, the way a busy neighbour on a shared host takes it.
#
# For each binary given (--bin, repeatable: several are measured in the same
# interleaved rounds, for an A/B) and each condition: both cores idle; core 1
# busy 3 ms of every 6 (busy_core.c, SCHED_FIFO); core 0 busy 1 ms of every 2.
# Prints the median wall time, user CPU and peak RSS, and the wall time a
# perfect split over the 1.5 cores left would take (the idle run's CPU / 1.5).
# Needs root (SCHED_FIFO) and the order-book file that convert_bench.sh
# generates (run it once first).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=6
file=bench/data/t5000000_b10000000/binance-futures_incremental_book_L2_2023-11-01_BTCUSDT.csv.gz
bins=()
usage() {
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  echo
  echo "usage: bench/busy_core_bench.sh [--bin PATH]... [--file F.csv.gz] [--runs N]"
}
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bins+=("$2"); shift 2 ;;
    --file) file=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
[ ${#bins[@]} -gt 0 ] || bins=(build/market-tick)
for b in "${bins[@]}"; do [ -x "$b" ] || { echo "no binary at $b" >&2; exit 2; }; done
[ -f "$file" ] || { echo "no $file: run bash bench/convert_bench.sh --runs 1 once to generate it" >&2; exit 2; }
[ "$(nproc)" -ge 2 ] || { echo "needs 2 cores" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cc -O2 -o "$out/busy_core" bench/busy_core.c
"$out/busy_core" 1 1 1 1 || { echo "busy_core cannot run (SCHED_FIFO needs root)" >&2; exit 2; }

one() {  # label binary: one convert, appends "label wall user rss_kb" to $out/runs
  /usr/bin/time -f "$1 %e %U %M" -o "$out/t" "$2" convert "$file" --output "$out/o.parquet" --threads 2 \
    >/dev/null 2>"$out/err" || { cat "$out/err" >&2; exit 1; }
  cat "$out/t" >>"$out/runs"
}
for _ in $(seq 1 "$runs"); do
  for i in "${!bins[@]}"; do
    b=${bins[$i]}
    one "$i idle" "$b"
    "$out/busy_core" 1 3000 3000 4000 & sleep 0.05; one "$i core1-busy-3of6ms" "$b"; kill $! 2>/dev/null || true; wait 2>/dev/null || true
    "$out/busy_core" 0 1000 1000 4000 & sleep 0.05; one "$i core0-busy-1of2ms" "$b"; kill $! 2>/dev/null || true; wait 2>/dev/null || true
  done
done

echo "## convert --threads 2 of $(basename "$file"), medians of $runs interleaved rounds"
echo
echo "| binary | condition | wall s (min-max) | user CPU s | peak RSS MB | ideal on the cores left |"
echo "|---|---|---|---|---|---|"
for i in "${!bins[@]}"; do
  for c in idle core1-busy-3of6ms core0-busy-1of2ms; do
    awk -v i="$i" -v c="$c" -v b="${bins[$i]}" -v f="$out/runs" '
      function med(a, n,   k, j, t) {  # insertion sort, then the middle
        for (k = 2; k <= n; k++) { t = a[k]; for (j = k - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
        return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
      }
      BEGIN {
        while ((getline line < f) > 0) {
          split(line, p, " ")
          if (p[1] == i && p[2] == "idle") { nu++; iu[nu] = p[4] }
          if (p[1] == i && p[2] == c) { n++; w[n] = p[3]; u[n] = p[4]; if (p[5] > rss) rss = p[5]; lo = (n == 1 || p[3] < lo) ? p[3] : lo; hi = p[3] > hi ? p[3] : hi }
        }
        ideal = (c == "idle") ? "-" : sprintf("%.2f s", med(iu, nu) / 1.5)
        printf "| %s | %s | %.3f (%.2f-%.2f) | %.2f | %.0f | %s |\n", b, c, med(w, n), lo, hi, med(u, n), rss / 1000, ideal
      }'
  done
done
