// `market-tick schemas` output: docs/SCHEMAS.md.
#pragma once

#include <string>

namespace mt::pipeline {

// Every raw data type's columns (name, Parquet type, nulls, Tardis source,
// meaning) and every derived kind's, as Markdown.
std::string SchemasMarkdown();

}  // namespace mt::pipeline
