#include "core/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "core/redact.h"
#include "core/time_util.h"
#include "core/utf8.h"

namespace mt::log {

namespace {
std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::atomic<bool> g_json{false};
std::mutex g_mu;

const char* Name(Level l) {
  switch (l) {
    case Level::kDebug: return "DEBUG";
    case Level::kInfo: return "INFO";
    case Level::kWarning: return "WARNING";
    case Level::kError: return "ERROR";
  }
  return "INFO";
}
}  // namespace

void SetLevel(Level level) { g_level = static_cast<int>(level); }
void SetJson(bool json) { g_json = json; }
bool JsonEnabled() { return g_json; }
bool Enabled(Level level) { return static_cast<int>(level) >= g_level.load(); }

bool ParseLevel(std::string_view n, Level* out) {
  if (n == "debug" || n == "DEBUG") *out = Level::kDebug;
  else if (n == "info" || n == "INFO") *out = Level::kInfo;
  else if (n == "warning" || n == "WARNING" || n == "warn" || n == "WARN") *out = Level::kWarning;
  else if (n == "error" || n == "ERROR") *out = Level::kError;
  else return false;
  return true;
}

std::string JsonEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  for (size_t i = 0; i < s.size(); i++) {
    const char c = s[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      // JSON text is UTF-8: a well-formed character is copied, each byte of
      // an ill-formed one (text from a corrupt file or a server) becomes
      // U+FFFD, so the line stays valid JSON. C1 controls, line separators
      // and bidirectional marks are valid JSON but written as \u escapes, so
      // a line shown on a terminal cannot command it (IsUnsafeCodePoint).
      const size_t len = Utf8SequenceLength(s.data() + i, s.size() - i);
      if (len == 0) {
        out += "\\ufffd";
      } else if (IsUnsafeCodePoint(DecodeUtf8(s.data() + i, len))) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(DecodeUtf8(s.data() + i, len)));
        out += buf;
        i += len - 1;
      } else {
        out.append(s.data() + i, len);
        i += len - 1;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

void Write(Level level, std::string_view raw) {
  if (!Enabled(level)) return;
  // Every log line, whatever its origin, loses its secrets here, and in
  // text form its control characters (JSON escapes them itself): text from
  // a server or a file cannot start a line of its own or command the
  // terminal, whichever message quotes it.
  const std::string message = RedactSecrets(raw);
  const int64_t now = NowMicros();
  std::string line;
  if (g_json) {
    line = "{\"severity\":\"" + std::string(Name(level)) + "\",\"time\":\"" + FormatIsoMicros(now) +
           "\",\"message\":\"" + JsonEscape(message) + "\"}\n";
  } else {
    const std::string t = FormatIsoMicros(now);
    line = std::string(1, Name(level)[0]) + " " + t.substr(11, 8) + " " + EscapeControlChars(message) + "\n";
  }
  std::lock_guard<std::mutex> l(g_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace mt::log
