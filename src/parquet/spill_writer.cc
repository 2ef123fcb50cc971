#include "parquet/spill_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "core/atomic_file.h"
#include "core/open_files.h"
#include "core/parallel.h"

namespace mt::parquet {

using columnar::ColumnData;
using columnar::CopyShort;
using columnar::ColumnKind;
using columnar::ColumnSpec;
using columnar::RowGroupData;
using columnar::StringColumn;

namespace {

constexpr size_t kBufferBytes = 1 << 20;  // spill writes of at least this much

std::string ErrnoText() { return std::strerror(errno); }

// n bytes at `offset` of `fd` (the spill or its piece index, named `path` in
// messages): a file shorter than that is an error, as was written is read.
Status PreadAll(int fd, uint64_t offset, size_t n, char* out, const std::string& path) {
  size_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(fd, out + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::IOError("read " + path + ": " + ErrnoText());
    }
    if (r == 0) return Status::IOError("read " + path + ": the spill file is shorter than written");
    got += static_cast<size_t>(r);
  }
  return Status::OK();
}

// A piece in the spill, column after column:
//   u8 has_defined [u64 n, n bytes]  u64 null_count
//   timestamps: u64 n, u8 width: 8: the values; 4: i64 base, each value's
//               u32 offset from it (a split's range whose values span less
//               than 2^32 microseconds, 71 minutes: half the bytes to write
//               and read back)
//   doubles, booleans: u64 n, the values
//   strings: u8 1 (dictionary): u32 entries, each u32 length + bytes;
//                               u8 index width (0: one value repeated, 1, 2, 4); u64 n; the indices
//            u8 0 (plain): u64 n, u64 text bytes, u8 width: 4: n u32 value
//                          ends; 1: n u8 value lengths (a split's range
//                          whose values are all under 256 bytes: trade
//                          ids); the text
// Little-endian host values, read back by the same process only.
class PieceWriter {
 public:
  PieceWriter(std::string* buffer, int fd, const std::string& path, uint64_t* size)
      : buf_(buffer), fd_(fd), path_(path), size_(size) {}

  template <typename T>
  Status Put(T v) {
    return Bytes(&v, sizeof v);
  }
  // Big arrays go to the spill directly (no copy through the buffer).
  Status Bytes(const void* p, size_t n) {
    *size_ += n;
    if (n >= kBufferBytes) {
      MT_RETURN_IF_ERROR(Flush());
      if (const int err = WriteAll(fd_, std::string_view(static_cast<const char*>(p), n))) {
        return Status::IOError("write " + path_ + ": " + std::strerror(err));
      }
      return Status::OK();
    }
    buf_->append(static_cast<const char*>(p), n);
    if (buf_->size() >= kBufferBytes) return Flush();
    return Status::OK();
  }
  Status Flush() {
    if (buf_->empty()) return Status::OK();
    if (const int err = WriteAll(fd_, *buf_)) return Status::IOError("write " + path_ + ": " + std::strerror(err));
    buf_->clear();
    return Status::OK();
  }

