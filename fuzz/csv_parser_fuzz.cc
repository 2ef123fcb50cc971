// libFuzzer target: arbitrary bytes through the decompressor (gzip or plain)
// and the Tardis CSV parser. Any input must give rows or a clean error,
// never a crash, leak or undefined behaviour. The first byte picks the
// feeding chunk size and whether a data type is forced, so straddled lines
// and headerless input are explored too.
#include <cstddef>
#include <cstdint>

#include "io/decompress.h"
#include "tardis/csv_parser.h"

namespace {

class Sink : public mt::tardis::BatchSink, public mt::io::ChunkSink {
 public:
  Sink(const mt::tardis::DataTypeSchema* forced, mt::tardis::ParserOptions opts)
      : parser(std::string("fuzz"), forced, this, opts) {}
  mt::Status OnSchema(const mt::tardis::DataTypeSchema&) override { return mt::Status::OK(); }
  mt::Status OnBatch(mt::parquet::RowGroupData b) override {
    // Touch every value so a bad column length shows up under ASan.
    for (const auto& c : b.columns) {
      size_t defined = 0;
      for (uint8_t d : c.defined) defined += d;
      if (c.nullable && defined != c.num_values()) __builtin_trap();
      if (!c.nullable && c.num_values() != b.num_rows) __builtin_trap();
      for (size_t i = 0; c.kind == mt::parquet::ColumnKind::kString && i < c.str.size(); i++) {
        (void)c.str.Get(i).size();
      }
    }
    rows += b.num_rows;
    return mt::Status::OK();
  }
  mt::Status OnData(const char* d, size_t n) override { return parser.Feed(d, n); }
  mt::tardis::CsvParser parser;
  size_t rows = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  data++;
  size--;
  const auto& all = mt::tardis::AllSchemas();
  const mt::tardis::DataTypeSchema* forced = (mode & 0x80) ? &all[mode % all.size()] : nullptr;
  mt::tardis::ParserOptions opts;
  opts.batch_rows = 1 + (mode & 7);  // small batches exercise batch boundaries
  Sink sink(forced, opts);
  auto dec = mt::io::NewDecompressor("fuzz", &sink);
  const size_t chunk = 1 + ((mode >> 3) & 15) * 7;
  mt::Status st;
  for (size_t i = 0; i < size && st.ok(); i += chunk) {
    st = dec->Write(data + i, std::min(chunk, size - i));
  }
  if (st.ok()) st = dec->Finish();
  if (st.ok()) st = sink.parser.Finish();
  return 0;
}
