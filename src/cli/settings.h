// Settings shared by the commands, read from flags > environment > .env.
#pragma once

#include <initializer_list>
#include <memory>
#include <string>

#include "cli/args.h"
#include "cli/commands.h"
#include "net/retry.h"
#include "pipeline/plan.h"
#include "pipeline/tick_converter.h"
#include "storage/object_store.h"

namespace mt::pipeline {
struct DownloadOptions;
}  // namespace mt::pipeline

namespace mt::cli {

struct EngineSettings {
  pipeline::ConvertSettings convert;
  int threads = 1;
};

struct DateRange {
  Date from, to;  // inclusive
};
// A day flag's value: YYYY-MM-DD, or an ISO 8601 date-time at midnight UTC
// (2024-01-01T00:00:00Z, T00:00:00.000Z, T00:00+00:00). Any other time or
// offset is a usage error saying why (days are whole UTC days).
Result<Date> DayFromFlag(const std::string& flag, const std::string& value);
// --from D (required) and --to D (default: --from), each DayFromFlag,
// checked: to >= from, at most 20 years. --to is inclusive.
Result<DateRange> DateRangeFromArgs(const ParsedArgs& args);

// Each of `flags` given on the command line with an empty list ('' or ',')
// is a usage error naming it.
Status ListFlagsNotEmpty(const ParsedArgs& args, std::initializer_list<const char*> flags);

// The selection flags shared by download, plan and validate: the date range,
// --exchanges, --data-types, --symbols, each read through its spec
// (ParsedArgs::Value: flag, else its variable, else its default). With
// --symbols, exchanges named in exchange:SYMBOL entries are enough and
// trades is the default data type; without, both come from the instrument
// definitions, filtered by --instrument-types, --base, --quote,
// --max-instruments, --max-days-to-expiry.
Result<pipeline::PlanRequest> PlanRequestFromArgs(const ParsedArgs& args, const Context& ctx);

Result<size_t> PositiveInt(const std::string& what, const std::string& v, size_t lo, size_t hi);
Result<double> PositiveDouble(const std::string& what, const std::string& v);
// A byte count: "8388608", or with a binary suffix "256K", "8M", "64G", "1T".
Result<size_t> ByteSize(const std::string& what, std::string v);
Result<EngineSettings> ConvertSettingsFromArgs(const ParsedArgs& args, const Context& ctx);
// The encoder's part of it (--compression, --zstd-level, --threads,
// --encodings): what a command that parses no CSV (derive) reads.
Result<EngineSettings> WriterSettingsFromArgs(const ParsedArgs& args, const Context& ctx);
// TARDIS_API_KEY (environment or .env), else the contents of
// TARDIS_API_KEY_FILE; "" when neither. Surrounding whitespace (a trailing
// newline or spaces from a copy-paste or `echo key > file`) is trimmed; a key
// with whitespace or control characters inside is a usage error (it would be
// sent as a broken header). The key is registered with RegisterSecret
// (core/redact.h), so no message, log line or summary can show it.
Result<std::string> ApiKey(const Context& ctx);
// The per-item bounds of a download: ITEM_TIMEOUT_HOURS (default 6) and
// ITEM_MAX_SIZE (a ByteSize; default 64G).
Status ItemBoundsFromConfig(const Context& ctx, pipeline::DownloadOptions* opts);
// RETRY_MAX_ATTEMPTS, RETRY_BASE_SECONDS, RETRY_MAX_DELAY_SECONDS,
// RETRY_MAX_TOTAL_SECONDS, STALL_TIMEOUT_SECONDS, MIN_SPEED_BYTES_PER_SECOND
// (0: no bound) and MIN_SPEED_WINDOW_SECONDS: the policy of every request
// (downloads, metadata, GCS).
Result<net::RetryPolicy> RetryFromConfig(const Context& ctx);

// Process-wide settings every command honours, from the configuration
// (so a .env value applies as the environment's would): SOURCE_DATE_EPOCH
// (an integer count of seconds) pins the created_at of every file and
// record (core/time_util.h PinCreatedAt). Call once, before any thread.
Status ApplyProcessSettings(const Context& ctx);

// Flags of the engine (convert and download share them).
std::vector<FlagSpec> EngineFlags();

}  // namespace mt::cli
