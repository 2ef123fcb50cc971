// libFuzzer target: a dataset body through the whole converter
// (pipeline::TickConverter) into an in-memory store, as `download` and
// `convert` run it: decompression, data type and header checks, the
// one-instrument content check, UTF-8 checks, key resolution (the venue's
// symbol rules or a day's definitions), routing of a grouped file to one
// object per instrument (streamed and spilled), and Parquet writing.
//
// The first four bytes pick the item, so every path is reachable:
//   [0] data type: one of the schemas, or none (the header decides)
//   [1] exchange, among venues with different symbol rules
//   [2] item symbol: one instrument, a grouped file (OPTIONS, PERPETUALS,
//       ...), or none (nothing named: rows decide)
//   [3] flags: the item's fixed object (download) or routed objects; keys
//       from definitions or the rules; parallel parse; a day named or taken
//       from the rows; tiny batches; a tiny split buffer (forces flushes)
// the rest is the body (gzip or plain CSV).
//
// Any input gives objects or a clean error, never a crash, a leak or
// undefined behaviour, and what was written is read back:
//   - a rejected input wrote nothing;
//   - every object is a tick object name of the input's data type under
//     raw_tick_data/ (nothing else, nothing outside the layout) and is
//     listed in the converter's result, and the other way round;
//   - every object opens with the project's Parquet reader, its row count is
//     the result's, the rows add up to the parsed rows;
//   - every text value read back is valid UTF-8; exchange and symbol are
//     the item's in a one-instrument file, the exchange is the item's in a
//     grouped file; instrument_key holds the object's key in every row
//     (null in an unkeyed file), an options chain aside.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "core/utf8.h"
#include "tardis/file_name.h"
#include "memory_store_double.h"
#include "parquet/file_reader.h"
#include "pipeline/key_resolver.h"
#include "pipeline/tick_converter.h"
#include "storage/layout.h"
#include "tardis/instrument_key.h"
#include "tardis/schema.h"

