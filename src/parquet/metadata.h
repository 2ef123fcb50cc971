// Parquet footer and page-header structures as a reader sees them
// (parquet-format's parquet.thrift), and their parsers. Only the fields a
// reader of flat files needs are kept; every other field is skipped. The
// parsers take untrusted bytes and return errors, never crash.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "parquet/format.h"

namespace mt::parquet {

struct LogicalType {
  enum class Kind { kNone, kString, kTimestamp, kOther };
  Kind kind = Kind::kNone;
  int16_t union_field = 0;         // the LogicalType union member (format.h ids)
  bool adjusted_to_utc = false;    // TIMESTAMP
  int16_t unit = 0;                // TIMESTAMP: fid::kTuMillis / kTuMicros / kTuNanos
};

struct SchemaElement {
  std::string name;
  std::optional<PhysicalType> type;      // absent for groups
  std::optional<int32_t> type_length;
  std::optional<Repetition> repetition;  // absent for the root
  int32_t num_children = 0;
  std::optional<int32_t> converted_type;
  LogicalType logical;
};

struct Statistics {
  std::optional<int64_t> null_count, distinct_count;
  std::optional<std::string> min_value, max_value;  // PLAIN encoded, no length prefix
  std::optional<std::string> legacy_min, legacy_max;
};

struct ColumnChunkMeta {
  std::string file_path;  // non-empty: the chunk lives in another file (unsupported)
  int64_t file_offset = 0;
  bool has_meta_data = false;
  PhysicalType type = PhysicalType::kByteArray;
  std::vector<Encoding> encodings;
  std::vector<std::string> path_in_schema;
  Codec codec = Codec::kUncompressed;
  int64_t num_values = 0, total_uncompressed_size = 0, total_compressed_size = 0;
  int64_t data_page_offset = 0;
  std::optional<int64_t> dictionary_page_offset;
  std::optional<Statistics> statistics;

  // Where the chunk's pages start: the dictionary page when there is one.
  int64_t StartOffset() const {
    return dictionary_page_offset && *dictionary_page_offset > 0 &&
                   *dictionary_page_offset < data_page_offset
               ? *dictionary_page_offset
               : data_page_offset;
  }
};

struct RowGroup {
  std::vector<ColumnChunkMeta> columns;
  int64_t total_byte_size = 0;
  int64_t num_rows = 0;
  std::optional<int64_t> file_offset, total_compressed_size;
};

// A leaf column of the schema tree with its levels (flat files: every
// non-root element, max_def 0 or 1, max_rep 0).
struct LeafColumn {
  size_t schema_index = 0;
  std::vector<std::string> path;
  int max_def = 0, max_rep = 0;
};

struct FileMetaData {
  int32_t version = 0;
  std::vector<SchemaElement> schema;  // depth-first, schema[0] is the root
  int64_t num_rows = 0;
  std::vector<RowGroup> row_groups;
  std::vector<std::pair<std::string, std::string>> key_value;
  std::string created_by;

  std::vector<LeafColumn> leaves;  // derived from `schema` by the parser

  // Key-value metadata lookup; nullopt when absent.
  std::optional<std::string> Metadata(std::string_view key) const;
  // Index into `leaves` of the leaf named `name` (top-level), or -1.
  int FindLeaf(std::string_view name) const;
};

// Parses a serialized FileMetaData (the footer without length and magic),
// checks the schema tree and that every row group has one chunk per leaf.
Result<FileMetaData> ParseFileMetaData(std::string_view bytes);

struct PageHeader {
  PageType type = PageType::kDataPage;
  int32_t uncompressed_size = 0, compressed_size = 0;
  // The page's CRC-32, when its writer gave one (an i32 holding the 32 bits).
  bool has_crc = false;
  uint32_t crc = 0;
  // Data page (v1 or v2) and dictionary page fields.
  int32_t num_values = 0;
  Encoding encoding = Encoding::kPlain;
  bool v2 = false;
  int32_t v2_num_nulls = 0, v2_num_rows = 0;
  int32_t v2_def_levels_length = 0, v2_rep_levels_length = 0;
  bool v2_is_compressed = true;
};

// Parses one page header at the start of `bytes`; *header_len = its size.
Status ParsePageHeader(std::string_view bytes, PageHeader* out, size_t* header_len);

const char* PhysicalTypeName(PhysicalType t);
const char* RepetitionName(Repetition r);
// "STRING", "TIMESTAMP(MICROS,UTC)", "" for none.
std::string LogicalTypeName(const LogicalType& t);

}  // namespace mt::parquet
