#include "parquet/file_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/log.h"
#include "parquet/column_reader.h"
#include "parquet/decompression.h"

namespace mt::parquet {

class FileReader::Source {
 public:
  virtual ~Source() = default;
  virtual Result<storage::ObjectStore::Tail> ReadTail(uint64_t n) = 0;
  virtual Result<std::string> ReadRange(uint64_t offset, uint64_t length) = 0;
  // Whether a range read again may give other bytes than the first read
  // (a store that reads over a network): only then is a damaged chunk read
  // again.
  virtual bool ReadAgainMayDiffer() const { return false; }
};

namespace {

// The footer is parsed from the tail read, so every range must come from
// that version of the object: another run may replace it (an instruments
// file merged into, a report, a --force rewrite) between two reads, and a
// page of the new version read at an offset of the old footer is garbage.
// Ranges are read from the tail's version (ObjectStore::ReadRangeOfVersion);
// a store whose tail read does not tell it has the first range pin the
// version it has then, checked to end with the bytes of the tail read. A
// replaced object is storage::ReplacedWhileRead (retryable: open it again).
class StoreSource final : public FileReader::Source {
 public:
  StoreSource(storage::ObjectStore* store, std::string name) : store_(store), name_(std::move(name)) {}
  Result<storage::ObjectStore::Tail> ReadTail(uint64_t n) override {
    MT_ASSIGN_OR_RETURN(storage::ObjectStore::Tail t, store_->ReadTail(name_, n));
    read_ = storage::ObjectStore::RangedRead{};
    read_.version = t.version;
    pinned_ = t.version != 0;
    tail_ = pinned_ ? std::string() : t.bytes;
    size_ = t.object_size;
    return t;
  }
  Result<std::string> ReadRange(uint64_t offset, uint64_t length) override {
    if (!pinned_) {
      MT_ASSIGN_OR_RETURN(std::string again, store_->ReadRangeOfVersion(name_, size_ - tail_.size(),
                                                                         static_cast<int64_t>(tail_.size()), &read_));
      if (again != tail_) {
        return storage::ReplacedWhileRead("read " + store_->Describe(name_) +
                                          ": it was replaced while it was read; read it again");
      }
      pinned_ = true;
      std::string().swap(tail_);
    }
    return store_->ReadRangeOfVersion(name_, offset, static_cast<int64_t>(length), &read_);
  }
  bool ReadAgainMayDiffer() const override { return store_->ReadsOverNetwork(); }

 private:
  storage::ObjectStore* store_;
  std::string name_;
  std::string tail_;  // the tail read's bytes, until the version is pinned
  uint64_t size_ = 0;
  bool pinned_ = false;
  storage::ObjectStore::RangedRead read_;
};

class LocalSource final : public FileReader::Source {
 public:
  explicit LocalSource(std::string path) : path_(std::move(path)) {}
  ~LocalSource() override {
    if (fd_ >= 0) ::close(fd_);
  }
  Result<storage::ObjectStore::Tail> ReadTail(uint64_t n) override {
    MT_RETURN_IF_ERROR(OpenOnce());
    storage::ObjectStore::Tail t;
    t.object_size = size_;
    const uint64_t len = std::min(n, size_);
    MT_ASSIGN_OR_RETURN(t.bytes, ReadRange(size_ - len, len));
    return t;
  }
  Result<std::string> ReadRange(uint64_t offset, uint64_t length) override {
    MT_RETURN_IF_ERROR(OpenOnce());
    std::string out(offset < size_ ? std::min(length, size_ - offset) : 0, '\0');
    size_t got = 0;
    while (got < out.size()) {
      const ssize_t r = ::pread(fd_, out.data() + got, out.size() - got, static_cast<off_t>(offset + got));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return Status::IOError("read " + path_ + ": " + std::strerror(errno));
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    out.resize(got);
    return out;
  }

 private:
  Status OpenOnce() {
    if (fd_ >= 0) return Status::OK();
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      if (errno == ENOENT) return Status::NotFound(path_ + ": no such file");
      return Status::IOError("open " + path_ + ": " + std::strerror(errno));
    }
    struct stat st;
    if (::fstat(fd_, &st) != 0) return Status::IOError("stat " + path_ + ": " + std::strerror(errno));
    size_ = static_cast<uint64_t>(st.st_size);
    return Status::OK();
  }
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

class BufferSource final : public FileReader::Source {
 public:
  explicit BufferSource(std::string bytes) : b_(std::move(bytes)) {}
  Result<storage::ObjectStore::Tail> ReadTail(uint64_t n) override {
    storage::ObjectStore::Tail t;
    t.object_size = b_.size();
    t.bytes = b_.substr(b_.size() - std::min<uint64_t>(n, b_.size()));
    return t;
  }
  Result<std::string> ReadRange(uint64_t offset, uint64_t length) override {
    if (offset >= b_.size()) return std::string();
    return b_.substr(offset, length);
  }

