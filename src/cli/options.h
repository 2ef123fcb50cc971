// One options struct per command, filled from the flags (and the
// configuration behind them) and checked before any I/O: a bad flag fails
// with exit 2 before a store is opened or a request is made.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "pipeline/convert_job.h"
#include "pipeline/derive_job.h"
#include "pipeline/download_job.h"
#include "pipeline/instruments_job.h"
#include "storage/gcs_copy.h"
#include "storage/open_store.h"
#include "validate/validate_job.h"

namespace mt::cli {

// --output, else OUTPUT_URI, else gs://$GCS_BUCKET when GCS_BUCKET is set,
// else ./data; not yet resolved (storage::ResolveStoreUri does that). An
// --output given empty is a usage error.
Result<std::string> OutputUri(const ParsedArgs& args, const Context& ctx);

// --layout, else OUTPUT_LAYOUT: by_date or hive (kUsage otherwise); nullopt
// when neither is given (the store's own layout, else by_date).
Result<std::optional<storage::LayoutKind>> LayoutFromArgs(const ParsedArgs& args, const Context& ctx);

// The GCS settings of the configuration (STORAGE_EMULATOR_HOST,
// GCS_ENDPOINT, GOOGLE_APPLICATION_CREDENTIALS, CLOUDSDK_CONFIG and HOME
// (gcloud's ADC file), GCS_TOKEN_URI, GCE_METADATA_HOST,
// GCS_CHUNK_SIZE, GCS_RESUMABLE_THRESHOLD, GCS_LIST_PAGE_SIZE, RETRY_*),
// checked; nothing is opened.
Result<storage::StoreConfig> StoreConfigFromContext(const Context& ctx);

// Where a command writes: the output URI and the store's settings (the store
// not yet opened). Whether the URI is already resolved is said per command.
struct OutputStore {
  std::string output;
  storage::StoreConfig store;
};

// output resolved unless format is given (then nothing is written).
struct InstrumentsOptions : OutputStore {
  pipeline::InstrumentsJobOptions job;
  std::string format;  // table, csv or json: print instead of writing files; "" writes
};
Result<InstrumentsOptions> InstrumentsOptionsFromArgs(const ParsedArgs& args, const Context& ctx);

// output: a store URI, or the FILE.parquet (job.target.single_file).
struct ConvertOptions : OutputStore {
  pipeline::ConvertJobOptions job;  // target.store not yet opened
};
Result<ConvertOptions> ConvertOptionsFromArgs(const ParsedArgs& args, const Context& ctx);

// download's flags: the selection (PlanRequestFromArgs), the shard, the
// engine, the downloader's settings. Reads the key file (TARDIS_API_KEY_FILE)
// but opens nothing else. output resolved.
struct DownloadOptions : OutputStore {
  pipeline::DownloadJobOptions job;
};
Result<DownloadOptions> DownloadOptionsFromArgs(const ParsedArgs& args, const Context& ctx);

// derive's flags: the selection (PlanRequestFromArgs; its data types are
// the source types of the names), the derived names (--derive, and derived
// names in --data-types as validate takes them; at least one), the shard (as
// download's), the encoder settings. output resolved.
struct DeriveOptions : OutputStore {
  pipeline::DeriveJobOptions job;
};
Result<DeriveOptions> DeriveOptionsFromArgs(const ParsedArgs& args, const Context& ctx);

// plan's flags. The store is where definitions are read; with --symbols a
// store that cannot be opened is not an error (the symbol rules pair them).
// output not resolved: OpenStore reports a bad one.
struct PlanOptions : OutputStore {
  pipeline::PlanJobOptions job;
  bool json = false;
};
Result<PlanOptions> PlanOptionsFromArgs(const ParsedArgs& args, const Context& ctx);

// output resolved.
struct ValidateOptions : OutputStore {
  validate::ValidateJobOptions job;
  std::string report_bucket;  // --report gs://BUCKET/NAME: gs://BUCKET (job.report_object the name); else ""
};
Result<ValidateOptions> ValidateOptionsFromArgs(const ParsedArgs& args, const Context& ctx);

// `gcs`: the subcommand and its arguments, every URL checked (a bad one is a
// usage error before any request).
struct GcsOptions {
  std::string sub;     // ls, du, cp, rm, stat, cat, put
  std::string bucket;  // stat, cat, put: gs://BUCKET
  std::string object;  // stat, cat, put: the object name, verbatim (a trailing '/' kept)
  std::vector<storage::GcsUrl> urls;  // ls, du, rm
  std::string source;  // put: a file or "-" (stdin)
  uint64_t offset = 0;
  int64_t length = -1;  // -1: to the end
  bool overwrite = false;
  bool long_form = false;    // ls -l
  bool recursive = false;    // ls, cp, rm -r (-R)
  bool summarize = false;    // du -s
  bool grand_total = false;  // du -c
  bool yes = false;          // rm --yes: no confirmation
  storage::CopyOptions copy;  // cp: sources, destination, -r, -n, --jobs
  int jobs = 8;               // cp, rm: requests at once (--jobs, GCS_JOBS)
  storage::GcsSettings gcs;
};
Result<GcsOptions> GcsOptionsFromArgs(const ParsedArgs& args, const Context& ctx);

}  // namespace mt::cli