 private:
  std::string* buf_;
  int fd_;
  const std::string& path_;
  uint64_t* size_;
};

Status PutString(PieceWriter* w, const StringColumn& s) {
  const size_t n = s.size();
  if (s.dict_mode()) {
    MT_RETURN_IF_ERROR(w->Put<uint8_t>(1));
    MT_RETURN_IF_ERROR(w->Put<uint32_t>(static_cast<uint32_t>(s.dict().size())));
    for (const std::string& v : s.dict()) {
      MT_RETURN_IF_ERROR(w->Put<uint32_t>(static_cast<uint32_t>(v.size())));
      MT_RETURN_IF_ERROR(w->Bytes(v.data(), v.size()));
    }
    if (s.constant() || n == 0) {
      MT_RETURN_IF_ERROR(w->Put<uint8_t>(0));
      return w->Put<uint64_t>(n);
    }
    const size_t entries = s.dict().size();
    const uint8_t width = entries <= 0x100 ? 1 : entries <= 0x10000 ? 2 : 4;
    MT_RETURN_IF_ERROR(w->Put<uint8_t>(width));
    MT_RETURN_IF_ERROR(w->Put<uint64_t>(n));
    const uint32_t* idx = s.indices().data();
    if (width == 4) return w->Bytes(idx, n * 4);
    // Narrowed in blocks (side: one byte per row instead of four).
    char block[16384];
    for (size_t at = 0; at < n;) {
      const size_t m = std::min(n - at, sizeof block / width);
      if (width == 1) {
        for (size_t i = 0; i < m; i++) block[i] = static_cast<char>(idx[at + i]);
      } else {
        for (size_t i = 0; i < m; i++) {
          const uint16_t v = static_cast<uint16_t>(idx[at + i]);
          std::memcpy(block + 2 * i, &v, 2);
        }
      }
      MT_RETURN_IF_ERROR(w->Bytes(block, m * width));
      at += m;
    }
    return Status::OK();
  }
  MT_RETURN_IF_ERROR(w->Put<uint8_t>(0));
  MT_RETURN_IF_ERROR(w->Put<uint64_t>(n));
  MT_RETURN_IF_ERROR(w->Put<uint64_t>(s.text_size()));
  MT_RETURN_IF_ERROR(w->Put<uint8_t>(4));
  uint32_t ends[4096];
  uint32_t end = 0;
  for (size_t at = 0; at < n;) {
    const size_t m = std::min<size_t>(n - at, 4096);
    for (size_t i = 0; i < m; i++) ends[i] = end += static_cast<uint32_t>(s.Get(at + i).size());
    MT_RETURN_IF_ERROR(w->Bytes(ends, m * 4));
    at += m;
  }
  for (size_t i = 0; i < n; i++) {
    const std::string_view v = s.Get(i);
    MT_RETURN_IF_ERROR(w->Bytes(v.data(), v.size()));
  }
  return Status::OK();
}

template <typename V>
Status PutValues(PieceWriter* w, const V& v) {
  MT_RETURN_IF_ERROR(w->Put<uint64_t>(v.size()));
  return w->Bytes(v.data(), v.size() * sizeof(v[0]));
}

Status PutTimestamps(PieceWriter* w, const columnar::PodVector<int64_t>& v) {
  MT_RETURN_IF_ERROR(w->Put<uint64_t>(v.size()));
  MT_RETURN_IF_ERROR(w->Put<uint8_t>(8));
  return w->Bytes(v.data(), v.size() * 8);
}

// Reads a piece back; every read is bounds-checked (false: damaged).
struct PieceReader {
  const char* p;
  const char* end;
  template <typename T>
  bool Get(T* v) {
    if (static_cast<size_t>(end - p) < sizeof(T)) return false;
    std::memcpy(v, p, sizeof(T));
    p += sizeof(T);
    return true;
  }
  const char* Take(uint64_t n) {
    if (static_cast<uint64_t>(end - p) < n) return nullptr;
    const char* at = p;
    p += n;
    return at;
  }
};

template <typename T>
bool AppendValues(PieceReader* r, columnar::PodVector<T>* dst) {
  uint64_t n;
  if (!r->Get(&n) || n > static_cast<uint64_t>(r->end - r->p) / sizeof(T)) return false;
  const char* src = r->Take(n * sizeof(T));
  if (n) std::memcpy(dst->Extend(n), src, n * sizeof(T));
  return true;
}

bool AppendTimestamps(PieceReader* r, columnar::PodVector<int64_t>* dst) {
  uint64_t n;
  uint8_t width;
  if (!r->Get(&n) || !r->Get(&width)) return false;
  if (width == 8) {
    if (n > static_cast<uint64_t>(r->end - r->p) / 8) return false;
    const char* src = r->Take(n * 8);
    if (n) std::memcpy(dst->Extend(n), src, n * 8);
    return true;
  }
  int64_t base;
  if (width != 4 || !r->Get(&base) || n > static_cast<uint64_t>(r->end - r->p) / 4) return false;
  const char* src = r->Take(n * 4);
  int64_t* out = n ? dst->Extend(n) : nullptr;
  for (uint64_t i = 0; i < n; i++) {
    uint32_t off;
    std::memcpy(&off, src + 4 * i, 4);
    // Unsigned: base + offset is the value written, never past its range.
    out[i] = static_cast<int64_t>(static_cast<uint64_t>(base) + off);
  }
  return true;
}

// Plain strings as n one-byte lengths, then the text.
bool AppendLengthPrefixed(PieceReader* r, uint64_t n, uint64_t text, StringColumn* dst) {
  const auto* lens = reinterpret_cast<const uint8_t*>(r->Take(n));
  const char* chars = r->Take(text);
  if (!chars || text > UINT32_MAX) return false;
  uint64_t sum = 0;
  for (uint64_t i = 0; i < n; i++) sum += lens[i];
  if (sum != text) return false;
  if (!dst->dict_mode()) {
    uint32_t* offsets;
    const size_t base = dst->text_size();
    char* out = dst->ExtendPlain(n, text, &offsets);
    uint32_t at = static_cast<uint32_t>(base);
    for (uint64_t i = 0; i < n; i++) {
      offsets[i] = at;
      at += lens[i];
    }
    if (text) std::memcpy(out, chars, text);
    return true;
  }
  for (uint64_t i = 0; i < n; i++) {
    dst->Append(std::string_view(chars, lens[i]));
    chars += lens[i];
  }
  return true;
}

bool AppendString(PieceReader* r, StringColumn* dst) {
  uint8_t mode;
  if (!r->Get(&mode)) return false;
  if (mode == 1) {
    uint32_t entries;
    if (!r->Get(&entries) || entries > static_cast<uint64_t>(r->end - r->p) / 4) return false;
    std::vector<std::string_view> dict(entries);
    for (auto& v : dict) {
      uint32_t len;
      const char* at;
      if (!r->Get(&len) || !(at = r->Take(len))) return false;
      v = std::string_view(at, len);
    }
    uint8_t width;
    uint64_t n;
    if (!r->Get(&width) || !r->Get(&n)) return false;
    if (width == 0) {
      if (n == 0) return true;
      if (entries == 0) return false;
      dst->Append(dict[0]);
      for (uint64_t i = 1; i < n; i++) {
        if (dst->CanRepeatLast()) {
          dst->RepeatLast();
        } else {
          dst->Append(dict[0]);
        }
      }
      return true;
    }
    if ((width != 1 && width != 2 && width != 4) || n > static_cast<uint64_t>(r->end - r->p) / width) return false;
    const char* idx = r->Take(n * width);
    if (width == 1 && entries <= 4) {
      // A side column ("buy"/"sell"): each entry's ShortKey once, then
      // AppendKeyed per row, which finds one of the first four entries
      // without a branch (Append's compare with the previous row's value
      // mispredicts for every other row of random sides).
      uint64_t keys[4];
      bool short_values = true;
      for (uint32_t e = 0; e < entries; e++) {
        short_values = short_values && !dict[e].empty() && dict[e].size() <= 7;
        if (short_values) keys[e] = StringColumn::ShortKey(dict[e]);
      }
      if (short_values) {
        const auto* k8 = reinterpret_cast<const uint8_t*>(idx);
        for (uint64_t i = 0; i < n; i++) {
          const uint8_t k = k8[i];
          if (k >= entries) return false;
          dst->AppendKeyed(dict[k], keys[k]);
        }
        return true;
      }
    }
    for (uint64_t i = 0; i < n; i++) {
      uint32_t k = 0;
      std::memcpy(&k, idx + i * width, width);
      if (k >= entries) return false;
      dst->Append(dict[k]);
    }
    return true;
  }
  uint64_t n, text;
  uint8_t width;
  if (!r->Get(&n) || !r->Get(&text) || !r->Get(&width) || (width != 1 && width != 4) ||
      n > static_cast<uint64_t>(r->end - r->p) / width) {
    return false;
  }
  if (width == 1) return AppendLengthPrefixed(r, n, text, dst);
  const char* ends_at = r->Take(n * 4);
  const char* chars = r->Take(text);
  if (!chars) return false;
  uint32_t begin = 0;
  if (!dst->dict_mode()) {
    uint32_t* offsets;
    const size_t base = dst->text_size();
    char* out = dst->ExtendPlain(n, text, &offsets);
    for (uint64_t i = 0; i < n; i++) {
      uint32_t e;
      std::memcpy(&e, ends_at + 4 * i, 4);
      if (e < begin || e > text) return false;
      offsets[i] = static_cast<uint32_t>(base + begin);
      begin = e;
    }
    if (text) std::memcpy(out, chars, text);
    return true;
  }
  for (uint64_t i = 0; i < n; i++) {
    uint32_t e;
    std::memcpy(&e, ends_at + 4 * i, 4);
    if (e < begin || e > text) return false;
    dst->Append(std::string_view(chars + begin, e - begin));
    begin = e;
  }
  return true;
}

// Hands a file to its sink in pieces of at least kGatherBytes: most files
// of a grouped file are a few KB, one write each instead of one per chunk.
class GatherSink final : public storage::WritableObject {
 public:
  static constexpr size_t kGatherBytes = 4 << 20;
  // `buf` (empty) holds what is gathered: the caller's, kept across files.
  GatherSink(storage::WritableObject* sink, std::string* buf) : sink_(sink), buf_(*buf) {}
  Status Append(std::string_view data) override {
    bytes_ += data.size();
    buf_.append(data);
    if (buf_.size() < kGatherBytes) return Status::OK();
    return Flush();
  }
  Status Flush() {
    if (buf_.empty()) return Status::OK();
    Status st = sink_->Append(buf_);
    buf_.clear();
    return st;
  }
  Status Commit() override { return Status::Internal("GatherSink is not committed"); }
  void Abort() override {}
  uint64_t bytes_written() const override { return bytes_; }

