// Parquet format constants (parquet-format's parquet.thrift). Every enum value
// and Thrift field id the writer uses is here, with the spec's names.
#pragma once

#include <cstdint>

namespace mt::parquet {

enum class PhysicalType : int32_t {  // enum Type
  kBoolean = 0, kInt32 = 1, kInt64 = 2, kInt96 = 3, kFloat = 4, kDouble = 5,
  kByteArray = 6, kFixedLenByteArray = 7,
};
enum class Repetition : int32_t { kRequired = 0, kOptional = 1, kRepeated = 2 };
enum class ConvertedType : int32_t { kUtf8 = 0, kTimestampMicros = 10 };
enum class Encoding : int32_t {
  kPlain = 0, kPlainDictionary = 2, kRle = 3, kBitPacked = 4, kDeltaBinaryPacked = 5,
  kDeltaLengthByteArray = 6, kDeltaByteArray = 7, kRleDictionary = 8, kByteStreamSplit = 9,
};
enum class Codec : int32_t { kUncompressed = 0, kSnappy = 1, kGzip = 2, kZstd = 6 };
enum class PageType : int32_t { kDataPage = 0, kIndexPage = 1, kDictionaryPage = 2, kDataPageV2 = 3 };

// Field ids, struct by struct.
namespace fid {
// struct FileMetaData
constexpr int16_t kFmVersion = 1, kFmSchema = 2, kFmNumRows = 3, kFmRowGroups = 4,
                  kFmKeyValue = 5, kFmCreatedBy = 6, kFmColumnOrders = 7;
// struct SchemaElement
constexpr int16_t kSeType = 1, kSeRepetition = 3, kSeName = 4, kSeNumChildren = 5,
                  kSeConvertedType = 6, kSeLogicalType = 10;
// union LogicalType
constexpr int16_t kLtString = 1, kLtTimestamp = 8;
// struct TimestampType { 1: isAdjustedToUTC, 2: unit }; union TimeUnit { 1: MILLIS, 2: MICROS }
constexpr int16_t kTsAdjustedToUtc = 1, kTsUnit = 2, kTuMicros = 2;
// struct RowGroup
constexpr int16_t kRgColumns = 1, kRgTotalByteSize = 2, kRgNumRows = 3, kRgFileOffset = 5,
                  kRgTotalCompressedSize = 6, kRgOrdinal = 7;
// struct ColumnChunk
constexpr int16_t kCcFileOffset = 2, kCcMetaData = 3;
// struct ColumnMetaData
constexpr int16_t kCmType = 1, kCmEncodings = 2, kCmPathInSchema = 3, kCmCodec = 4,
                  kCmNumValues = 5, kCmTotalUncompressed = 6, kCmTotalCompressed = 7,
                  kCmDataPageOffset = 9, kCmDictionaryPageOffset = 11, kCmStatistics = 12;
// struct Statistics
constexpr int16_t kStNullCount = 3, kStMaxValue = 5, kStMinValue = 6;
// struct KeyValue
constexpr int16_t kKvKey = 1, kKvValue = 2;
// union ColumnOrder { 1: TYPE_ORDER TypeDefinedOrder }
constexpr int16_t kCoTypeOrder = 1;
// struct PageHeader
// crc: CRC-32 (gzip's) of the page's bytes as stored after the header
// (compressed, when the chunk is), written on every page.
constexpr int16_t kPhType = 1, kPhUncompressedSize = 2, kPhCompressedSize = 3, kPhCrc = 4, kPhDataPageHeader = 5,
                  kPhDictionaryPageHeader = 7;
// struct DataPageHeader
constexpr int16_t kDpNumValues = 1, kDpEncoding = 2, kDpDefLevelEncoding = 3,
                  kDpRepLevelEncoding = 4;
// struct DictionaryPageHeader
constexpr int16_t kDictNumValues = 1, kDictEncoding = 2;

// Fields only the reader needs (files from other writers may carry them).
// SchemaElement { 2: type_length }; Statistics { 1: max, 2: min (deprecated,
// signed order only), 4: distinct_count }; ColumnChunk { 1: file_path };
// union TimeUnit { 1: MILLIS, 2: MICROS, 3: NANOS }; PageHeader { 8:
// data_page_header_v2 }; DataPageHeaderV2 { 1: num_values, 2: num_nulls,
// 3: num_rows, 4: encoding, 5: definition_levels_byte_length,
// 6: repetition_levels_byte_length, 7: is_compressed }.
constexpr int16_t kSeTypeLength = 2;
constexpr int16_t kStMax = 1, kStMin = 2, kStDistinctCount = 4;
constexpr int16_t kCcFilePath = 1;
constexpr int16_t kTuMillis = 1, kTuNanos = 3;
constexpr int16_t kPhDataPageHeaderV2 = 8;
constexpr int16_t kDp2NumValues = 1, kDp2NumNulls = 2, kDp2NumRows = 3, kDp2Encoding = 4,
                  kDp2DefLevelsLength = 5, kDp2RepLevelsLength = 6, kDp2IsCompressed = 7;
}  // namespace fid

}  // namespace mt::parquet
