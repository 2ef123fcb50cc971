// Every JSON document that comes from outside the process (Tardis metadata,
// GCS JSON API answers, token endpoints, key files, Parquet key-value
// metadata) is parsed here, with its size and nesting depth bounded before
// the parser sees it. nlohmann's DOM recurses once per level when it
// prints, copies or compares a value, so a document nested 100,000 deep
// overflowed the stack; a real answer of any of those sources nests fewer
// than ten levels.
#pragma once

#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/status.h"

namespace mt {

struct JsonLimits {
  size_t max_bytes = size_t{64} << 20;
  size_t max_depth = 64;  // arrays and objects, the outermost is level 1
};

// Tardis metadata: /v1/instruments of a venue with many options is hundreds
// of MB (a large body is spooled to a temporary file and parsed piece by piece;
// the HTTP layer bounds it the same way).
inline constexpr JsonLimits kTardisMetadataJsonLimits{size_t{1} << 30, 64};

// OK, or InvalidInput naming `source` (a URL, a file) when `text` is larger
// than limits.max_bytes or nests arrays and objects deeper than
// limits.max_depth. One pass over the bytes; brackets inside strings do not
// count. Malformed JSON is not detected here (the parser does that).
Status CheckJsonBounds(std::string_view text, std::string_view source, const JsonLimits& limits = {});

// Where a byte-by-byte scan of JSON text stands with respect to strings,
// carried from one piece of the text to the next: Outside(c) takes the next
// byte and says whether it stands outside every string (a bracket there is
// structure; the quotes themselves and everything between them are not).
struct JsonStringState {
  bool in_string = false, escaped = false;
  bool Outside(char c) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      return false;
    }
    if (c == '"') {
      in_string = true;
      return false;
    }
    return true;
  }
};

// CheckJsonBounds, then nlohmann's parse without exceptions (`callback` may
// be null). A syntax error gives a discarded value (is_discarded()), so each
// caller words its own message for a document that is not the one expected.
Result<nlohmann::json> ParseBoundedJson(std::string_view text, std::string_view source,
                                        const nlohmann::json::parser_callback_t& callback = nullptr,
                                        const JsonLimits& limits = {});

// ParseBoundedJson of the text that `read` gives piece by piece (each call
// the next bytes, an empty piece at the end), never holding it whole: the
// same bounds with the same messages, the same parse. A document too large
// or too deep is read to its end (for its size), never parsed past its
// bound. An error of `read` is returned as it is.
Result<nlohmann::json> ParseBoundedJsonPieces(const std::function<Result<std::string>()>& read, std::string_view source,
                                              const nlohmann::json::parser_callback_t& callback = nullptr,
                                              const JsonLimits& limits = {});

// CheckJsonBounds of the text that `read` gives piece by piece (as
// ParseBoundedJsonPieces reads it), without parsing it: the same errors, or
// the error of `read`.
Status CheckJsonBoundsPieces(const std::function<Result<std::string>()>& read, std::string_view source,
                             const JsonLimits& limits = {});

// Whether the text that `read` gives piece by piece (as ParseBoundedJsonPieces
// reads it) stops inside a JSON document: the parser's error, if any, comes
// at the end of the input (a cut string, literal, array or object, or no
// byte at all) rather than at a byte that is there. Such a text is a
// document cut short, which a transfer cut at a boundary the server
// announced as the end (a Content-Length matching the cut body) gives; a
// text whose error lies at a byte inside it, or that parses, is what was
// sent. The bounds are not checked here; an error of `read` is returned.
Result<bool> JsonEndsEarly(const std::function<Result<std::string>()>& read);

}  // namespace mt
