// gs:// URLs as the gcs tool reads them (`market-tick gcs ls|cp|du|rm`), with
// the wildcards users of gsutil and gcloud storage know (docs/STORAGE.md):
//   ?   one character other than '/'
//   *   any run of characters other than '/' (within one level)
//   **  any run of characters, '/' included (any depth)
// Any other character, '[' included, stands for itself. Object names are
// matched whole, byte by byte.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "storage/gcs_store.h"

namespace mt::storage {

// gs://BUCKET[/OBJECT-OR-PATTERN], the object part verbatim (a trailing '/'
// kept: "gs://b/dir/" names a folder).
struct GcsUrl {
  std::string bucket, object;
  std::string Text() const { return "gs://" + bucket + (object.empty() ? "" : "/" + object); }
};
Result<GcsUrl> ParseGcsUrl(const std::string& url);

bool HasWildcard(std::string_view pattern);
bool WildcardMatch(std::string_view pattern, std::string_view name);
// The pattern's characters before its first wildcard: the listing prefix
// that holds every possible match.
std::string LiteralPrefix(std::string_view pattern);

// What one URL names in its bucket.
//  - no wildcard, "" or ending with '/': that folder (dirs = {it}, names_dir);
//  - no wildcard otherwise: the object of that exact name, if any, and the
//    folder NAME/ if objects are under it (names_dir when only the folder);
//  - a wildcard: the objects it matches, and (without "**") the folders whose
//    name, at the pattern's depth, it matches ("gs://b/day-*" matches folder
//    "day-1/").
struct UrlMatches {
  std::vector<GcsObject> objects;  // sorted by name
  std::vector<std::string> dirs;   // folder names ending with '/' ("" the bucket's root), sorted
  bool names_dir = false;
};
Result<UrlMatches> ExpandUrl(GcsStore& store, const std::string& pattern);

// Every object of `matches`: its objects, and with `recursive` every object
// under its folders; sorted by name, each once.
Result<std::vector<GcsObject>> MatchedObjects(GcsStore& store, const UrlMatches& matches, bool recursive);

}  // namespace mt::storage
