#include "parquet/thrift_reader.h"

#include <cstring>

namespace mt::parquet {

void ThriftReader::Fail(const std::string& msg) {
  if (!error_.empty()) return;
  error_ = msg;
  error_offset_ = offset();
  p_ = end_;  // every later read fails fast
}

Status ThriftReader::status(const std::string& what) const {
  if (ok()) return Status::OK();
  return Status::InvalidInput(what + ": " + error_ + " at byte " + std::to_string(error_offset_));
}

uint64_t ThriftReader::ReadVarint() {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p_ >= end_) {
      Fail("varint runs past the end");
      return 0;
    }
    const uint8_t b = *p_++;
    v |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) return v;
  }
  Fail("varint longer than 10 bytes");
  return 0;
}

int32_t ThriftReader::ReadI32() {
  const uint64_t u = ReadVarint();
  if (u > 0xFFFFFFFFull) {
    Fail("i32 out of range");
    return 0;
  }
  const uint32_t x = static_cast<uint32_t>(u);
  return static_cast<int32_t>((x >> 1) ^ (~(x & 1) + 1));
}

int64_t ThriftReader::ReadI64() {
  const uint64_t u = ReadVarint();
  return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
}

double ThriftReader::ReadDouble() {
  if (remaining() < 8) {
    Fail("double runs past the end");
    return 0;
  }
  double d;
  std::memcpy(&d, p_, 8);
  p_ += 8;
  return d;
}

std::string_view ThriftReader::ReadBinary() {
  const uint64_t n = ReadVarint();
  if (!ok()) return {};
  if (n > remaining()) {
    Fail("binary of " + std::to_string(n) + " bytes runs past the end");
    return {};
  }
  std::string_view v(reinterpret_cast<const char*>(p_), static_cast<size_t>(n));
  p_ += n;
  return v;
}

void ThriftReader::BeginStruct() {
  if (last_field_.size() >= kMaxDepth) {
    Fail("structs nested too deeply");
    return;
  }
  last_field_.push_back(0);
}

void ThriftReader::EndStruct() {
  if (!last_field_.empty()) last_field_.pop_back();
}

bool ThriftReader::ReadFieldHeader(int16_t* id, TType* type) {
  if (!ok()) return false;
  if (p_ >= end_) {
    Fail("struct runs past the end (no STOP byte)");
    return false;
  }
  const uint8_t b = *p_++;
  if (b == 0) return false;  // STOP
  const uint8_t t = b & 0x0F;
  if (t < 1 || t > 12) {
    Fail("unknown field type " + std::to_string(t));
    return false;
  }
  const int delta = b >> 4;
  int16_t& last = last_field_.empty() ? (last_field_.push_back(0), last_field_.back()) : last_field_.back();
  if (delta != 0) {
    *id = static_cast<int16_t>(last + delta);
  } else {
    *id = ReadI16();
    if (!ok()) return false;
  }
  last = *id;
  *type = static_cast<TType>(t);
  return true;
}

bool ThriftReader::ReadListHeader(TType* elem, uint32_t* size) {
  if (p_ >= end_) {
    Fail("list header runs past the end");
    return false;
  }
  const uint8_t b = *p_++;
  uint64_t n = b >> 4;
  if (n == 15) n = ReadVarint();
  if (!ok()) return false;
  const uint8_t t = b & 0x0F;
  if (t < 1 || t > 12) {
    Fail("unknown list element type " + std::to_string(t));
    return false;
  }
  if (n > remaining()) {
    Fail("list of " + std::to_string(n) + " elements is longer than the bytes left");
    return false;
  }
  *elem = static_cast<TType>(t);
  *size = static_cast<uint32_t>(n);
  return true;
}

bool ThriftReader::ReadListBool() {
  if (p_ >= end_) {
    Fail("bool runs past the end");
    return false;
  }
  return *p_++ == 1;
}

bool ThriftReader::Expect(TType got, TType want, const char* what) {
  const bool is_bool = [](TType t) { return t == TType::kBoolTrue || t == TType::kBoolFalse; }(got);
  const bool want_bool = want == TType::kBoolTrue || want == TType::kBoolFalse;
  if (got == want || (is_bool && want_bool)) return true;
  Fail(std::string("field ") + what + " has type " + std::to_string(static_cast<int>(got)) +
       ", expected " + std::to_string(static_cast<int>(want)));
  return false;
}

void ThriftReader::Skip(TType t) { SkipDepth(t, 0); }

void ThriftReader::SkipDepth(TType t, int depth) {
  if (!ok()) return;
  if (depth > kMaxDepth) {
    Fail("values nested too deeply");
    return;
  }
  // An element of a list, set or map; a bool element is a byte of its own.
  auto skip_element = [&](TType x) {
    if (x == TType::kBoolTrue || x == TType::kBoolFalse) {
      ReadListBool();
    } else {
      SkipDepth(x, depth + 1);
    }
  };
  switch (t) {
    case TType::kBoolTrue:
    case TType::kBoolFalse:
      return;  // value is in the field header
    case TType::kByte:
      if (p_ >= end_) return Fail("byte runs past the end");
      p_++;
      return;
    case TType::kI16:
    case TType::kI32:
    case TType::kI64:
      ReadVarint();
      return;
    case TType::kDouble:
      ReadDouble();
      return;
    case TType::kBinary:
      ReadBinary();
      return;
    case TType::kList:
    case TType::kSet: {
      TType elem;
      uint32_t n;
      if (!ReadListHeader(&elem, &n)) return;
      for (uint32_t i = 0; i < n && ok(); i++) skip_element(elem);
      return;
    }
    case TType::kMap: {
      const uint64_t n = ReadVarint();
      if (!ok() || n == 0) return;
      if (p_ >= end_) return Fail("map header runs past the end");
      const uint8_t kv = *p_++;
      const TType kt = static_cast<TType>(kv >> 4), vt = static_cast<TType>(kv & 0x0F);
      if ((kv >> 4) < 1 || (kv >> 4) > 12 || (kv & 0x0F) < 1 || (kv & 0x0F) > 12) {
        return Fail("unknown map element type");
      }
      if (n > remaining()) return Fail("map longer than the bytes left");
      for (uint64_t i = 0; i < n && ok(); i++) {
        for (TType x : {kt, vt}) skip_element(x);
      }
      return;
    }
    case TType::kStruct: {
      BeginStruct();
      int16_t id;
      TType ft;
      while (ReadFieldHeader(&id, &ft)) SkipDepth(ft, depth + 1);
      EndStruct();
      return;
    }
  }
  Fail("unknown type " + std::to_string(static_cast<int>(t)));
}

}  // namespace mt::parquet
