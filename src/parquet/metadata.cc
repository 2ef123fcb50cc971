#include "parquet/metadata.h"

#include "parquet/thrift_reader.h"

namespace mt::parquet {

namespace {

using R = ThriftReader;

bool IsBool(TType t) { return t == TType::kBoolTrue || t == TType::kBoolFalse; }

// Reads an i32 enum field and range-checks it.
template <typename E>
E ReadEnum(R& r, TType t, const char* what, int32_t lo, int32_t hi) {
  if (!r.Expect(t, TType::kI32, what)) return E{};
  const int32_t v = r.ReadI32();
  if (r.ok() && (v < lo || v > hi)) r.Fail(std::string(what) + " value " + std::to_string(v) + " out of range");
  return static_cast<E>(v);
}

int32_t I32(R& r, TType t, const char* what) { return r.Expect(t, TType::kI32, what) ? r.ReadI32() : 0; }
int64_t I64(R& r, TType t, const char* what) {
  // Some writers use i32 where the spec says i64 is fine to accept.
  if (t == TType::kI32) return r.ReadI32();
  return r.Expect(t, TType::kI64, what) ? r.ReadI64() : 0;
}
std::string Bin(R& r, TType t, const char* what) {
  return r.Expect(t, TType::kBinary, what) ? std::string(r.ReadBinary()) : std::string();
}

// Calls f(elem_type) for each element of a list field.
template <typename F>
void ForList(R& r, TType t, const char* what, F f) {
  if (!r.Expect(t, TType::kList, what)) return;
  TType elem;
  uint32_t n;
  if (!r.ReadListHeader(&elem, &n)) return;
  for (uint32_t i = 0; i < n && r.ok(); i++) f(elem);
}

// Calls f(id, type) for each field of a struct; f must consume the value.
template <typename F>
void ForFields(R& r, F f) {
  r.BeginStruct();
  int16_t id;
  TType t;
  while (r.ReadFieldHeader(&id, &t)) f(id, t);
  r.EndStruct();
}

void ParseTimeUnit(R& r, LogicalType* lt) {
  ForFields(r, [&](int16_t id, TType t) {
    if (t == TType::kStruct) lt->unit = id;
    r.Skip(t);
  });
}

void ParseLogicalType(R& r, LogicalType* lt) {
  ForFields(r, [&](int16_t id, TType t) {
    lt->union_field = id;
    if (id == fid::kLtString && t == TType::kStruct) {
      lt->kind = LogicalType::Kind::kString;
      r.Skip(t);
    } else if (id == fid::kLtTimestamp && t == TType::kStruct) {
      lt->kind = LogicalType::Kind::kTimestamp;
      ForFields(r, [&](int16_t f, TType ft) {
        if (f == fid::kTsAdjustedToUtc && IsBool(ft)) {
          lt->adjusted_to_utc = R::BoolValue(ft);
        } else if (f == fid::kTsUnit && ft == TType::kStruct) {
          ParseTimeUnit(r, lt);
        } else {
          r.Skip(ft);
        }
      });
    } else {
      lt->kind = LogicalType::Kind::kOther;
      r.Skip(t);
    }
  });
}

void ParseSchemaElement(R& r, SchemaElement* e) {
  ForFields(r, [&](int16_t id, TType t) {
    switch (id) {
      case fid::kSeType: e->type = ReadEnum<PhysicalType>(r, t, "SchemaElement.type", 0, 7); break;
      case fid::kSeTypeLength: e->type_length = I32(r, t, "SchemaElement.type_length"); break;
      case fid::kSeRepetition:
        e->repetition = ReadEnum<Repetition>(r, t, "SchemaElement.repetition_type", 0, 2);
        break;
      case fid::kSeName: e->name = Bin(r, t, "SchemaElement.name"); break;
      case fid::kSeNumChildren: e->num_children = I32(r, t, "SchemaElement.num_children"); break;
      case fid::kSeConvertedType: e->converted_type = I32(r, t, "SchemaElement.converted_type"); break;
      case fid::kSeLogicalType:
        if (r.Expect(t, TType::kStruct, "SchemaElement.logicalType")) ParseLogicalType(r, &e->logical);
        break;
      default: r.Skip(t);
    }
  });
}

void ParseStatistics(R& r, Statistics* s) {
  ForFields(r, [&](int16_t id, TType t) {
    switch (id) {
      case fid::kStMax: s->legacy_max = Bin(r, t, "Statistics.max"); break;
      case fid::kStMin: s->legacy_min = Bin(r, t, "Statistics.min"); break;
      case fid::kStNullCount: s->null_count = I64(r, t, "Statistics.null_count"); break;
      case fid::kStDistinctCount: s->distinct_count = I64(r, t, "Statistics.distinct_count"); break;
      case fid::kStMaxValue: s->max_value = Bin(r, t, "Statistics.max_value"); break;
      case fid::kStMinValue: s->min_value = Bin(r, t, "Statistics.min_value"); break;
      default: r.Skip(t);
    }
  });
}

void ParseColumnMeta(R& r, ColumnChunkMeta* c) {
  c->has_meta_data = true;
  ForFields(r, [&](int16_t id, TType t) {
    switch (id) {
      case fid::kCmType: c->type = ReadEnum<PhysicalType>(r, t, "ColumnMetaData.type", 0, 7); break;
      case fid::kCmEncodings:
        ForList(r, t, "ColumnMetaData.encodings", [&](TType e) {
          if (r.Expect(e, TType::kI32, "ColumnMetaData.encodings[]")) {
            c->encodings.push_back(static_cast<Encoding>(r.ReadI32()));
          }
        });
        break;
      case fid::kCmPathInSchema:
        ForList(r, t, "ColumnMetaData.path_in_schema", [&](TType e) {
          c->path_in_schema.push_back(Bin(r, e, "ColumnMetaData.path_in_schema[]"));
        });
        break;
      case fid::kCmCodec: c->codec = static_cast<Codec>(I32(r, t, "ColumnMetaData.codec")); break;
      case fid::kCmNumValues: c->num_values = I64(r, t, "ColumnMetaData.num_values"); break;
      case fid::kCmTotalUncompressed:
        c->total_uncompressed_size = I64(r, t, "ColumnMetaData.total_uncompressed_size");
        break;
      case fid::kCmTotalCompressed:
        c->total_compressed_size = I64(r, t, "ColumnMetaData.total_compressed_size");
        break;
      case fid::kCmDataPageOffset: c->data_page_offset = I64(r, t, "ColumnMetaData.data_page_offset"); break;
      case fid::kCmDictionaryPageOffset:
        c->dictionary_page_offset = I64(r, t, "ColumnMetaData.dictionary_page_offset");
        break;
      case fid::kCmStatistics:
        if (r.Expect(t, TType::kStruct, "ColumnMetaData.statistics")) {
          c->statistics.emplace();
          ParseStatistics(r, &*c->statistics);
        }
        break;
      default: r.Skip(t);
    }
  });
}

void ParseColumnChunk(R& r, ColumnChunkMeta* c) {
  ForFields(r, [&](int16_t id, TType t) {
    switch (id) {
      case fid::kCcFilePath: c->file_path = Bin(r, t, "ColumnChunk.file_path"); break;
      case fid::kCcFileOffset: c->file_offset = I64(r, t, "ColumnChunk.file_offset"); break;
      case fid::kCcMetaData:
        if (r.Expect(t, TType::kStruct, "ColumnChunk.meta_data")) ParseColumnMeta(r, c);
        break;
      default: r.Skip(t);
    }
  });
}

void ParseRowGroup(R& r, RowGroup* g) {
  ForFields(r, [&](int16_t id, TType t) {
    switch (id) {
      case fid::kRgColumns:
        ForList(r, t, "RowGroup.columns", [&](TType e) {
          if (!r.Expect(e, TType::kStruct, "RowGroup.columns[]")) return;
          g->columns.emplace_back();
          ParseColumnChunk(r, &g->columns.back());
        });
        break;
      case fid::kRgTotalByteSize: g->total_byte_size = I64(r, t, "RowGroup.total_byte_size"); break;
      case fid::kRgNumRows: g->num_rows = I64(r, t, "RowGroup.num_rows"); break;
      case fid::kRgFileOffset: g->file_offset = I64(r, t, "RowGroup.file_offset"); break;
      case fid::kRgTotalCompressedSize:
        g->total_compressed_size = I64(r, t, "RowGroup.total_compressed_size");
        break;
      default: r.Skip(t);
    }
  });
}

// Walks the depth-first schema list from `*i`, appending leaves. Returns
// false (with `err`) when the tree does not fit the list.
bool WalkSchema(const std::vector<SchemaElement>& s, size_t* i, std::vector<std::string>* path,
                int def, int rep, int depth, std::vector<LeafColumn>* leaves, std::string* err) {
  if (depth > 64) {
    *err = "schema nested too deeply";
    return false;
  }
  const SchemaElement& e = s[*i];
  const size_t me = (*i)++;
  if (e.repetition == Repetition::kOptional) def++;
  if (e.repetition == Repetition::kRepeated) {
    def++;
    rep++;
  }
  if (e.num_children < 0) {
    *err = "schema element '" + e.name + "' has a negative child count";
    return false;
  }
  if (e.num_children == 0) {
    if (!e.type) {
      *err = "schema leaf '" + e.name + "' has no physical type";
      return false;
    }
    leaves->push_back(LeafColumn{me, *path, def, rep});
    leaves->back().path.push_back(e.name);
    return true;
  }
  path->push_back(e.name);
  for (int32_t c = 0; c < e.num_children; c++) {
    if (*i >= s.size()) {
      *err = "schema element '" + e.name + "' declares " + std::to_string(e.num_children) +
             " children but the schema list ends";
      return false;
    }
    if (!WalkSchema(s, i, path, def, rep, depth + 1, leaves, err)) return false;
  }
  path->pop_back();
  return true;
}

}  // namespace

std::optional<std::string> FileMetaData::Metadata(std::string_view key) const {
  for (const auto& [k, v] : key_value) {
    if (k == key) return v;
  }
  return std::nullopt;
}

int FileMetaData::FindLeaf(std::string_view name) const {
  for (size_t i = 0; i < leaves.size(); i++) {
    if (leaves[i].path.size() == 1 && leaves[i].path[0] == name) return static_cast<int>(i);
  }
  return -1;
}

Result<FileMetaData> ParseFileMetaData(std::string_view bytes) {
  FileMetaData md;
  R r(bytes);
  bool have_schema = false, have_rows = false;
  ForFields(r, [&](int16_t id, TType t) {
    switch (id) {
      case fid::kFmVersion: md.version = I32(r, t, "FileMetaData.version"); break;
      case fid::kFmSchema:
        have_schema = true;
        ForList(r, t, "FileMetaData.schema", [&](TType e) {
          if (!r.Expect(e, TType::kStruct, "FileMetaData.schema[]")) return;
          md.schema.emplace_back();
          ParseSchemaElement(r, &md.schema.back());
        });
        break;
      case fid::kFmNumRows:
        have_rows = true;
        md.num_rows = I64(r, t, "FileMetaData.num_rows");
        break;
      case fid::kFmRowGroups:
        ForList(r, t, "FileMetaData.row_groups", [&](TType e) {
          if (!r.Expect(e, TType::kStruct, "FileMetaData.row_groups[]")) return;
          md.row_groups.emplace_back();
          ParseRowGroup(r, &md.row_groups.back());
        });
        break;
      case fid::kFmKeyValue:
        ForList(r, t, "FileMetaData.key_value_metadata", [&](TType e) {
          if (!r.Expect(e, TType::kStruct, "KeyValue")) return;
          std::string k, v;
          ForFields(r, [&](int16_t f, TType ft) {
            if (f == fid::kKvKey) k = Bin(r, ft, "KeyValue.key");
            else if (f == fid::kKvValue) v = Bin(r, ft, "KeyValue.value");
            else r.Skip(ft);
          });
          md.key_value.emplace_back(std::move(k), std::move(v));
        });
        break;
      case fid::kFmCreatedBy: md.created_by = Bin(r, t, "FileMetaData.created_by"); break;
      default: r.Skip(t);
    }
  });
  MT_RETURN_IF_ERROR(r.status("Parquet footer"));
  if (!have_schema || md.schema.empty()) return Status::InvalidInput("Parquet footer has no schema");
  if (!have_rows || md.num_rows < 0) return Status::InvalidInput("Parquet footer has no valid num_rows");

  std::string err;
  size_t i = 0;
  std::vector<std::string> path;
  // The root's own repetition (if any) does not count towards levels.
  SchemaElement root = md.schema[0];
  if (root.num_children <= 0 && md.schema.size() > 1) {
    return Status::InvalidInput("Parquet schema root has no children but the list has more elements");
  }
  if (root.num_children > 0) {
    i = 1;
    for (int32_t c = 0; c < root.num_children; c++) {
      if (i >= md.schema.size()) {
        return Status::InvalidInput("Parquet schema root declares " + std::to_string(root.num_children) +
                                    " children but the list ends");
      }
      if (!WalkSchema(md.schema, &i, &path, 0, 0, 0, &md.leaves, &err)) {
        return Status::InvalidInput("Parquet schema: " + err);
      }
    }
    if (i != md.schema.size()) {
      return Status::InvalidInput("Parquet schema has " + std::to_string(md.schema.size() - i) +
                                  " elements outside the tree");
    }
  }
  int64_t rows = 0;
  for (size_t g = 0; g < md.row_groups.size(); g++) {
    const RowGroup& rg = md.row_groups[g];
    if (rg.num_rows < 0) return Status::InvalidInput("row group " + std::to_string(g) + " has negative num_rows");
    if (rg.columns.size() != md.leaves.size()) {
      return Status::InvalidInput("row group " + std::to_string(g) + " has " + std::to_string(rg.columns.size()) +
                                  " column chunks for " + std::to_string(md.leaves.size()) + " schema columns");
    }
    for (size_t c = 0; c < rg.columns.size(); c++) {
      if (!rg.columns[c].has_meta_data) {
        return Status::InvalidInput("row group " + std::to_string(g) + " column " + std::to_string(c) +
                                    " has no metadata");
      }
    }
    rows += rg.num_rows;
    if (rows < 0) return Status::InvalidInput("row counts overflow");
  }
  if (rows != md.num_rows) {
    return Status::InvalidInput("footer num_rows " + std::to_string(md.num_rows) + " != sum of row groups " +
                                std::to_string(rows));
  }
  return md;
}

Status ParsePageHeader(std::string_view bytes, PageHeader* out, size_t* header_len) {
  *out = PageHeader();
  R r(bytes);
  bool have_type = false;
  // Required fields seen, one bit each: a header a damaged byte cut a
  // field from must not be read with its default (a BYTE_STREAM_SPLIT page
  // decoded as PLAIN gives values, all wrong).
  unsigned seen = 0;
  enum : unsigned {
    kSizes = 3,
    kPageNumValues = 4,
    kPageEncoding = 8,
    kDataHeader = 16,
    kDictHeader = 32,
    kV2Header = 64,
    kV2Nulls = 128,
    kV2Rows = 256,
    kV2DefLength = 512,
    kV2RepLength = 1024,
    kV2Counts = kV2Nulls | kV2Rows,
    kV2Lengths = kV2DefLength | kV2RepLength,
  };
  ForFields(r, [&](int16_t id, TType t) {
    switch (id) {
      case fid::kPhType:
        out->type = ReadEnum<PageType>(r, t, "PageHeader.type", 0, 3);
        have_type = true;
        break;
      case fid::kPhUncompressedSize:
        out->uncompressed_size = I32(r, t, "PageHeader.uncompressed_page_size");
        seen |= 1;
        break;
      case fid::kPhCompressedSize:
        out->compressed_size = I32(r, t, "PageHeader.compressed_page_size");
        seen |= 2;
        break;
      case fid::kPhCrc:
        out->crc = static_cast<uint32_t>(I32(r, t, "PageHeader.crc"));
        out->has_crc = true;
        break;
      case fid::kPhDataPageHeader:
        if (!r.Expect(t, TType::kStruct, "PageHeader.data_page_header")) break;
        seen |= kDataHeader;
        ForFields(r, [&](int16_t f, TType ft) {
          if (f == fid::kDpNumValues) {
            out->num_values = I32(r, ft, "DataPageHeader.num_values");
            seen |= kPageNumValues;
          } else if (f == fid::kDpEncoding) {
            out->encoding = static_cast<Encoding>(I32(r, ft, "DataPageHeader.encoding"));
            seen |= kPageEncoding;
          } else {
            r.Skip(ft);  // level encodings: RLE is the only one in use
          }
        });
        break;
      case fid::kPhDictionaryPageHeader:
        if (!r.Expect(t, TType::kStruct, "PageHeader.dictionary_page_header")) break;
        seen |= kDictHeader;
        ForFields(r, [&](int16_t f, TType ft) {
          if (f == fid::kDictNumValues) {
            out->num_values = I32(r, ft, "DictionaryPageHeader.num_values");
            seen |= kPageNumValues;
          } else if (f == fid::kDictEncoding) {
            out->encoding = static_cast<Encoding>(I32(r, ft, "DictionaryPageHeader.encoding"));
            seen |= kPageEncoding;
          } else {
            r.Skip(ft);
          }
        });
        break;
      case fid::kPhDataPageHeaderV2:
        if (!r.Expect(t, TType::kStruct, "PageHeader.data_page_header_v2")) break;
        out->v2 = true;
        seen |= kV2Header;
        ForFields(r, [&](int16_t f, TType ft) {
          switch (f) {
            case fid::kDp2NumValues:
              out->num_values = I32(r, ft, "DataPageHeaderV2.num_values");
              seen |= kPageNumValues;
              break;
            case fid::kDp2NumNulls:
              out->v2_num_nulls = I32(r, ft, "DataPageHeaderV2.num_nulls");
              seen |= kV2Nulls;
              break;
            case fid::kDp2NumRows:
              out->v2_num_rows = I32(r, ft, "DataPageHeaderV2.num_rows");
              seen |= kV2Rows;
              break;
            case fid::kDp2Encoding:
              out->encoding = static_cast<Encoding>(I32(r, ft, "DataPageHeaderV2.encoding"));
              seen |= kPageEncoding;
              break;
            case fid::kDp2DefLevelsLength:
              out->v2_def_levels_length = I32(r, ft, "DataPageHeaderV2.definition_levels_byte_length");
              seen |= kV2DefLength;
              break;
            case fid::kDp2RepLevelsLength:
              out->v2_rep_levels_length = I32(r, ft, "DataPageHeaderV2.repetition_levels_byte_length");
              seen |= kV2RepLength;
              break;
            case fid::kDp2IsCompressed:
              if (IsBool(ft)) out->v2_is_compressed = R::BoolValue(ft);
              else r.Skip(ft);
              break;
            default: r.Skip(ft);
          }
        });
        break;
      default: r.Skip(t);
    }
  });
  MT_RETURN_IF_ERROR(r.status("page header"));
  if (!have_type) return Status::InvalidInput("page header has no type");
  if ((seen & kSizes) != kSizes) return Status::InvalidInput("page header lacks its page sizes");
  // Data and dictionary pages need the header of their own type, with its
  // required fields (index pages have none we read).
  if (out->type != PageType::kIndexPage) {
    const unsigned own = out->type == PageType::kDataPage         ? kDataHeader
                         : out->type == PageType::kDictionaryPage ? kDictHeader
                                                                  : kV2Header | kV2Counts | kV2Lengths;
    const auto lacks = [&](unsigned bits) { return (seen & bits) != bits; };
    if (lacks(own & (kDataHeader | kDictHeader | kV2Header))) {
      return Status::InvalidInput("page header lacks the header of its page type");
    }
    if (lacks(kPageNumValues)) return Status::InvalidInput("page header lacks its value count");
    if (lacks(kPageEncoding)) return Status::InvalidInput("page header lacks its encoding");
    if (lacks(own & (kV2Counts | kV2Lengths))) {
      return Status::InvalidInput("page header lacks its null and row counts or its levels' lengths");
    }
  }
  if (out->compressed_size < 0 || out->uncompressed_size < 0 || out->num_values < 0 ||
      out->v2_def_levels_length < 0 || out->v2_rep_levels_length < 0 || out->v2_num_nulls < 0) {
    return Status::InvalidInput("page header has negative sizes");
  }
  *header_len = r.offset();
  return Status::OK();
}

const char* PhysicalTypeName(PhysicalType t) {
  switch (t) {
    case PhysicalType::kBoolean: return "BOOLEAN";
    case PhysicalType::kInt32: return "INT32";
    case PhysicalType::kInt64: return "INT64";
    case PhysicalType::kInt96: return "INT96";
    case PhysicalType::kFloat: return "FLOAT";
    case PhysicalType::kDouble: return "DOUBLE";
    case PhysicalType::kByteArray: return "BYTE_ARRAY";
    case PhysicalType::kFixedLenByteArray: return "FIXED_LEN_BYTE_ARRAY";
  }
  return "?";
}

const char* RepetitionName(Repetition r) {
  switch (r) {
    case Repetition::kRequired: return "REQUIRED";
    case Repetition::kOptional: return "OPTIONAL";
    case Repetition::kRepeated: return "REPEATED";
  }
  return "?";
}

std::string LogicalTypeName(const LogicalType& t) {
  switch (t.kind) {
    case LogicalType::Kind::kNone: return "";
    case LogicalType::Kind::kString: return "STRING";
    case LogicalType::Kind::kTimestamp: {
      const char* u = t.unit == fid::kTuMillis ? "MILLIS" : t.unit == fid::kTuMicros ? "MICROS"
                      : t.unit == fid::kTuNanos ? "NANOS" : "?";
      return std::string("TIMESTAMP(") + u + (t.adjusted_to_utc ? ",UTC)" : ")");
    }
    case LogicalType::Kind::kOther: return "LOGICAL(" + std::to_string(t.union_field) + ")";
  }
  return "";
}

}  // namespace mt::parquet
