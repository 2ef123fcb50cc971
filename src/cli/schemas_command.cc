// `market-tick schemas`: the Parquet schema of every data type (Markdown),
// docs/SCHEMAS.md.
#include <cstdio>

#include "cli/commands.h"
#include "pipeline/plan.h"
#include "pipeline/schemas_markdown.h"

namespace mt::cli {

int RunSchemas(const ParsedArgs& args, Context&) {
  if (args.Has("exchange")) {
    const std::string ex = args.Get("exchange");
    // An id Tardis does not have is an error with a suggestion, as everywhere.
    if (Status st = pipeline::CheckExchanges({ex}); !st.ok()) return FailWith("schemas", st);
    std::fputs(pipeline::VenueUnitsMarkdown(ex).c_str(), stdout);
    return kExitOk;
  }
  std::fputs(pipeline::SchemasMarkdown().c_str(), stdout);
  return kExitOk;
}

}  // namespace mt::cli
