// Decodes the pages of one column chunk into per-row values (see
// file_reader.h for what is supported). Pure function of its inputs.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/status.h"
#include "parquet/file_reader.h"

namespace mt::parquet {

struct ChunkInfo {
  PhysicalType type;
  int32_t type_length;  // FIXED_LEN_BYTE_ARRAY
  int max_def, max_rep;
  Codec codec;
  int64_t num_rows;     // of the row group
};

// `bytes`: the chunk from its first page to its end. A page whose header has
// a CRC-32 that its bytes do not give is kDataLoss with
// Status::Detail::kChecksumMismatch (damaged on disk or on its way).
Result<ColumnValues> DecodeColumnChunk(std::string_view bytes, const ChunkInfo& info);

// Appends `v`'s rows to `*all` (same physical type).
void AppendColumnValues(ColumnValues v, ColumnValues* all);

}  // namespace mt::parquet
