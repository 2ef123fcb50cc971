// Opens the object store an output URI names: the one place that knows which
// URI schemes exist. A new backend is its store files plus one case here.
//
//   file:///abs/path, file://rel/path, a plain path  -> a local store
//   gs://bucket[/prefix]                              -> a GCS store
//   any other scheme://                               -> kUsage naming the URI
//                                                        and the schemes known
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/status.h"
#include "storage/gcs_store.h"
#include "storage/layout.h"
#include "storage/object_store.h"

namespace mt::storage {

// A GCS store's settings as the configuration gives them (README.md,
// Configuration); the caller reads and checks the values, OpenGcsStore
// turns them into a client.
struct GcsSettings {
  std::string emulator_host;     // STORAGE_EMULATOR_HOST: no auth, this endpoint
  std::string endpoint;          // GCS_ENDPOINT: another JSON API base URL, with auth
  std::string credentials_file;  // GOOGLE_APPLICATION_CREDENTIALS
  std::string adc_file;          // gcloud's ADC file (net::GcloudAdcFile of CLOUDSDK_CONFIG, HOME)
  std::string token_uri;         // GCS_TOKEN_URI: the OAuth token endpoint of file credentials
  std::string metadata_host;     // GCE_METADATA_HOST
  std::optional<size_t> chunk_size;           // GCS_CHUNK_SIZE (bytes)
  std::optional<size_t> resumable_threshold;  // GCS_RESUMABLE_THRESHOLD (bytes)
  std::optional<int> list_page_size;          // GCS_LIST_PAGE_SIZE
  net::RetryPolicy retry;       // RetryFromConfig: the same policy as Tardis downloads
};

struct StoreConfig {
  GcsSettings gcs;
  // --layout / OUTPUT_LAYOUT when given (layout_record.h); nullopt: the
  // store's own, else by_date.
  std::optional<LayoutKind> layout;
};

enum class StoreKind { kLocal, kGcs };

// An output URI resolved once: which backend, and its location in the form
// that backend takes (a local path without file://, or the gs:// URI).
struct StoreLocation {
  StoreKind kind = StoreKind::kLocal;
  std::string location;
};

// Resolves `uri`; an empty one is a usage error. Schemes are matched as
// `letters://`, so a local path with a colon ("a:b/c") stays a path.
Result<StoreLocation> ResolveStoreUri(const std::string& uri);

// The schemes ResolveStoreUri knows, for messages: "file://, gs:// or a plain path".
const char* SupportedStoreSchemes();

// Opens the store `uri` names. A GCS store checks its credential once (a
// token is fetched), so a missing one fails before any work starts; a local
// store is not created until written. Its layout is by_date: see OpenDataStore.
Result<std::unique_ptr<ObjectStore>> OpenStore(const std::string& uri, const StoreConfig& config);

// OpenStore, then the store's layout decided (ResolveStoreLayout: the store's
// record, else config.layout, else by_date; a disagreement is kUsage), so
// every name a command builds is in the store's layout. Every command that
// reads or writes data opens its store here. Nothing is written here: the
// store records its layout just before the first object a command creates
// (RecordLayoutOnFirstWrite), and refuses every write once that fails.
Result<std::unique_ptr<ObjectStore>> OpenDataStore(const std::string& uri, const StoreConfig& config);

// `uri` is gs://bucket[/prefix]; the GCS client itself (for the commands that
// need more than ObjectStore: ls, stat, rm).
Result<std::unique_ptr<GcsStore>> OpenGcsStore(const std::string& uri, const GcsSettings& settings);

}  // namespace mt::storage