 private:
  storage::WritableObject* sink_;
  std::string& buf_;
  uint64_t bytes_ = 0;
};

// Appends a piece of `rows` rows to `rg`; false when it does not parse.
bool AppendPiece(const std::vector<ColumnSpec>& schema, PieceReader* r, size_t rows, RowGroupData* rg) {
  for (size_t c = 0; c < schema.size(); c++) {
    ColumnData& d = rg->columns[c];
    uint8_t has_defined;
    uint64_t nulls;
    if (!r->Get(&has_defined)) return false;
    if (has_defined) {
      uint64_t n;
      const char* def;
      if (!r->Get(&n) || n != rows || !(def = r->Take(n))) return false;
      if (d.defined.empty()) d.defined.assign(rg->num_rows, uint8_t{1});
      if (n) std::memcpy(d.defined.Extend(n), def, n);
    } else if (!d.defined.empty()) {
      d.defined.append(rows, uint8_t{1});
    }
    if (!r->Get(&nulls)) return false;
    d.null_count += nulls;
    bool ok = false;
    switch (schema[c].kind) {
      case ColumnKind::kTimestampMicros: ok = AppendTimestamps(r, &d.i64); break;
      case ColumnKind::kDouble: ok = AppendValues(r, &d.f64); break;
      case ColumnKind::kBool: ok = AppendValues(r, &d.b); break;
      case ColumnKind::kString: ok = AppendString(r, &d.str); break;
    }
    if (!ok) return false;
  }
  rg->num_rows += rows;
  return r->p == r->end;
}

}  // namespace

SpillWriter::SpillWriter(std::vector<ColumnSpec> schema, WriterOptions opts, size_t max_group_rows,
                         size_t max_group_bytes, size_t index_run_entries)
    : schema_(std::move(schema)),
      opts_(std::move(opts)),
      max_group_rows_(max_group_rows),
      max_group_bytes_(max_group_bytes) {
  index_run_entries_ = std::max<size_t>(1, index_run_entries);
  opts_.pool = nullptr;  // WriteFile encodes on its caller's thread
  status_ = Status::Internal("spill not open");
}

// A batch's pieces on their way to the spill: written by whichever thread
// takes it first, a free pool thread or the writer itself when it next needs
// the buffer or the file (WaitWrite).
struct SpillWriter::PendingWrite {
  std::atomic<bool> taken{false};
  int fd = -1;
  const char* data = nullptr;
  size_t n = 0;
  std::string path;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;  // guarded by mu
  Status status;      // guarded by mu
  void Run() {
    const int err = WriteAll(fd, std::string_view(data, n));
    std::lock_guard<std::mutex> l(mu);
    if (err) status = Status::IOError("write " + path + ": " + std::strerror(err));
    done = true;
    cv.notify_all();
  }
};

Status SpillWriter::WaitWrite() {
  if (!pending_write_) return Status::OK();
  std::shared_ptr<PendingWrite> pw = std::move(pending_write_);
  if (!pw->taken.exchange(true)) pw->Run();
  std::unique_lock<std::mutex> l(pw->mu);
  pw->cv.wait(l, [&] { return pw->done; });
  if (!pw->status.ok() && status_.ok()) status_ = pw->status;
  return pw->status;
}

SpillWriter::~SpillWriter() {
  WaitWrite();  // its thread reads the buffer and writes the descriptor
  if (fd_ >= 0) ::close(fd_);
  if (index_fd_ >= 0) ::close(index_fd_);
}

Status SpillWriter::Open(const std::string& dir_in, const std::string& of) {
  std::string dir;
  fd_ = OpenUnnamedTempFile(dir_in, "spill", &dir);
  of_ = of;
  spill_dir_ = dir;
  path_ = Label("spill");
  if (fd_ < 0) {
    return status_ = TempFileError(dir, "the spill" + (of.empty() ? "" : " of " + of), -fd_,
                                   "set TMPDIR to a writable directory with room for the output");
  }
  buffer_.reserve(kBufferBytes);
  return status_ = Status::OK();
}

uint32_t SpillWriter::AddFile() {
  files_.emplace_back();
  return static_cast<uint32_t>(files_.size() - 1);
}

Status SpillWriter::Append(uint32_t file, const RowGroupData& rg) {
  MT_RETURN_IF_ERROR(WaitWrite());  // the spill is written in order
  if (!status_.ok()) return status_;
  if (rg.num_rows == 0) return Status::OK();
  Piece piece;
  piece.offset = spill_size_;
  piece.num_rows = static_cast<int64_t>(rg.num_rows);
  piece.values = rg.MemoryBytes();
  PieceWriter w(&buffer_, fd_, path_, &spill_size_);
  auto put = [&]() -> Status {
    for (size_t c = 0; c < schema_.size(); c++) {
      const ColumnData& d = rg.columns[c];
      MT_RETURN_IF_ERROR(w.Put<uint8_t>(d.defined.empty() ? 0 : 1));
      if (!d.defined.empty()) {
        MT_RETURN_IF_ERROR(w.Put<uint64_t>(d.defined.size()));
        MT_RETURN_IF_ERROR(w.Bytes(d.defined.data(), d.defined.size()));
      }
      MT_RETURN_IF_ERROR(w.Put<uint64_t>(d.null_count));
      switch (schema_[c].kind) {
        case ColumnKind::kTimestampMicros: MT_RETURN_IF_ERROR(PutTimestamps(&w, d.i64)); break;
        case ColumnKind::kDouble: MT_RETURN_IF_ERROR(PutValues(&w, d.f64)); break;
        case ColumnKind::kBool: MT_RETURN_IF_ERROR(PutValues(&w, d.b)); break;
        case ColumnKind::kString: MT_RETURN_IF_ERROR(PutString(&w, d.str)); break;
      }
    }
    return Status::OK();
  };
  MT_RETURN_IF_ERROR(status_ = put());
  piece.bytes = spill_size_ - piece.offset;
  Register(file, piece);
  return index_status_;
}

void SpillWriter::Register(uint32_t file, const Piece& piece) {
  File& f = files_[file];
  f.num_rows += piece.num_rows;
  f.values += piece.values;
  index_buf_.push_back(IndexEntry{piece, file});
  if (index_buf_.size() >= index_run_entries_ && index_status_.ok()) index_status_ = WriteIndexRun();
}

Status SpillWriter::WriteIndexRun() {
  // Entries a Flush() kept in memory are older: they join this run.
  index_buf_.insert(index_buf_.end(), memory_index_.begin(), memory_index_.end());
  std::vector<IndexEntry>().swap(memory_index_);
  if (index_buf_.empty()) return Status::OK();
  if (index_fd_ < 0) {
    std::string dir;
    index_fd_ = OpenUnnamedTempFile(spill_dir_, "spill-index", &dir);
    if (index_fd_ < 0) {
      const int err = -index_fd_;
      index_fd_ = -1;
      return TempFileError(dir, "the spill index" + (of_.empty() ? "" : " of " + of_), err,
                           "set TMPDIR to a writable directory with room for the output");
    }
  }
  std::sort(index_buf_.begin(), index_buf_.end(), IndexOrder);
  const size_t n = index_buf_.size() * sizeof(IndexEntry);
  if (const int err = WriteAll(index_fd_, std::string_view(reinterpret_cast<const char*>(index_buf_.data()), n))) {
    return Status::IOError("write " + Label("spill index") + ": " + std::strerror(err));
  }
  IndexRun run;
  run.offset = index_size_;
  run.left = index_buf_.size();
  runs_.push_back(std::move(run));
  index_size_ += n;
  index_buf_.clear();
  return Status::OK();
}

