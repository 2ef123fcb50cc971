#include "core/bounded_json.h"

#include <cstring>
#include <string>

namespace mt {

Status CheckJsonBounds(std::string_view text, std::string_view source, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return Status::InvalidInput(std::string(source) + ": the JSON answer is " + std::to_string(text.size()) +
                                " bytes, more than the " + std::to_string(limits.max_bytes) +
                                " this document may have; it is not the document expected");
  }
  const char* p = text.data();
  const char* const end = p + text.size();
  size_t depth = 0;
  while (p < end) {
    const char c = *p++;
    if (c == '"') {  // skip the string: its brackets are text
      while (p < end) {
        const void* q = std::memchr(p, '"', static_cast<size_t>(end - p));
        if (!q) {
          p = end;
          break;
        }
        const char* quote = static_cast<const char*>(q);
        size_t backslashes = 0;  // an odd run of them escapes the quote
        while (quote - backslashes > p && quote[-1 - static_cast<ptrdiff_t>(backslashes)] == '\\') backslashes++;
        p = quote + 1;
        if (backslashes % 2 == 0) break;
      }
    } else if (c == '[' || c == '{') {
      if (++depth > limits.max_depth) {
        return Status::InvalidInput(std::string(source) + ": the JSON answer nests arrays and objects deeper than " +
                                    std::to_string(limits.max_depth) + " levels (at byte " +
                                    std::to_string(p - text.data() - 1) +
                                    "); it is not the document expected, so it is not parsed");
      }
    } else if (c == ']' || c == '}') {
      if (depth > 0) depth--;
    }
  }
  return Status::OK();
}

Result<nlohmann::json> ParseBoundedJson(std::string_view text, std::string_view source,
                                        const nlohmann::json::parser_callback_t& callback, const JsonLimits& limits) {
  MT_RETURN_IF_ERROR(CheckJsonBounds(text, source, limits));
  return nlohmann::json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/false);
}

}  // namespace mt
