#include <cstring>

#include "parquet/decoders/decoders.h"

namespace mt::parquet {

Status DecodePlainByteArray(ByteCursor* in, size_t n, std::vector<std::string>* out) {
  for (size_t i = 0; i < n; i++) {
    uint32_t len;
    if (!in->U32(&len) || len > in->remaining()) {
      return Status::InvalidInput("PLAIN byte array " + std::to_string(i) + " runs past the end");
    }
    out->emplace_back(reinterpret_cast<const char*>(in->data()), len);
    in->Skip(len);
  }
  return Status::OK();
}

Status DecodePlainBool(ByteCursor* in, size_t n, std::vector<uint8_t>* out) {
  const size_t bytes = (n + 7) / 8;
  if (bytes > in->remaining()) return Status::InvalidInput("PLAIN booleans run past the end");
  const uint8_t* p = in->data();
  for (size_t i = 0; i < n; i++) out->push_back((p[i >> 3] >> (i & 7)) & 1);
  in->Skip(bytes);
  return Status::OK();
}

namespace {

// N numbers of WIDTH bytes each, read as Narrow (4) or Wide (8) and widened
// to T; KIND names them in errors.
template <typename Narrow, typename Wide, typename T>
Status DecodePlainNumbers(ByteCursor* in, size_t n, int width, std::vector<T>* out, const char* kind) {
  if (width != 4 && width != 8) return Status::InvalidInput(std::string("PLAIN ") + kind + " width must be 4 or 8");
  if (n > in->remaining() / static_cast<size_t>(width)) {
    return Status::InvalidInput(std::string("PLAIN ") + kind + "s run past the end");
  }
  const uint8_t* p = in->data();
  for (size_t i = 0; i < n; i++) {
    if (width == 4) {
      Narrow v;
      std::memcpy(&v, p + 4 * i, 4);
      out->push_back(v);
    } else {
      Wide v;
      std::memcpy(&v, p + 8 * i, 8);
      out->push_back(v);
    }
  }
  in->Skip(n * static_cast<size_t>(width));
  return Status::OK();
}

}  // namespace

Status DecodePlainInt(ByteCursor* in, size_t n, int width, std::vector<int64_t>* out) {
  return DecodePlainNumbers<int32_t, int64_t>(in, n, width, out, "integer");
}

Status DecodePlainDouble(ByteCursor* in, size_t n, int width, std::vector<double>* out) {
  return DecodePlainNumbers<float, double>(in, n, width, out, "float");
}

Status DecodeByteStreamSplit(ByteCursor* in, size_t n, int width, std::string* raw) {
  if (width != 4 && width != 8) return Status::InvalidInput("BYTE_STREAM_SPLIT width must be 4 or 8");
  const size_t w = static_cast<size_t>(width);
  if (n > in->remaining() / w) return Status::InvalidInput("BYTE_STREAM_SPLIT data runs past the end");
  raw->resize(n * w);
  const uint8_t* p = in->data();
  for (size_t k = 0; k < w; k++) {
    for (size_t i = 0; i < n; i++) (*raw)[i * w + k] = static_cast<char>(p[k * n + i]);
  }
  in->Skip(n * w);
  return Status::OK();
}

}  // namespace mt::parquet