const SpillWriter::IndexEntry* SpillWriter::RunHead(IndexRun* r) const {
  if (r->at < r->window.size()) return &r->window[r->at];
  if (r->left == 0 || !take_status_.ok()) return nullptr;
  const size_t n = static_cast<size_t>(std::min<uint64_t>(r->left, kIndexWindowEntries));
  r->window.resize(n);
  const size_t bytes = n * sizeof(IndexEntry);
  take_status_ = PreadAll(index_fd_, r->offset, bytes, reinterpret_cast<char*>(r->window.data()),
                          Label("spill index"));
  if (!take_status_.ok()) return nullptr;
  r->offset += bytes;
  r->left -= n;
  r->at = 0;
  return &r->window[0];
}

void SpillWriter::Discard(uint32_t file) const {
  std::lock_guard<std::mutex> l(take_mu_);
  if (discarded_.size() <= file) discarded_.resize(files_.size());
  if (file < discarded_.size()) discarded_[file] = true;
  early_.erase(file);
}

Status SpillWriter::TakePieces(uint32_t file, std::vector<Piece>* out) const {
  if (runs_.empty()) {
    // The index in memory: a search, read-only (any order, any number of times).
    auto lo = std::lower_bound(memory_index_.begin(), memory_index_.end(), file,
                               [](const IndexEntry& e, uint32_t f) { return e.file < f; });
    for (; lo != memory_index_.end() && lo->file == file; ++lo) out->push_back(lo->piece);
    return Status::OK();
  }
  std::lock_guard<std::mutex> l(take_mu_);
  // Each file once: the merge has passed its entries (a second take would
  // get none and write an empty file without a word).
  if (taken_.size() <= file) taken_.resize(files_.size());
  if (taken_[file]) {
    return Status::Internal("spill " + path_ + ": the pieces of file " + std::to_string(file) + " were taken already");
  }
  taken_[file] = true;
  if (auto it = early_.find(file); it != early_.end()) {
    out->insert(out->end(), it->second.begin(), it->second.end());
    early_.erase(it);
    return take_status_;
  }
  // Every run gives its entries up to `file`: this file's go out, those of
  // files not taken yet (a smaller id another thread is about to take) wait
  // in early_. Runs are in append order, so a file's pieces stay in order.
  for (IndexRun& r : runs_) {
    for (const IndexEntry* e = RunHead(&r); e && e->file <= file; e = RunHead(&r)) {
      if (e->file == file) {
        out->push_back(e->piece);
      } else if (e->file >= discarded_.size() || !discarded_[e->file]) {
        early_[e->file].push_back(e->piece);
      }
      r.at++;
    }
  }
  return take_status_;
}

namespace {

template <typename T>
inline void Store(char*& p, T v) {
  std::memcpy(p, &v, sizeof v);
  p += sizeof v;
}

}  // namespace

Status SpillWriter::AppendSplit(RowGroupData* batch, const std::vector<uint32_t>& slot,
                                const std::vector<uint32_t>& files, const std::vector<bool>& constant,
                                size_t max_buffer_bytes) {
  if (!status_.ok()) return status_;
  const size_t n = batch->num_rows;
  if (n == 0 || files.empty()) return Status::OK();
  // Rows in ranges whose pieces take about max_buffer_bytes at most: the
  // buffer stays that size whatever the batch's.
  const size_t ranges = std::max<size_t>(1, (batch->MemoryBytes() + max_buffer_bytes - 1) / std::max<size_t>(1, max_buffer_bytes));
  const size_t range_rows = (n + ranges - 1) / ranges;
  // A piece also takes a header and counts per column, whatever its rows: a
  // range of thousands of files of a hundred columns (book snapshots of
  // every option) would hold more in them than in its values. Such a range
  // goes in parts of at most max_files files each, half the budget in them.
  const size_t per_file = kPieceColumnBytes * std::max<size_t>(schema_.size(), 1);
  const size_t max_files = std::max<size_t>(1, max_buffer_bytes / 2 / per_file);
  value_at_.assign(schema_.size(), 0);
  for (size_t r0 = 0; r0 < n; r0 += range_rows) {
    const size_t r1 = std::min(n, r0 + range_rows);
    if (files.size() <= max_files) {
      MT_RETURN_IF_ERROR(status_ = AppendSplitRange(batch, r0, r1, slot, files, constant));
    } else {
      MT_RETURN_IF_ERROR(status_ = AppendSplitParts(batch, r0, r1, slot, files, constant, max_files));
    }
  }
  return Status::OK();
}

Status SpillWriter::AppendSplitParts(RowGroupData* batch, size_t r0, size_t r1, const std::vector<uint32_t>& slot,
                                     const std::vector<uint32_t>& files, const std::vector<bool>& constant,
                                     size_t max_files) {
  // Each part's files get slots of their own, numbered from 0 in the order
  // they first occur (AppendSplitRange sizes its counts by the files given).
  constexpr uint32_t kNone = UINT32_MAX;
  part_slot_.resize(batch->num_rows);
  part_of_.assign(files.size(), kNone);
  for (size_t a = r0; a < r1;) {
    part_files_.clear();
    part_slots_.clear();
    size_t b = a;
    for (; b < r1; b++) {
      uint32_t& local = part_of_[slot[b]];
      if (local == kNone) {
        if (part_files_.size() == max_files) break;
        local = static_cast<uint32_t>(part_files_.size());
        part_files_.push_back(files[slot[b]]);
        part_slots_.push_back(slot[b]);
      }
      part_slot_[b] = local;
    }
    MT_RETURN_IF_ERROR(AppendSplitRange(batch, a, b, part_slot_, part_files_, constant));
    for (const uint32_t s : part_slots_) part_of_[s] = kNone;
    a = b;
  }
  return Status::OK();
}

