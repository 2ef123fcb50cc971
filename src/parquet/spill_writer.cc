#include "parquet/spill_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "core/atomic_file.h"

namespace mt::parquet {

using columnar::ColumnSpec;
using columnar::RowGroupData;

namespace {

constexpr size_t kBufferBytes = 1 << 20;  // spill writes of at least this much
constexpr size_t kCopyBytes = 4 << 20;    // spill -> output copies

void PutI64(std::string* out, int64_t v) {
  char b[8];
  std::memcpy(b, &v, 8);
  out->append(b, 8);
}
void PutBytes(std::string* out, const std::string& s) {
  const uint32_t n = static_cast<uint32_t>(s.size());
  char b[4];
  std::memcpy(b, &n, 4);
  out->append(b, 4);
  out->append(s);
}

// Reads what PutI64/PutBytes wrote; false past the end.
struct Reader {
  const char* p;
  const char* end;
  bool I64(int64_t* v) {
    if (end - p < 8) return false;
    std::memcpy(v, p, 8);
    p += 8;
    return true;
  }
  bool Bytes(std::string* s) {
    if (end - p < 4) return false;
    uint32_t n;
    std::memcpy(&n, p, 4);
    p += 4;
    if (static_cast<size_t>(end - p) < n) return false;
    s->assign(p, n);
    p += n;
    return true;
  }
};

// The footer needs, per chunk, what EncodedChunk holds besides its bytes.
void SerializeChunkMeta(const EncodedChunk& ch, std::string* out) {
  PutI64(out, ch.dict_page_rel);
  PutI64(out, ch.data_page_rel);
  PutI64(out, ch.total_uncompressed);
  PutI64(out, ch.num_values);
  PutI64(out, ch.null_count);
  PutI64(out, ch.compressed_bytes);
  PutI64(out, static_cast<int64_t>(ch.encodings.size()));
  for (Encoding e : ch.encodings) PutI64(out, static_cast<int64_t>(e));
  PutI64(out, ch.has_min_max ? 1 : 0);
  PutBytes(out, ch.min_value);
  PutBytes(out, ch.max_value);
}

bool ParseChunkMeta(Reader* r, EncodedChunk* ch) {
  int64_t n = 0, has = 0;
  if (!r->I64(&ch->dict_page_rel) || !r->I64(&ch->data_page_rel) || !r->I64(&ch->total_uncompressed) ||
      !r->I64(&ch->num_values) || !r->I64(&ch->null_count) || !r->I64(&ch->compressed_bytes) || !r->I64(&n) ||
      n < 0 || n > 64) {
    return false;
  }
  for (int64_t i = 0; i < n; i++) {
    int64_t e;
    if (!r->I64(&e)) return false;
    ch->encodings.push_back(static_cast<Encoding>(e));
  }
  if (!r->I64(&has) || !r->Bytes(&ch->min_value) || !r->Bytes(&ch->max_value)) return false;
  ch->has_min_max = has != 0;
  return true;
}

std::string ErrnoText() { return std::strerror(errno); }

}  // namespace

SpillWriter::SpillWriter(std::vector<ColumnSpec> schema, WriterOptions opts, size_t max_queued,
                         size_t max_queued_bytes)
    : schema_(std::move(schema)), opts_(std::move(opts)), max_queued_(max_queued), max_queued_bytes_(max_queued_bytes) {
  plain_hint_.assign(schema_.size(), false);
  status_ = Status::Internal("spill not open");
}

SpillWriter::~SpillWriter() {
  // Abandoned: wait for tasks that still reference queued row groups.
  for (auto& q : queue_) {
    for (auto& f : q.columns) {
      if (f.valid()) f.wait();
    }
  }
  if (fd_ >= 0) ::close(fd_);
}

Status SpillWriter::Open(const std::string& dir_in) {
  std::string dir = dir_in;
  if (dir.empty()) {
    const char* t = std::getenv("TMPDIR");
    dir = t && *t ? t : "/tmp";
  }
  path_ = dir + "/(market-tick spill)";
  // O_TMPFILE: a file with no name at all, so nothing can be left behind.
  fd_ = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    // File systems without O_TMPFILE: a fresh name, unlinked right away.
    std::string tmpl = dir + "/.market-tick-spill-XXXXXX";
    fd_ = ::mkostemp(tmpl.data(), O_CLOEXEC);
    if (fd_ < 0) {
      return status_ = Status::IOError("cannot create a temporary spill file in " + dir + ": " + ErrnoText() +
                                       " (set TMPDIR to a writable directory with room for the output)");
    }
    ::unlink(tmpl.c_str());
  }
  buffer_.reserve(kBufferBytes);
  return status_ = Status::OK();
}

uint32_t SpillWriter::AddFile() {
  files_.emplace_back();
  return static_cast<uint32_t>(files_.size() - 1);
}

Status SpillWriter::WriteRowGroup(uint32_t file, RowGroupData rg) {
  if (!status_.ok()) return status_;
  if (rg.num_rows == 0) return Status::OK();
  Queued q;
  q.file = file;
  q.num_rows = static_cast<int64_t>(rg.num_rows);
  q.bytes = rg.MemoryBytes();
  queued_bytes_ += q.bytes;
  q.columns = SubmitRowGroup(schema_, std::move(rg), opts_, &plain_hint_);
  queue_.push_back(std::move(q));
  // Bounded by count and by bytes: a row group's values live until encoded.
  while ((queue_.size() > max_queued_ || queued_bytes_ > max_queued_bytes_) && status_.ok()) {
    status_ = FlushOne();
  }
  return status_;
}

