// Instrument definitions as text for `instruments --format`.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/instruments.h"

namespace mt::pipeline {

// Definitions given to a DefinitionFn, the same ones in the same order on
// every call (a table is made in two passes: its columns' widths, then its
// rows).
using DefinitionSource = std::function<void(const DefinitionFn&)>;
// Where formatted text goes, a piece at a time.
using TextSink = std::function<void(std::string_view)>;

// "table": a readable subset of the columns (named, see the .cc) and a
// count line; "csv" and "json": every column in InstrumentColumns() order,
// JSON numbers and booleans typed, null where a value is absent. The text
// goes to `out` a definition at a time (a line, or a JSON object), so what
// formatting holds does not grow with the definitions.
// REQUIRES: format is table, csv or json.
void FormatDefinitions(const DefinitionSource& defs, const std::string& format, const TextSink& out);
// The same text of `defs`, whole.
std::string FormatDefinitions(const std::vector<InstrumentDefinition>& defs, const std::string& format);

}  // namespace mt::pipeline