Status SpillWriter::AppendSplitRange(RowGroupData* batch, size_t r0, size_t r1, const std::vector<uint32_t>& slot,
                                     const std::vector<uint32_t>& files, const std::vector<bool>& constant) {
  MT_RETURN_IF_ERROR(WaitWrite());  // the buffer is refilled below
  const size_t m = files.size();
  const size_t cols = schema_.size();
  const bool last = r1 == batch->num_rows;
  const uint32_t* sl = slot.data();
  slot_rows_.assign(m, 0);
  slot_first_.assign(m, 0);
  for (size_t r = r0; r < r1; r++) {
    if (slot_rows_[sl[r]]++ == 0) slot_first_[sl[r]] = r;
  }
  // How each column is written (the formats PutString/PutValues write):
  // fixed-width values; one value per piece (a column constant per file, or
  // a dictionary of one value); a dictionary of up to 256 entries (the
  // batch's, with one-byte indices); else plain text.
  enum class Mode : uint8_t { kValues, kFileConstant, kSourceConstant, kDict, kPlain };
  Mode mode[64];
  std::vector<Mode> more;
  Mode* modes = cols <= 64 ? mode : (more.resize(cols), more.data());
  size_t plain_text = 0;
  for (size_t c = 0; c < cols; c++) {
    const ColumnData& d = batch->columns[c];
    const StringColumn& str = d.str;
    Mode md = Mode::kValues;
    if (schema_[c].kind == ColumnKind::kString) {
      if (c < constant.size() && constant[c] && d.defined.empty()) {
        md = Mode::kFileConstant;
      } else if (str.dict_mode() && str.constant()) {
        md = Mode::kSourceConstant;
      } else if (str.dict_mode() && str.dict().size() <= 0x100) {
        md = Mode::kDict;
      } else {
        md = Mode::kPlain;
      }
    }
    modes[c] = md;
    if (md == Mode::kPlain) plain_text++;
  }
  // Per column and slot: values (rows with one), later the column's cursors;
  // plain text bytes, later where the text goes, kept for plain columns only
  // (text_row_[c]: the column's row of slot_text_): a batch of many
  // instruments has as many slots.
  slot_values_.assign(cols * m, 0);
  slot_text_.assign(plain_text * m, 0);
  text_row_.assign(cols, nullptr);
  for (size_t c = 0, t = 0; c < cols; c++) {
    if (modes[c] == Mode::kPlain) text_row_[c] = &slot_text_[t++ * m];
  }
  piece_start_.assign(m, 0);  // first the piece sizes
  piece_values_.assign(m, 0);
  // Per column, how narrow its values go (the piece format above): a
  // timestamp column whose values in the range span less than 2^32 as u32
  // offsets from their least (width 4, base), a plain column whose values
  // are all under 256 bytes with one-byte lengths (width 1). Fewer bytes to
  // copy into the spill and back, for one pass over the column here.
  width_.assign(cols, 8);
  ts_base_.assign(cols, 0);
  for (size_t c = 0; c < cols; c++) {
    const ColumnData& d = batch->columns[c];
    const bool has_def = !d.defined.empty();
    uint64_t* values = &slot_values_[c * m];
    uint64_t* text = text_row_[c];
    if (has_def) {
      for (size_t r = r0; r < r1; r++) values[sl[r]] += d.defined[r];
    } else {
      std::copy(slot_rows_.begin(), slot_rows_.end(), values);
    }
    const Mode md = modes[c];
    uint64_t dict_bytes = 0, dict_text = 0;
    const StringColumn& str = d.str;
    if (md == Mode::kDict) {
      for (const std::string& e : str.dict()) {
        dict_bytes += 4 + e.size();
        dict_text += e.size();
      }
    } else if (md == Mode::kPlain) {
      size_t v = value_at_[c];
      size_t longest = 0;
      for (size_t r = r0; r < r1; r++) {
        if (has_def && !d.defined[r]) continue;
        const size_t len = str.Get(v++).size();
        longest = std::max(longest, len);
        text[sl[r]] += len;
      }
      width_[c] = longest <= 0xFF ? 1 : 4;
    } else if (schema_[c].kind == ColumnKind::kTimestampMicros) {
      size_t nv = r1 - r0;
      if (has_def) {
        nv = 0;
        for (size_t k = 0; k < m; k++) nv += values[k];
      }
      const int64_t* v = d.i64.data() + value_at_[c];
      int64_t lo = nv ? v[0] : 0, hi = lo;
      for (size_t i = 1; i < nv; i++) {
        lo = std::min(lo, v[i]);
        hi = std::max(hi, v[i]);
      }
      // hi - lo in unsigned arithmetic: exact, as hi >= lo.
      if (static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) <= UINT32_MAX) {
        width_[c] = 4;
        ts_base_[c] = lo;
      }
    }
    for (size_t k = 0; k < m; k++) {
      const uint64_t rows = slot_rows_[k], nv = values[k];
      if (rows == 0) continue;  // no piece
      uint64_t b = 1 + (has_def ? 8 + rows : 0) + 8;
      uint64_t val = has_def ? rows : 0;
      switch (schema_[c].kind) {
        case ColumnKind::kTimestampMicros:
          b += 8 + 1 + (width_[c] == 4 ? 8 + 4 * nv : 8 * nv);
          val += 8 * nv;
          break;
        case ColumnKind::kDouble:
          b += 8 + 8 * nv;
          val += 8 * nv;
          break;
        case ColumnKind::kBool:
          b += 8 + nv;
          val += nv;
          break;
        case ColumnKind::kString:
          switch (md) {
            case Mode::kFileConstant:
            case Mode::kSourceConstant: {
              const size_t len = md == Mode::kFileConstant ? str.Get(slot_first_[k]).size() : str.dict()[0].size();
              b += 1 + 4 + 4 + len + 1 + 8;
              val += len + 48;
              break;
            }
            case Mode::kDict:
              b += 1 + 4 + dict_bytes + 1 + 8 + nv;
              val += 4 * nv + dict_text + 48 * str.dict().size();
              break;
            default:
              b += 1 + 8 + 8 + 1 + width_[c] * nv + text[k];
              val += 4 * nv + text[k];
              break;
          }
          break;
      }
      piece_start_[k] += b;
      piece_values_[k] += val;
    }
  }
  uint64_t total = 0;
  piece_bytes_.assign(piece_start_.begin(), piece_start_.end());
  // The pieces in file id order, not slot order (the order files first
  // occur in this batch, different in every batch): files written in id
  // order then read the spill front to back.
  piece_order_.resize(m);
  for (size_t k = 0; k < m; k++) piece_order_[k] = static_cast<uint32_t>(k);
  std::sort(piece_order_.begin(), piece_order_.end(), [&](uint32_t a, uint32_t b) { return files[a] < files[b]; });
  for (const uint32_t k : piece_order_) {
    piece_start_[k] = total;
    total += piece_bytes_[k];
  }
  split_buf_.resize(total);
  char* const base = split_buf_.data();
  slot_at_.assign(piece_start_.begin(), piece_start_.end());  // where each piece's next column goes
  // Every piece's column headers, here: they fix where each column's values
  // go in each piece, so the columns can then be filled independently. A
  // column's counts per slot are taken over by its cursors (offsets in the
  // buffer): slot_values_ where its values go (the defined flags, for a
  // column of one value with nulls), slot_text_ where a plain column's text
  // goes. def_gap_[c]: bytes between a piece's defined flags and its values.
  def_gap_.assign(cols, 0);
  in_range_.assign(cols, 0);
  scatter_cols_.clear();
  for (size_t c = 0; c < cols; c++) {
    ColumnData& d = batch->columns[c];
    const bool has_def = !d.defined.empty();
    uint64_t* values = &slot_values_[c * m];
    uint64_t* text = text_row_[c];
    const Mode md = modes[c];
    const StringColumn& str = d.str;
    const bool one_value = md == Mode::kFileConstant || md == Mode::kSourceConstant;
    for (size_t k = 0; k < m; k++) {
      const uint64_t rows = slot_rows_[k], nv = values[k];
      if (rows == 0) continue;
      in_range_[c] += nv;
      char* p = base + slot_at_[k];
      Store<uint8_t>(p, has_def ? 1 : 0);
      char* def_at = nullptr;
      if (has_def) {
        Store<uint64_t>(p, rows);
        def_at = p;
        p += rows;
      }
      Store<uint64_t>(p, rows - nv);  // nulls
      switch (schema_[c].kind) {
        case ColumnKind::kTimestampMicros:
          Store<uint64_t>(p, nv);
          Store<uint8_t>(p, width_[c]);
          if (width_[c] == 4) Store<int64_t>(p, ts_base_[c]);
          values[k] = static_cast<uint64_t>(p - base);
          p += width_[c] * nv;
          break;
        case ColumnKind::kDouble:
          Store<uint64_t>(p, nv);
          values[k] = static_cast<uint64_t>(p - base);
          p += 8 * nv;
          break;
        case ColumnKind::kBool:
          Store<uint64_t>(p, nv);
          values[k] = static_cast<uint64_t>(p - base);
          p += nv;
          break;
        case ColumnKind::kString:
          if (one_value) {
            const std::string_view v = md == Mode::kFileConstant ? str.Get(slot_first_[k]) : str.dict()[0];
            Store<uint8_t>(p, 1);
            Store<uint32_t>(p, 1);
            Store<uint32_t>(p, static_cast<uint32_t>(v.size()));
            if (!v.empty()) std::memcpy(p, v.data(), v.size());
            p += v.size();
            Store<uint8_t>(p, 0);
            Store<uint64_t>(p, nv);
            if (has_def) values[k] = static_cast<uint64_t>(def_at - base);  // the flags are all it scatters
          } else if (md == Mode::kDict) {
            Store<uint8_t>(p, 1);
            Store<uint32_t>(p, static_cast<uint32_t>(str.dict().size()));
            for (const std::string& e : str.dict()) {
              Store<uint32_t>(p, static_cast<uint32_t>(e.size()));
              if (!e.empty()) std::memcpy(p, e.data(), e.size());
              p += e.size();
            }
            Store<uint8_t>(p, 1);
            Store<uint64_t>(p, nv);
            values[k] = static_cast<uint64_t>(p - base);
            p += nv;
          } else {
            const uint64_t len = text[k];
            Store<uint8_t>(p, 0);
            Store<uint64_t>(p, nv);
            Store<uint64_t>(p, len);
            Store<uint8_t>(p, width_[c]);
            values[k] = static_cast<uint64_t>(p - base);  // value ends or lengths
            p += width_[c] * nv;
            text[k] = static_cast<uint64_t>(p - base);
            p += len;
          }
          break;
      }
      if (has_def && !one_value) def_gap_[c] = static_cast<uint64_t>(base + values[k] - (def_at + rows));
      slot_at_[k] = static_cast<uint64_t>(p - base);
    }
    if (has_def || !one_value) scatter_cols_.push_back(static_cast<uint32_t>(c));
  }
  // The rows, column by column, each column on whichever worker takes it
  // (HelpedFor: the pool's free threads help, and the order-free copying of
  // a big batch need not hold up the thread that joins the parse's blocks).
  // A column without nulls is gathered piece after piece (perm_, below); in
  // a column with nulls the rows go in batch order, each to its piece (its
  // flags and values read once front to back, the writes to as many cursors
  // as pieces). The costliest columns first, so the workers end together.
  auto cost = [&](uint32_t c) {
    const size_t width = schema_[c].kind == ColumnKind::kString ? (modes[c] == Mode::kPlain ? 16 : 1)
                         : schema_[c].kind == ColumnKind::kBool ? 1
                                                                 : width_[c];
    return width + (batch->columns[c].defined.empty() ? 0 : 1);
  };
  std::stable_sort(scatter_cols_.begin(), scatter_cols_.end(),
                   [&](uint32_t a, uint32_t b) { return cost(a) > cost(b); });
  const size_t helpers = split_pool_ ? std::min<size_t>(static_cast<size_t>(split_pool_->size()), kMaxSplitHelpers) : 0;
  const size_t workers = 1 + std::min(helpers, scatter_cols_.empty() ? 0 : scatter_cols_.size() - 1);
  bool flags = false, ends = false;
  for (const uint32_t c : scatter_cols_) {
    const bool one_value = modes[c] == Mode::kFileConstant || modes[c] == Mode::kSourceConstant;
    flags = flags || (!one_value && !batch->columns[c].defined.empty());
    ends = ends || modes[c] == Mode::kPlain;
  }
  // The range's rows grouped by slot, in row order within each (a counting
  // sort over the counts above): a column without nulls is then gathered a
  // piece at a time, its writes going front to back through each piece and
  // its reads to rows of this range, instead of every row's value going to
  // one of thousands of cursors spread over the buffer (stores that miss
  // the cache at every row when the rows of many instruments interleave).
  bool gather = false;
  for (const uint32_t c : scatter_cols_) gather = gather || batch->columns[c].defined.empty();
  if (gather) {
    perm_start_.resize(m + 1);
    uint64_t at_row = 0;
    for (size_t k = 0; k < m; k++) {
      perm_start_[k] = at_row;
      at_row += slot_rows_[k];
    }
    perm_start_[m] = at_row;
    perm_cur_.assign(perm_start_.begin(), perm_start_.end() - 1);
    perm_.resize(r1 - r0);
    for (size_t r = r0; r < r1; r++) perm_[perm_cur_[sl[r]]++] = static_cast<uint32_t>(r);
  }
  if (worker_flags_.size() < workers) worker_flags_.resize(workers);
  if (worker_ends_.size() < workers) worker_ends_.resize(workers);
  for (size_t w = 0; w < workers; w++) {
    if (flags) worker_flags_[w].resize(m);
    if (ends) worker_ends_[w].resize(m);
  }
  HelpedFor(split_pool_, scatter_cols_.size(), helpers, [&](size_t i, size_t w) {
    const size_t c = scatter_cols_[i];
    ColumnData& d = batch->columns[c];
    const uint8_t* def = d.defined.empty() ? nullptr : d.defined.data();
    uint64_t* cur = &slot_values_[c * m];
    const Mode md = modes[c];
    if (md == Mode::kFileConstant || md == Mode::kSourceConstant) {
      // One value per piece: only the defined flags go row by row.
      for (size_t r = r0; r < r1; r++) base[cur[sl[r]]++] = static_cast<char>(def[r]);
      if (last) d.Release();
      return;
    }
    if (!def) {
      GatherColumn(d, c, md == Mode::kDict, m, base, cur, text_row_[c]);
      if (last) d.Release();
      return;
    }
    {
      uint64_t* flags = worker_flags_[w].data();
      for (size_t k = 0; k < m; k++) {
        if (slot_rows_[k]) flags[k] = cur[k] - def_gap_[c] - slot_rows_[k];
      }
      for (size_t r = r0; r < r1; r++) base[flags[sl[r]]++] = static_cast<char>(def[r]);
    }
    switch (schema_[c].kind) {
      case ColumnKind::kTimestampMicros:
        if (width_[c] == 4) {
          ScatterOffsets(d.i64.data(), def, r0, r1, value_at_[c], sl, base, cur, ts_base_[c]);
        } else {
          ScatterValues(d.i64.data(), def, r0, r1, value_at_[c], sl, base, cur);
        }
        break;
      case ColumnKind::kDouble: ScatterValues(d.f64.data(), def, r0, r1, value_at_[c], sl, base, cur); break;
      case ColumnKind::kBool: ScatterValues(d.b.data(), def, r0, r1, value_at_[c], sl, base, cur); break;
      case ColumnKind::kString: {
        const StringColumn& str = d.str;
        size_t v = value_at_[c];
        if (md == Mode::kDict) {
          const uint32_t* idx = str.indices().data();
          for (size_t r = r0; r < r1; r++) {
            if (!def[r]) continue;
            base[cur[sl[r]]++] = static_cast<char>(idx[v++]);
          }
          break;
        }
        uint64_t* text = text_row_[c];
        if (width_[c] == 1) {
          for (size_t r = r0; r < r1; r++) {
            if (!def[r]) continue;
            const std::string_view sv = str.Get(v++);
            const uint32_t k = sl[r];
            base[cur[k]++] = static_cast<char>(sv.size());
            CopyShort(base + text[k], sv.data(), sv.size());
            text[k] += sv.size();
          }
          break;
        }
        uint32_t* end = worker_ends_[w].data();
        std::fill(end, end + m, 0u);
        for (size_t r = r0; r < r1; r++) {
          if (!def[r]) continue;
          const std::string_view sv = str.Get(v++);
          const uint32_t k = sl[r];
          end[k] += static_cast<uint32_t>(sv.size());
          std::memcpy(base + cur[k], &end[k], 4);
          cur[k] += 4;
          if (!sv.empty()) std::memcpy(base + text[k], sv.data(), sv.size());
          text[k] += sv.size();
        }
        break;
      }
    }
    if (last) d.Release();  // each column goes once copied
  });
  for (size_t c = 0; c < cols; c++) {
    value_at_[c] += in_range_[c];
    if (last) batch->columns[c].Release();
  }
  // The pieces go to the spill as one block, in slot order; with a pool, on
  // a free thread (SubmitFirst) while this one goes back to joining the
  // parse's blocks. Its offsets are known now, so the pieces are registered
  // here, in batch order; the next append, Flush and the destructor wait
  // for the write (WaitWrite), so the file is written in the same order.
  const uint64_t at = spill_size_;
  if (split_pool_ && total >= kBufferBytes) {
    MT_RETURN_IF_ERROR(status_ = FlushBuffer());  // smaller pieces appended before go first
    auto pw = std::make_shared<PendingWrite>();
    pw->fd = fd_;
    pw->data = base;
    pw->n = total;
    pw->path = path_;
    pending_write_ = pw;
    spill_size_ += total;
    split_pool_->SubmitFirst([pw] {
      if (!pw->taken.exchange(true)) pw->Run();
    });
  } else {
    PieceWriter w(&buffer_, fd_, path_, &spill_size_);
    MT_RETURN_IF_ERROR(w.Bytes(base, total));
  }
  for (size_t k = 0; k < m; k++) {
    if (slot_rows_[k] == 0) continue;
    Piece piece;
    piece.offset = at + piece_start_[k];
    piece.bytes = piece_bytes_[k];
    piece.values = piece_values_[k];
    piece.num_rows = static_cast<int64_t>(slot_rows_[k]);
    Register(files[k], piece);
  }
  return index_status_;
}

