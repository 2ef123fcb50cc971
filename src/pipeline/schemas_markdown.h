// `market-tick schemas` output: docs/SCHEMAS.md.
#pragma once

#include <string>

namespace mt::pipeline {

// Every raw data type's columns (name, Parquet type, nulls, Tardis source,
// meaning) and every derived kind's, as Markdown.
std::string SchemasMarkdown();

// `schemas --exchange ID`: the units of every numeric column on that venue
// (tardis/units.h UnitsForExchange), as Markdown.
std::string VenueUnitsMarkdown(const std::string& exchange);

}  // namespace mt::pipeline
