// The coverage report of `validate --report FILE.html`: one self-contained
// page (inline CSS and SVG, no scripts, fonts or links to fetch), so it
// opens from a bucket or an email attachment. Per data type: a heatmap of
// days × instruments (venues when there are more than kMaxInstrumentRows
// instruments) coloured by status, with a legend; totals; rows per day as a
// small bar chart (with --deep); and the list of missing and corrupt items.
// Every heatmap cell is an SVG <rect class="cell"> with data-status (its
// status, the worst of a venue's items) and data-day, for tests and tools.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "validate/item.h"
#include "validate/item_results.h"

namespace mt::validate {

inline constexpr size_t kMaxInstrumentRows = 200;
inline constexpr size_t kMaxListedProblems = 5000;

struct ReportInfo {
  Date from, to;
  bool deep = false;
  std::string store;          // where the data is (path or gs:// URI)
  std::string expected_from;  // "instrument definitions" or "--symbols"
  std::string generated_at;   // ISO time
  std::string tool_version;
  size_t unexpected_objects = 0;
  std::vector<std::pair<Date, std::string>> definition_problems;
};

// `sort_status` (may be null): OK, or a failed read of the temporary file
// the instruments are counted through (the page's counts are then wrong).
std::string RenderHtmlReport(const ReportInfo& info, const ItemResults& items, Status* sort_status = nullptr);

// Text for HTML, redacted first (core/redact.h), its control characters
// escaped (EscapeControlChars, core/utf8.h): every free-text field of the
// report goes through here, so a credential or a terminal escape in a reason
// never reaches it.
std::string HtmlEscape(const std::string& s);

}  // namespace mt::validate