void SpillWriter::GatherColumn(const ColumnData& d, size_t c, bool dict, size_t m, char* base, uint64_t* cur,
                               uint64_t* text) const {
  // No nulls: the value of row r is the column's value r (value_at_[c] is
  // the range's first row).
  const uint32_t* perm = perm_.data();
  const uint64_t* start = perm_start_.data();
  for (size_t k = 0; k < m; k++) {
    const uint32_t* pr = perm + start[k];
    const uint32_t* const pe = perm + start[k + 1];
    if (pr == pe) continue;
    char* p = base + cur[k];
    switch (schema_[c].kind) {
      case ColumnKind::kTimestampMicros:
        if (width_[c] == 4) {
          const uint64_t least = static_cast<uint64_t>(ts_base_[c]);
          for (; pr < pe; ++pr) {
            const uint32_t off = static_cast<uint32_t>(static_cast<uint64_t>(d.i64[*pr]) - least);
            std::memcpy(p, &off, 4);
            p += 4;
          }
        } else {
          p = GatherValues(d.i64.data(), pr, pe, p);
        }
        break;
      case ColumnKind::kDouble: p = GatherValues(d.f64.data(), pr, pe, p); break;
      case ColumnKind::kBool: p = GatherValues(d.b.data(), pr, pe, p); break;
      case ColumnKind::kString: {
        const StringColumn& str = d.str;
        if (dict) {
          const uint32_t* idx = str.indices().data();
          for (; pr < pe; ++pr) *p++ = static_cast<char>(idx[*pr]);
          break;
        }
        char* t = base + text[k];
        if (width_[c] == 1) {
          for (; pr < pe; ++pr) {
            const std::string_view sv = str.Get(*pr);
            *p++ = static_cast<char>(sv.size());
            CopyShort(t, sv.data(), sv.size());
            t += sv.size();
          }
        } else {
          uint32_t end = 0;
          for (; pr < pe; ++pr) {
            const std::string_view sv = str.Get(*pr);
            end += static_cast<uint32_t>(sv.size());
            std::memcpy(p, &end, 4);
            p += 4;
            if (!sv.empty()) std::memcpy(t, sv.data(), sv.size());
            t += sv.size();
          }
        }
        text[k] = static_cast<uint64_t>(t - base);
        break;
      }
    }
    cur[k] = static_cast<uint64_t>(p - base);
  }
}

