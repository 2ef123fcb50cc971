// Encodes one column chunk of a row group into compressed pages, choosing the
// encoding after looking at the data (dictionary when it pays, otherwise
// DELTA_BINARY_PACKED for timestamps, BYTE_STREAM_SPLIT for doubles,
// DELTA_BYTE_ARRAY for strings that share prefixes).
// Thread-safety: a pure function of its inputs; run many in parallel, each
// with its own Compressor.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "columnar/column_data.h"
#include "core/status.h"
#include "parquet/compression.h"
#include "parquet/format.h"

namespace mt::parquet {

// A data page's body (definition levels + values, before compression) is cut
// to hold about this many bytes at most: readers that load the file whole
// (BigQuery's Parquet loader, with its resource limit per page, and Arrow and
// parquet-mr, whose own pages are this size) then hold one such page per
// column at a time whatever the column count (book_snapshot_25's 100-odd
// columns).
constexpr size_t kDataPageBytes = 1u << 20;

struct EncodeOptions {
  // Data pages end at whichever comes first: `page_rows` rows or about
  // `page_bytes` bytes of body (PageRows in column_writer.cc).
  size_t page_rows = 1024 * 1024;
  size_t page_bytes = kDataPageBytes;
  // false: only PLAIN and dictionary encodings, for readers that know no
  // others.
  bool modern_encodings = true;
};

struct EncodedChunk {
  std::string bytes;               // page headers + page bodies, as written to the file
  int64_t dict_page_rel = -1;      // offset of the dictionary page in `bytes`, or -1
  int64_t data_page_rel = 0;       // offset of the first data page in `bytes`
  int64_t total_uncompressed = 0;  // headers + uncompressed bodies
  int64_t num_values = 0;          // rows, nulls included
  std::vector<Encoding> encodings;
  bool has_min_max = false;
  std::string min_value, max_value;  // PLAIN encoded, byte arrays without length prefix
  int64_t null_count = 0;
  Encoding value_encoding = Encoding::kPlain;  // for tests and logs
  // The chunk's codec: the compressor's, or kUncompressed for a small chunk
  // that the compressor did not make smaller (kRawChoiceBytes).
  Codec codec = Codec::kUncompressed;
  int64_t compressed_bytes = 0;                 // == bytes.size() before it is released
  int64_t total_compressed_size() const { return compressed_bytes; }
};

// Chunks whose data pages hold this many bytes or more get the level trial
// (ChunkBuilder); smaller ones cost more to sample than the trial can save.
constexpr size_t kLevelTrialBytes = 256u << 10;
// A chunk whose pages hold at most this many bytes before compression is
// written uncompressed (codec UNCOMPRESSED for that column chunk) when the
// compressor does not make its pages smaller in sum: a grouped file's small
// chunks of an instrument's exchange, symbol or side, or of timestamps whose
// deltas leave nothing to compress. Readers then skip decompressing them.
constexpr size_t kRawChoiceBytes = 256u << 10;
// A column chunk whose page bodies sum to less is written uncompressed
// without a try (ChunkBuilder::BeginPages): below this size the compressor
// takes off no more than its frame headers add.
constexpr size_t kTinyChunkBytes = 64;

// Whether the calling thread keeps its encoding scratch (and compressors)
// from one column chunk to the next. A few threads at a time do (the first
// to ask, until they exit); the others free it after each chunk, so memory
// does not grow with the number of threads that encode.
bool KeepsEncodeScratch();
constexpr int kEncodeScratchThreads = 3;  // threads that keep it, at most
// Bytes of encoding scratch the calling thread holds now (for tests).
size_t ThreadEncodeScratchBytes();

// The compressors a column chunk's pages go through.
struct PageCompressors {
  Compressor* main = nullptr;  // the configured codec and level
  // Optional, the same codec at a lower level: used for the data pages when
  // a sample shows it compresses them as well as `main`, for a dictionary
  // page smaller than `fast_below` bytes, and for the data pages of a chunk
  // whose data pages hold fewer than `fast_below` bytes in sum (small pages).
  Compressor* fast = nullptr;
  size_t fast_below = 0;
  // Optional, for small pages of one encoding instead of `fast`:
  // DELTA_BYTE_ARRAY (trade ids: the digits that differ from the previous
  // id) with `fast`'s level and a longer shortest match; DELTA_BINARY_PACKED
  // (timestamps) with `fast`'s level and raw literals.
  Compressor* small_dba = nullptr;
  Compressor* small_packed = nullptr;
};
Status EncodeColumnChunk(const columnar::ColumnData& col, size_t num_rows, const EncodeOptions& opts,
                         const PageCompressors& comps, EncodedChunk* out);

PhysicalType PhysicalTypeOf(columnar::ColumnKind kind);

}  // namespace mt::parquet
