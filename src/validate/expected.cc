#include "validate/expected.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "pipeline/item_record.h"
#include "pipeline/plan.h"
#include "tardis/instrument_key.h"

namespace mt::validate {

const char* StatusName(ItemStatus s) {
  switch (s) {
    case ItemStatus::kDone: return "done";
    case ItemStatus::kNoData: return "no_data";
    case ItemStatus::kNotAvailable: return "not_available";
    case ItemStatus::kNoDataIncident: return "no_data_incident";
    case ItemStatus::kMissing: return "missing";
    case ItemStatus::kCorrupt: return "corrupt";
  }
  return "?";
}

std::string VenueOfKey(const std::string& key) { return key.substr(0, key.find(':')); }

namespace {

void SortUnique(std::vector<ExpectedItem>* items) {
  auto key = [](const ExpectedItem& i) { return std::tie(i.day, i.data_type, i.instrument_key); };
  std::sort(items->begin(), items->end(), [&](const auto& a, const auto& b) { return key(a) < key(b); });
  items->erase(std::unique(items->begin(), items->end(),
                           [&](const auto& a, const auto& b) { return key(a) == key(b); }),
               items->end());
}

}  // namespace

std::string GroupedItemKey(const std::string& exchange, const std::string& symbol) {
  return tardis::VenueForExchange(exchange) + ":" + symbol;
}

bool IsGroupedItemKey(const std::string& key) { return std::count(key.begin(), key.end(), ':') == 1; }

Result<ExpectedSet> ExpectedFromPlan(const Selection& sel, pipeline::StoreKeyResolvers* keys,
                                     storage::ObjectStore* store) {
  MT_ASSIGN_OR_RETURN(std::vector<pipeline::WorkItem> plan, pipeline::BuildPlan(sel));
  ExpectedSet out;
  out.source = "--symbols";
  std::set<std::string> grouped;
  for (const auto& w : plan) {
    if (tardis::IsGroupedSymbol(w.symbol) && store) {
      // Which instruments the file holds only its completion record says.
      // Its objects' keys are taken as the record is read (the entries not
      // kept), end to end, then made items, as many as were listed: a
      // grouped item has an item per instrument, and a vector grown one
      // item at a time would hold up to twice their room.
      std::string key_bytes;
      std::vector<size_t> key_ends;
      auto rec = pipeline::ReadItemRecord(store, pipeline::ItemRecordObjectName(store->layout(), w),
                                          [&](pipeline::RecordedObject&& o) {
                                            // Rows without a key (kept under a fallback name) have no item.
                                            if (o.instrument_key.empty()) return;
                                            key_bytes += o.instrument_key;
                                            key_ends.push_back(key_bytes.size());
                                          });
      if (!rec.ok() && rec.status().retryable()) return rec.status();
      const size_t listed = rec.ok() && rec->outcome != "not_available" ? key_ends.size() : 0;
      if (const size_t need = out.items.size() + listed; need > out.items.capacity()) {
        out.items.reserve(std::max(need, 2 * out.items.capacity()));
      }
      for (size_t k = 0; k < listed; k++) {
        const size_t begin = k == 0 ? 0 : key_ends[k - 1];
        out.items.push_back(
            ExpectedItem{w.day, w.data_type, key_bytes.substr(begin, key_ends[k] - begin), w.exchange, w.symbol});
      }
      if (listed == 0) out.items.push_back(ExpectedItem{w.day, w.data_type, GroupedItemKey(w.exchange, w.symbol),
                                                        w.exchange, w.symbol});
      continue;
    }
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

Result<ExpectedSet> ExpectedFromDefinitions(storage::ObjectStore* store, const Selection& sel) {
  MT_ASSIGN_OR_RETURN(pipeline::DefinitionsPlan plan, pipeline::PlanFromDefinitions(store, sel));
  ExpectedSet out;
  out.source = "instrument definitions";
  out.definition_problems = std::move(plan.definition_problems);
  out.notes = std::move(plan.notes);
  out.items.reserve(plan.items.size());
  for (auto& w : plan.items) {
    if (w.instrument_key.empty()) continue;  // a grouped file: its objects only the file names
    out.items.push_back(ExpectedItem{w.day, std::move(w.data_type), std::move(w.instrument_key),
                                     std::move(w.exchange), std::move(w.symbol)});
  }
  SortUnique(&out.items);
  return out;
}

void AddDerivedItems(ExpectedSet* set, const std::vector<derive::DerivedSpec>& specs,
                     const std::set<std::string>& unasked_sources) {
  if (specs.empty() && unasked_sources.empty()) return;
  std::vector<ExpectedItem> out;
  out.reserve(set->items.size());
  for (auto& e : set->items) {
    if (!tardis::IsGroupedSymbol(e.symbol)) {
      for (const derive::DerivedSpec& spec : specs) {
        if (spec.source_data_type() == e.data_type) {
          out.push_back(ExpectedItem{e.day, spec.name, e.instrument_key, e.exchange, e.symbol});
        }
      }
    }
    if (!unasked_sources.count(e.data_type)) out.push_back(std::move(e));
  }
  // A name whose source data type is expected nowhere expects nothing: said,
  // as download says a name it skips (a --derive beside --data-types of
  // another type would otherwise pass silently as checked).
  for (const derive::DerivedSpec& spec : specs) {
    bool found = false;
    for (const auto& e : out) found = found || e.data_type == spec.name;
    if (!found) {
      set->notes.push_back("--derive " + spec.name + ": nothing to check: no " + spec.source_data_type() +
                           " item (its source data type) is expected in this selection");
    }
  }
  set->items = std::move(out);
  SortUnique(&set->items);
}

}  // namespace mt::validate