template <typename T>
char* SpillWriter::GatherValues(const T* v, const uint32_t* pr, const uint32_t* pe, char* p) {
  for (; pr < pe; ++pr) {
    std::memcpy(p, &v[*pr], sizeof(T));
    p += sizeof(T);
  }
  return p;
}

void SpillWriter::ScatterOffsets(const int64_t* v, const uint8_t* def, size_t r0, size_t r1, size_t v0,
                                 const uint32_t* slot, char* base, uint64_t* cur, int64_t least) {
  size_t i = v0;
  for (size_t r = r0; r < r1; r++) {
    if (!def[r]) continue;
    uint64_t& c = cur[slot[r]];
    const uint32_t off = static_cast<uint32_t>(static_cast<uint64_t>(v[i++]) - static_cast<uint64_t>(least));
    std::memcpy(base + c, &off, 4);
    c += 4;
  }
}

template <typename T>
void SpillWriter::ScatterValues(const T* v, const uint8_t* def, size_t r0, size_t r1, size_t v0,
                                const uint32_t* slot, char* base, uint64_t* cur) {
  size_t i = v0;
  for (size_t r = r0; r < r1; r++) {
    if (!def[r]) continue;
    uint64_t& c = cur[slot[r]];
    std::memcpy(base + c, &v[i++], sizeof(T));
    c += sizeof(T);
  }
}

