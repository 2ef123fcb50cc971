#include "validate/missing_report.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/log.h"
#include "parquet/file_reader.h"
#include "storage/layout.h"
#include "tardis/instrument_key.h"
#include "validate/expected.h"

namespace mt::validate {

Status WriteMissingReport(storage::ObjectStore* store, const Date& day, const ItemResults& items, size_t begin,
                          size_t end, int64_t checked_at, const std::string& created_by,
                          const std::vector<pipeline::MissingReportRow>& earlier, const int64_t* if_generation) {
  auto in_report = [&](size_t i) { return IsReported(items.status(i)) && items.day(i) == day; };
  // A failed read of the results (sticky once set) makes the rows zeros:
  // an empty or partial report that would replace a correct one, and that
  // download --from-report would plan nothing from. Checked after every
  // read of them, so nothing is committed once one failed.
  auto results_read = [&items, &day]() {
    if (items.io_status().ok()) return Status::OK();
    return items.io_status().WithContext("missing-data report of " + FormatDate(day) +
                                         " not written: the results of the checks");
  };
  MT_RETURN_IF_ERROR(results_read());
  size_t own = 0;
  for (size_t i = begin; i < end; i++) own += in_report(i);
  MT_RETURN_IF_ERROR(results_read());
  const size_t rows = own + earlier.size();
  std::vector<int64_t> earlier_checked_at;
  for (const auto& r : earlier) earlier_checked_at.push_back(r.checked_at);
  // Row groups come in order and each asks for its rows once per column:
  // the items of a row group are found once (from where the previous one
  // ended), and each column reads only those.
  std::vector<uint32_t> group;  // item indexes of the row group's rows
  size_t group_first = SIZE_MAX, next_item = begin;
  std::string object;
  auto column = [&](size_t c, size_t first, size_t n, const std::function<void(std::string_view)>& append) {
    // Rows [first, first + n): this run's items first, then the earlier rows.
    const size_t mine = first < own ? std::min(n, own - first) : 0;
    if (first != group_first) {
      group.clear();
      for (; next_item < end && group.size() < mine; next_item++) {
        if (in_report(next_item)) group.push_back(static_cast<uint32_t>(next_item));
      }
      group_first = first;
    }
    for (const size_t i : group) {
      switch (c) {
        case 0: append(FormatDate(items.day(i))); break;
        case 1: append(items.data_type(i)); break;
        case 2: append(items.instrument_key(i)); break;
        case 3: append(items.exchange(i)); break;
        case 4: append(items.symbol(i)); break;
        case 5: append(StatusName(items.status(i))); break;
        case 6: append(items.reason(i)); break;
        default: items.Object(i, &object); append(object);
      }
    }
    for (size_t r = first + mine - own; r < first + n - own; r++) {
      const pipeline::MissingReportRow& e = earlier[r];
      const std::string* values[] = {nullptr,   &e.data_type, &e.instrument_key, &e.exchange,
                                     &e.symbol, &e.status,    &e.reason,         &e.object_name};
      append(c == 0 ? std::string_view(FormatDate(e.day)) : std::string_view(*values[c]));
    }
    return results_read();
  };
  return pipeline::WriteMissingReportColumns(store, day, rows, column, checked_at, created_by,
                                             pipeline::kMissingReportRowGroupRows, &earlier_checked_at, if_generation);
}

Result<std::vector<pipeline::MissingReportRow>> EarlierRowsToKeep(storage::ObjectStore* store, const Date& day,
                                                                  const ItemResults& items, size_t begin, size_t end,
                                                                  std::optional<int64_t>* generation) {
  const std::string name = store->layout().MissingReportObjectName(day);
  auto too_big = [&day](int64_t rows) {
    if (rows <= static_cast<int64_t>(pipeline::kMissingReportRowGroupRows)) return false;
    log::Warn("the missing-data report of " + FormatDate(day) + " holds " + std::to_string(rows) +
              " rows, more than the " + std::to_string(pipeline::kMissingReportRowGroupRows) +
              " of an earlier run kept beside this run's: this run's report replaces it whole (validate the "
              "items it held again to report them)");
    return true;
  };
  if (generation) generation->reset();
  // Held whole while the report is written: a report past one row group
  // (a grouped item of that many objects missing) is not read, so memory
  // stays bounded whatever it holds; this run's report replaces it, said.
  {
    auto footer = parquet::FileReader::Open(store, name);
    if (footer.ok() && too_big((*footer)->metadata().num_rows)) return std::vector<pipeline::MissingReportRow>{};
    if (!footer.ok() && footer.status().retryable()) return footer.status();
  }
  Result<std::vector<pipeline::MissingReportRow>> stored = Status::NotFound(name);
  if (generation) {
    // One version, its bytes and generation together: the rows kept are
    // those of the report the conditional write replaces.
    MT_ASSIGN_OR_RETURN(storage::ObjectStore::Versioned v, store->ReadVersioned(name));
    *generation = v.generation;
    if (v.generation != 0) {
      auto file = parquet::FileReader::OpenBuffer(std::move(v.bytes), store->Describe(name));
      if (file.ok() && too_big((*file)->metadata().num_rows)) return std::vector<pipeline::MissingReportRow>{};
      if (file.ok()) {
        stored = pipeline::ReadMissingReportRows(**file);
      } else {
        stored = file.status();
      }
    }
  } else {
    stored = pipeline::ReadMissingReportRows(store, day);
  }
  if (!stored.ok()) {
    if (stored.status().code() == Status::Code::kNotFound) return std::vector<pipeline::MissingReportRow>{};
    if (stored.status().retryable()) return stored.status();
    log::Warn("the missing-data report of " + FormatDate(day) + " cannot be read (" + stored.status().message() +
              "); this run's report replaces it whole");
    return std::vector<pipeline::MissingReportRow>{};
  }
  if (stored->empty()) return std::move(*stored);
  // An item as a report row names it: data type, exchange, symbol, key.
  auto id = [](std::string_view data_type, std::string_view exchange, std::string_view symbol, std::string_view key) {
    std::string s;
    for (std::string_view part : {data_type, exchange, symbol, key}) {
      s.append(part);
      s.push_back('\x1f');
    }
    return s;
  };
  std::unordered_map<std::string, size_t> unchecked;  // id -> row of *stored
  for (size_t r = 0; r < stored->size(); r++) {
    const auto& e = (*stored)[r];
    if (e.day == day) unchecked.emplace(id(e.data_type, e.exchange, e.symbol, e.instrument_key), r);
  }
  // A grouped file is judged whole by a run that expects any item of it:
  // the objects its completion record lists, or, with no record, one item
  // of the whole file (GroupedItemKey). Either supersedes the rows an
  // earlier run gave the file the other way (the whole file's row once the
  // record lists objects; its objects' rows once the record is gone), which
  // share no key with this run's items.
  std::unordered_set<std::string> files_judged, files_whole;  // id(data type, exchange, symbol, "")
  for (size_t i = begin; i < end && !unchecked.empty(); i++) {
    if (items.day(i) != day) continue;
    const std::string symbol = items.symbol(i), key = items.instrument_key(i);
    unchecked.erase(id(items.data_type(i), items.exchange(i), symbol, key));
    if (tardis::IsGroupedSymbol(symbol)) {
      std::string file = id(items.data_type(i), items.exchange(i), symbol, "");
      if (IsGroupedItemKey(key)) files_whole.insert(file);
      files_judged.insert(std::move(file));
    }
  }
  if (!items.io_status().ok()) {
    return items.io_status().WithContext("missing-data report of " + FormatDate(day) + ": the results of the checks");
  }
  if (!files_judged.empty()) {
    for (auto it = unchecked.begin(); it != unchecked.end();) {
      const auto& e = (*stored)[it->second];
      const std::string file = id(e.data_type, e.exchange, e.symbol, "");
      const bool superseded =
          IsGroupedItemKey(e.instrument_key) ? files_judged.count(file) > 0 : files_whole.count(file) > 0;
      it = superseded ? unchecked.erase(it) : std::next(it);
    }
  }
  std::vector<size_t> keep;
  for (const auto& [k, r] : unchecked) keep.push_back(r);
  std::sort(keep.begin(), keep.end());  // in the stored report's order
  std::vector<pipeline::MissingReportRow> out;
  out.reserve(keep.size());
  for (size_t r : keep) out.push_back(std::move((*stored)[r]));
  return out;
}

Result<std::vector<ReportedItem>> ReadMissingReport(storage::ObjectStore* store, const Date& day) {
  MT_ASSIGN_OR_RETURN(std::vector<pipeline::MissingReportRow> rows, pipeline::ReadMissingReportRows(store, day));
  std::vector<ReportedItem> out;
  out.reserve(rows.size());
  for (auto& r : rows) {
    ReportedItem it;
    it.item = ExpectedItem{r.day, std::move(r.data_type), std::move(r.instrument_key), std::move(r.exchange),
                           std::move(r.symbol)};
    it.status = r.status == "corrupt"         ? ItemStatus::kCorrupt
                : r.status == "not_available" ? ItemStatus::kNotAvailable
                : r.status == "no_data_incident" ? ItemStatus::kNoDataIncident
                                              : ItemStatus::kMissing;
    it.reason = std::move(r.reason);
    out.push_back(std::move(it));
  }
  return out;
}

}  // namespace mt::validate