namespace {

// Venues whose symbols follow different rules (docs/INSTRUMENTS.md).
const char* const kExchanges[] = {"binance-futures", "binance", "bitmex",  "deribit",     "huobi-dm-swap",
                                  "okex-swap",       "okex-futures", "okex-options", "bybit", "coinbase"};
// Symbols of the fixtures and of the venues above, grouped symbols, and none.
const char* const kSymbols[] = {"BTCUSDT",       "XBTUSD",     "BTC-PERPETUAL", "BTC-USD",
                                "BTC-USDC-SWAP", "BTC-USD_UM_XPERP-310404", "ETHUSDT", "BTC-26JUN20-9000-C",
                                "OPTIONS",       "PERPETUALS", "FUTURES",       "SPOT",
                                "COMBOS",        ""};

[[noreturn]] void Fail(const std::string& what) {
  fprintf(stderr, "convert_fuzz invariant: %s\n", what.c_str());
  __builtin_trap();
}

// A day's definitions for the venues above (a few real symbols), so the
// definitions path of key resolution runs too.
const mt::pipeline::KeyResolver* Definitions() {
  static const mt::pipeline::DefinitionKeyResolver* keys = [] {
    std::vector<mt::pipeline::DefinitionKeyResolver::Row> rows = {
        {"binance-futures", "BTCUSDT", "btcusdt", "BINANCE-FUTURES:PERPETUAL:BTC-USDT", "BTC", "USDT"},
        {"bitmex", "XBTUSD", "XBTUSD", "BITMEX:PERPETUAL:BTC-USD", "BTC", "USD"},
        {"deribit", "BTC-PERPETUAL", "BTC-PERPETUAL", "DERIBIT:PERPETUAL:BTC-USD", "BTC", "USD"},
        {"deribit", "BTC-26JUN20-9000-C", "BTC-26JUN20-9000-C", "DERIBIT:OPTION:BTC-USD-200626-9000-CALL", "BTC",
         "USD"},
        {"binance", "BTCUSDT", "BTCUSDT", "BINANCE:SPOT_PAIR:BTC-USDT", "BTC", "USDT"},
    };
    return new mt::pipeline::DefinitionKeyResolver(mt::Date{2020, 3, 1}, rows);
  }();
  return keys;
}

void CheckUtf8(const mt::parquet::ColumnValues& v, const std::string& what) {
  for (const auto& s : v.strings) {
    if (mt::Utf8InvalidOffset(s.data(), s.size()) != s.size()) Fail(what + ": invalid UTF-8 read back");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  const auto& schemas = mt::tardis::AllSchemas();
  const uint8_t type_pick = data[0], exchange_pick = data[1], symbol_pick = data[2], flags = data[3];
  data += 4;
  size -= 4;

  mt::pipeline::SourceHints hints;
  const size_t t = type_pick % (schemas.size() + 1);
  hints.data_type = t < schemas.size() ? &schemas[t] : nullptr;
  hints.exchange = kExchanges[exchange_pick % std::size(kExchanges)];
  hints.symbol = kSymbols[symbol_pick % std::size(kSymbols)];
  if (hints.symbol.empty()) hints.exchange.clear();  // nothing named: the rows decide
  if (flags & 0x08) hints.day = mt::Date{2020, 3, 1};
  hints.source = "fuzz";

  static mt::ThreadPool pool(2);
  mt::pipeline::ConvertSettings settings;
  settings.tool_version = "fuzz";
  settings.writer.pool = &pool;
  settings.parallel_parse = (flags & 0x04) != 0;
  settings.parser.batch_rows = (flags & 0x10) ? 1 + (type_pick >> 5) : settings.parser.batch_rows;
  if (flags & 0x20) settings.split_buffer_bytes = 1 << 12;
  // Instruments past the first one or two go through the partitions of a
  // grouped file (TickConverter's cap of instruments routed at once).
  if (flags & 0x80) settings.max_routed_instruments = 1 + (exchange_pick >> 7);

  mt::testing::MemoryStoreDouble store;
  // Either layout names the objects (storage/layout.h).
  if (flags & 0x40) store.set_layout(mt::storage::Layout(mt::storage::LayoutKind::kHive));
  mt::pipeline::ConvertTarget target;
  target.store = &store;
  target.keys = (flags & 0x02) ? Definitions() : nullptr;
  // A download of one instrument's file names its object up front.
  const bool one_instrument =
      !hints.symbol.empty() && !mt::tardis::IsGroupedSymbol(hints.symbol);
  std::string fixed_key;
  if ((flags & 0x01) && one_instrument && hints.data_type && hints.day) {
    auto key = mt::tardis::KeyFromTardisSymbol(hints.exchange, hints.symbol);
    if (key.ok()) {
      fixed_key = key->ToString();
      target.fixed_key = fixed_key;
      target.fixed_object = store.layout().TickObjectName(*hints.day, hints.data_type->name, hints.exchange,
                                                          hints.data_type->row_keys ? mt::tardis::ChainKey(*key)
                                                                                    : fixed_key);
    }
  }

  mt::pipeline::TickConverter conv(hints, target, settings);
  // Fed in uneven pieces, as a network body arrives.
  const size_t piece = 1 + (symbol_pick >> 4) * 97;
  mt::Status st;
  for (size_t i = 0; i < size && st.ok(); i += piece) st = conv.Write(data + i, std::min(piece, size - i));
  mt::Result<mt::pipeline::OutputList> result = st.ok() ? conv.Finish() : mt::Result<mt::pipeline::OutputList>(st);
  if (!st.ok()) conv.Abort();

  const std::vector<std::string> names = store.Names();
  if (!result.ok()) {
    if (!names.empty()) Fail("a rejected input wrote " + names.front() + " (" + result.status().ToString() + ")");
    return 0;
  }
  if (names.size() != result->size()) Fail("objects written and listed differ in number");
  uint64_t rows = 0;
  for (const auto& out : *result) {
    const std::string prefix = "memory://";
    if (out.name.rfind(prefix, 0) != 0) Fail("output named outside the store: " + out.name);
    const std::string name = out.name.substr(prefix.size());
    if (!store.Exists(name).value()) Fail("listed output not in the store: " + name);
    if (!mt::storage::IsSafeObjectName(name)) Fail("unsafe object name: " + name);
    auto parsed = store.layout().ParseTickObjectName(name);
    if (!parsed) Fail("not a tick object name: " + name);
    if (name.rfind("raw_tick_data/", 0) != 0) Fail("outside raw_tick_data/: " + name);
    if (hints.data_type && parsed->data_type != hints.data_type->name) Fail("another data type's object: " + name);
    if (hints.day && !(parsed->day == *hints.day)) Fail("another day's object: " + name);
    if (!fixed_key.empty() && name != target.fixed_object) Fail("a fixed item wrote " + name);

    auto file = mt::parquet::FileReader::OpenBuffer(store.Read(name).value(), name);
    if (!file.ok()) Fail("written object does not open: " + file.status().ToString());
    const auto& md = (*file)->metadata();
    if (md.num_rows < 0 || static_cast<uint64_t>(md.num_rows) != out.rows) Fail("row count differs: " + name);
    rows += out.rows;
    for (size_t c = 0; c < md.leaves.size(); c++) {
      auto v = (*file)->ReadColumn(c);
      if (!v.ok()) Fail("column does not read back: " + v.status().ToString());
      if (v->num_rows != out.rows) Fail("column rows differ: " + name);
      CheckUtf8(*v, name);
    }
    auto ex = (*file)->ReadColumn(std::string("exchange"));
    auto sym = (*file)->ReadColumn(std::string("symbol"));
    auto key = (*file)->ReadColumn(std::string("instrument_key"));
    if (!ex.ok() || !sym.ok() || !key.ok()) Fail("no exchange, symbol or instrument_key column: " + name);
    const auto* written_type = mt::tardis::FindSchema(parsed->data_type);
    const bool chain = written_type && written_type->row_keys;
    for (size_t r = 0; r < out.rows; r++) {
      // The object's key in every row (null when kept without one); a chain's rows: their own options.
      if (!chain && (key->defined[r] != !out.instrument_key.empty() || key->strings[r] != out.instrument_key)) {
        Fail("instrument_key of a row is not the object's in " + name);
      }
      if (!chain && !out.unkeyed && out.instrument_key != parsed->instrument_key) Fail("object named off its key");
      if (!hints.exchange.empty() && ex->strings[r] != hints.exchange) Fail("another exchange's row in " + name);
      if (one_instrument && mt::tardis::FileNameSymbol(sym->strings[r]) != mt::tardis::FileNameSymbol(hints.symbol)) {
        Fail("another symbol's row in " + name);
      }
    }
  }
  if (rows != conv.rows()) Fail("rows written differ from rows parsed");
  return 0;
}
