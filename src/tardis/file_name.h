// The official clients name downloaded files
// {exchange}_{data_type}_{YYYY-MM-DD}_{SYMBOL}.csv.gz.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/time_util.h"

namespace mt::tardis {

struct FileNameParts {
  std::string exchange, data_type, symbol;
  Date date;
};

// Parses the base name of `path`; nullopt when it does not follow the scheme.
std::optional<FileNameParts> ParseFileName(std::string_view path);

}  // namespace mt::tardis
