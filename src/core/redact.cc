#include "core/redact.h"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <set>
#include <vector>

#include "core/log.h"

namespace mt {

namespace {

constexpr std::string_view kMark = "[REDACTED]";

std::mutex g_mu;
std::set<std::string>& Secrets() {
  static std::set<std::string> s;
  return s;
}

// log::JsonEscape's form with the solidus escaped too ("\/"): some encoders
// escape it, most do not.
std::string JsonEscapedSolidus(std::string_view s) {
  std::string out;
  for (char c : log::JsonEscape(s)) {
    if (c == '/') {
      out += "\\/";
    } else {
      out += c;
    }
  }
  return out;
}

std::string PercentEncoded(std::string_view s, bool plus_for_space) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ' && plus_for_space) {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

void ReplaceAll(std::string* text, const std::string& needle) {
  if (needle.empty()) return;
  for (size_t p = 0; (p = text->find(needle, p)) != std::string::npos;) {
    text->replace(p, needle.size(), kMark);
    p += kMark.size();
  }
}

size_t FindNoCase(const std::string& text, std::string_view needle, size_t from) {
  auto it = std::search(text.begin() + static_cast<std::ptrdiff_t>(std::min(from, text.size())), text.end(),
                        needle.begin(), needle.end(), [](char a, char b) {
                          return std::tolower(static_cast<unsigned char>(a)) ==
                                 std::tolower(static_cast<unsigned char>(b));
                        });
  return it == text.end() ? std::string::npos : static_cast<size_t>(it - text.begin());
}

bool AlreadyRedacted(const std::string& text, size_t at) { return text.compare(at, kMark.size(), kMark) == 0; }

// Where an unquoted credential value ends.
bool EndsBareValue(char c) {
  return std::isspace(static_cast<unsigned char>(c)) || c == '"' || c == '\'' || c == ',' || c == '&' ||
         c == ';' || c == '<' || c == '>' || c == ')' || c == '}' || c == ']' || c == '\\';
}

// Spaces and tabs between "Bearer" and its value, raw or JSON-escaped
// ("\t"): the length of the run at `i`.
size_t SeparatorAt(const std::string& text, size_t i) {
  size_t n = 0;
  for (;;) {
    if (i + n < text.size() && (text[i + n] == ' ' || text[i + n] == '\t')) {
      n++;
    } else if (text.compare(i + n, 2, "\\t") == 0) {
      n += 2;
    } else {
      return n;
    }
  }
}

// "Bearer VALUE" (any case, then spaces or tabs): VALUE goes.
void RedactBearer(std::string* text) {
  for (size_t p = 0; (p = FindNoCase(*text, "bearer", p)) != std::string::npos;) {
    const size_t sep = SeparatorAt(*text, p + 6);
    if (sep == 0) {
      p += 6;
      continue;
    }
    size_t b = p + 6 + sep;
    size_t e = b;
    while (e < text->size() && !EndsBareValue((*text)[e])) e++;
    if (e > b && !AlreadyRedacted(*text, b)) text->replace(b, e - b, kMark);
    p = b + kMark.size();
  }
}

// The length of a quote at `i`: `"` or `'`, or an escaped one (`\"`, as
// in JSON text quoted inside JSON); 0 when there is none.
size_t QuoteAt(const std::string& text, size_t i) {
  if (i < text.size() && (text[i] == '"' || text[i] == '\'')) return 1;
  if (i + 1 < text.size() && text[i] == '\\' && (text[i + 1] == '"' || text[i + 1] == '\'')) return 2;
  return 0;
}

// NAME followed by `":"`, `": "`, `=` or `: ` and a value, in JSON, form,
// query or header syntax, also with escaped quotes (`\"access_token\":\"..\"`,
// JSON quoted in a JSON string): the value goes. A quoted value ends at its
// unescaped closing quote (a JSON private_key holds \n escapes); an
// escaped-quoted one at the next escaped quote.
void RedactField(std::string* text, std::string_view name) {
  for (size_t p = 0; (p = FindNoCase(*text, name, p)) != std::string::npos;) {
    size_t i = p + name.size();
    i += QuoteAt(*text, i);
    while (i < text->size() && (*text)[i] == ' ') i++;
    if (i >= text->size() || ((*text)[i] != ':' && (*text)[i] != '=')) {
      p = i;
      continue;
    }
    i++;
    while (i < text->size() && (*text)[i] == ' ') i++;
    size_t b = i, e = i;
    if (const size_t ql = QuoteAt(*text, b); ql == 2) {
      const std::string close = text->substr(b, 2);
      b += 2;
      e = text->find(close, b);
      if (e == std::string::npos) e = text->size();
    } else if (ql == 1) {
      const char q = (*text)[b];
      b++;
      e = b;
      while (e < text->size() && (*text)[e] != q) e += (*text)[e] == '\\' ? 2 : 1;
      e = std::min(e, text->size());
    } else {
      while (e < text->size() && !EndsBareValue((*text)[e])) e++;
    }
    if (e > b && !AlreadyRedacted(*text, b)) text->replace(b, e - b, kMark);
    p = b + kMark.size();
  }
}

// -----BEGIN ... PRIVATE KEY----- through its END line (or the end of the
// text when it was cut off).
void RedactPem(std::string* text) {
  for (size_t p = 0; (p = text->find("-----BEGIN", p)) != std::string::npos;) {
    const size_t head_end = text->find("-----", p + 10);
    if (head_end == std::string::npos) break;
    const std::string head = text->substr(p, head_end - p);
    if (head.find("PRIVATE KEY") == std::string::npos) {
      p = head_end + 5;
      continue;
    }
    size_t e = text->find("-----END", head_end + 5);
    if (e != std::string::npos) {
      const size_t close = text->find("-----", e + 8);
      e = close == std::string::npos ? text->size() : close + 5;
    } else {
      e = text->size();
    }
    text->replace(p, e - p, kMark);
    p += kMark.size();
  }
}

// The user information of a URL ("scheme://USER:PASSWORD@host/..."): a
// password or token given in TARDIS_DATASETS_URL, a proxy URL or a redirect
// goes whole, user name included (a token is often the user name alone).
// The authority ends at '/', '?', '#' or where a bare value ends; only an '@'
// inside it starts the host.
void RedactUserinfo(std::string* text) {
  for (size_t p = 0; (p = text->find("://", p)) != std::string::npos;) {
    const size_t b = p + 3;
    size_t e = b, at = std::string::npos;
    while (e < text->size()) {
      const char c = (*text)[e];
      if (c == '/' || c == '?' || c == '#' || EndsBareValue(c)) break;
      if (c == '@') at = e;
      e++;
    }
    if (at != std::string::npos && at > b && !AlreadyRedacted(*text, b)) {
      text->replace(b, at - b, kMark);
      p = b + kMark.size();
    } else {
      p = b;
    }
  }
}

}  // namespace

void RegisterSecret(std::string_view secret) {
  if (secret.size() < 4) return;
  std::lock_guard<std::mutex> l(g_mu);
  auto& s = Secrets();
  for (std::string form : {std::string(secret), log::JsonEscape(secret), JsonEscapedSolidus(secret),
                           PercentEncoded(secret, false), PercentEncoded(secret, true)}) {
    s.insert(std::move(form));
  }
  // A multi-line secret (a PEM private key) may be echoed in part, cut to
  // an excerpt: each of its lines goes on its own too.
  if (secret.find('\n') == std::string_view::npos) return;
  for (size_t b = 0; b < secret.size();) {
    size_t e = secret.find('\n', b);
    if (e == std::string_view::npos) e = secret.size();
    std::string_view line = secret.substr(b, e - b);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() >= 16 && line.find("-----") == std::string_view::npos) s.insert(std::string(line));
    b = e + 1;
  }
}

void ClearSecretsForTest() {
  std::lock_guard<std::mutex> l(g_mu);
  Secrets().clear();
}

std::string RedactSecrets(std::string_view in) {
  std::string text(in);
  {
    std::lock_guard<std::mutex> l(g_mu);
    // Longest first, so a secret that contains another goes whole.
    std::vector<const std::string*> order;
    for (const auto& s : Secrets()) order.push_back(&s);
    std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->size() > b->size(); });
    for (const std::string* s : order) ReplaceAll(&text, *s);
  }
  RedactPem(&text);
  RedactBearer(&text);
  RedactUserinfo(&text);
  // "private_key" does not match private_key_id (no ':' or '=' after the
  // name), which names a key and is no secret.
  for (std::string_view f : {"access_token", "refresh_token", "id_token", "client_secret", "private_key",
                             "assertion", "api_key", "apikey"}) {
    RedactField(&text, f);
  }
  return text;
}

}  // namespace mt
