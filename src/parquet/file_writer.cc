#include "parquet/file_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "core/atomic_file.h"
#include "core/open_files.h"
#include "parquet/thrift_compact.h"

namespace mt::parquet {

using columnar::ColumnData;
using columnar::ColumnKind;
using columnar::ColumnSpec;
using columnar::RowGroupData;

namespace {

// Compressors given back by threads that keep no scratch (KeepsEncodeScratch)
// after a small chunk, for the next such thread's chunk: creating ZSTD
// contexts for each of a grouped file's thousands of small chunks cost more
// than encoding them. At most kMax are kept, and only those that compressed
// small chunks (a context's workspace grows with its biggest input), so what
// they hold does not grow with the number of threads.
class SpareCompressors {
 public:
  struct Pair {
    std::unique_ptr<Compressor> comp, fast, small_dba, small_packed;
    Codec codec;
    int level;
  };
  static constexpr size_t kMax = 8;
  static constexpr size_t kSmallChunkBytes = 256u << 10;  // values of a chunk, at most
  // Never destroyed: a thread may encode while the process exits.
  static SpareCompressors& Get() {
    static SpareCompressors* s = new SpareCompressors;
    return *s;
  }
  bool Take(Codec codec, int level, Pair* out) {
    std::lock_guard<std::mutex> l(mu_);
    for (size_t i = 0; i < pairs_.size(); i++) {
      if (pairs_[i].codec == codec && pairs_[i].level == level) {
        *out = std::move(pairs_[i]);
        pairs_.erase(pairs_.begin() + static_cast<std::ptrdiff_t>(i));
        return true;
      }
    }
    return false;
  }
  void Give(Pair p) {
    std::lock_guard<std::mutex> l(mu_);
    if (pairs_.size() < kMax) pairs_.push_back(std::move(p));
  }

