#include "validate/expected.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "pipeline/plan.h"
#include "storage/layout.h"
#include "tardis/instrument_key.h"
#include "tardis/schema.h"

namespace mt::validate {

const char* StatusName(ItemStatus s) {
  switch (s) {
    case ItemStatus::kDone: return "done";
    case ItemStatus::kNoData: return "no_data";
    case ItemStatus::kNotAvailable: return "not_available";
    case ItemStatus::kMissing: return "missing";
    case ItemStatus::kCorrupt: return "corrupt";
  }
  return "?";
}

std::string VenueOfKey(const std::string& key) { return key.substr(0, key.find(':')); }

namespace {

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

void SortUnique(std::vector<ExpectedItem>* items) {
  auto key = [](const ExpectedItem& i) { return std::tie(i.day, i.data_type, i.instrument_key); };
  std::sort(items->begin(), items->end(), [&](const auto& a, const auto& b) { return key(a) < key(b); });
  items->erase(std::unique(items->begin(), items->end(),
                           [&](const auto& a, const auto& b) { return key(a) == key(b); }),
               items->end());
}

Status CheckDataTypes(const std::vector<std::string>& dts) {
  for (const auto& dt : dts) {
    if (!tardis::FindSchema(dt)) {
      return Status::Usage("unknown data type '" + dt + "' (one of: " + tardis::SupportedDataTypes() + ")");
    }
  }
  return Status::OK();
}

}  // namespace

std::string DayRun::Days() const {
  if (days <= 1) return FormatDate(from);
  return FormatDate(from) + " .. " + FormatDate(to) + " (" + std::to_string(days) + " days)";
}

std::vector<DayRun> CollapseDays(const std::vector<std::pair<Date, std::string>>& lines) {
  std::vector<DayRun> out;
  for (const auto& [d, text] : lines) {
    if (!out.empty() && out.back().text == text && AddDays(out.back().to, 1) == d) {
      out.back().to = d;
      out.back().days++;
      continue;
    }
    out.push_back(DayRun{d, d, 1, text});
  }
  return out;
}

Result<ExpectedSet> ExpectedFromPlan(const Selection& sel, pipeline::StoreKeyResolvers* keys) {
  MT_ASSIGN_OR_RETURN(std::vector<pipeline::WorkItem> plan, pipeline::BuildPlan(sel));
  ExpectedSet out;
  out.source = "--symbols";
  std::set<std::string> grouped;
  for (const auto& w : plan) {
    if (tardis::IsGroupedSymbol(w.symbol)) {
      // A grouped file (OPTIONS, PERPETUALS) becomes one object per
      // instrument; which ones only the instrument definitions can say.
      grouped.insert(w.exchange + ":" + w.symbol);
      continue;
    }
    std::shared_ptr<const pipeline::KeyResolver> resolver;
    if (keys) {
      MT_ASSIGN_OR_RETURN(resolver, keys->ForDay(w.day));
    }
    auto key = resolver ? resolver->Resolve(w.exchange, w.symbol) : tardis::KeyFromTardisSymbol(w.exchange, w.symbol);
    if (!key.ok()) return Status::Usage("--symbols: " + key.status().message());
    out.items.push_back(ExpectedItem{w.day, w.data_type, key->ToString(), w.exchange, w.symbol});
  }
  for (const auto& g : grouped) {
    out.notes.push_back("grouped symbol " + g +
                        " names many instruments; validate them from instrument definitions (no --symbols)");
  }
  SortUnique(&out.items);
  return out;
}

Result<std::vector<ExpectedItem>> ItemsFromDefinitions(parquet::FileReader& file, const Date& day,
                                                       const Selection& sel, size_t* unknown_types,
                                                       std::set<std::string>* exchanges) {
  std::vector<parquet::ColumnValues> cols;
  for (const char* name : {"instrument_key", "data_types", "tardis_exchange", "tardis_symbol"}) {
    auto v = file.ReadColumn(std::string(name));
    if (!v.ok()) return v.status();
    if (v->type != parquet::PhysicalType::kByteArray) {
      return Status::InvalidInput(file.label() + ": column " + name + " is not a string column");
    }
    cols.push_back(std::move(v).value());
  }
  std::vector<ExpectedItem> out;
  std::vector<pipeline::DefinitionRow> defs;
  const size_t rows = cols[0].num_rows;
  for (size_t r = 0; r < rows; r++) {
    const std::string& key = cols[0].strings[r];
    const std::string& exchange = cols[2].strings[r];
    if (key.empty()) continue;
    if (exchanges) exchanges->insert(exchange);
    defs.push_back(pipeline::DefinitionRow{key, exchange, cols[3].strings[r], pipeline::SplitList(cols[1].strings[r])});
    if (!sel.exchanges.empty() && !Contains(sel.exchanges, exchange)) continue;
    for (const auto& dt : defs.back().data_types) {
      if (!sel.data_types.empty() && !Contains(sel.data_types, dt)) continue;
      // An option's chain rows live in its underlying's chain object.
      if (dt == pipeline::kOptionsChain) continue;
      if (!tardis::FindSchema(dt)) {
        ++*unknown_types;
        continue;
      }
      out.push_back(ExpectedItem{day, dt, key, exchange, cols[3].strings[r]});
    }
  }
  std::vector<pipeline::GroupedDefinition> grouped;
  for (const auto& [k, v] : file.metadata().key_value) {
    if (k == "grouped_symbols") grouped = pipeline::ParseGroupedSymbols(v);
  }
  for (const auto& w : pipeline::ChainItems(day, defs, grouped, sel)) {
    out.push_back(ExpectedItem{w.day, w.data_type, w.instrument_key, w.exchange, w.symbol});
  }
  return out;
}

Result<ExpectedSet> ExpectedFromDefinitions(storage::ObjectStore* store, const Selection& sel) {
  if (sel.to < sel.from) {
    return Status::Usage("--to " + FormatDate(sel.to) + " is before --from " + FormatDate(sel.from));
  }
  MT_RETURN_IF_ERROR(CheckDataTypes(sel.data_types));
  ExpectedSet out;
  out.source = "instrument definitions";
  size_t unknown = 0;
  std::set<std::string> seen;  // exchanges the definitions list
  for (Date d = sel.from; d <= sel.to; d = AddDays(d, 1)) {
    const std::string name = storage::InstrumentsObjectName(d);
    auto file = parquet::FileReader::Open(store, name);
    if (!file.ok()) {
      if (file.status().code() == Status::Code::kNotFound) {
        out.definition_problems.emplace_back(
            d, "no instrument definitions (instrument_availability/by_date/day-*/instruments.parquet): run "
               "market-tick instruments for these days, or pass --symbols");
        continue;
      }
      if (file.status().retryable()) return file.status();
      out.definition_problems.emplace_back(d, file.status().message());
      continue;
    }
    auto items = ItemsFromDefinitions(**file, d, sel, &unknown, &seen);
    if (!items.ok()) {
      if (items.status().retryable()) return items.status();
      out.definition_problems.emplace_back(d, items.status().message());
      continue;
    }
    out.items.insert(out.items.end(), items->begin(), items->end());
  }
  // A typo must not read as "nothing expected, complete".
  MT_RETURN_IF_ERROR(pipeline::CheckExchanges(sel.exchanges, std::vector<std::string>(seen.begin(), seen.end())));
  if (out.definition_problems.size() < static_cast<size_t>(DaysFromCivil(sel.to.year, sel.to.month, sel.to.day) -
                                                            DaysFromCivil(sel.from.year, sel.from.month, sel.from.day) + 1)) {
    for (const auto& e : sel.exchanges) {
      if (!seen.count(e)) {
        out.notes.push_back(e + ": the instrument definitions of these days do not list this exchange; run "
                                "market-tick instruments --exchanges " + e + " for them");
      }
    }
  }
  if (unknown > 0) {
    out.notes.push_back(std::to_string(unknown) +
                        " instrument data types are not among the supported ones and were skipped");
  }
  SortUnique(&out.items);
  return out;
}

}  // namespace mt::validate