Status SpillWriter::Flush() {
  MT_RETURN_IF_ERROR(WaitWrite());
  if (!status_.ok()) return status_;
  split_buf_ = columnar::PodVector<char>();
  // AppendSplit's counts and cursors too: per file of a batch, some per
  // column, they are megabytes for a batch of 100,000 instruments, and
  // WriteFile() of every object comes next.
  for (auto* v : {&slot_rows_, &slot_values_, &slot_text_, &slot_at_, &slot_first_, &piece_start_, &piece_values_,
                  &piece_bytes_, &perm_start_, &perm_cur_}) {
    std::vector<uint64_t>().swap(*v);
  }
  std::vector<std::vector<uint64_t>>().swap(worker_flags_);
  std::vector<std::vector<uint32_t>>().swap(worker_ends_);
  std::vector<uint64_t*>().swap(text_row_);
  for (auto* v : {&part_slot_, &part_of_, &part_files_, &part_slots_, &perm_}) std::vector<uint32_t>().swap(*v);
  MT_RETURN_IF_ERROR(status_ = FlushBuffer());
  // The piece index: the last entries become a run too, written when runs
  // are in the file, else the one run kept in memory (sorted alike).
  if (!index_status_.ok()) return status_ = index_status_;
  if (!runs_.empty()) {
    MT_RETURN_IF_ERROR(status_ = WriteIndexRun());
  } else {
    std::sort(index_buf_.begin(), index_buf_.end(), IndexOrder);
    memory_index_.insert(memory_index_.end(), index_buf_.begin(), index_buf_.end());
    std::inplace_merge(memory_index_.begin(), memory_index_.end() - static_cast<std::ptrdiff_t>(index_buf_.size()),
                       memory_index_.end(), IndexOrder);
  }
  std::vector<IndexEntry>().swap(index_buf_);
  return status_;
}

Status SpillWriter::FlushBuffer() {
  if (buffer_.empty()) return Status::OK();
  if (const int err = WriteAll(fd_, buffer_)) return Status::IOError("write " + path_ + ": " + std::strerror(err));
  buffer_.clear();
  return Status::OK();
}

std::string SpillWriter::Label(std::string_view what) const {
  return spill_dir_ + "/(market-tick " + std::string(what) + (of_.empty() ? "" : " of " + of_) + ")";
}

Status SpillWriter::ReadSpill(uint64_t offset, size_t n, char* out) const {
  return PreadAll(fd_, offset, n, out, path_);
}

size_t SpillWriter::GroupEnd(const std::vector<Piece>& pieces, size_t i, size_t* rows, size_t* values) const {
  size_t j = i;
  while (j < pieces.size() &&
         (j == i || (*rows + pieces[j].num_rows <= max_group_rows_ && *values + pieces[j].values <= max_group_bytes_))) {
    *rows += static_cast<size_t>(pieces[j].num_rows);
    *values += pieces[j].values;
    j++;
  }
  return j;
}

Status SpillWriter::ReadPieces(const std::vector<Piece>& pieces, size_t i, size_t j, std::string* buf,
                               RowGroupData* rg) const {
  for (; i < j; i++) {
    const Piece& p = pieces[i];
    buf->resize(p.bytes);
    MT_RETURN_IF_ERROR(ReadSpill(p.offset, p.bytes, buf->data()));
    PieceReader r{buf->data(), buf->data() + buf->size()};
    if (!AppendPiece(schema_, &r, static_cast<size_t>(p.num_rows), rg)) {
      return Status::Internal("spill record of " + path_ + " is damaged");
    }
  }
  return Status::OK();
}

Status SpillWriter::ReadFile(uint32_t file, const std::vector<bool>& plain_strings,
                             const std::function<Status(RowGroupData)>& fn) const {
  MT_RETURN_IF_ERROR(status_);
  if (!buffer_.empty()) return Status::Internal("SpillWriter::ReadFile before Flush");
  std::vector<Piece> pieces;
  MT_RETURN_IF_ERROR(TakePieces(file, &pieces));
  std::string buf;
  for (size_t i = 0; i < pieces.size();) {
    size_t rows = 0, values = 0;
    const size_t j = GroupEnd(pieces, i, &rows, &values);
    RowGroupData rg = columnar::MakeRowGroup(schema_, &plain_strings);
    MT_RETURN_IF_ERROR(ReadPieces(pieces, i, j, &buf, &rg));
    i = j;
    MT_RETURN_IF_ERROR(fn(std::move(rg)));
  }
  return Status::OK();
}

Status SpillWriter::WriteFile(uint32_t file, storage::WritableObject* sink,
                              const std::vector<std::pair<std::string, std::string>>& kv,
                              const std::vector<bool>& plain_strings, ThreadPool* pool,
                              const GroupTransform* transform, Scratch* scratch_in) const {
  MT_RETURN_IF_ERROR(status_);
  if (!buffer_.empty()) return Status::Internal("SpillWriter::WriteFile before Flush");
  Scratch fresh;
  Scratch& scratch = scratch_in ? *scratch_in : fresh;
  std::vector<Piece> pieces;
  MT_RETURN_IF_ERROR(TakePieces(file, &pieces));
  scratch.out.clear();
  GatherSink gather(sink, &scratch.out);
  WriterOptions opts = opts_;
  opts.pool = pool;
  FileWriter writer(&gather, transform ? transform->schema : schema_, opts);
  std::string& piece_bytes = scratch.piece;
  RowGroupData& rg = scratch.rg;
  size_t largest = 0;  // values of the largest row group joined
  for (size_t i = 0; i < pieces.size();) {
    size_t rows = 0, values = 0;
    const size_t j = GroupEnd(pieces, i, &rows, &values);
    largest = std::max(largest, values);
    // A cleared row group starts as a fresh one does (same modes), with its
    // memory kept.
    if (scratch.rg_ready) {
      columnar::ClearRowGroup(&rg, plain_strings);
    } else {
      rg = columnar::MakeRowGroup(schema_, &plain_strings);
      scratch.rg_ready = true;
    }
    for (size_t c = 0; c < schema_.size(); c++) {
      ColumnData& d = rg.columns[c];
      switch (schema_[c].kind) {
        case ColumnKind::kTimestampMicros: d.i64.reserve(rows); break;
        case ColumnKind::kDouble: d.f64.reserve(rows); break;
        case ColumnKind::kBool: d.b.reserve(rows); break;
        case ColumnKind::kString: break;
      }
    }
    const Status read = ReadPieces(pieces, i, j, &piece_bytes, &rg);
    i = j;
    if (!read.ok()) {
      scratch.rg_ready = false;
      return read;
    }
    if (transform) transform->apply(&rg);
    if (values > Scratch::kKeepBytes) {
      // A big row group is not kept: encoded as it is handed over, each
      // column is freed as soon as it is encoded (one row group of an
      // options chain is tens of MB).
      scratch.rg_ready = false;
      MT_RETURN_IF_ERROR(writer.WriteRowGroup(std::move(rg)));
      rg = RowGroupData();
      continue;
    }
    const Status st = writer.WriteRowGroupFrom(rg);
    if (transform) {
      if (transform->undo) {
        transform->undo(&rg);
      } else {
        scratch.rg_ready = false;
      }
    }
    MT_RETURN_IF_ERROR(st);
  }
  MT_RETURN_IF_ERROR(writer.Finish(kv));
  MT_RETURN_IF_ERROR(gather.Flush());
  // A big file's memory goes now; a small one's is kept for the next.
  if (largest > Scratch::kKeepBytes || !scratch.rg_ready) {
    rg = RowGroupData();
    scratch.rg_ready = false;
  }
  if (piece_bytes.capacity() > Scratch::kKeepBytes) std::string().swap(piece_bytes);
  if (scratch.out.capacity() > Scratch::kKeepBytes) std::string().swap(scratch.out);
  return Status::OK();
}

}  // namespace mt::parquet
