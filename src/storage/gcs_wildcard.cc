#include "storage/gcs_wildcard.h"

#include <algorithm>
#include <set>

namespace mt::storage {

namespace {

enum class Tok : char { kChar, kOne, kStar, kAny };
struct Token {
  Tok kind;
  char c;
};

std::vector<Token> Tokens(std::string_view p) {
  std::vector<Token> out;
  for (size_t i = 0; i < p.size(); i++) {
    if (p[i] == '?') {
      out.push_back({Tok::kOne, 0});
    } else if (p[i] == '*') {
      if (i + 1 < p.size() && p[i + 1] == '*') {
        while (i + 1 < p.size() && p[i + 1] == '*') i++;
        out.push_back({Tok::kAny, 0});
      } else {
        out.push_back({Tok::kStar, 0});
      }
    } else {
      out.push_back({Tok::kChar, p[i]});
    }
  }
  return out;
}

// The first `levels` '/'-separated parts of `name` when it has more; "" when not.
std::string Head(const std::string& name, size_t levels) {
  size_t pos = 0;
  for (size_t k = 0; k < levels; k++) {
    pos = name.find('/', pos);
    if (pos == std::string::npos) return "";
    pos++;
  }
  return name.substr(0, pos - 1);
}

void SortByName(std::vector<GcsObject>* v) {
  std::sort(v->begin(), v->end(), [](const GcsObject& a, const GcsObject& b) { return a.name < b.name; });
  v->erase(std::unique(v->begin(), v->end(), [](const GcsObject& a, const GcsObject& b) { return a.name == b.name; }),
           v->end());
}

}  // namespace

Result<GcsUrl> ParseGcsUrl(const std::string& url) {
  if (url.rfind("gs://", 0) != 0) return Status::Usage("'" + url + "' is not a gs://BUCKET[/OBJECT] URL");
  const std::string rest = url.substr(5);
  const size_t slash = rest.find('/');
  GcsUrl out;
  out.bucket = rest.substr(0, slash);
  if (slash != std::string::npos) out.object = rest.substr(slash + 1);
  if (HasWildcard(out.bucket)) return Status::Usage("'" + url + "': wildcards in bucket names are not supported");
  MT_RETURN_IF_ERROR(ParseGsUri("gs://" + out.bucket).status());  // checks the bucket's name
  return out;
}

bool HasWildcard(std::string_view p) { return p.find_first_of("*?") != std::string_view::npos; }

std::string LiteralPrefix(std::string_view p) { return std::string(p.substr(0, p.find_first_of("*?"))); }

// Dynamic programming over (token, byte) pairs: linear in their product, so
// no pattern of many stars can make matching exponential.
bool WildcardMatch(std::string_view pattern, std::string_view name) {
  const std::vector<Token> t = Tokens(pattern);
  const size_t n = name.size();
  // next[j]: tokens i+1.. match name[j..]; computed from the last token back.
  std::vector<char> next(n + 1, 0), cur(n + 1, 0);
  next[n] = 1;
  for (size_t i = t.size(); i-- > 0;) {
    const Token& k = t[i];
    cur[n] = (k.kind == Tok::kStar || k.kind == Tok::kAny) ? next[n] : 0;
    for (size_t j = n; j-- > 0;) {
      const char c = name[j];
      switch (k.kind) {
        case Tok::kChar: cur[j] = c == k.c && next[j + 1]; break;
        case Tok::kOne: cur[j] = c != '/' && next[j + 1]; break;
        case Tok::kStar: cur[j] = next[j] || (c != '/' && cur[j + 1]); break;
        case Tok::kAny: cur[j] = next[j] || cur[j + 1]; break;
      }
    }
    std::swap(cur, next);
  }
  return next[0] != 0;
}

Result<UrlMatches> ExpandUrl(GcsStore& store, const std::string& pattern) {
  UrlMatches m;
  if (!HasWildcard(pattern)) {
    if (pattern.empty() || pattern.back() == '/') {
      m.dirs = {pattern};
      m.names_dir = true;
      return m;
    }
    MT_ASSIGN_OR_RETURN(GcsListing l, store.ListObjects(pattern, "/"));
    for (auto& o : l.objects) {
      if (o.name == pattern) m.objects.push_back(std::move(o));
    }
    if (std::binary_search(l.prefixes.begin(), l.prefixes.end(), pattern + "/")) m.dirs.push_back(pattern + "/");
    m.names_dir = m.objects.empty() && !m.dirs.empty();
    return m;
  }
  MT_ASSIGN_OR_RETURN(std::vector<GcsObject> all, store.ListObjects(LiteralPrefix(pattern)));
  const bool any_depth = pattern.find("**") != std::string::npos;
  const size_t levels = static_cast<size_t>(std::count(pattern.begin(), pattern.end(), '/')) + 1;
  std::set<std::string> dirs;
  for (auto& o : all) {
    if (WildcardMatch(pattern, o.name)) {
      m.objects.push_back(std::move(o));
    } else if (!any_depth) {
      const std::string head = Head(o.name, levels);
      if (!head.empty() && WildcardMatch(pattern, head)) dirs.insert(head + "/");
    }
  }
  SortByName(&m.objects);
  m.dirs.assign(dirs.begin(), dirs.end());
  return m;
}

Result<std::vector<GcsObject>> MatchedObjects(GcsStore& store, const UrlMatches& matches, bool recursive) {
  std::vector<GcsObject> out = matches.objects;
  if (recursive) {
    for (const auto& d : matches.dirs) {
      MT_ASSIGN_OR_RETURN(std::vector<GcsObject> under, store.ListObjects(d));
      for (auto& o : under) out.push_back(std::move(o));
    }
  }
  SortByName(&out);
  return out;
}

}  // namespace mt::storage
