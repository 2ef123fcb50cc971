// Reading the instrument definitions that plans are made from.
#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "parquet/file_reader.h"
#include "pipeline/plan.h"
#include "storage/layout.h"

namespace mt::pipeline {

Result<DayDefinitions> ReadDayDefinitions(storage::ObjectStore* store, const Date& day) {
  const std::string name = storage::InstrumentsObjectName(day);
  MT_ASSIGN_OR_RETURN(auto file, parquet::FileReader::Open(store, name));
  std::vector<parquet::ColumnValues> cols;
  for (const char* col : {"instrument_key", "data_types", "tardis_exchange", "tardis_symbol"}) {
    MT_ASSIGN_OR_RETURN(parquet::ColumnValues v, file->ReadColumn(std::string(col)));
    if (v.type != parquet::PhysicalType::kByteArray) {
      return Status::InvalidInput(file->label() + ": column " + col + " is not a string column");
    }
    cols.push_back(std::move(v));
  }
  DayDefinitions out;
  for (size_t r = 0; r < cols[0].num_rows; r++) {
    out.rows.push_back(DefinitionRow{cols[0].strings[r], cols[2].strings[r], cols[3].strings[r],
                                     SplitList(cols[1].strings[r])});
  }
  for (const auto& [k, v] : file->metadata().key_value) {
    if (k == "grouped_symbols") out.grouped = ParseGroupedSymbols(v);
  }
  return out;
}

Result<KnownSymbols> ReadKnownSymbols(storage::ObjectStore* store, const Date& from, const Date& to) {
  std::vector<Date> days;
  for (Date d = from; d <= to; d = AddDays(d, 1)) days.push_back(d);
  KnownSymbols known;
  Status first_error;
  std::mutex mu;
  std::atomic<size_t> next{0};
  auto worker = [&] {
    while (true) {
      const size_t i = next++;
      if (i >= days.size()) return;
      auto defs = ReadDayDefinitions(store, days[i]);
      std::lock_guard<std::mutex> l(mu);
      if (!defs.ok()) {
        // A day without definitions says nothing; a store that fails does.
        if (defs.status().retryable() && first_error.ok()) first_error = defs.status();
        continue;
      }
      auto add = [&](const std::string& ex, const std::string& sym) {
        known.by_exchange[ex].insert(NormalizeSymbol(sym));
      };
      for (const auto& r : defs->rows) add(r.exchange, r.symbol);
      for (const auto& g : defs->grouped) add(g.exchange, g.symbol);
    }
  };
  const size_t n = std::min<size_t>(8, days.size());
  std::vector<std::thread> threads;
  for (size_t t = 1; t < n; t++) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (!first_error.ok()) return first_error;
  return known;
}

Status LoadKnownSymbolsFor(storage::ObjectStore* store, PlanRequest* req, KnownSymbols* known) {
  const bool bare = std::any_of(req->symbols.begin(), req->symbols.end(),
                                [](const std::string& s) { return s.find(':') == std::string::npos; });
  if (!bare || req->to < req->from) return Status::OK();
  MT_ASSIGN_OR_RETURN(*known, ReadKnownSymbols(store, req->from, req->to));
  req->known = known;
  return Status::OK();
}

}  // namespace mt::pipeline