 private:
  std::mutex mu_;
  std::vector<Pair> pairs_;
};

}  // namespace

Result<EncodedChunk> EncodeChunkOnThisThread(const ColumnData& col, size_t rows, const WriterOptions& opts) {
  // One compressor per pool thread, reused across chunks (ZSTD contexts are
  // costly to create).
  thread_local std::unique_ptr<Compressor> comp, fast, small_dba, small_packed;
  thread_local Codec comp_codec = Codec::kGzip;
  thread_local int comp_level = -1;
  const bool keeps = KeepsEncodeScratch();
  SpareCompressors::Pair spare;
  if (!keeps && !comp && SpareCompressors::Get().Take(opts.codec, opts.zstd_level, &spare)) {
    comp = std::move(spare.comp);
    fast = std::move(spare.fast);
    small_dba = std::move(spare.small_dba);
    small_packed = std::move(spare.small_packed);
    comp_codec = opts.codec;
    comp_level = opts.zstd_level;
  }
  if (!comp || comp_codec != opts.codec || comp_level != opts.zstd_level) {
    comp = NewCompressor(opts.codec, opts.zstd_level);
    // ZSTD level 1 is tried on each chunk's data and kept when it costs < 1%.
    fast = opts.codec == Codec::kZstd && opts.zstd_level > 1 ? NewCompressor(opts.codec, 1) : nullptr;
    // Small DELTA_BYTE_ARRAY pages (a grouped file's per-instrument trade
    // ids: the digits that differ from the previous id) take level 1 with
    // matches of at least 6 bytes: the level's shorter matches in digits
    // cost ZSTD time and save next to no bytes (bench/README.md).
    small_dba = fast ? NewCompressor(opts.codec, 1, /*min_match=*/6) : nullptr;
    // Small DELTA_BINARY_PACKED pages (a grouped file's per-instrument
    // timestamps: bit-packed deltas, bytes of about even frequency) take
    // level 1 with raw literals: a Huffman table, built for every such page,
    // took most of their ZSTD time and next to none of their bytes
    // (bench/README.md).
    small_packed = fast ? NewCompressor(opts.codec, 1, 0, Literals::kRaw) : nullptr;
    comp_codec = opts.codec;
    comp_level = opts.zstd_level;
  }
  EncodedChunk chunk;
  // Pages too small for the level trial take ZSTD level 1 outright when the
  // configured level is the default or below: on them level 3 costs more CPU
  // for about the same bytes (a grouped file's thousands of small chunks;
  // bench/README.md). A higher level, asked for, is kept.
  const size_t fast_below = opts.zstd_level <= 3 ? kLevelTrialBytes : 0;
  Status st = EncodeColumnChunk(
      col, rows, opts.encode, PageCompressors{comp.get(), fast.get(), fast_below, small_dba.get(), small_packed.get()},
      &chunk);
  // A ZSTD context holds a workspace sized for the biggest input it saw.
  if (!keeps) {
    if (col.MemoryBytes() <= SpareCompressors::kSmallChunkBytes) {
      SpareCompressors::Get().Give(
          {std::move(comp), std::move(fast), std::move(small_dba), std::move(small_packed), comp_codec, comp_level});
    }
    comp.reset(), fast.reset(), small_dba.reset(), small_packed.reset();
  }
  if (!st.ok()) return st;
  return chunk;
}

namespace {

// Encodes the columns of `rg` (biggest first on a pool); `hold` keeps rg
// alive for the tasks and may free each column once it is encoded.
template <typename Hold>
std::vector<std::future<Result<EncodedChunk>>> SubmitColumns(const std::vector<ColumnSpec>& schema,
                                                             const RowGroupData* rg, Hold hold,
                                                             const WriterOptions& opts, std::vector<bool>* plain_hint) {
  std::vector<std::future<Result<EncodedChunk>>> columns;
  // Biggest columns first (longest processing time first): the last task of
  // a row group is then a short one, so the threads finish close together.
  // The chunks still go into the file in schema order.
  std::vector<size_t> order(schema.size());
  for (size_t c = 0; c < order.size(); c++) order[c] = c;
  if (opts.pool) {
    std::vector<size_t> bytes(order.size());
    for (size_t c = 0; c < order.size(); c++) bytes[c] = rg->columns[c].MemoryBytes();
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return bytes[a] > bytes[b]; });
  }
  columns.resize(schema.size());
  for (size_t c : order) {
    if (plain_hint && c < plain_hint->size() && schema[c].kind == ColumnKind::kString) {
      (*plain_hint)[c] = !rg->columns[c].str.dict_mode();
    }
    if (opts.pool) {
      const WriterOptions* o = &opts;
      columns[c] = opts.pool->Submit([rg, hold, c, o]() mutable {
        Result<EncodedChunk> r = EncodeChunkOnThisThread(rg->columns[c], rg->num_rows, *o);
        hold.Release(c);
        hold.Drop();  // the task lets go of the row group before its result is ready
        return r;
      });
    } else {
      std::promise<Result<EncodedChunk>> pr;
      pr.set_value(EncodeChunkOnThisThread(rg->columns[c], rg->num_rows, opts));
      hold.Release(c);
      columns[c] = pr.get_future();
    }
  }
  return columns;
}

// A row group the tasks own: each column's values are freed once encoded
// and the row group with the last task, so whoever waited for the result
// can reuse that memory.
struct Owned {
  std::shared_ptr<RowGroupData> data;
  void Release(size_t c) { data->columns[c].Release(); }
  void Drop() { data.reset(); }
};
// A row group the caller keeps.
struct Borrowed {
  void Release(size_t) {}
  void Drop() {}
};

}  // namespace

std::vector<std::future<Result<EncodedChunk>>> SubmitRowGroup(const std::vector<ColumnSpec>& schema,
                                                              RowGroupData rg, const WriterOptions& opts,
                                                              std::vector<bool>* plain_hint) {
  auto data = std::make_shared<RowGroupData>(std::move(rg));
  return SubmitColumns(schema, data.get(), Owned{data}, opts, plain_hint);
}

std::vector<std::future<Result<EncodedChunk>>> SubmitRowGroupRef(const std::vector<ColumnSpec>& schema,
                                                                 const RowGroupData* rg, const WriterOptions& opts,
                                                                 std::vector<bool>* plain_hint) {
  return SubmitColumns(schema, rg, Borrowed{}, opts, plain_hint);
}

