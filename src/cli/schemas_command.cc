// `market-tick schemas`: the Parquet schema of every data type (Markdown),
// docs/SCHEMAS.md.
#include <cstdio>

#include "cli/commands.h"
#include "pipeline/schemas_markdown.h"

namespace mt::cli {

int RunSchemas(const ParsedArgs&, Context&) {
  std::fputs(pipeline::SchemasMarkdown().c_str(), stdout);
  return kExitOk;
}

}  // namespace mt::cli
