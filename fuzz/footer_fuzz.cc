// libFuzzer target: arbitrary bytes through the Parquet reader. The first
// byte picks the entry point: a whole file (footer checks, then every
// column's pages decoded), a bare serialized FileMetaData, or a page header.
// Any input must give metadata/values or a clean error, never a crash, leak
// or undefined behaviour.
#include <cstddef>
#include <cstdint>
#include <string>

#include "parquet/file_reader.h"
#include "parquet/metadata.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0] % 3;
  const std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  if (mode == 0) {
    auto r = mt::parquet::FileReader::OpenBuffer(bytes, "fuzz");
    if (!r.ok()) return 0;
    const auto& md = (*r)->metadata();
    for (size_t g = 0; g < md.row_groups.size() && g < 8; g++) {
      for (size_t c = 0; c < md.leaves.size() && c < 64; c++) {
        auto v = (*r)->ReadColumn(g, c);
        if (v.ok() && v->defined.size() != v->num_rows) __builtin_trap();
      }
    }
  } else if (mode == 1) {
    (void)mt::parquet::ParseFileMetaData(bytes);
  } else {
    mt::parquet::PageHeader h;
    size_t len = 0;
    if (mt::parquet::ParsePageHeader(bytes, &h, &len).ok() && len > bytes.size()) __builtin_trap();
  }
  return 0;
}