FileWriter::FileWriter(storage::WritableObject* sink, std::vector<ColumnSpec> schema,
                       WriterOptions opts)
    : sink_(sink), schema_(std::move(schema)), opts_(std::move(opts)) {
  plain_hint_.assign(schema_.size(), false);
  status_ = Append("PAR1");
}

FileWriter::~FileWriter() {
  if (footer_fd_ >= 0) ::close(footer_fd_);
}

Status FileWriter::Append(std::string_view bytes) {
  MT_RETURN_IF_ERROR(sink_->Append(bytes));
  offset_ += static_cast<int64_t>(bytes.size());
  return Status::OK();
}

Status FileWriter::WriteRowGroup(RowGroupData rg) {
  if (!status_.ok()) return status_;
  if (rg.num_rows == 0) return Status::OK();
  const int64_t num_rows = static_cast<int64_t>(rg.num_rows);
  if (!opts_.pool) {
    return status_ = AppendEncodedInline(num_rows, [&](size_t c, EncodedChunk* out) {
      Status st = EncodeHinted(rg.columns[c], c, static_cast<size_t>(num_rows), out);
      rg.columns[c].Release();
      return st;
    });
  }
  std::vector<std::future<Result<EncodedChunk>>> columns = SubmitRowGroup(schema_, std::move(rg), opts_, &plain_hint_);
  return status_ = AppendRowGroup(num_rows, &columns);
}

Status FileWriter::WriteRowGroupFrom(const RowGroupData& rg) {
  if (!status_.ok()) return status_;
  if (rg.num_rows == 0) return Status::OK();
  if (!opts_.pool) {
    return status_ = AppendEncodedInline(static_cast<int64_t>(rg.num_rows), [&](size_t c, EncodedChunk* out) {
      return EncodeHinted(rg.columns[c], c, rg.num_rows, out);
    });
  }
  std::vector<std::future<Result<EncodedChunk>>> columns = SubmitRowGroupRef(schema_, &rg, opts_, &plain_hint_);
  return status_ = AppendRowGroup(static_cast<int64_t>(rg.num_rows), &columns);
}

Status FileWriter::WriteRowGroupByColumn(size_t num_rows, const std::function<Status(size_t, ColumnData*)>& fill) {
  if (!status_.ok()) return status_;
  if (num_rows == 0) return Status::OK();
  RowGroupData rg = columnar::MakeRowGroup(schema_);
  rg.num_rows = num_rows;
  return status_ = AppendEncodedInline(static_cast<int64_t>(num_rows), [&](size_t c, EncodedChunk* out) {
    MT_RETURN_IF_ERROR(fill(c, &rg.columns[c]));
    Status st = EncodeHinted(rg.columns[c], c, num_rows, out);
    rg.columns[c].Release();
    return st;
  });
}

Status FileWriter::EncodeHinted(const ColumnData& col, size_t c, size_t rows, EncodedChunk* out) {
  if (schema_[c].kind == ColumnKind::kString) plain_hint_[c] = !col.str.dict_mode();
  Result<EncodedChunk> r = EncodeChunkOnThisThread(col, rows, opts_);
  if (!r.ok()) return r.status();
  *out = std::move(*r);
  return Status::OK();
}

Status FileWriter::AppendEncodedInline(int64_t num_rows,
                                       const std::function<Status(size_t, EncodedChunk*)>& encode) {
  return FinishRowGroup(num_rows, [&](const std::function<Status(EncodedChunk&)>& each) {
    EncodedChunk chunk;
    for (size_t c = 0; c < schema_.size(); c++) {
      MT_RETURN_IF_ERROR(encode(c, &chunk));
      MT_RETURN_IF_ERROR(each(chunk));
    }
    return Status::OK();
  });
}

Status FileWriter::AppendRowGroup(int64_t num_rows, std::vector<std::future<Result<EncodedChunk>>>* columns) {
  return FinishRowGroup(num_rows, [&](const std::function<Status(EncodedChunk&)>& each) {
    return ForEachEncodedChunk(columns, opts_.pool, each);
  });
}

