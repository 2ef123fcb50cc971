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

// The first part of `path`'s base name shaped as a date between underscores
// ("_YYYY-MM-DD_") that is no day (2020-02-30), or "": why a name that looks
// like the official clients' gives no day, data type or symbol.
std::string NotADateInFileName(std::string_view path);

// `symbol` as the official clients spell it in a file name: upper case, each
// of : \ / ? * < > | " as '-'. The CSV `symbol` column (the exchange's
// symbol, upper case) and the symbol of a file name or dataset URL name the
// same instrument exactly when these forms are equal.
std::string FileNameSymbol(std::string_view symbol);

}  // namespace mt::tardis