 private:
  std::string b_;
};

uint32_t LoadU32(const char* p) {
  return static_cast<uint32_t>(static_cast<uint8_t>(p[0])) | static_cast<uint32_t>(static_cast<uint8_t>(p[1])) << 8 |
         static_cast<uint32_t>(static_cast<uint8_t>(p[2])) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(p[3])) << 24;
}

}  // namespace

FileReader::FileReader(std::unique_ptr<Source> src, std::string label)
    : src_(std::move(src)), label_(std::move(label)) {}
FileReader::~FileReader() = default;

Result<std::unique_ptr<FileReader>> FileReader::Open(storage::ObjectStore* store, const std::string& name) {
  std::unique_ptr<FileReader> r(new FileReader(std::make_unique<StoreSource>(store, name), store->Describe(name)));
  MT_RETURN_IF_ERROR(r->Init());
  return r;
}

Result<std::unique_ptr<FileReader>> FileReader::OpenLocal(const std::string& path) {
  std::unique_ptr<FileReader> r(new FileReader(std::make_unique<LocalSource>(path), path));
  MT_RETURN_IF_ERROR(r->Init());
  return r;
}

Result<std::unique_ptr<FileReader>> FileReader::OpenBuffer(std::string bytes, std::string label) {
  std::unique_ptr<FileReader> r(new FileReader(std::make_unique<BufferSource>(std::move(bytes)), std::move(label)));
  MT_RETURN_IF_ERROR(r->Init());
  return r;
}

Status FileReader::Init() {
  auto bad = [&](const std::string& msg) { return Status::InvalidInput(label_ + ": " + msg); };
  MT_ASSIGN_OR_RETURN(storage::ObjectStore::Tail tail, src_->ReadTail(kTailReadBytes));
  open_reads_ = 1;
  size_ = tail.object_size;
  const std::string& t = tail.bytes;
  if (size_ < 12 || t.size() < 12) {
    return bad("file of " + std::to_string(size_) + " bytes is too short for Parquet (empty or truncated)");
  }
  if (t.compare(t.size() - 4, 4, "PAR1") != 0) {
    return bad("no PAR1 magic at the end: truncated, still being written, or not a Parquet file");
  }
  const uint64_t len = LoadU32(t.data() + t.size() - 8);
  if (len + 12 > size_) {
    return bad("footer length " + std::to_string(len) + " does not fit in a file of " + std::to_string(size_) +
               " bytes (corrupt footer)");
  }
  footer_size_ = len;
  std::string fetched;
  std::string_view footer;
  if (len + 8 <= t.size()) {
    footer = std::string_view(t).substr(t.size() - 8 - len, len);
  } else {
    MT_ASSIGN_OR_RETURN(fetched, src_->ReadRange(size_ - 8 - len, len));
    open_reads_ = 2;
    if (fetched.size() != len) return bad("file shrank while its footer was read");
    footer = fetched;
  }
  auto md = ParseFileMetaData(footer);
  if (!md.ok()) return bad(md.status().message());
  md_ = std::move(md).value();
  // Every column chunk must lie between the leading magic and the footer.
  const int64_t data_end = static_cast<int64_t>(size_ - 8 - len);
  for (size_t g = 0; g < md_.row_groups.size(); g++) {
    for (size_t c = 0; c < md_.row_groups[g].columns.size(); c++) {
      const ColumnChunkMeta& cc = md_.row_groups[g].columns[c];
      const std::string column = c < md_.leaves.size() ? md_.leaves[c].path.back() : std::to_string(c);
      // A chunk's physical type is its column's (the values are decoded as
      // the one and handed on as the other), and its codec one Parquet
      // defines: a footer saying otherwise is damaged.
      if (c < md_.leaves.size()) {
        const std::optional<PhysicalType>& type = md_.schema[md_.leaves[c].schema_index].type;
        if (!type || *type != cc.type) {
          return bad("row group " + std::to_string(g) + " column '" + column + "' is " + PhysicalTypeName(cc.type) +
                     " in its chunk and " + (type ? PhysicalTypeName(*type) : "untyped") +
                     " in the schema (corrupt footer)");
        }
      }
      if (static_cast<int32_t>(cc.codec) < 0 || static_cast<int32_t>(cc.codec) > 7) {
        return bad("row group " + std::to_string(g) + " column '" + column + "' has compression codec " +
                   std::to_string(static_cast<int32_t>(cc.codec)) + ", which Parquet does not define (corrupt footer)");
      }
      const int64_t start = cc.StartOffset();
      if (!cc.file_path.empty()) continue;  // external chunk: not ours to check
      if (start < 4 || cc.total_compressed_size < 0 || cc.num_values < 0 ||
          cc.total_compressed_size > data_end - start) {
        return bad("row group " + std::to_string(g) + " column '" + column + "' spans bytes " + std::to_string(start) +
                   "+" + std::to_string(cc.total_compressed_size) + " outside the data section (0.." +
                   std::to_string(data_end) + "): truncated or corrupt");
      }
    }
  }
  return Status::OK();
}

Result<ColumnValues> FileReader::ReadColumn(size_t row_group, size_t leaf) {
  if (row_group >= md_.row_groups.size()) return Status::InvalidInput("no row group " + std::to_string(row_group));
  if (leaf >= md_.leaves.size()) return Status::InvalidInput("no column " + std::to_string(leaf));
  const ColumnChunkMeta& cc = md_.row_groups[row_group].columns[leaf];
  if (!cc.file_path.empty()) return Status::InvalidInput(label_ + ": column chunks in other files are not supported");
  const LeafColumn& lc = md_.leaves[leaf];
  const SchemaElement& se = md_.schema[lc.schema_index];
  ChunkInfo info{cc.type, se.type_length.value_or(0), lc.max_def, lc.max_rep, cc.codec,
                 md_.row_groups[row_group].num_rows};
  const std::string where = label_ + ": row group " + std::to_string(row_group) + " column '" + lc.path.back() + "'";
  // A page that fails its CRC-32, or a chunk that fails to decode, may have
  // been damaged on its way (a ranged read of a cloud object has no checksum
  // of its own): a chunk read through a network is read again, kChunkReads
  // times in all. A CRC failing every time (or in a local file or memory) is
  // damage where the file is stored: kDataLoss, for it to be written again.
  // A chunk this reader cannot decode whatever its bytes (a codec it lacks,
  // a nested column) is not read again.
  const bool decodable = lc.max_rep == 0 && CanDecompress(cc.codec);
  const int reads = src_->ReadAgainMayDiffer() && decodable ? kChunkReads : 1;
  for (int read = 1;; read++) {
    MT_ASSIGN_OR_RETURN(std::string bytes, src_->ReadRange(static_cast<uint64_t>(cc.StartOffset()),
                                                           static_cast<uint64_t>(cc.total_compressed_size)));
    if (bytes.size() != static_cast<size_t>(cc.total_compressed_size)) {
      return Status::InvalidInput(label_ + ": column chunk cut short (file changed while reading?)");
    }
    auto r = DecodeColumnChunk(bytes, info);
    if (r.ok()) return r;
    const std::string each = reads > 1 ? " in each of " + std::to_string(reads) + " reads" : std::string();
    if (read == reads && r.status().detail() == Status::Detail::kChecksumMismatch) {
      return Status::DataLoss(where + ": " + r.status().message() + each +
                              ": the file is damaged where it is stored; write it again (run the command that "
                              "wrote it again: download, convert, derive and instruments replace a file with --force)")
          .WithDetail(Status::Detail::kChecksumMismatch);
    }
    // Bytes a page's CRC does not cover (its header) damaged on the way
    // fail the decoding as bad data would: read again too.
    if (read == reads) return r.status().WithContext(where + (reads > 1 ? " (the same" + each + ")" : ""));
    log::Warn(where + ": " + r.status().message() + "; reading the column chunk again (read " +
              std::to_string(read + 1) + " of " + std::to_string(reads) + ")");
  }
}

Result<ColumnValues> FileReader::ReadColumn(size_t leaf) {
  if (leaf >= md_.leaves.size()) return Status::InvalidInput("no column " + std::to_string(leaf));
  ColumnValues all;
  all.type = md_.schema[md_.leaves[leaf].schema_index].type.value_or(PhysicalType::kByteArray);
  for (size_t g = 0; g < md_.row_groups.size(); g++) {
    MT_ASSIGN_OR_RETURN(ColumnValues v, ReadColumn(g, leaf));
    AppendColumnValues(std::move(v), &all);
  }
  return all;
}

Result<ColumnValues> FileReader::ReadColumn(const std::string& name) {
  const int i = md_.FindLeaf(name);
  if (i < 0) return Status::NotFound(label_ + ": no column '" + name + "'");
  return ReadColumn(static_cast<size_t>(i));
}

}  // namespace mt::parquet