Status FileWriter::FinishRowGroup(int64_t num_rows,
                                  const std::function<Status(const std::function<Status(EncodedChunk&)>&)>& chunks_in_order) {
  RowGroupMeta meta;
  meta.num_rows = num_rows;
  meta.file_offset = offset_;
  meta.total_uncompressed = meta.total_compressed = 0;
  std::vector<EncodedChunk> chunks;
  std::vector<int64_t> chunk_offsets;
  MT_RETURN_IF_ERROR(chunks_in_order([&](EncodedChunk& chunk) {
    chunk_offsets.push_back(offset_);
    Status st = Append(chunk.bytes);
    meta.total_uncompressed += chunk.total_uncompressed;
    meta.total_compressed += static_cast<int64_t>(chunk.bytes.size());
    chunk.bytes.clear();
    chunk.bytes.shrink_to_fit();
    chunks.push_back(std::move(chunk));
    return st;
  }));
  SerializeColumnChunks(schema_, chunks, chunk_offsets, &meta.columns_thrift);
  meta.num_columns = static_cast<uint32_t>(chunks.size());
  num_rows_ += meta.num_rows;
  footer_held_ += meta.columns_thrift.size();
  row_groups_.push_back(std::move(meta));
  if (opts_.footer_memory_bytes > 0 && footer_held_ > opts_.footer_memory_bytes) return SpillFooter();
  return Status::OK();
}

namespace {

std::string ErrnoText() { return std::strerror(errno); }
constexpr char kFooterSpillName[] = "(market-tick footer spill)";

}  // namespace

Status FileWriter::SpillFooter() {
  if (footer_fd_ < 0) {
    std::string dir;
    const int fd = OpenUnnamedTempFile(opts_.footer_spill_dir, "footer", &dir);
    if (fd < 0) return TempFileError(dir, "a file's footer", -fd, "set TMPDIR to a writable directory");
    footer_fd_ = fd;
  }
  std::string buf;
  for (RowGroupMeta& m : row_groups_) {
    if (m.spilled_at >= 0) continue;
    m.spilled_at = footer_spilled_ + static_cast<int64_t>(buf.size());
    m.spilled_len = static_cast<uint32_t>(m.columns_thrift.size());
    buf += m.columns_thrift;
    std::string().swap(m.columns_thrift);
  }
  for (size_t done = 0; done < buf.size();) {
    const ssize_t w = ::write(footer_fd_, buf.data() + done, buf.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::IOError(std::string("write ") + kFooterSpillName + ": " + ErrnoText());
    }
    done += static_cast<size_t>(w);
  }
  footer_spilled_ += static_cast<int64_t>(buf.size());
  footer_held_ = 0;
  return Status::OK();
}

Status FileWriter::Finish(const std::vector<std::pair<std::string, std::string>>& kv) {
  if (!status_.ok()) return status_;
  // The footer goes out in pieces of about 1 MiB (it may be larger than
  // what memory should hold; see WriterOptions::footer_memory_bytes).
  constexpr size_t kPiece = 1u << 20;
  const int64_t footer_start = offset_;
  std::string piece;
  auto columns_of = [&](size_t i, std::string* out) -> Status {
    const RowGroupMeta& m = row_groups_[i];
    if (m.spilled_at < 0) {
      *out += m.columns_thrift;
      return Status::OK();
    }
    const size_t at = out->size();
    out->resize(at + m.spilled_len);
    for (size_t got = 0; got < m.spilled_len;) {
      const ssize_t r = ::pread(footer_fd_, out->data() + at + got, m.spilled_len - got,
                                static_cast<off_t>(m.spilled_at + static_cast<int64_t>(got)));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return Status::IOError(std::string("read ") + kFooterSpillName + ": " + (r < 0 ? ErrnoText() : "short"));
      got += static_cast<size_t>(r);
    }
    return Status::OK();
  };
  auto emit = [&](std::string_view bytes) -> Status {
    piece += bytes;
    if (piece.size() < kPiece) return Status::OK();
    Status st = Append(piece);
    piece.clear();
    return st;
  };
  MT_RETURN_IF_ERROR(status_ = StreamFileFooter(schema_, opts_, row_groups_, num_rows_, kv, columns_of, emit));
  const uint32_t n = static_cast<uint32_t>(offset_ + static_cast<int64_t>(piece.size()) - footer_start);
  for (int i = 0; i < 4; i++) piece.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
  piece += "PAR1";
  MT_RETURN_IF_ERROR(status_ = Append(piece));
  status_ = Status::Internal("writer already finished");
  return Status::OK();
}

