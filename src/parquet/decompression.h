// Page decompression for the codecs our files use (ZSTD, SNAPPY, none) and
// GZIP, which other writers use. The page header's uncompressed size is
// checked: a page that inflates to a different size is an error.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"
#include "parquet/format.h"

namespace mt::parquet {

// Bound on one page's uncompressed size, so a hostile header cannot make
// the reader allocate gigabytes.
inline constexpr size_t kMaxPageBytes = size_t{1} << 30;

// Whether DecompressPage reads pages of `codec` (UNCOMPRESSED, SNAPPY, GZIP,
// ZSTD).
bool CanDecompress(Codec codec);

// Replaces *out with the decompressed `in`. REQUIRES: uncompressed_size <= kMaxPageBytes.
Status DecompressPage(Codec codec, std::string_view in, size_t uncompressed_size, std::string* out);

}  // namespace mt::parquet