Status SpillWriter::Drain() {
  while (!queue_.empty() && status_.ok()) status_ = FlushOne();
  return status_;
}

Status SpillWriter::FlushOne() {
  Queued q = std::move(queue_.front());
  queue_.pop_front();
  queued_bytes_ -= q.bytes;
  Spilled s;
  s.offset = spill_size_;
  s.num_rows = q.num_rows;
  std::string meta;
  MT_RETURN_IF_ERROR(ForEachEncodedChunk(&q.columns, opts_.pool, [&](EncodedChunk& chunk) {
    SerializeChunkMeta(chunk, &meta);
    return SpillAppend(chunk.bytes);
  }));
  s.data_len = spill_size_ - s.offset;
  s.meta_len = static_cast<uint32_t>(meta.size());
  MT_RETURN_IF_ERROR(SpillAppend(meta));
  File& f = files_[q.file];
  f.num_rows += q.num_rows;
  f.groups.push_back(s);
  return Status::OK();
}

Status SpillWriter::SpillAppend(std::string_view bytes) {
  spill_size_ += bytes.size();
  if (buffer_.size() + bytes.size() > kBufferBytes) MT_RETURN_IF_ERROR(FlushBuffer());
  if (bytes.size() >= kBufferBytes) {
    buffer_.assign(bytes.data(), bytes.size());  // a big chunk: one write
    return FlushBuffer();
  }
  buffer_.append(bytes.data(), bytes.size());
  return Status::OK();
}

Status SpillWriter::FlushBuffer() {
  if (const int err = WriteAll(fd_, buffer_)) return Status::IOError("write " + path_ + ": " + std::strerror(err));
  buffer_.clear();
  return Status::OK();
}

Status SpillWriter::ReadSpill(uint64_t offset, size_t n, char* out) {
  size_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(fd_, out + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::IOError("read " + path_ + ": " + ErrnoText());
    }
    if (r == 0) return Status::IOError("read " + path_ + ": the spill file is shorter than written");
    got += static_cast<size_t>(r);
  }
  return Status::OK();
}

Status SpillWriter::WriteFile(uint32_t file, storage::WritableObject* sink,
                              const std::vector<std::pair<std::string, std::string>>& kv) {
  MT_RETURN_IF_ERROR(status_);
  if (!queue_.empty()) return Status::Internal("SpillWriter::WriteFile before Drain");
  if (!buffer_.empty()) MT_RETURN_IF_ERROR(status_ = FlushBuffer());
  const File& f = files_[file];
  // The object is gathered in `obj` and handed to the sink in pieces of at
  // least kCopyBytes (most objects of a grouped file are a few KB: one write
  // each instead of one per row group and part).
  std::string obj = "PAR1";
  int64_t offset = 4;
  std::vector<RowGroupMeta> metas;
  metas.reserve(f.groups.size());
  std::string meta;
  for (const Spilled& g : f.groups) {
    meta.resize(g.meta_len);
    MT_RETURN_IF_ERROR(ReadSpill(g.offset + g.data_len, g.meta_len, meta.data()));
    RowGroupMeta m;
    m.num_rows = g.num_rows;
    m.file_offset = offset;
    m.total_uncompressed = m.total_compressed = 0;
    Reader r{meta.data(), meta.data() + meta.size()};
    int64_t rel = 0;
    std::vector<EncodedChunk> chunks(schema_.size());
    std::vector<int64_t> chunk_offsets;
    for (size_t c = 0; c < schema_.size(); c++) {
      EncodedChunk& ch = chunks[c];
      if (!ParseChunkMeta(&r, &ch)) return Status::Internal("spill record of " + path_ + " is damaged");
      chunk_offsets.push_back(offset + rel);
      rel += ch.compressed_bytes;
      m.total_uncompressed += ch.total_uncompressed;
      m.total_compressed += ch.compressed_bytes;
    }
    SerializeColumnChunks(schema_, opts_, chunks, chunk_offsets, &m.columns_thrift);
    m.num_columns = static_cast<uint32_t>(chunks.size());
    if (static_cast<uint64_t>(rel) != g.data_len) return Status::Internal("spill record of " + path_ + " is damaged");
    for (uint64_t done = 0; done < g.data_len;) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(kCopyBytes, g.data_len - done));
      const size_t at = obj.size();
      obj.resize(at + n);
      MT_RETURN_IF_ERROR(ReadSpill(g.offset + done, n, obj.data() + at));
      if (obj.size() >= kCopyBytes) {
        MT_RETURN_IF_ERROR(sink->Append(obj));
        obj.clear();
      }
      done += n;
    }
    offset += static_cast<int64_t>(g.data_len);
    metas.push_back(std::move(m));
  }
  const std::string footer = SerializeFileFooter(schema_, opts_, metas, f.num_rows, kv);
  obj += footer;
  const uint32_t n = static_cast<uint32_t>(footer.size());
  for (int i = 0; i < 4; i++) obj.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
  obj += "PAR1";
  return sink->Append(obj);
}

}  // namespace mt::parquet