Status ForEachEncodedChunk(std::vector<std::future<Result<EncodedChunk>>>* columns, ThreadPool* pool,
                           const std::function<Status(EncodedChunk&)>& each) {
  Status st;
  for (auto& f : *columns) {
    while (pool && f.wait_for(std::chrono::seconds(0)) != std::future_status::ready && pool->RunPendingTask()) {
    }
    Result<EncodedChunk> r = f.get();
    if (!st.ok()) continue;  // drain the remaining futures
    if (!r.ok()) {
      st = r.status();
      continue;
    }
    st = each(*r);
  }
  return st;
}

void SerializeColumnChunks(const std::vector<ColumnSpec>& schema,
                           const std::vector<EncodedChunk>& chunks, const std::vector<int64_t>& offsets,
                           std::string* out) {
  ThriftWriter w(out);
  for (size_t c = 0; c < chunks.size(); c++) {
    const EncodedChunk& ch = chunks[c];
    const int64_t base = offsets[c];
    w.BeginStruct();
    w.FieldI64(fid::kCcFileOffset, base);
    w.FieldStruct(fid::kCcMetaData);
    w.FieldI32(fid::kCmType, static_cast<int32_t>(PhysicalTypeOf(schema[c].kind)));
    w.FieldList(fid::kCmEncodings, TType::kI32, static_cast<uint32_t>(ch.encodings.size()));
    for (Encoding e : ch.encodings) w.ListI32(static_cast<int32_t>(e));
    w.FieldList(fid::kCmPathInSchema, TType::kBinary, 1);
    w.Binary(schema[c].name);
    w.FieldI32(fid::kCmCodec, static_cast<int32_t>(ch.codec));
    w.FieldI64(fid::kCmNumValues, ch.num_values);
    w.FieldI64(fid::kCmTotalUncompressed, ch.total_uncompressed);
    w.FieldI64(fid::kCmTotalCompressed, ch.total_compressed_size());
    w.FieldI64(fid::kCmDataPageOffset, base + ch.data_page_rel);
    if (ch.dict_page_rel >= 0) w.FieldI64(fid::kCmDictionaryPageOffset, base + ch.dict_page_rel);
    w.FieldStruct(fid::kCmStatistics);
    w.FieldI64(fid::kStNullCount, ch.null_count);
    if (ch.has_min_max) {
      w.FieldBinary(fid::kStMaxValue, ch.max_value);
      w.FieldBinary(fid::kStMinValue, ch.min_value);
    }
    w.EndStruct();
    w.EndStruct();  // ColumnMetaData
    w.EndStruct();  // ColumnChunk
  }
}

