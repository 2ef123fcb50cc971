// libFuzzer target: arbitrary bytes through the decompressor (gzip or plain)
// and the Tardis CSV parser. Any input must give rows or a clean error,
// never a crash, leak or undefined behaviour. The first byte picks the
// feeding chunk size and whether a data type is forced, so straddled lines
// and headerless input are explored too. Differential: the same bytes also
// go through the parallel parser (small blocks on a pool, decompressing in
// place), which must give the same row groups and the same error. The
// sequential parser remembers row prefixes from its first row on, the
// parallel one only past its default count of them (none in an input this
// small), so the rows a remembered prefix gives are checked against a full
// parse of each row.
#include <cstddef>
#include <cstdint>

#include <cstdio>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "io/decompress.h"
#include "tardis/csv_parser.h"
#include "tardis/parallel_csv_parser.h"

namespace {

class Sink : public mt::tardis::BatchSink, public mt::io::ChunkSink {
 public:
  Sink(const mt::tardis::DataTypeSchema* forced, mt::tardis::ParserOptions opts)
      : parser(std::string("fuzz"), forced, this, opts) {}
  mt::Status OnSchema(const mt::tardis::DataTypeSchema&) override { return mt::Status::OK(); }
  mt::Status OnBatch(mt::columnar::RowGroupData b) override {
    // Touch every value so a bad column length shows up under ASan.
    for (const auto& c : b.columns) {
      // Definition levels: none (every row has a value) or one per row.
      if (!c.defined.empty() && c.defined.size() != b.num_rows) __builtin_trap();
      if (c.defined.empty() != (c.null_count == 0)) __builtin_trap();
      size_t defined = 0;
      for (size_t r = 0; r < b.num_rows; r++) defined += c.IsDefined(r);
      if (c.nullable && defined != c.num_values()) __builtin_trap();
      if (!c.nullable && c.num_values() != b.num_rows) __builtin_trap();
      for (size_t i = 0; c.kind == mt::columnar::ColumnKind::kString && i < c.str.size(); i++) {
        (void)c.str.Get(i).size();
      }
    }
    rows += b.num_rows;
    batches.push_back(std::move(b));
    return mt::Status::OK();
  }
  mt::Status OnData(const char* d, size_t n) override { return parser.Feed(d, n); }
  mt::tardis::CsvParser parser;
  size_t rows = 0;
  std::vector<mt::columnar::RowGroupData> batches;
};

class ParallelSink : public mt::tardis::BatchSink, public mt::io::ChunkSink {
 public:
  ParallelSink(const mt::tardis::DataTypeSchema* forced, mt::tardis::ParserOptions opts, mt::ThreadPool* pool)
      : batches(), parser(std::string("fuzz"), forced, this, opts, pool) {}
  mt::Status OnSchema(const mt::tardis::DataTypeSchema&) override { return mt::Status::OK(); }
  mt::Status OnBatch(mt::columnar::RowGroupData b) override {
    batches.push_back(std::move(b));
    return mt::Status::OK();
  }
  mt::Status OnData(const char* d, size_t n) override { return parser.Feed(d, n); }
  char* OutputBuffer(size_t* cap) override { return parser.OutputBuffer(cap); }
  std::vector<mt::columnar::RowGroupData> batches;  // before the parser: outlives its threads
  mt::tardis::ParallelCsvParser parser;
};

bool SameColumn(const mt::columnar::ColumnData& a, const mt::columnar::ColumnData& b) {
  if (a.defined != b.defined || a.null_count != b.null_count || a.i64 != b.i64 || a.b != b.b) return false;
  if (a.f64.size() != b.f64.size() ||
      (!a.f64.empty() && std::memcmp(a.f64.data(), b.f64.data(), a.f64.size() * sizeof(double)) != 0)) {
    return false;
  }
  if (a.str.size() != b.str.size() || a.str.dict_mode() != b.str.dict_mode()) return false;
  if (a.str.dict_mode() && a.str.dict() != b.str.dict()) return false;
  for (size_t i = 0; i < a.str.size(); i++) {
    if (a.str.Get(i) != b.str.Get(i)) return false;
  }
  return true;
}

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
  mt::tardis::ParserOptions seq_opts = opts;
  seq_opts.prefix_cache_after_misses = 0;
  Sink sink(forced, seq_opts);
  auto dec = mt::io::NewDecompressor("fuzz", &sink);
  const size_t chunk = 1 + ((mode >> 3) & 15) * 7;
  mt::Status st;
  for (size_t i = 0; i < size && st.ok(); i += chunk) {
    st = dec->Write(data + i, std::min(chunk, size - i));
  }
  if (st.ok()) st = dec->Finish();
  if (st.ok()) st = sink.parser.Finish();

  static mt::ThreadPool pool(2);
  opts.block_bytes = 1 + ((mode >> 3) & 15) * 13;
  ParallelSink par(forced, opts, &pool);
  auto pdec = mt::io::NewDecompressor("fuzz", &par);
  mt::Status pst;
  for (size_t i = 0; i < size && pst.ok(); i += chunk) {
    pst = pdec->Write(data + i, std::min(chunk, size - i));
  }
  if (pst.ok()) pst = pdec->Finish();
  if (pst.ok()) pst = par.parser.Finish();
  par.parser.Stop();  // after an error, pool threads may still be joining
  // Both fail or neither. The same message, unless the gzip stream is bad:
  // the parallel parser reads ahead, so a corrupt stream after a bad row
  // may be what it meets first.
  if (st.ok() != pst.ok()) __builtin_trap();
  const std::string a = st.ToString(), b = pst.ToString();
  if (a != b && a.find("gzip") == std::string::npos && b.find("gzip") == std::string::npos) {
    fprintf(stderr, "sequential: %s\nparallel:   %s\n", a.c_str(), b.c_str());
    __builtin_trap();
  }
  if (st.ok()) {
    if (sink.batches.size() != par.batches.size()) __builtin_trap();
    for (size_t g = 0; g < sink.batches.size(); g++) {
      const auto& a = sink.batches[g];
      const auto& b = par.batches[g];
      if (a.num_rows != b.num_rows || a.columns.size() != b.columns.size()) __builtin_trap();
      for (size_t c = 0; c < a.columns.size(); c++) {
        if (!SameColumn(a.columns[c], b.columns[c])) __builtin_trap();
      }
    }
  }
  return 0;
}
