#include "validate/missing_report.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/external_sort.h"
#include "core/log.h"
#include "parquet/file_reader.h"
#include "storage/layout.h"
#include "tardis/instrument_key.h"
#include "validate/expected.h"

namespace mt::validate {

namespace {

// An item as a report row names it: data type, exchange, symbol, key, each
// after its length, so no id is the start of another: ids with a row index
// appended sort by id, then by row.
void AppendField(std::string* s, std::string_view v) {
  const auto n = static_cast<uint32_t>(v.size());
  for (int shift = 24; shift >= 0; shift -= 8) s->push_back(static_cast<char>((n >> shift) & 0xff));
  s->append(v);
}
std::string ItemId(std::string_view data_type, std::string_view exchange, std::string_view symbol,
                   std::string_view key) {
  std::string s;
  for (std::string_view part : {data_type, exchange, symbol, key}) AppendField(&s, part);
  return s;
}
// A row index as 8 big-endian bytes: in row order as bytes.
void AppendIndex(std::string* s, uint64_t i) {
  for (int shift = 56; shift >= 0; shift -= 8) s->push_back(static_cast<char>((i >> shift) & 0xff));
}
uint64_t IndexAtEnd(std::string_view s) {
  uint64_t i = 0;
  for (size_t k = s.size() - 8; k < s.size(); k++) i = (i << 8) | static_cast<uint8_t>(s[k]);
  return i;
}
bool BytesLess(std::string_view a, std::string_view b) { return a < b; }

}  // namespace

EarlierRows::EarlierRows() = default;
EarlierRows::~EarlierRows() = default;
EarlierRows::EarlierRows(EarlierRows&&) noexcept = default;
EarlierRows& EarlierRows::operator=(EarlierRows&&) noexcept = default;

Status EarlierRows::Next(size_t n, std::vector<pipeline::MissingReportRow>* out) {
  out->clear();
  if (n > size_ - given_) return Status::Internal("missing-data report: more earlier rows asked for than kept");
  if (!file_) {
    for (size_t r = given_; r < given_ + n; r++) out->push_back(std::move(held_[r]));
    given_ += n;
    return Status::OK();
  }
  std::string record;
  for (size_t k = 0; k < n; k++) {
    if (!kept_->Next(&record)) {
      if (!kept_->status().ok()) return kept_->status().WithContext("the earlier rows kept");
      return Status::Internal("missing-data report: fewer earlier rows kept than counted");
    }
    const uint64_t row = IndexAtEnd(record);
    while (row >= group_first_ + group_rows_.size()) {
      // The report is read again as it was read to choose the rows.
      if (group_ >= file_->row_groups()) {
        return Status::InvalidInput(file_->label() + ": fewer rows than when its rows to keep were chosen");
      }
      group_first_ += group_rows_.size();
      MT_RETURN_IF_ERROR(file_->ReadRowGroup(group_++, &group_rows_));
    }
    out->push_back(std::move(group_rows_[row - group_first_]));
  }
  given_ += n;
  return Status::OK();
}

Status WriteMissingReport(storage::ObjectStore* store, const Date& day, const ItemResults& items, size_t begin,
                          size_t end, int64_t checked_at, const std::string& created_by, EarlierRows* earlier,
                          const std::atomic<bool>* cancel, const int64_t* if_generation) {
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
  const size_t rows = own + (earlier ? earlier->size() : 0);
  // Row groups come in order and each asks for its rows once per column:
  // the items of a row group are found once (from where the previous one
  // ended), and each column reads only those; so are its earlier rows
  // (read once per row group, in order, as EarlierRows gives them).
  std::vector<uint32_t> group;  // item indexes of the row group's rows
  size_t group_first = SIZE_MAX, next_item = begin;
  std::vector<pipeline::MissingReportRow> earlier_group;  // the row group's earlier rows
  size_t earlier_first = SIZE_MAX;
  auto load = [&](size_t first, size_t n) {
    // Rows [first, first + n): this run's items first, then the earlier rows.
    const size_t mine = first < own ? std::min(n, own - first) : 0;
    if (first != group_first) {
      if (cancel && cancel->load()) {
        return Status::Cancelled("missing-data report of " + FormatDate(day) + " not written: interrupted");
      }
      group.clear();
      for (; next_item < end && group.size() < mine; next_item++) {
        if (in_report(next_item)) group.push_back(static_cast<uint32_t>(next_item));
      }
      group_first = first;
    }
    if (first != earlier_first) {
      earlier_group.clear();
      earlier_first = first;
      if (n > mine) return earlier->Next(n - mine, &earlier_group);
    }
    return Status::OK();
  };
  std::string object;
  auto column = [&](size_t c, size_t first, size_t n, const std::function<void(std::string_view)>& append) {
    MT_RETURN_IF_ERROR(load(first, n));
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
    for (const pipeline::MissingReportRow& e : earlier_group) {
      const std::string* values[] = {nullptr,   &e.data_type, &e.instrument_key, &e.exchange,
                                     &e.symbol, &e.status,    &e.reason,         &e.object_name};
      append(c == 0 ? std::string_view(FormatDate(e.day)) : std::string_view(*values[c]));
    }
    return results_read();
  };
  auto checked_at_of = [&](size_t first, size_t n, int64_t* values) {
    MT_RETURN_IF_ERROR(load(first, n));
    const size_t mine = n - earlier_group.size();
    for (size_t r = 0; r < earlier_group.size(); r++) values[mine + r] = earlier_group[r].checked_at;
    return Status::OK();
  };
  return pipeline::WriteMissingReportColumns(store, day, rows, column, checked_at, created_by,
                                             pipeline::kMissingReportRowGroupRows, checked_at_of, if_generation);
}

Result<EarlierRows> EarlierRowsToKeep(storage::ObjectStore* store, const Date& day, const ItemResults& items,
                                      size_t begin, size_t end, size_t held_rows,
                                      const std::atomic<bool>* cancel, std::optional<int64_t>* generation) {
  EarlierRows out;
  if (generation) generation->reset();
  // A report that cannot be read keeps nothing, said; a store that did not
  // answer is the error.
  auto unreadable = [&day](const Status& st) -> Result<EarlierRows> {
    if (st.code() == Status::Code::kNotFound) return EarlierRows();
    if (st.retryable()) return st;
    log::Warn("the missing-data report of " + FormatDate(day) + " cannot be read (" + st.message() +
              "); this run's report replaces it whole");
    return EarlierRows();
  };
  auto reader = pipeline::MissingReportReader::Open(store, day);
  if (!reader.ok()) {
    // None yet: this run's report is written only if there still is none.
    if (generation && reader.status().code() == Status::Code::kNotFound) *generation = 0;
    return unreadable(reader.status());
  }
  if (generation && (*reader)->rows() <= held_rows) {
    // One version, its bytes and generation together: the rows kept are
    // those of the report the conditional write replaces.
    const std::string name = store->layout().MissingReportObjectName(day);
    auto v = store->ReadVersioned(name);
    if (!v.ok()) return unreadable(v.status());
    if (v->generation == 0) {  // removed since it was opened
      *generation = 0;
      return out;
    }
    auto file = parquet::FileReader::OpenBuffer(std::move(v->bytes), store->Describe(name));
    if (!file.ok()) return unreadable(file.status());
    auto versioned = pipeline::MissingReportReader::Open(std::move(*file));
    if (!versioned.ok()) return unreadable(versioned.status());
    *generation = v->generation;
    reader = std::move(versioned);
  }
  // The run's grouped files judged whole by a run that expects any item
  // of it: the objects its completion record lists, or, with no record,
  // one item of the whole file (GroupedItemKey). Either supersedes the rows
  // an earlier run gave the file the other way (the whole file's row once
  // the record lists objects; its objects' rows once the record is gone),
  // which share no key with this run's items. A set of files (data type,
  // exchange, symbol), as few as the grouped files of the run.
  std::unordered_set<std::string> files_judged, files_whole;  // ItemId(data type, exchange, symbol, "")
  auto superseded = [&](const pipeline::MissingReportRow& e) {
    if (files_judged.empty()) return false;
    const std::string file = ItemId(e.data_type, e.exchange, e.symbol, "");
    return IsGroupedItemKey(e.instrument_key) ? files_judged.count(file) > 0 : files_whole.count(file) > 0;
  };
  auto judge_file = [&](size_t i, const std::string& symbol, const std::string& key) {
    if (!tardis::IsGroupedSymbol(symbol)) return;
    std::string file = ItemId(items.data_type(i), items.exchange(i), symbol, "");
    if (IsGroupedItemKey(key)) files_whole.insert(file);
    files_judged.insert(std::move(file));
  };
  auto results_read = [&]() {
    if (items.io_status().ok()) return Status::OK();
    return items.io_status().WithContext("missing-data report of " + FormatDate(day) + ": the results of the checks");
  };

  if ((*reader)->rows() <= held_rows) {
    std::vector<pipeline::MissingReportRow> stored, group;
    for (size_t g = 0; g < (*reader)->row_groups(); g++) {
      if (Status st = (*reader)->ReadRowGroup(g, &group); !st.ok()) return unreadable(st);
      std::move(group.begin(), group.end(), std::back_inserter(stored));
    }
    if (stored.empty()) return out;
    std::unordered_map<std::string, size_t> unchecked;  // id -> row of stored
    for (size_t r = 0; r < stored.size(); r++) {
      const auto& e = stored[r];
      if (e.day == day) unchecked.emplace(ItemId(e.data_type, e.exchange, e.symbol, e.instrument_key), r);
    }
    for (size_t i = begin; i < end && !unchecked.empty(); i++) {
      if (items.day(i) != day) continue;
      const std::string symbol = items.symbol(i), key = items.instrument_key(i);
      unchecked.erase(ItemId(items.data_type(i), items.exchange(i), symbol, key));
      judge_file(i, symbol, key);
    }
    MT_RETURN_IF_ERROR(results_read());
    for (auto it = unchecked.begin(); it != unchecked.end();) {
      it = superseded(stored[it->second]) ? unchecked.erase(it) : std::next(it);
    }
    std::vector<size_t> keep;
    for (const auto& [k, r] : unchecked) keep.push_back(r);
    std::sort(keep.begin(), keep.end());  // in the stored report's order
    out.held_.reserve(keep.size());
    for (size_t r : keep) out.held_.push_back(std::move(stored[r]));
    out.size_ = out.held_.size();
    return out;
  }

  // Past the cap: the run's item ids and the report's rows (id, then row
  // index) each sorted in a temporary file, then walked together; the
  // rows kept go to a third, by row index.
  ExternalSorter run_ids(BytesLess), stored_ids(BytesLess);
  for (size_t i = begin; i < end; i++) {
    if (items.day(i) != day) continue;
    const std::string symbol = items.symbol(i), key = items.instrument_key(i);
    run_ids.Add(ItemId(items.data_type(i), items.exchange(i), symbol, key));
    judge_file(i, symbol, key);
  }
  MT_RETURN_IF_ERROR(results_read());
  std::vector<pipeline::MissingReportRow> group;
  uint64_t row = 0;
  std::string record;
  auto interrupted = [&] { return Status::Cancelled("missing-data report of " + FormatDate(day) + ": interrupted"); };
  for (size_t g = 0; g < (*reader)->row_groups(); g++) {
    if (cancel && cancel->load()) return interrupted();
    if (Status st = (*reader)->ReadRowGroup(g, &group, /*ids_only=*/true); !st.ok()) return unreadable(st);
    for (const auto& e : group) {
      if (e.day == day && !superseded(e)) {
        record = ItemId(e.data_type, e.exchange, e.symbol, e.instrument_key);
        AppendIndex(&record, row);
        stored_ids.Add(record);
      }
      row++;
    }
  }
  group = {};
  run_ids.Finish();
  stored_ids.Finish();
  auto kept = std::make_unique<ExternalSorter>(BytesLess);
  std::string run_id, previous;
  bool have_run = run_ids.Next(&run_id), have_previous = false;
  for (uint64_t walked = 0; stored_ids.Next(&record); walked++) {
    if (walked % pipeline::kMissingReportRowGroupRows == 0 && cancel && cancel->load()) return interrupted();
    const std::string_view id(record.data(), record.size() - 8);
    // Rows of one item: the first (the least index sorts first) only.
    if (have_previous && id == previous) continue;
    previous.assign(id);
    have_previous = true;
    while (have_run && std::string_view(run_id) < id) have_run = run_ids.Next(&run_id);
    if (have_run && std::string_view(run_id) == id) continue;  // checked by this run
    kept->Add(std::string_view(record).substr(record.size() - 8));
  }
  for (const ExternalSorter* s : {&run_ids, &stored_ids}) {
    if (!s->status().ok()) {
      return s->status().WithContext("missing-data report of " + FormatDate(day) + ": the rows to keep");
    }
  }
  for (const ExternalSorter* s : {&run_ids, &stored_ids, kept.get()}) {
    if (!s->note().empty()) {
      log::Warn("missing-data report of " + FormatDate(day) + ": the rows to keep are sorted in memory: " + s->note());
      break;
    }
  }
  kept->Finish();
  out.size_ = kept->size();
  out.kept_ = std::move(kept);
  out.file_ = std::move(*reader);
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