Status StreamFileFooter(const std::vector<ColumnSpec>& schema, const WriterOptions& opts,
                        const std::vector<RowGroupMeta>& row_groups, int64_t num_rows,
                        const std::vector<std::pair<std::string, std::string>>& kv,
                        const std::function<Status(size_t, std::string*)>& columns_of,
                        const std::function<Status(std::string_view)>& emit) {
  // The writer appends to `out`, which is handed to `emit` and emptied after
  // each row group (the writer keeps only its field-id stack, not offsets).
  std::string out;
  ThriftWriter w(&out);
  w.BeginStruct();
  w.FieldI32(fid::kFmVersion, 1);
  // Schema: a root group, then one leaf per column.
  w.FieldList(fid::kFmSchema, TType::kStruct, static_cast<uint32_t>(schema.size() + 1));
  w.BeginStruct();
  w.FieldBinary(fid::kSeName, "schema");
  w.FieldI32(fid::kSeNumChildren, static_cast<int32_t>(schema.size()));
  w.EndStruct();
  for (const ColumnSpec& c : schema) {
    w.BeginStruct();
    w.FieldI32(fid::kSeType, static_cast<int32_t>(PhysicalTypeOf(c.kind)));
    w.FieldI32(fid::kSeRepetition,
               static_cast<int32_t>(c.nullable ? Repetition::kOptional : Repetition::kRequired));
    w.FieldBinary(fid::kSeName, c.name);
    if (c.kind == ColumnKind::kString) {
      w.FieldI32(fid::kSeConvertedType, static_cast<int32_t>(ConvertedType::kUtf8));
      w.FieldStruct(fid::kSeLogicalType);
      w.FieldStruct(fid::kLtString);
      w.EndStruct();
      w.EndStruct();
    } else if (c.kind == ColumnKind::kTimestampMicros) {
      w.FieldI32(fid::kSeConvertedType, static_cast<int32_t>(ConvertedType::kTimestampMicros));
      w.FieldStruct(fid::kSeLogicalType);
      w.FieldStruct(fid::kLtTimestamp);
      w.FieldBool(fid::kTsAdjustedToUtc, true);
      w.FieldStruct(fid::kTsUnit);
      w.FieldStruct(fid::kTuMicros);
      w.EndStruct();
      w.EndStruct();
      w.EndStruct();
      w.EndStruct();
    }
    w.EndStruct();
  }
  w.FieldI64(fid::kFmNumRows, num_rows);
  w.FieldList(fid::kFmRowGroups, TType::kStruct, static_cast<uint32_t>(row_groups.size()));
  for (size_t rgi = 0; rgi < row_groups.size(); rgi++) {
    const RowGroupMeta& rg = row_groups[rgi];
    w.BeginStruct();
    w.FieldList(fid::kRgColumns, TType::kStruct, rg.num_columns);
    MT_RETURN_IF_ERROR(columns_of(rgi, &out));  // whole structs, see SerializeColumnChunks
    w.FieldI64(fid::kRgTotalByteSize, rg.total_uncompressed);
    w.FieldI64(fid::kRgNumRows, rg.num_rows);
    w.FieldI64(fid::kRgFileOffset, rg.file_offset);
    w.FieldI64(fid::kRgTotalCompressedSize, rg.total_compressed);
    w.FieldI16(fid::kRgOrdinal, static_cast<int16_t>(rgi));
    w.EndStruct();
    MT_RETURN_IF_ERROR(emit(out));
    out.clear();
  }
  if (!kv.empty()) {
    w.FieldList(fid::kFmKeyValue, TType::kStruct, static_cast<uint32_t>(kv.size()));
    for (const auto& [k, v] : kv) {
      w.BeginStruct();
      w.FieldBinary(fid::kKvKey, k);
      w.FieldBinary(fid::kKvValue, v);
      w.EndStruct();
    }
  }
  w.FieldBinary(fid::kFmCreatedBy, opts.created_by);
  // TypeDefinedOrder for every column: min/max use the type's natural order.
  w.FieldList(fid::kFmColumnOrders, TType::kStruct, static_cast<uint32_t>(schema.size()));
  for (size_t c = 0; c < schema.size(); c++) {
    w.BeginStruct();
    w.FieldStruct(fid::kCoTypeOrder);
    w.EndStruct();
    w.EndStruct();
  }
  w.EndStruct();
  return emit(out);
}

std::string SerializeFileFooter(const std::vector<ColumnSpec>& schema, const WriterOptions& opts,
                                const std::vector<RowGroupMeta>& row_groups, int64_t num_rows,
                                const std::vector<std::pair<std::string, std::string>>& kv) {
  std::string footer;
  Status st = StreamFileFooter(
      schema, opts, row_groups, num_rows, kv,
      [&](size_t i, std::string* out) {
        *out += row_groups[i].columns_thrift;
        return Status::OK();
      },
      [&](std::string_view bytes) {
        footer += bytes;
        return Status::OK();
      });
  (void)st;  // neither callback fails
  return footer;
}

}  // namespace mt::parquet
