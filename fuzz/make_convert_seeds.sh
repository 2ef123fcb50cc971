#!/usr/bin/env bash
# Writes the seeds of convert_fuzz into fuzz/corpus_convert/: the first rows
# of the real fixtures (unzipped, so mutations reach the CSV), each behind
# the four bytes that pick its item (data type, exchange, symbol, flags; see
# convert_fuzz.cc), plus generated variants labelled as such. Rerun after a
# change of the pick tables.
set -eu  # no pipefail: head ends gzip early on purpose
cd "$(dirname "$0")/.."
out=fuzz/corpus_convert
rm -rf "$out" && mkdir -p "$out"
csv=fixtures/tardis/csv
seed() {  # NAME TYPE EXCHANGE SYMBOL FLAGS FIXTURE [LINES]
  { printf "\\x$(printf %02x "$2")\\x$(printf %02x "$3")\\x$(printf %02x "$4")\\x$(printf %02x "$5")"
    gzip -dc "$csv/$6" | head -n "${7:-12}"; } >"$out/$1"
}
# Types: 0 trades, 1 incremental_book_L2, 2 book_snapshot_5, 3 book_snapshot_25, 4 quotes,
# 5 book_ticker, 6 derivative_ticker, 7 liquidations, 8 options_chain, 9 from the header.
# Exchanges: 0 binance-futures, 2 bitmex, 3 deribit, 4 huobi-dm-swap, 5 okex-swap, 6 okex-futures.
# Symbols: 0 BTCUSDT, 1 XBTUSD, 2 BTC-PERPETUAL, 3 BTC-USD, 4 BTC-USDC-SWAP, 5 BTC-USD_UM_XPERP-310404,
# 8 OPTIONS, 9 PERPETUALS, 13 none. Flags: 1 fixed object, 2 definitions, 4 parallel parse, 8 day named.
seed trades_fixed          0 2 1 9  bitmex_trades_2020-03-01_XBTUSD.csv.gz
seed trades_routed         0 0 0 10 binance-futures_trades_2020-02-22_BTCUSDT.csv.gz 40
seed trades_grouped        0 0 9 12 binance-futures_trades_2020-02-22_BTCUSDT.csv.gz 40
seed liquidations_header   7 2 1 8  bitmex_trades_2020-03-01_XBTUSD.csv.gz
seed l2_parallel           1 3 2 12 deribit_incremental_book_L2_2020-04-01_BTC-PERPETUAL.csv.gz 16
seed book5                 2 0 0 9  binance-futures_book_snapshot_5_2020-09-01_BTCUSDT.csv.gz
seed book25                3 0 0 8  binance-futures_book_snapshot_25_2020-09-01_BTCUSDT.csv.gz 4
seed quotes                4 4 3 8  huobi-dm-swap_quotes_2020-05-01_BTC-USD.csv.gz
seed book_ticker_unnamed   5 0 13 0 binance-futures_quotes_2020-02-22_BTCUSDT.csv.gz 20
seed ticker_deribit        6 3 2 10 deribit_derivative_ticker_2026-08-10_BTC-PERPETUAL.csv.gz
seed ticker_okex_swap      6 5 4 9  okex-swap_derivative_ticker_2023-04-01_BTC-USDC-SWAP.csv.gz
seed ticker_okex_futures   9 6 5 8  okex-futures_derivative_ticker_2026-08-10_BTC-USD_UM_XPERP-310404.csv.gz
seed chain_grouped         8 3 8 10 deribit_options_chain_2020-06-08_OPTIONS.csv.gz
seed chain_header_unnamed  9 3 13 4 deribit_options_chain_2020-06-08_OPTIONS.csv.gz
# Generated: a grouped file of two instruments (the bitmex rows, every other
# one renamed to ETHUSD), and a one-instrument file with another symbol's row.
{ printf '\x00\x02\x09\x28'; gzip -dc "$csv/bitmex_trades_2020-03-01_XBTUSD.csv.gz" | awk -F, -v OFS=, 'NR > 1 && NR % 2 { $2 = "ETHUSD" } 1'; } >"$out/generated_grouped_two"
{ printf '\x00\x02\x01\x08'; gzip -dc "$csv/bitmex_trades_2020-03-01_XBTUSD.csv.gz" | awk -F, -v OFS=, 'NR == 5 { $2 = "ETHUSD" } 1'; } >"$out/generated_wrong_symbol"
# A gzip body as served (the decompressor in front of the parser).
{ printf '\x00\x02\x01\x09'; cat "$csv/bitmex_trades_2020-03-01_XBTUSD.csv.gz"; } >"$out/trades_gzip"
