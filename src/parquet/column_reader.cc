#include "parquet/column_reader.h"

#include <cstdio>
#include <cstring>

#include "core/crc32c.h"
#include "parquet/decoders/decoders.h"
#include "parquet/decompression.h"

namespace mt::parquet {

namespace {

// Values without nulls, as the pages hold them.
struct Dense {
  std::vector<int64_t> ints;
  std::vector<double> doubles;
  std::vector<uint8_t> bools;
  std::vector<std::string> strings;
  size_t size(PhysicalType t) const {
    switch (t) {
      case PhysicalType::kBoolean: return bools.size();
      case PhysicalType::kInt32:
      case PhysicalType::kInt64: return ints.size();
      case PhysicalType::kFloat:
      case PhysicalType::kDouble: return doubles.size();
      default: return strings.size();
    }
  }
};

std::string Hex32(uint32_t v) {
  char b[11];
  std::snprintf(b, sizeof b, "0x%08x", v);
  return b;
}

Status PageCrcMismatch(size_t at, uint32_t header, uint32_t bytes) {
  return Status::DataLoss("the page at chunk byte " + std::to_string(at) + " fails its CRC-32 (the header has " +
                          Hex32(header) + ", its bytes give " + Hex32(bytes) + ")")
      .WithDetail(Status::Detail::kChecksumMismatch);
}

int BitWidthOf(uint64_t v) { return v == 0 ? 0 : 64 - __builtin_clzll(v); }

std::string EncodingName(Encoding e) { return "encoding " + std::to_string(static_cast<int>(e)); }

Status DecodePlain(const ChunkInfo& info, ByteCursor* in, size_t n, Dense* out) {
  switch (info.type) {
    case PhysicalType::kBoolean: return DecodePlainBool(in, n, &out->bools);
    case PhysicalType::kInt32: return DecodePlainInt(in, n, 4, &out->ints);
    case PhysicalType::kInt64: return DecodePlainInt(in, n, 8, &out->ints);
    case PhysicalType::kFloat: return DecodePlainDouble(in, n, 4, &out->doubles);
    case PhysicalType::kDouble: return DecodePlainDouble(in, n, 8, &out->doubles);
    case PhysicalType::kByteArray: return DecodePlainByteArray(in, n, &out->strings);
    case PhysicalType::kFixedLenByteArray: {
      if (info.type_length <= 0) return Status::InvalidInput("FIXED_LEN_BYTE_ARRAY without a positive type_length");
      const size_t w = static_cast<size_t>(info.type_length);
      if (n > in->remaining() / w) return Status::InvalidInput("PLAIN fixed-length values run past the end");
      for (size_t i = 0; i < n; i++) {
        out->strings.emplace_back(reinterpret_cast<const char*>(in->data()), w);
        in->Skip(w);
      }
      return Status::OK();
    }
    case PhysicalType::kInt96: break;
  }
  return Status::InvalidInput("INT96 columns are not supported");
}

Status DecodeValues(const ChunkInfo& info, Encoding enc, ByteCursor* in, size_t n, const Dense* dict,
                    bool have_dict, Dense* out) {
  const PhysicalType t = info.type;
  switch (enc) {
    case Encoding::kPlain:
      return DecodePlain(info, in, n, out);
    case Encoding::kPlainDictionary:
    case Encoding::kRleDictionary: {
      if (!have_dict) return Status::InvalidInput("dictionary-encoded page without a dictionary page");
      uint8_t width;
      if (n == 0) return Status::OK();
      if (!in->Byte(&width)) return Status::InvalidInput("dictionary page data has no bit width");
      std::vector<uint32_t> idx;
      MT_RETURN_IF_ERROR(DecodeRleHybrid(in, width, n, &idx));
      const size_t dsize = dict->size(t);
      for (uint32_t i : idx) {
        if (i >= dsize) {
          return Status::InvalidInput("dictionary index " + std::to_string(i) + " past the dictionary's " +
                                      std::to_string(dsize) + " values");
        }
      }
      for (uint32_t i : idx) {
        switch (t) {
          case PhysicalType::kBoolean: out->bools.push_back(dict->bools[i]); break;
          case PhysicalType::kInt32:
          case PhysicalType::kInt64: out->ints.push_back(dict->ints[i]); break;
          case PhysicalType::kFloat:
          case PhysicalType::kDouble: out->doubles.push_back(dict->doubles[i]); break;
          default: out->strings.push_back(dict->strings[i]);
        }
      }
      return Status::OK();
    }
    case Encoding::kDeltaBinaryPacked: {
      if (t != PhysicalType::kInt32 && t != PhysicalType::kInt64) break;
      const size_t before = out->ints.size();
      MT_RETURN_IF_ERROR(DecodeDeltaBinaryPacked(in, n, &out->ints));
      if (out->ints.size() - before != n) return Status::InvalidInput("DELTA_BINARY_PACKED holds too few values");
      return Status::OK();
    }
    case Encoding::kDeltaLengthByteArray:
      if (t != PhysicalType::kByteArray) break;
      return DecodeDeltaLengthByteArray(in, n, &out->strings);
    case Encoding::kDeltaByteArray:
      if (t != PhysicalType::kByteArray && t != PhysicalType::kFixedLenByteArray) break;
      return DecodeDeltaByteArray(in, n, &out->strings);
    case Encoding::kByteStreamSplit: {
      const int w = (t == PhysicalType::kFloat || t == PhysicalType::kInt32) ? 4
                    : (t == PhysicalType::kDouble || t == PhysicalType::kInt64) ? 8 : 0;
      if (w == 0) break;
      std::string raw;
      MT_RETURN_IF_ERROR(DecodeByteStreamSplit(in, n, w, &raw));
      ByteCursor rc(raw);
      return DecodePlain(info, &rc, n, out);
    }
    case Encoding::kRle: {
      if (t != PhysicalType::kBoolean) break;
      std::vector<uint32_t> bits;
      MT_RETURN_IF_ERROR(DecodeLevelsV1(in, 1, n, &bits));
      for (uint32_t b : bits) out->bools.push_back(static_cast<uint8_t>(b));
      return Status::OK();
    }
    default:
      break;
  }
  return Status::InvalidInput(EncodingName(enc) + " is not supported for " + PhysicalTypeName(t) + " values");
}

// Appends one page's rows: `levels` per row (empty: all defined), values dense.
Status Spread(const ChunkInfo& info, const std::vector<uint32_t>& levels, size_t rows, Dense& d,
              ColumnValues* out) {
  const PhysicalType t = info.type;
  size_t k = 0;
  const size_t have = d.size(t);
  for (size_t r = 0; r < rows; r++) {
    const bool def = levels.empty() || levels[r] == static_cast<uint32_t>(info.max_def);
    if (def && k >= have) return Status::InvalidInput("page has fewer values than defined rows");
    out->defined.push_back(def ? 1 : 0);
    switch (t) {
      case PhysicalType::kBoolean: out->bools.push_back(def ? d.bools[k] : 0); break;
      case PhysicalType::kInt32:
      case PhysicalType::kInt64: out->ints.push_back(def ? d.ints[k] : 0); break;
      case PhysicalType::kFloat:
      case PhysicalType::kDouble: out->doubles.push_back(def ? d.doubles[k] : 0.0); break;
      default: out->strings.push_back(def ? std::move(d.strings[k]) : std::string());
    }
    if (def) k++;
  }
  if (k != have) return Status::InvalidInput("page has more values than defined rows");
  out->num_rows += rows;
  return Status::OK();
}

}  // namespace

Result<ColumnValues> DecodeColumnChunk(std::string_view bytes, const ChunkInfo& info) {
  if (info.max_rep > 0) return Status::InvalidInput("repeated (nested) columns are not supported");
  if (info.max_def < 0 || info.max_def > 32) return Status::InvalidInput("definition level out of range");
  ColumnValues out;
  out.type = info.type;
  Dense dict;
  bool have_dict = false;
  const int level_width = BitWidthOf(static_cast<uint64_t>(info.max_def));
  size_t pos = 0;
  std::string page;
  while (pos < bytes.size() && out.num_rows < static_cast<uint64_t>(info.num_rows)) {
    PageHeader h;
    size_t hlen = 0;
    MT_RETURN_IF_ERROR(ParsePageHeader(bytes.substr(pos), &h, &hlen).WithContext("at chunk byte " + std::to_string(pos)));
    pos += hlen;
    if (static_cast<size_t>(h.compressed_size) > bytes.size() - pos) {
      return Status::InvalidInput("page of " + std::to_string(h.compressed_size) + " bytes runs past the chunk");
    }
    const std::string_view body = bytes.substr(pos, static_cast<size_t>(h.compressed_size));
    if (h.has_crc && Crc32(body) != h.crc) return PageCrcMismatch(pos - hlen, h.crc, Crc32(body));
    pos += static_cast<size_t>(h.compressed_size);
    if (h.type == PageType::kIndexPage) continue;
    if (h.type == PageType::kDictionaryPage) {
      if (have_dict) return Status::InvalidInput("second dictionary page in one chunk");
      if (h.encoding != Encoding::kPlain && h.encoding != Encoding::kPlainDictionary) {
        return Status::InvalidInput("dictionary page in " + EncodingName(h.encoding));
      }
      MT_RETURN_IF_ERROR(DecompressPage(info.codec, body, static_cast<size_t>(h.uncompressed_size), &page));
      ByteCursor in(page);
      MT_RETURN_IF_ERROR(DecodePlain(info, &in, static_cast<size_t>(h.num_values), &dict));
      have_dict = true;
      continue;
    }
    // Data page: v1 (levels inside the compressed body) or v2 (levels first,
    // uncompressed).
    const size_t rows = static_cast<size_t>(h.num_values);
    if (rows > static_cast<uint64_t>(info.num_rows) - out.num_rows) {
      return Status::InvalidInput("data pages hold more rows than the row group's " + std::to_string(info.num_rows));
    }
    std::vector<uint32_t> levels;
    ByteCursor in(nullptr, 0);
    if (!h.v2) {
      MT_RETURN_IF_ERROR(DecompressPage(info.codec, body, static_cast<size_t>(h.uncompressed_size), &page));
      in = ByteCursor(page);
      if (info.max_def > 0) MT_RETURN_IF_ERROR(DecodeLevelsV1(&in, level_width, rows, &levels));
    } else {
      const size_t lv = static_cast<size_t>(h.v2_rep_levels_length) + static_cast<size_t>(h.v2_def_levels_length);
      if (lv > body.size() || lv > static_cast<size_t>(h.uncompressed_size)) {
        return Status::InvalidInput("v2 page levels run past the page");
      }
      if (h.v2_rep_levels_length != 0) return Status::InvalidInput("repetition levels in a flat column");
      if (info.max_def > 0) {
        ByteCursor lc(reinterpret_cast<const uint8_t*>(body.data()), lv);
        MT_RETURN_IF_ERROR(DecodeRleHybrid(&lc, level_width, rows, &levels));
      }
      const std::string_view values = body.substr(lv);
      const size_t want = static_cast<size_t>(h.uncompressed_size) - lv;
      if (h.v2_is_compressed) {
        MT_RETURN_IF_ERROR(DecompressPage(info.codec, values, want, &page));
      } else {
        if (values.size() != want) return Status::InvalidInput("v2 page size does not match its header");
        page.assign(values.data(), values.size());
      }
      in = ByteCursor(page);
    }
    size_t defined = rows;
    if (!levels.empty()) {
      defined = 0;
      for (uint32_t l : levels) {
        if (l > static_cast<uint32_t>(info.max_def)) return Status::InvalidInput("definition level above the maximum");
        defined += l == static_cast<uint32_t>(info.max_def);
      }
    }
    Dense d;
    MT_RETURN_IF_ERROR(DecodeValues(info, h.encoding, &in, defined, &dict, have_dict, &d));
    MT_RETURN_IF_ERROR(Spread(info, levels, rows, d, &out));
  }
  if (out.num_rows != static_cast<uint64_t>(info.num_rows)) {
    return Status::InvalidInput("column chunk holds " + std::to_string(out.num_rows) + " rows, the row group " +
                                std::to_string(info.num_rows));
  }
  return out;
}

void AppendColumnValues(ColumnValues v, ColumnValues* all) {
  all->num_rows += v.num_rows;
  all->defined.insert(all->defined.end(), v.defined.begin(), v.defined.end());
  all->ints.insert(all->ints.end(), v.ints.begin(), v.ints.end());
  all->doubles.insert(all->doubles.end(), v.doubles.begin(), v.doubles.end());
  all->bools.insert(all->bools.end(), v.bools.begin(), v.bools.end());
  for (auto& s : v.strings) all->strings.push_back(std::move(s));
}

}  // namespace mt::parquet
