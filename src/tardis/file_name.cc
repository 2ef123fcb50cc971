#include "tardis/file_name.h"

#include <cctype>

namespace mt::tardis {

namespace {

// The base name of `path` without its .csv.gz, .csv or .gz.
std::string_view Stem(std::string_view path) {
  const size_t slash = path.rfind('/');
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  for (std::string_view ext : {".csv.gz", ".csv", ".gz"}) {
    if (base.size() > ext.size() && base.substr(base.size() - ext.size()) == ext) {
      base.remove_suffix(ext.size());
      break;
    }
  }
  return base;
}

}  // namespace

std::string NotADateInFileName(std::string_view path) {
  const std::string_view base = Stem(path);
  for (size_t i = 0; i + 12 <= base.size(); i++) {
    if (base[i] != '_' || base[i + 11] != '_') continue;
    const std::string_view part = base.substr(i + 1, 10);
    bool shaped = part[4] == '-' && part[7] == '-';
    for (size_t k : {0, 1, 2, 3, 5, 6, 8, 9}) shaped = shaped && std::isdigit(static_cast<unsigned char>(part[k]));
    if (shaped && !ParseDate(part)) return std::string(part);
  }
  return "";
}

std::optional<FileNameParts> ParseFileName(std::string_view path) {
  const std::string_view base = Stem(path);
  // The date is the first "_YYYY-MM-DD_" in the name: exchange ids have no
  // '_', data types do (book_snapshot_25), symbols may (BTC-USD_UM_XPERP-310404).
  for (size_t i = 0; i + 12 <= base.size(); i++) {
    if (base[i] != '_' || base[i + 11] != '_') continue;
    const auto date = ParseDate(base.substr(i + 1, 10));
    if (!date) continue;
    const std::string_view head = base.substr(0, i);
    const size_t us = head.find('_');
    if (us == std::string_view::npos || us == 0 || us + 1 == head.size()) return std::nullopt;
    FileNameParts parts;
    parts.exchange = std::string(head.substr(0, us));
    parts.data_type = std::string(head.substr(us + 1));
    parts.symbol = std::string(base.substr(i + 12));
    parts.date = *date;
    if (parts.symbol.empty()) return std::nullopt;
    return parts;
  }
  return std::nullopt;
}

std::string FileNameSymbol(std::string_view symbol) {
  std::string out(symbol);
  for (char& c : out) {
    switch (c) {
      case ':': case '\\': case '/': case '?': case '*': case '<': case '>': case '|': case '"': c = '-'; break;
      default:
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
  }
  return out;
}

}  // namespace mt::tardis
