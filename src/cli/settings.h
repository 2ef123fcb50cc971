// Settings shared by the commands, read from flags > environment > .env.
#pragma once

#include <memory>
#include <string>

#include "cli/args.h"
#include "cli/commands.h"
#include "pipeline/downloader.h"
#include "pipeline/plan.h"
#include "pipeline/tick_converter.h"
#include "storage/object_store.h"

namespace mt::cli {

struct EngineSettings {
  pipeline::ConvertSettings convert;
  int threads = 1;
};

struct DateRange {
  Date from, to;  // inclusive
};
// --from D (required) and --to D (default: --from), checked: real dates,
// to >= from, at most 20 years.
Result<DateRange> DateRangeFromArgs(const ParsedArgs& args);

// The selection flags shared by download, plan and validate: the date range,
// --exchanges, --data-types, --symbols (env EXCHANGES, DATA_TYPES, SYMBOLS).
// With --symbols, exchanges named in exchange:SYMBOL entries are enough and
// trades is the default data type; without, both come from the instrument
// definitions.
Result<pipeline::PlanRequest> PlanRequestFromArgs(const ParsedArgs& args, const Context& ctx);

Result<size_t> PositiveInt(const std::string& what, const std::string& v, size_t lo, size_t hi);
Result<double> PositiveDouble(const std::string& what, const std::string& v);
Result<EngineSettings> ConvertSettingsFromArgs(const ParsedArgs& args, const Context& ctx);
// --output / OUTPUT_URI / GCS_BUCKET / ./data as an object store.
Result<std::unique_ptr<storage::ObjectStore>> OpenOutputStore(const ParsedArgs& args, const Context& ctx);
// TARDIS_API_KEY, else the contents of TARDIS_API_KEY_FILE; "" when neither.
Result<std::string> ApiKey(const Context& ctx);
Result<pipeline::RetryPolicy> RetryFromConfig(const Context& ctx);

// Flags of the engine (convert and download share them).
std::vector<FlagSpec> EngineFlags();

}  // namespace mt::cli
