// Helpers to reach the bundled real Tardis fixtures and run them through
// the decompressor and parser.
#pragma once

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "io/decompress.h"
#include "tardis/csv_parser.h"

namespace mt::testing {

inline std::string FixturePath(const std::string& name) {
  return std::string(MT_SOURCE_DIR) + "/fixtures/tardis/csv/" + name;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Collects every batch into one row group.
class CollectSink : public tardis::BatchSink, public io::ChunkSink {
 public:
  explicit CollectSink(const tardis::DataTypeSchema* forced = nullptr,
                       tardis::ParserOptions opts = {})
      : parser_("input.csv", forced, this, opts) {}
  Status OnSchema(const tardis::DataTypeSchema& s) override {
    schema = &s;
    return Status::OK();
  }
  Status OnBatch(columnar::RowGroupData b) override {
    batches.push_back(std::move(b));
    return Status::OK();
  }
  Status OnData(const char* d, size_t n) override { return parser_.Feed(d, n); }
  tardis::CsvParser& parser() { return parser_; }

  const tardis::DataTypeSchema* schema = nullptr;
  std::vector<columnar::RowGroupData> batches;

 private:
  tardis::CsvParser parser_;
};

// Decompresses and parses `bytes`, feeding in chunks of `chunk` bytes.
inline Status ParseBytes(const std::string& bytes, CollectSink* sink, size_t chunk = 1 << 20,
                         io::GzipEngine engine = io::GzipEngine::kAuto) {
  auto d = io::NewDecompressor("input.csv", sink, engine);
  for (size_t i = 0; i < bytes.size(); i += chunk) {
    MT_RETURN_IF_ERROR(d->Write(reinterpret_cast<const uint8_t*>(bytes.data()) + i,
                                std::min(chunk, bytes.size() - i)));
  }
  MT_RETURN_IF_ERROR(d->Finish());
  return sink->parser().Finish();
}

}  // namespace mt::testing
