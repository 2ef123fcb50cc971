// Plans from the instrument definitions in the store: which symbols each
// exchange has (pairing bare --symbols), and the items the definitions
// expect, filtered (download and plan run them, validate checks them).
#include <algorithm>
#include <mutex>
#include <tuple>

#include "core/parallel.h"
#include "parquet/file_reader.h"
#include "pipeline/instruments_merge.h"
#include "pipeline/plan.h"
#include "storage/layout.h"
#include "tardis/instrument_key.h"
#include "tardis/schema.h"

namespace mt::pipeline {

namespace {

// Dataset and grouped symbols of one day, per exchange, and the keys of its
// instruments: three columns and the footer (a day of every exchange is
// large; pairing needs no more).
Status AddDaySymbols(storage::ObjectStore* store, const Date& day, KnownSymbols* known, std::mutex* mu) {
  MT_ASSIGN_OR_RETURN(auto file, parquet::FileReader::Open(store, store->layout().InstrumentsObjectName(day)));
  std::vector<parquet::ColumnValues> cols;
  for (const char* col : {"tardis_exchange", "tardis_symbol", "instrument_key"}) {
    if (file->metadata().FindLeaf(col) < 0) {
      return Status::InvalidInput(file->label() + ": no column " + col + ": not an instruments file of this version");
    }
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
    // The earliest day's row of a key names it (a key names one instrument).
    if (!cols[2].strings[r].empty()) {
      KnownSymbols::Named named{day, cols[0].strings[r], cols[1].strings[r]};
      auto [it, added] = known->by_key.try_emplace(cols[2].strings[r], named);
      if (!added && day < it->second.day) it->second = std::move(named);
    }
  }
  for (const auto& g : grouped) known->by_exchange[g.exchange].insert(NormalizeSymbol(g.symbol));
  return Status::OK();
}

std::vector<GroupedDefinition> GroupedOf(const parquet::FileReader& file) {
  for (const auto& [k, v] : file.metadata().key_value) {
    if (k == "grouped_symbols") return ParseGroupedSymbols(v);
  }
  return {};
}

// Every instrument row of one day's definitions file (rows without a key
// are skipped).
Result<std::vector<DefinitionRow>> ReadDefinitionRows(parquet::FileReader& file) {
  std::vector<parquet::ColumnValues> cols;
  for (const char* name : {"instrument_key", "data_types", "tardis_exchange", "tardis_symbol"}) {
    MT_ASSIGN_OR_RETURN(parquet::ColumnValues v, file.ReadColumn(std::string(name)));
    if (v.type != parquet::PhysicalType::kByteArray) {
      return Status::InvalidInput(file.label() + ": column " + name + " is not a string column");
    }
    cols.push_back(std::move(v));
  }
  std::vector<DefinitionRow> rows;
  rows.reserve(cols[0].num_rows);
  for (size_t r = 0; r < cols[0].num_rows; r++) {
    if (cols[0].strings[r].empty()) continue;
    rows.push_back(DefinitionRow{cols[0].strings[r], cols[2].strings[r], cols[3].strings[r],
                                 SplitList(cols[1].strings[r])});
  }
  return rows;
}

bool Wanted(const std::vector<std::string>& filter, const std::string& v) {
  return filter.empty() || std::find(filter.begin(), filter.end(), v) != filter.end();
}

// The items of one day: instruments x data types and the options chains,
// filtered; then the grouped files of data types no instrument has.
std::vector<WorkItem> DayItems(const Date& day, const std::vector<DefinitionRow>& rows,
                               const std::vector<GroupedDefinition>& grouped, const PlanRequest& req,
                               size_t* unknown_types) {
  std::vector<WorkItem> items;
  for (const auto& r : rows) {
    if (!Wanted(req.exchanges, r.exchange)) continue;
    for (const auto& dt : r.data_types) {
      if (!Wanted(req.data_types, dt)) continue;
      // An option's chain rows live in its underlying's chain object.
      if (dt == kOptionsChain) continue;
      if (!tardis::FindSchema(dt)) {
        ++*unknown_types;
        continue;
      }
      items.push_back(WorkItem{day, dt, r.exchange, r.symbol, r.instrument_key});
    }
  }
  for (auto& w : ChainItems(day, rows, grouped, req)) items.push_back(std::move(w));
  // Key order within a data type: --max-instruments keeps the first N keys.
  auto key = [](const WorkItem& w) { return std::tie(w.data_type, w.instrument_key); };
  std::sort(items.begin(), items.end(), [&](const WorkItem& a, const WorkItem& b) { return key(a) < key(b); });
  items.erase(std::unique(items.begin(), items.end(),
                          [&](const WorkItem& a, const WorkItem& b) { return key(a) == key(b); }),
              items.end());
  // Data types that exist only as grouped files: the instruments files list
  // grouped symbols in their `grouped_symbols` metadata. A grouped file is
  // added for a data type no instrument of that exchange has on the day
  // (else both would be fetched); the instrument filters cannot apply inside
  // it. Coverage counts every instrument of the definitions, before the
  // filters: a filter that drops all options must not bring their trades
  // back through the grouped file.
  std::set<std::pair<std::string, std::string>> covered;  // exchange, data type
  for (const auto& w : items) covered.insert({w.exchange, w.data_type});
  std::vector<WorkItem> out = FilterInstruments(items, req.instruments);
  for (const auto& g : grouped) {
    if (!Wanted(req.exchanges, g.exchange)) continue;
    // The grouped file's instruments have the key type of its Tardis type
    // (COMBOS: none, so a type filter never selects it).
    const std::string key_type = tardis::KeyTypeForTardisType(g.type);
    if (!req.instruments.types.empty() && !req.instruments.types.count(key_type)) continue;
    for (const auto& dt : g.data_types) {
      if (!tardis::FindSchema(dt) || !Wanted(req.data_types, dt)) continue;
      if (covered.count({g.exchange, dt})) continue;
      out.push_back(WorkItem{day, dt, g.exchange, g.symbol, {}});
    }
  }
  return out;
}

// Wanted exchanges whose datasets.exportedUntil, as the day's definitions
// recorded it, ends before the end of `day`: Tardis had not finished
// exporting the day then, so its files may be missing or partial. Appended
// per exchange as (day, exportedUntil) for CollapseDays.
void NoteDayAfterExport(const Date& day, const parquet::FileReader& file, const std::vector<std::string>& exchanges,
                        std::map<std::string, std::vector<std::pair<Date, std::string>>>* out) {
  for (const ExchangeSource& src : StateOf(file.metadata().key_value).sources) {
    if (!Wanted(exchanges, src.exchange) || ExportedThrough(src.exported_until_us, day)) continue;
    (*out)[src.exchange].emplace_back(day, FormatIsoSeconds(*src.exported_until_us));
  }
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

Result<DefinitionsPlan> PlanFromDefinitions(storage::ObjectStore* store, const PlanRequest& req) {
  std::vector<WorkItem> items;
  MT_ASSIGN_OR_RETURN(DefinitionsPlan out, PlanFromDefinitions(store, req, [&items](WorkItem&& w) {
                        items.push_back(std::move(w));
                        return Status::OK();
                      }));
  out.items = std::move(items);
  return out;
}

Result<DefinitionsPlan> PlanFromDefinitions(storage::ObjectStore* store, const PlanRequest& req,
                                            const WorkItemSink& sink) {
  if (req.to < req.from) {
    return Status::Usage("--to " + FormatDate(req.to) + " is before --from " + FormatDate(req.from));
  }
  MT_RETURN_IF_ERROR(CheckDataTypes(req.data_types));
  DefinitionsPlan out;
  size_t unknown = 0;
  std::set<std::string> seen;  // exchanges the definitions list (an instrument or a grouped file)
  // Exchanges an instruments run wrote into the files (perhaps with no
  // instrument: every symbol rejected), and those of them it wrote without
  // /v1/instruments (no key), whose symbols of venues without a symbol rule
  // it could not key.
  std::set<std::string> written, without_metadata;
  std::map<std::string, std::vector<std::pair<Date, std::string>>> after_export;
  std::map<std::string, std::vector<Date>> unlisted;  // exchange -> days (DefinitionsPlan::unlisted_exchanges)
  for (Date d = req.from; d <= req.to; d = AddDays(d, 1)) {
    if (req.cancel && req.cancel->load()) return Status::Cancelled("planning interrupted");
    // Another instruments run may replace the file while it is read (its
    // footer one version's, its pages the next's): read it again.
    Result<std::unique_ptr<parquet::FileReader>> file = Status::Internal("not read");
    Result<std::vector<DefinitionRow>> rows = Status::Internal("not read");
    (void)storage::ReadAgainIfReplaced([&] {
      file = parquet::FileReader::Open(store, store->layout().InstrumentsObjectName(d));
      if (file.ok()) rows = ReadDefinitionRows(**file);
      return file.ok() ? rows.status() : file.status();
    });
    if (!file.ok()) {
      if (file.status().code() == Status::Code::kNotFound) {
        out.definition_problems.emplace_back(
            d, "no instrument definitions (" + store->layout().InstrumentsGlob() + "): run "
               "market-tick instruments for these days, or pass --symbols");
        continue;
      }
      if (file.status().retryable()) return file.status();
      out.definition_problems.emplace_back(d, file.status().message());
      continue;
    }
    if (!rows.ok()) {
      if (rows.status().retryable()) return rows.status();
      out.definition_problems.emplace_back(d, rows.status().message());
      continue;
    }
    std::set<std::string> listed;  // the day's
    for (const auto& r : *rows) listed.insert(r.exchange);
    const std::vector<GroupedDefinition> grouped = GroupedOf(**file);
    for (const auto& g : grouped) listed.insert(g.exchange);
    seen.insert(listed.begin(), listed.end());
    const InstrumentsFileState state = StateOf((*file)->metadata().key_value);
    // A file written before the exchanges were recorded cannot tell an
    // exchange with no instrument from one never asked for.
    if (!state.legacy) {
      for (const auto& e : req.exchanges) {
        if (!listed.count(e) && !state.exchanges.count(e)) unlisted[e].push_back(d);
      }
    }
    written.insert(state.exchanges.begin(), state.exchanges.end());
    for (const ExchangeSource& src : state.sources) {
      if (src.source.find("/v1/instruments/") == std::string::npos) without_metadata.insert(src.exchange);
    }
    NoteDayAfterExport(d, **file, req.exchanges, &after_export);
    // Sorted by (day, data type, exchange, symbol, instrument key), unique:
    // the day is the first of these, so the days' items in turn are the
    // range's in that order.
    std::vector<WorkItem> day_items = DayItems(d, *rows, grouped, req, &unknown);
    auto order = [](const WorkItem& a, const WorkItem& b) {
      if (a < b) return true;
      if (b < a) return false;
      return a.instrument_key < b.instrument_key;
    };
    std::sort(day_items.begin(), day_items.end(), order);
    day_items.erase(std::unique(day_items.begin(), day_items.end(),
                                [](const WorkItem& a, const WorkItem& b) {
                                  return !(a < b) && !(b < a) && a.instrument_key == b.instrument_key;
                                }),
                    day_items.end());
    for (WorkItem& w : day_items) MT_RETURN_IF_ERROR(sink(std::move(w)));
  }
  // A typo must not read as "nothing expected, complete".
  MT_RETURN_IF_ERROR(CheckExchanges(req.exchanges, std::vector<std::string>(seen.begin(), seen.end())));
  const size_t days = static_cast<size_t>(DaysFromCivil(req.to.year, req.to.month, req.to.day) -
                                          DaysFromCivil(req.from.year, req.from.month, req.from.day) + 1);
  if (out.definition_problems.size() < days) {
    for (const auto& e : req.exchanges) {
      if (seen.count(e)) continue;
      // Written, yet no instrument: running instruments again as before
      // changes nothing, so the note says what does.
      const size_t noted = out.notes.size();
      if (written.count(e) && without_metadata.count(e)) {
        out.notes.push_back(e +
                            ": the instrument definitions of these days list no instrument of this exchange: "
                            "market-tick instruments rejected its symbols, whose keys need instrument metadata; "
                            "set TARDIS_API_KEY, then run market-tick instruments --exchanges " +
                            e + " --force for them");
      } else if (written.count(e)) {
        out.notes.push_back(e +
                            ": the instrument definitions of these days list no instrument of this exchange: "
                            "market-tick instruments rejected its symbols, saying why as it wrote them");
      } else {
        out.notes.push_back(e + ": the instrument definitions of these days do not list this exchange; run "
                                "market-tick instruments --exchanges " + e + " for them");
      }
      // No instruments run wrote it: a step not taken. One that did and
      // kept no instrument (its symbols rejected, or none on these days)
      // stays a note: a fixed list of exchanges over a venue that closed
      // still downloads the others.
      if (out.notes.size() > noted && !written.count(e)) out.exchanges_without_instruments.push_back(out.notes.back());
    }
  }
  for (const auto& [exchange, days] : unlisted) {
    const std::string text = exchange + ": the instrument definitions of these days do not list this exchange; run "
                                        "market-tick instruments --exchanges " + exchange + " for them";
    for (const Date& d : days) out.unlisted_exchanges.emplace_back(d, text);
  }
  for (const auto& [exchange, days] : after_export) {
    for (const DayRun& run : CollapseDays(days)) {
      out.notes.push_back(exchange + ": " + run.Days() + " after its datasets.exportedUntil " + run.text +
                          " (when its instrument definitions were written): Tardis may not have exported " +
                          (run.days > 1 ? "these days" : "this day") +
                          " yet, so files may be missing or incomplete; rerun `market-tick instruments` for " +
                          (run.days > 1 ? "them" : "it") + " later, then download");
    }
  }
  if (unknown > 0) {
    out.notes.push_back(std::to_string(unknown) +
                        " instrument data types are not among the supported ones and were skipped");
  }
  return out;
}

Result<KnownSymbols> ReadKnownSymbols(storage::ObjectStore* store, const Date& from, const Date& to) {
  std::vector<Date> days;
  for (Date d = from; d <= to; d = AddDays(d, 1)) days.push_back(d);
  KnownSymbols known;
  std::mutex mu;
  MT_RETURN_IF_ERROR(ParallelFor(days.size(), ParallelOptions{8, nullptr}, [&](size_t i) {
    const Status st = storage::ReadAgainIfReplaced([&] { return AddDaySymbols(store, days[i], &known, &mu); });
    // A day without definitions says nothing; a store that fails, or a day
    // whose file is damaged, does (and ends the reading: pairing by the
    // rules instead would plan what the damaged file may say otherwise).
    return st.ok() || st.code() == Status::Code::kNotFound ? Status::OK() : st;
  }));
  return known;
}

bool PinsAVenueWithoutARule(const std::vector<std::string>& symbols) {
  return std::any_of(symbols.begin(), symbols.end(), [](const std::string& s) {
    const size_t colon = s.find(':');
    return colon != std::string::npos && !tardis::HasSymbolRule(s.substr(0, colon)) &&
           !tardis::IsGroupedSymbol(NormalizeSymbol(s.substr(colon + 1)));
  });
}

Status LoadKnownSymbolsFor(storage::ObjectStore* store, PlanRequest* req, KnownSymbols* known) {
  // Bare symbols go to the exchanges whose definitions list them; a pinned
  // symbol of a venue without a symbol rule takes its key from them.
  // An instrument key names its instrument through them.
  const bool bare = std::any_of(req->symbols.begin(), req->symbols.end(),
                                [](const std::string& s) { return s.find(':') == std::string::npos || IsKeyForm(s); });
  if (!(bare || PinsAVenueWithoutARule(req->symbols)) || req->to < req->from) return Status::OK();
  MT_ASSIGN_OR_RETURN(*known, ReadKnownSymbols(store, req->from, req->to));
  req->known = known;
  return Status::OK();
}

}  // namespace mt::pipeline
