// Instrument definitions as text for `instruments --format`.
#pragma once

#include <string>
#include <vector>

#include "pipeline/instruments.h"

namespace mt::pipeline {

// "table": a readable subset of the columns (named, see the .cc) and a
// count line; "csv" and "json": every column in InstrumentColumns() order,
// JSON numbers and booleans typed, null where a value is absent.
// REQUIRES: format is table, csv or json.
std::string FormatDefinitions(const std::vector<InstrumentDefinition>& defs, const std::string& format);

}  // namespace mt::pipeline
