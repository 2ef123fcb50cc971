// Reading the instrument definitions that plans are made from.
#include <algorithm>
#include <mutex>

#include "core/parallel.h"
#include "parquet/file_reader.h"
#include "pipeline/plan.h"
#include "storage/layout.h"

namespace mt::pipeline {

namespace {

// Dataset and grouped symbols of one day, per exchange: two columns and the
// footer (a day of every exchange is large; pairing needs no more).
Status AddDaySymbols(storage::ObjectStore* store, const Date& day, KnownSymbols* known, std::mutex* mu) {
  MT_ASSIGN_OR_RETURN(auto file, parquet::FileReader::Open(store, storage::InstrumentsObjectName(day)));
  std::vector<parquet::ColumnValues> cols;
  for (const char* col : {"tardis_exchange", "tardis_symbol"}) {
    MT_ASSIGN_OR_RETURN(parquet::ColumnValues v, file->ReadColumn(std::string(col)));
    if (v.type != parquet::PhysicalType::kByteArray) {
      return Status::InvalidInput(file->label() + ": column " + col + " is not a string column");
    }
    cols.push_back(std::move(v));
  }
  std::vector<GroupedDefinition> grouped;
  for (const auto& [k, v] : file->metadata().key_value) {
    if (k == "grouped_symbols") grouped = ParseGroupedSymbols(v);
  }
  std::lock_guard<std::mutex> l(*mu);
  for (size_t r = 0; r < cols[0].num_rows; r++) {
    known->by_exchange[cols[0].strings[r]].insert(NormalizeSymbol(cols[1].strings[r]));
  }
  for (const auto& g : grouped) known->by_exchange[g.exchange].insert(NormalizeSymbol(g.symbol));
  return Status::OK();
}

}  // namespace

Result<std::vector<GroupedDefinition>> ReadGroupedSymbols(storage::ObjectStore* store, const Date& day) {
  MT_ASSIGN_OR_RETURN(auto file, parquet::FileReader::Open(store, storage::InstrumentsObjectName(day)));
  for (const auto& [k, v] : file->metadata().key_value) {
    if (k == "grouped_symbols") return ParseGroupedSymbols(v);
  }
  return std::vector<GroupedDefinition>();
}

Result<KnownSymbols> ReadKnownSymbols(storage::ObjectStore* store, const Date& from, const Date& to) {
  std::vector<Date> days;
  for (Date d = from; d <= to; d = AddDays(d, 1)) days.push_back(d);
  KnownSymbols known;
  std::mutex mu;
  MT_RETURN_IF_ERROR(ParallelFor(days.size(), ParallelOptions{8, nullptr}, [&](size_t i) {
    Status st = AddDaySymbols(store, days[i], &known, &mu);
    // A day without definitions says nothing; a store that fails does (and
    // ends the reading: the plan cannot be made without it).
    return !st.ok() && st.retryable() ? st : Status::OK();
  }));
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
