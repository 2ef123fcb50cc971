// The jobs of `market-tick gcs ls|du|rm` (gsutil / gcloud storage habits,
// docs/STORAGE.md) over GcsStore; the command parses flags and prints what
// these return. URLs may name several buckets: GcsBuckets opens each once.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/status.h"
#include "storage/gcs_store.h"
#include "storage/gcs_wildcard.h"
#include "storage/open_store.h"

namespace mt::storage {

// One GcsStore per bucket (no prefix: names are full object names), opened
// on first use with the same settings. Not thread-safe: open them before
// sharing the stores between threads.
class GcsBuckets {
 public:
  explicit GcsBuckets(GcsSettings settings) : settings_(std::move(settings)) {}
  Result<GcsStore*> Get(const std::string& bucket);

 private:
  GcsSettings settings_;
  std::map<std::string, std::unique_ptr<GcsStore>> open_;
};

// "1.21 MiB": bytes with a binary unit, for humans.
std::string HumanBytes(uint64_t bytes);

// --- ls ---------------------------------------------------------------------
struct LsEntry {
  std::string url;         // gs://bucket/name; a folder's ends with '/'
  bool is_folder = false;  // then obj is unset
  GcsObject obj;
};
// One URL: the objects and folders it names, in name order. Without
// `recursive` a folder URL lists one level (deeper folders as folder
// entries); with it, every object below, no folder entries. kNotFound when
// nothing matches (the bucket's root of an empty bucket is no error).
Result<std::vector<LsEntry>> ListUrl(GcsStore& store, const GcsUrl& url, bool recursive);
// Short form: one URL a line. Long form: "SIZE  UPDATED  URL" per object
// (folders: the URL alone, aligned), then "TOTAL: N objects, B bytes (H)".
std::string FormatLs(const std::vector<LsEntry>& entries, bool long_form);

// --- du ---------------------------------------------------------------------
// Every object the URL names, folders always recursively. kNotFound when
// nothing matches (except the root of an empty bucket).
Result<std::vector<GcsObject>> DuObjects(GcsStore& store, const GcsUrl& url);

// --- rm ---------------------------------------------------------------------
// What `rm` would delete for one URL: the named object; with `recursive`,
// every object under the folders it names too. kNotFound when nothing
// matches; kUsage for a folder without `recursive`.
Result<std::vector<GcsObject>> RmTargets(GcsStore& store, const GcsUrl& url, bool recursive);
// Deletes `objects` (each at the generation listed, so a repeated request
// is safe and an object replaced since is left alone) on up to `jobs`
// threads. An object already gone counts as deleted. Returns the worst
// failure; `deleted` counts the objects removed.
Status DeleteObjects(GcsStore& store, const std::vector<GcsObject>& objects, int jobs,
                     const std::atomic<bool>* cancel, size_t* deleted);

}  // namespace mt::storage
