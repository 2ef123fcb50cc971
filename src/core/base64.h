// Base64 (RFC 4648 §4) and its URL-safe form without padding (§5, as JWTs
// use it).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mt {

std::string Base64Encode(std::string_view bytes);
std::string Base64UrlEncode(std::string_view bytes);  // '-' '_' and no '=' padding
// Accepts either alphabet, with or without padding; nullopt on other bytes.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace mt
