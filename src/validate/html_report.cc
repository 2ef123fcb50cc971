#include "validate/html_report.h"

#include "core/external_sort.h"
#include "core/redact.h"
#include "core/utf8.h"
#include "validate/expected.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>

namespace mt::validate {

namespace {

using Counts = std::array<size_t, kNumStatuses>;

const char* const kLabels[kNumStatuses] = {"done",    "no data at source", "not available at source",
                                           "no data (Tardis incident)", "missing", "corrupt"};

const char* kStyle = R"CSS(
:root{--done:#2e9e4f;--no_data:#a9c4dc;--not_available:#c9b3d9;--no_data_incident:#8fd3c7;--missing:#f0a020;--corrupt:#d62728;--none:#f1f1f1;--ink:#1d2430;--muted:#66707d}
*{box-sizing:border-box}
body{margin:0;padding:24px 32px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--ink);background:#fff}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e3e6ea;padding-bottom:4px}
.meta{color:var(--muted);margin:0 0 16px}
.verdict{display:inline-block;padding:4px 10px;border-radius:4px;font-weight:600;color:#fff}
.verdict.ok{background:var(--done)}.verdict.bad{background:var(--corrupt)}
table{border-collapse:collapse;margin:8px 0}
th,td{padding:3px 10px;text-align:right;border-bottom:1px solid #eef0f2;white-space:nowrap}
th{font-weight:600;background:#f7f8fa}
td.l,th.l{text-align:left}
tr.total td{font-weight:600;border-top:2px solid #d5d9de}
.legend{display:flex;gap:16px;flex-wrap:wrap;margin:8px 0 4px}
.legend span{display:inline-flex;align-items:center;gap:6px}
.sw{display:inline-block;width:14px;height:14px;border-radius:2px}
.sw.done{background:var(--done)}.sw.no_data{background:var(--no_data)}.sw.not_available{background:var(--not_available)}.sw.no_data_incident{background:var(--no_data_incident)}.sw.missing{background:var(--missing)}.sw.corrupt{background:var(--corrupt)}.sw.none{background:var(--none);border:1px solid #ddd}
.scroll{overflow-x:auto;max-width:100%}
svg text{font:11px system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;fill:var(--ink)}
svg .axis{fill:var(--muted)}
rect.bg{fill:var(--none)}
rect.cell[data-status=done]{fill:var(--done)}
rect.cell[data-status=no_data]{fill:var(--no_data)}
rect.cell[data-status=not_available]{fill:var(--not_available)}
rect.cell[data-status=no_data_incident]{fill:var(--no_data_incident)}
rect.cell[data-status=missing]{fill:var(--missing)}
rect.cell[data-status=corrupt]{fill:var(--corrupt)}
rect.bar{fill:#4a78b5}
table.problems td{font-size:13px}
table.problems td.reason{text-align:left;white-space:normal;max-width:640px;color:#444}
td.st{font-weight:600}
td.st.missing{color:#b36b00}td.st.corrupt{color:var(--corrupt)}
.note{color:var(--muted);font-size:13px}
)CSS";

std::string Num(uint64_t v) {
  std::string s = std::to_string(v), out;
  for (size_t i = 0; i < s.size(); i++) {
    if (i > 0 && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

std::string Fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

// Item i of the results, read field by field (no ItemResult is built: a
// grouped item of many instruments has as many results).
struct Item {
  const ItemResults* all = nullptr;
  size_t i = 0;
  std::string key() const { return std::string(all->instrument_key(i)); }
  Date day() const { return all->day(i); }
  ItemStatus status() const { return all->status(i); }
  int64_t rows() const { return all->rows(i); }
  std::string reason() const { return all->reason(i); }
};

struct Cell {
  Counts counts{};
  ItemStatus worst = ItemStatus::kDone;
  bool any = false;
  Item only;  // instrument mode: the item
};

std::string CountsAttr(const Counts& c) {
  std::string s;
  for (int i = 0; i < kNumStatuses; i++) {
    if (!c[i]) continue;
    if (!s.empty()) s += ' ';
    s += std::string(StatusName(static_cast<ItemStatus>(i))) + ":" + std::to_string(c[i]);
  }
  return s;
}

std::string Legend() {
  std::string s = "<div class=\"legend\">";
  for (int i = 0; i < kNumStatuses; i++) {
    s += std::string("<span><i class=\"sw ") + StatusName(static_cast<ItemStatus>(i)) + "\"></i>" + kLabels[i] +
         "</span>";
  }
  s += "<span><i class=\"sw none\"></i>not expected</span></div>\n";
  return s;
}

// The items of data type `dt`, one at a time (the results are read in
// order, as often as asked, rather than listed per data type).
template <typename Fn>
void ForEachOfType(const ItemResults& items, std::string_view dt, Fn fn) {
  for (size_t i = 0; i < items.size(); i++) {
    if (items.data_type(i) == dt) fn(Item{&items, i});
  }
}

// Days × rows heatmap of one data type.
std::string Heatmap(const std::string& dt, const ItemResults& all, const std::vector<Date>& days, bool by_venue) {
  std::map<std::string, size_t> row_index;
  ForEachOfType(all, dt, [&](const Item& r) {
    const std::string key = r.key();
    row_index.emplace(by_venue ? VenueOfKey(key) : key, 0);
  });
  std::vector<std::string> rows;
  for (auto& [k, i] : row_index) {
    i = rows.size();
    rows.push_back(k);
  }
  std::map<Date, size_t> day_index;
  for (size_t i = 0; i < days.size(); i++) day_index[days[i]] = i;
  std::vector<Cell> cells(rows.size() * days.size());
  ForEachOfType(all, dt, [&](const Item& r) {
    const std::string key = r.key();
    const size_t row = row_index[by_venue ? VenueOfKey(key) : key];
    Cell& c = cells[row * days.size() + day_index[r.day()]];
    const ItemStatus status = r.status();
    c.counts[static_cast<int>(status)]++;
    c.worst = c.any ? std::max(c.worst, status) : status;
    c.any = true;
    c.only = r;
  });
  size_t longest = 0;
  for (const auto& r : rows) longest = std::max(longest, r.size());
  const double label_w = std::min<double>(340, 12 + 6.6 * static_cast<double>(longest));
  const double cw = days.size() <= 31 ? 16 : days.size() <= 120 ? 8 : days.size() <= 400 ? 4 : 2;
  const double ch = 14, gap = cw >= 8 ? 1 : 0, top = 58;
  const double w = label_w + cw * static_cast<double>(days.size()) + 10;
  const double h = top + ch * static_cast<double>(rows.size()) + 6;
  const bool titles = cells.size() <= 20000;
  std::string s = "<div class=\"scroll\"><svg class=\"heatmap\" xmlns=\"http://www.w3.org/2000/svg\" data-data-type=\"" +
                  HtmlEscape(dt) + "\" data-rows=\"" + (by_venue ? "venues" : "instruments") + "\" width=\"" +
                  Fmt("%.0f", w) + "\" height=\"" + Fmt("%.0f", h) + "\" role=\"img\" aria-label=\"" +
                  HtmlEscape(dt) + " coverage\">\n";
  // Day labels: every day when they fit, else the first of each month.
  for (size_t d = 0; d < days.size(); d++) {
    const bool label = cw >= 16 || days[d].day == 1 || d == 0;
    if (!label) continue;
    const std::string text = cw >= 16 ? FormatDate(days[d]).substr(5) : FormatDate(days[d]).substr(0, 7);
    const double x = label_w + cw * static_cast<double>(d) + cw / 2;
    s += "<text class=\"axis\" transform=\"translate(" + Fmt("%.1f", x + 3) + "," + Fmt("%.0f", top - 6) +
         ") rotate(-60)\">" + text + "</text>\n";
  }
  for (size_t r = 0; r < rows.size(); r++) {
    const double y = top + ch * static_cast<double>(r);
    s += "<text x=\"" + Fmt("%.0f", label_w - 6) + "\" y=\"" + Fmt("%.1f", y + ch - 3) +
         "\" text-anchor=\"end\">" + HtmlEscape(rows[r]) + "</text>\n";
    for (size_t d = 0; d < days.size(); d++) {
      const Cell& c = cells[r * days.size() + d];
      const std::string x = Fmt("%.1f", label_w + cw * static_cast<double>(d)), yy = Fmt("%.1f", y);
      const std::string size = "\" width=\"" + Fmt("%.1f", cw - gap) + "\" height=\"" + Fmt("%.1f", ch - 1) + "\"";
      if (!c.any) {
        s += "<rect class=\"bg\" x=\"" + x + "\" y=\"" + yy + size + "/>";
        continue;
      }
      s += "<rect class=\"cell\" x=\"" + x + "\" y=\"" + yy + size + " data-status=\"" + StatusName(c.worst) +
           "\" data-day=\"" + FormatDate(days[d]) + "\"";
      if (by_venue) s += " data-counts=\"" + CountsAttr(c.counts) + "\"";
      if (titles) {
        std::string t = FormatDate(days[d]) + " " + rows[r] + ": ";
        if (by_venue) {
          t += CountsAttr(c.counts);
        } else {
          t += StatusName(c.worst);
          if (c.only.rows() >= 0) t += ", " + Num(static_cast<uint64_t>(c.only.rows())) + " rows";
          if (!c.only.reason().empty() && c.worst != ItemStatus::kDone) t += " (" + std::string(c.only.reason()) + ")";
        }
        s += "><title>" + HtmlEscape(t) + "</title></rect>";
      } else {
        s += "/>";
      }
    }
    s += "\n";
  }
  s += "</svg></div>\n";
  return s;
}

// Rows per day, summed over the data type's files.
std::string RowsChart(const std::string& dt, const ItemResults& all, const std::vector<Date>& days) {
  std::map<Date, uint64_t> rows;
  ForEachOfType(all, dt, [&](const Item& r) {
    if (r.rows() > 0) rows[r.day()] += static_cast<uint64_t>(r.rows());
  });
  uint64_t mx = 0;
  for (auto& [d, n] : rows) mx = std::max(mx, n);
  const double bw = days.size() <= 31 ? 16 : days.size() <= 120 ? 8 : days.size() <= 400 ? 4 : 2;
  const double left = 80, hgt = 60, top = 8;
  const double w = left + bw * static_cast<double>(days.size()) + 10;
  std::string s = "<svg class=\"rows-chart\" xmlns=\"http://www.w3.org/2000/svg\" data-data-type=\"" + HtmlEscape(dt) +
                  "\" width=\"" + Fmt("%.0f", w) + "\" height=\"" + Fmt("%.0f", hgt + top + 16) + "\">\n";
  s += "<text class=\"axis\" x=\"" + Fmt("%.0f", left - 6) + "\" y=\"" + Fmt("%.0f", top + 10) +
       "\" text-anchor=\"end\">" + Num(mx) + "</text>";
  s += "<text class=\"axis\" x=\"" + Fmt("%.0f", left - 6) + "\" y=\"" + Fmt("%.0f", top + hgt) +
       "\" text-anchor=\"end\">0</text>";
  s += "<line x1=\"" + Fmt("%.0f", left) + "\" x2=\"" + Fmt("%.0f", w - 10) + "\" y1=\"" + Fmt("%.0f", top + hgt) +
       "\" y2=\"" + Fmt("%.0f", top + hgt) + "\" stroke=\"#ccd\"/>\n";
  for (size_t d = 0; d < days.size(); d++) {
    const uint64_t n = rows.count(days[d]) ? rows[days[d]] : 0;
    const double bh = mx ? hgt * static_cast<double>(n) / static_cast<double>(mx) : 0;
    s += "<rect class=\"bar\" x=\"" + Fmt("%.1f", left + bw * static_cast<double>(d)) + "\" y=\"" +
         Fmt("%.1f", top + hgt - bh) + "\" width=\"" + Fmt("%.1f", std::max(1.0, bw - 1)) + "\" height=\"" +
         Fmt("%.1f", bh) + "\" data-day=\"" + FormatDate(days[d]) + "\" data-rows=\"" + std::to_string(n) +
         "\"><title>" + FormatDate(days[d]) + ": " + Num(n) + " rows</title></rect>";
  }
  s += "\n</svg>\n";
  return s;
}

std::string TotalsRow(const std::string& label, const Counts& c, uint64_t rows, bool deep, const char* cls) {
  size_t total = 0;
  for (size_t v : c) total += v;
  std::string s = std::string("<tr class=\"") + cls + "\"><td class=\"l\">" + HtmlEscape(label) + "</td><td>" +
                  Num(total) + "</td>";
  for (int i = 0; i < kNumStatuses; i++) {
    s += std::string("<td data-total=\"") + StatusName(static_cast<ItemStatus>(i)) + "\">" + Num(c[i]) + "</td>";
  }
  s += "<td>" + (deep ? Num(rows) : std::string("–")) + "</td></tr>\n";
  return s;
}

}  // namespace

std::string HtmlEscape(const std::string& raw) {
  // Redacted before escaping: a credential pattern ("access_token":"...")
  // is found in the raw text, not after its quotes became &quot;. Control
  // characters and ill-formed UTF-8 (a server's text, a file's symbol) are
  // made visible escapes, as in log lines: the page stays valid UTF-8 and
  // a terminal that shows the file is not commanded by it.
  const std::string s = EscapeControlChars(RedactSecrets(raw));
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&#39;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string RenderHtmlReport(const ReportInfo& info, const ItemResults& items, Status* sort_status) {
  std::vector<Date> days;
  for (Date d = info.from; d <= info.to; d = AddDays(d, 1)) days.push_back(d);
  // Per data type (in name order): its counts, rows, distinct instrument
  // keys and venues. The keys are counted from the results' (data type,
  // key) pairs sorted through an ExternalSorter: a key is held in memory
  // by none of them, whatever their number.
  struct TypeTotals {
    Counts counts{};
    uint64_t rows = 0;
    size_t keys = 0;
    std::set<std::string> venues;
  };
  // A pair as sorted: the data type's length, then the data type and the key.
  auto pair_of = [](std::string_view dt, std::string_view key, std::string* out) {
    const uint32_t n = static_cast<uint32_t>(dt.size());
    out->assign(reinterpret_cast<const char*>(&n), sizeof n);
    out->append(dt).append(key);
  };
  ExternalSorter pairs([](std::string_view a, std::string_view b) { return a < b; });
  std::string pair;
  std::map<std::string, TypeTotals, std::less<>> by_dt;
  Counts all{};
  uint64_t all_rows = 0;
  for (size_t i = 0; i < items.size(); i++) {
    const Item r{&items, i};
    auto dt = by_dt.find(items.data_type(i));
    if (dt == by_dt.end()) dt = by_dt.emplace(std::string(items.data_type(i)), TypeTotals()).first;
    TypeTotals& t = dt->second;
    const ItemStatus status = r.status();
    const int64_t rows = r.rows();
    t.counts[static_cast<int>(status)]++;
    all[static_cast<int>(status)]++;
    if (rows > 0) {
      t.rows += static_cast<uint64_t>(rows);
      all_rows += static_cast<uint64_t>(rows);
    }
    const std::string key = r.key();
    t.venues.insert(VenueOfKey(key));
    pair_of(dt->first, key, &pair);
    pairs.Add(pair);
  }
  // Distinct pairs: a pair differs from the one before it.
  std::string previous;
  for (bool first = true; pairs.Next(&pair); first = false) {
    if (!first && pair == previous) continue;
    uint32_t n = 0;
    std::memcpy(&n, pair.data(), sizeof n);
    by_dt.find(std::string_view(pair).substr(sizeof n, n))->second.keys++;
    previous.swap(pair);
  }
  if (sort_status) *sort_status = pairs.status();
  const size_t missing = all[static_cast<int>(ItemStatus::kMissing)];
  const size_t corrupt = all[static_cast<int>(ItemStatus::kCorrupt)];
  const size_t not_available = all[static_cast<int>(ItemStatus::kNotAvailable)];
  const size_t incident = all[static_cast<int>(ItemStatus::kNoDataIncident)];
  const bool ok = missing == 0 && corrupt == 0 && info.definition_problems.empty();
  const std::string range = FormatDate(info.from) + (info.to == info.from ? "" : " – " + FormatDate(info.to));

  std::string h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                  "<title>market-tick coverage " + range + "</title><style>" + kStyle + "</style></head>\n<body>\n";
  h += "<h1>Tick data coverage, " + range + "</h1>\n";
  h += "<p class=\"meta\">" + HtmlEscape(info.store) + " · expected from " + HtmlEscape(info.expected_from) + " · " +
       (info.deep ? "footers checked (--deep)" : "existence only (run with --deep to check file contents)") +
       " · generated " + HtmlEscape(info.generated_at) + " by market-tick " + HtmlEscape(info.tool_version) + "</p>\n";
  h += std::string("<p><span id=\"verdict\" class=\"verdict ") + (ok ? "ok\">complete" : "bad\">incomplete") +
       "</span> " + Num(items.size()) + " expected items, " + Num(missing) + " missing, " + Num(corrupt) +
       " corrupt, " + Num(not_available) + " not available at source, " + Num(incident) +
       " no data (Tardis incident)</p>\n";

  h += "<h2>Totals</h2>\n" + Legend();
  h += "<table id=\"totals\"><tr><th class=\"l\">data type</th><th>expected</th>";
  for (const char* l : kLabels) h += std::string("<th>") + l + "</th>";
  h += "<th>rows</th></tr>\n";
  for (const auto& [dt, t] : by_dt) h += TotalsRow(dt, t.counts, t.rows, info.deep, "dt");
  h += TotalsRow("total", all, all_rows, info.deep, "total");
  h += "</table>\n";
  if (info.unexpected_objects) {
    h += "<p class=\"note\">" + Num(info.unexpected_objects) +
         " tick objects in these days were not expected (other instruments or data types).</p>\n";
  }
  if (!info.definition_problems.empty()) {
    h += "<h2>Days without usable instrument definitions</h2>\n<ul id=\"definition-problems\">\n";
    for (const auto& run : CollapseDays(info.definition_problems)) {
      h += "<li data-day=\"" + FormatDate(run.from) + "\" data-days=\"" + std::to_string(run.days) + "\">" +
           HtmlEscape(run.Days()) + ": " + HtmlEscape(run.text) + "</li>\n";
    }
    h += "</ul>\n";
  }

  for (const auto& [dt, t] : by_dt) {
    const bool by_venue = t.keys > kMaxInstrumentRows;
    h += "<section class=\"data-type\" data-data-type=\"" + HtmlEscape(dt) + "\">\n<h2>" + HtmlEscape(dt) + "</h2>\n";
    h += "<p class=\"note\">" + Num(t.keys) + " instruments × " + Num(days.size()) + " days" +
         (by_venue ? "; rows are venues (" + Num(t.venues.size()) +
                         "), each cell shows the worst status of the venue's instruments that day"
                   : "") +
         ".</p>\n";
    h += Heatmap(dt, items, days, by_venue);
    if (info.deep) {
      h += "<p class=\"note\">Rows per day (from file footers)</p>\n" + RowsChart(dt, items, days);
    }
    h += "</section>\n";
  }

  h += "<h2>Missing and corrupt items</h2>\n";
  size_t listed = 0, problems = missing + corrupt;
  if (problems == 0) {
    h += "<p id=\"no-problems\">None.</p>\n";
  } else {
    h += "<table class=\"problems\" id=\"problems\"><tr><th class=\"l\">day</th><th class=\"l\">data type</th>"
         "<th class=\"l\">instrument</th><th class=\"l\">Tardis exchange / symbol</th><th class=\"l\">status</th>"
         "<th class=\"l\">reason</th></tr>\n";
    for (size_t i = 0; i < items.size(); i++) {
      if (!IsProblem(items.status(i))) continue;
      if (listed++ >= kMaxListedProblems) continue;
      const ItemResult r = items[i];
      const char* st = StatusName(r.status);
      h += std::string("<tr data-status=\"") + st + "\"><td class=\"l\">" + FormatDate(r.item.day) +
           "</td><td class=\"l\">" + HtmlEscape(r.item.data_type) + "</td><td class=\"l\">" +
           HtmlEscape(r.item.instrument_key) + "</td><td class=\"l\">" + HtmlEscape(r.item.exchange) + " " +
           HtmlEscape(r.item.symbol) + "</td><td class=\"l st " + st + "\">" + st + "</td><td class=\"reason\">" +
           HtmlEscape(r.reason) + "</td></tr>\n";
    }
    h += "</table>\n";
    if (listed > kMaxListedProblems) {
      h += "<p class=\"note\">… and " + Num(listed - kMaxListedProblems) +
           " more; every one is in missing_data_reports/by_date/day-*/missing_data.parquet.</p>\n";
    }
  }
  // Absences a Tardis incident report explains: not problems, but a quant
  // needs to see which days of which venues have known gaps.
  if (incident > 0) {
    h += "<h2>Items inside known Tardis incidents</h2>\n<table class=\"problems\" id=\"incidents\"><tr>"
         "<th class=\"l\">day</th><th class=\"l\">data type</th><th class=\"l\">instrument</th>"
         "<th class=\"l\">reason</th></tr>\n";
    size_t shown = 0;
    for (size_t i = 0; i < items.size(); i++) {
      if (items.status(i) != ItemStatus::kNoDataIncident || shown++ >= kMaxListedProblems) continue;
      const ItemResult r = items[i];
      h += "<tr data-status=\"no_data_incident\"><td class=\"l\">" + FormatDate(r.item.day) + "</td><td class=\"l\">" +
           HtmlEscape(r.item.data_type) + "</td><td class=\"l\">" + HtmlEscape(r.item.instrument_key) +
           "</td><td class=\"reason\">" + HtmlEscape(r.reason) + "</td></tr>\n";
    }
    h += "</table>\n";
  }
  h += "</body></html>\n";
  return h;
}

}  // namespace mt::validate
