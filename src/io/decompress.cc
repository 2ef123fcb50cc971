#include "io/decompress.h"

#include <algorithm>

#include <zlib.h>

#include <cstring>
#include <vector>

#ifdef MT_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

namespace mt::io {

namespace {

constexpr size_t kOutChunk = 256 * 1024;

// Inflate failures are told apart from sink (parser) errors by this prefix.
constexpr char kInflateTag[] = "\x01inflate:";
Status InflateError(const std::string& what) { return Status::InvalidInput(kInflateTag + what); }

// One gzip member engine: inflate until the member ends, report leftovers.
class GzipMember {
 public:
  virtual ~GzipMember() = default;
  // Consumes input; sets *member_end when the current member finished.
  // Returns the number of input bytes consumed.
  virtual Result<size_t> Inflate(const uint8_t* in, size_t n, ChunkSink* sink, uint64_t* out_bytes,
                                 bool* member_end) = 0;
  virtual void Reset() = 0;

 protected:
  // Where the next output goes: the sink's own buffer when it offers one
  // (no copy), else ours. At most 1 GiB, so it fits the engines' counters.
  uint8_t* OutputSpace(ChunkSink* sink, size_t* cap) {
    uint8_t* dst = reinterpret_cast<uint8_t*>(sink->OutputBuffer(cap));
    if (!dst || *cap == 0) {
      dst = out_.data();
      *cap = out_.size();
    }
    *cap = std::min<size_t>(*cap, 1u << 30);
    return dst;
  }

 private:
  std::vector<uint8_t> out_ = std::vector<uint8_t>(kOutChunk);
};

#ifdef MT_HAVE_ISAL
// ISA-L's vector routines (its CRC32 among them) may return with the upper
// halves of the vector registers in use: they end without VZEROUPPER. Until
// it runs, every switch between legacy SSE code (this program is built for
// baseline x86-64: the CSV parser) and VEX code (the C library's string
// functions, called per row) costs the processor a state transition. So
// the state is cleared after each call into ISA-L, before the sink runs.
// (Built with AVX enabled, the compiler emits VEX code throughout, and may
// keep YMM values live across the statement: nothing to clear then.)
// The memory clobber keeps it after the call.
inline void ClearUpperVectorState() {
#if defined(__x86_64__) && !defined(__AVX__)
  static const bool avx = __builtin_cpu_supports("avx");
  if (avx) __asm__ volatile("vzeroupper" ::: "memory");
#endif
}

class IsalMember final : public GzipMember {
 public:
  IsalMember() { Reset(); }
  void Reset() override {
    // A corrupt stream may refer back before its start; ISA-L then copies
    // from its own window instead of failing (zlib says "distance too far
    // back"). Zeroed, that window gives the same bytes every time, and the
    // CRC32 at the member's end still rejects the stream.
    std::memset(&st_, 0, sizeof st_);
    isal_inflate_init(&st_);
    st_.crc_flag = ISAL_GZIP;  // parse the header, verify CRC32 and size
  }
  Result<size_t> Inflate(const uint8_t* in, size_t n, ChunkSink* sink, uint64_t* out_bytes,
                         bool* member_end) override {
    st_.next_in = const_cast<uint8_t*>(in);
    st_.avail_in = static_cast<uint32_t>(n);
    *member_end = false;
    while (true) {
      size_t cap = 0;
      uint8_t* dst = OutputSpace(sink, &cap);
      st_.next_out = dst;
      st_.avail_out = static_cast<uint32_t>(cap);
      const int rc = isal_inflate(&st_);
      ClearUpperVectorState();
      const size_t produced = cap - st_.avail_out;
      if (produced) {
        *out_bytes += produced;
        MT_RETURN_IF_ERROR(sink->OnData(reinterpret_cast<const char*>(dst), produced));
      }
      if (rc < 0) return InflateError(ErrorText(rc));
      if (st_.block_state == ISAL_BLOCK_FINISH) {
        *member_end = true;
        return n - st_.avail_in;
      }
      if (st_.avail_in == 0 && produced < cap) return n;
    }
  }

 private:
  static std::string ErrorText(int rc) {
    switch (rc) {
      case ISAL_INVALID_BLOCK: return "invalid deflate block";
      case ISAL_INVALID_SYMBOL: return "invalid deflate symbol";
      case ISAL_INVALID_LOOKBACK: return "invalid back-reference distance";
      case ISAL_INVALID_WRAPPER: return "invalid gzip header";
      case ISAL_UNSUPPORTED_METHOD: return "unsupported gzip compression method";
      case ISAL_INCORRECT_CHECKSUM: return "CRC32 or length check failed";
      default: return "inflate error " + std::to_string(rc);
    }
  }
  inflate_state st_;
};
#endif

class ZlibMember final : public GzipMember {
 public:
  ZlibMember() {
    std::memset(&z_, 0, sizeof z_);
    inflateInit2(&z_, 16 + 15);  // gzip wrapper only
  }
  ~ZlibMember() override { inflateEnd(&z_); }
  void Reset() override { inflateReset(&z_); }
  Result<size_t> Inflate(const uint8_t* in, size_t n, ChunkSink* sink, uint64_t* out_bytes,
                         bool* member_end) override {
    z_.next_in = const_cast<Bytef*>(in);
    z_.avail_in = static_cast<uInt>(n);
    *member_end = false;
    while (true) {
      size_t cap = 0;
      uint8_t* dst = OutputSpace(sink, &cap);
      z_.next_out = dst;
      z_.avail_out = static_cast<uInt>(cap);
      const int rc = inflate(&z_, Z_NO_FLUSH);
      const size_t produced = cap - z_.avail_out;
      if (produced) {
        *out_bytes += produced;
        MT_RETURN_IF_ERROR(sink->OnData(reinterpret_cast<const char*>(dst), produced));
      }
      if (rc == Z_STREAM_END) {
        *member_end = true;
        return n - z_.avail_in;
      }
      if (rc == Z_BUF_ERROR || (rc == Z_OK && z_.avail_in == 0 && produced < cap)) {
        return n - z_.avail_in;
      }
      if (rc != Z_OK) {
        return InflateError(std::string(z_.msg ? z_.msg : "inflate error") +
                            (rc == Z_DATA_ERROR ? "" : " (" + std::to_string(rc) + ")"));
      }
    }
  }

