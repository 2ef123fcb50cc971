// Logging to stderr: text ("I 12:00:01 message") or one JSON object per
// line with a `severity` field (Cloud Logging reads it as is). stdout is
// reserved for results. Every line passes through RedactSecrets
// (core/redact.h) first. Thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace mt::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

void SetLevel(Level level);
void SetJson(bool json);
bool JsonEnabled();
bool ParseLevel(std::string_view name, Level* out);
bool Enabled(Level level);
void Write(Level level, std::string_view message);

inline void Debug(std::string_view m) { Write(Level::kDebug, m); }
inline void Info(std::string_view m) { Write(Level::kInfo, m); }
inline void Warn(std::string_view m) { Write(Level::kWarning, m); }
inline void Error(std::string_view m) { Write(Level::kError, m); }

// JSON string escaping, shared with other JSON writers.
std::string JsonEscape(std::string_view s);

}  // namespace mt::log