 private:
  z_stream z_;
};

class AutoDecompressor final : public Decompressor {
 public:
  AutoDecompressor(std::string source, ChunkSink* sink, GzipEngine engine)
      : source_(std::move(source)), sink_(sink), engine_(engine) {}

  Status Write(const uint8_t* data, size_t n) override {
    if (!status_.ok()) return status_;
    in_ += n;
    if (mode_ == Mode::kUndecided) {
      head_.insert(head_.end(), data, data + n);
      if (head_.size() < 2) return Status::OK();
      Decide();
      std::vector<uint8_t> head = std::move(head_);
      return status_ = Process(head.data(), head.size());
    }
    return status_ = Process(data, n);
  }

  Status Finish() override {
    if (!status_.ok()) return status_;
    if (mode_ == Mode::kUndecided) {
      if (!head_.empty()) {
        mode_ = Mode::kPlain;
        out_ += head_.size();
        MT_RETURN_IF_ERROR(status_ = sink_->OnData(reinterpret_cast<const char*>(head_.data()),
                                                   head_.size()));
      }
      return Status::OK();
    }
    if (mode_ == Mode::kGzip && in_member_) {
      return status_ = Status::DataLoss(
                 source_ + ": truncated gzip: the input ended after " + std::to_string(in_) +
                 " bytes, inside the compressed stream; the file is incomplete (re-download it)");
    }
    return Status::OK();
  }

  uint64_t bytes_in() const override { return in_; }
  uint64_t bytes_out() const override { return out_; }
  bool gzip() const override { return mode_ == Mode::kGzip; }

 private:
  enum class Mode { kUndecided, kPlain, kGzip };

  void Decide() {
    if (head_[0] == 0x1f && head_[1] == 0x8b) {
      mode_ = Mode::kGzip;
#ifdef MT_HAVE_ISAL
      if (engine_ != GzipEngine::kZlib) member_ = std::make_unique<IsalMember>();
#endif
      if (!member_) member_ = std::make_unique<ZlibMember>();
    } else {
      mode_ = Mode::kPlain;
    }
  }

  Status Process(const uint8_t* data, size_t n) {
    if (mode_ == Mode::kPlain) {
      out_ += n;
      return sink_->OnData(reinterpret_cast<const char*>(data), n);
    }
    size_t off = 0;
    while (off < n) {
      if (!in_member_) {
        // A new member must start with the gzip magic (concatenated .gz files
        // are valid gzip); anything else after a member is an error.
        if (data[off] != 0x1f || (off + 1 < n && data[off + 1] != 0x8b)) {
          return Status::DataLoss(source_ + ": unexpected bytes after the end of the gzip stream at byte " +
                                      std::to_string(in_ - n + off) + "; the file is corrupt");
        }
        member_->Reset();
        in_member_ = true;
      }
      bool end = false;
      Result<size_t> used = member_->Inflate(data + off, n - off, sink_, &out_, &end);
      if (!used.ok()) {
        const std::string& m = used.status().message();
        if (m.rfind(kInflateTag, 0) != 0) return used.status();
        return Status::DataLoss(source_ + ": corrupt gzip data (" + m.substr(sizeof kInflateTag - 1) +
                                    ") in the first " + std::to_string(in_) +
                                    " compressed bytes; the file is damaged (re-download it)");
      }
      off += used.value();
      if (end) in_member_ = false;
      if (!end && used.value() == 0) break;
    }
    return Status::OK();
  }

  std::string source_;
  ChunkSink* sink_;
  GzipEngine engine_;
  Mode mode_ = Mode::kUndecided;
  std::vector<uint8_t> head_;
  std::unique_ptr<GzipMember> member_;
  bool in_member_ = false;
  uint64_t in_ = 0, out_ = 0;
  Status status_;
};

}  // namespace

std::unique_ptr<Decompressor> NewDecompressor(std::string source, ChunkSink* sink,
                                              GzipEngine engine) {
  return std::make_unique<AutoDecompressor>(std::move(source), sink, engine);
}

bool HaveIsal() {
#ifdef MT_HAVE_ISAL
  return true;
#else
  return false;
#endif
}

}  // namespace mt::io
