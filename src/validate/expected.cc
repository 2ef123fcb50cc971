#include "validate/expected.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "pipeline/item_record.h"
#include "pipeline/plan.h"
#include "storage/layout.h"
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

std::string GroupedItemKey(const std::string& exchange, const std::string& symbol) {
  return tardis::VenueForExchange(exchange) + ":" + symbol;
}

bool IsGroupedItemKey(const std::string& key) { return std::count(key.begin(), key.end(), ':') == 1; }

namespace {

// A grouped item of a plan (`deribit OPTIONS`): the objects its completion
// record lists, each an item of its key (taken as the record is read, the
// entries not kept); without a usable record, with a 404 one or with none of
// its objects keyed, one item of the whole file, which the validator reports
// missing, not_available or no_data from the record.
Status AddGroupedItem(storage::ObjectStore* store, const pipeline::WorkItem& w, ExpectedItems* items) {
  const size_t before = items->size();
  ExpectedItem e{w.day, w.data_type, "", w.exchange, w.symbol};
  // Read again, as download does, when another run's commit tore the read
  // or its pieces failed the CRC32C: the items a failed read gave go.
  auto rec = pipeline::ReadItemRecordAgainIfTorn(
      store, pipeline::ItemRecordObjectName(store->layout(), w), net::RetryPolicy{}, nullptr,
      StopFlags{ProcessCancelFlag()}, [&] { items->truncate(before); },
      [&](pipeline::RecordedObject&& o) {
        if (o.instrument_key.empty()) {
          // Rows without a key, kept under a fallback name (VENUE:UNKEYED:
          // SYMBOL): the item's own object, its rows part of the item's.
          // Taken by the key its name gives when that key gives the name
          // back; by the name itself when it was hashed (below); else (no
          // such object) it has no item.
          const storage::Layout& layout = store->layout();
          auto obj = layout.ParseTickObjectName(o.name);
          const bool gives_back = obj && tardis::IsUnkeyedKey(obj->instrument_key) &&
                                  layout.TickObjectName(w.day, w.data_type, w.exchange, obj->instrument_key) == o.name;
          if (!gives_back) {
            // A name cut to fit and hashed (a symbol of about 180 bytes or
            // more): no key gives it back, so the item is the record's name,
            // when it is one of this item's fallback names (the item's
            // folder, the venue's UNKEYED head) and a safe one.
            // The head: a fallback name's without its symbol "Z" and ".parquet"
            // (a name component escapes a ':' before a symbol as in the middle).
            const std::string probe = layout.TickObjectName(w.day, w.data_type, w.exchange,
                                                            tardis::VenueForExchange(w.exchange) + ":UNKEYED:Z");
            const std::string folder = probe.substr(0, probe.rfind('/') + 1);
            const std::string_view stem = std::string_view(probe).substr(0, probe.size() - 9);
            if (!storage::IsSafeObjectName(o.name) || o.name.compare(0, stem.size(), stem) != 0 ||
                o.name.find('/', folder.size()) != std::string::npos || o.name.size() < 8 ||
                o.name.compare(o.name.size() - 8, 8, ".parquet") != 0) {
              return;
            }
            // Its key as shown: the venue's UNKEYED head, then the name's
            // (escaped, hashed) symbol part.
            e.instrument_key = tardis::VenueForExchange(w.exchange) +
                               ":UNKEYED:" + o.name.substr(stem.size(), o.name.size() - stem.size() - 8);
            e.object = o.name;
            items->push_back(e);
            e.object.clear();
            return;
          }
          o.instrument_key = std::move(obj->instrument_key);
        }
        e.instrument_key = std::move(o.instrument_key);
        items->push_back(e);
      });
  if (!rec.ok() && rec.status().retryable()) return rec.status();
  if (!rec.ok() || rec->outcome == "not_available") items->truncate(before);
  if (items->size() == before) {
    items->push_back(ExpectedItem{w.day, w.data_type, GroupedItemKey(w.exchange, w.symbol), w.exchange, w.symbol});
  }
  return Status::OK();
}

}  // namespace

Result<ExpectedSet> ExpectedFromPlan(const Selection& sel, pipeline::StoreKeyResolvers* keys,
                                     storage::ObjectStore* store) {
  ExpectedSet out;
  out.source = "--symbols";
  std::set<std::string> grouped;
  // The plan's items taken as it makes them (none listed: a plan of every
  // symbol of many days is millions of items).
  MT_RETURN_IF_ERROR(pipeline::BuildPlan(sel, [&](pipeline::WorkItem&& w) -> Status {
    // Which instruments the file holds only its completion record says.
    if (tardis::IsGroupedSymbol(w.symbol) && store) return AddGroupedItem(store, w, &out.items);
    if (tardis::IsGroupedSymbol(w.symbol)) {
      // A grouped file (OPTIONS, PERPETUALS) becomes one object per
      // instrument; which ones only the instrument definitions can say.
      grouped.insert(w.exchange + ":" + w.symbol);
      return Status::OK();
    }
    std::shared_ptr<const pipeline::KeyResolver> resolver;
    if (keys) {
      MT_ASSIGN_OR_RETURN(resolver, keys->ForDay(w.day));
    }
    auto key = resolver ? resolver->Resolve(w.exchange, w.symbol) : tardis::KeyFromTardisSymbol(w.exchange, w.symbol);
    if (!key.ok()) return Status::Usage("--symbols: " + key.status().message());
    out.items.push_back(ExpectedItem{w.day, w.data_type, key->ToString(), w.exchange, w.symbol});
    return Status::OK();
  }));
  for (const auto& g : grouped) {
    out.notes.push_back("grouped symbol " + g +
                        " names many instruments; validate them from instrument definitions (no --symbols)");
  }
  out.items.SortUnique();
  return out;
}

Result<ExpectedSet> ExpectedFromDefinitions(storage::ObjectStore* store, const Selection& sel) {
  ExpectedSet out;
  out.source = "instrument definitions";
  // The plan's items taken a day at a time as it reads the definitions
  // (none listed: a year of definitions is millions of items).
  MT_ASSIGN_OR_RETURN(pipeline::DefinitionsPlan plan,
                      pipeline::PlanFromDefinitions(store, sel, [&out, store](pipeline::WorkItem&& w) {
                        // A grouped file of a data type no instrument lists
                        // (planned without a key): its objects only the file
                        // names, and so its completion record.
                        if (w.instrument_key.empty()) return AddGroupedItem(store, w, &out.items);
                        out.items.push_back(ExpectedItem{w.day, std::move(w.data_type), std::move(w.instrument_key),
                                                         std::move(w.exchange), std::move(w.symbol)});
                        return Status::OK();
                      }));
  out.definition_problems = std::move(plan.definition_problems);
  out.unlisted_exchanges = std::move(plan.unlisted_exchanges);
  out.notes = std::move(plan.notes);
  out.items.SortUnique();
  return out;
}

void AddDerivedItems(ExpectedSet* set, const std::vector<derive::DerivedSpec>& specs,
                     const std::set<std::string>& unasked_sources) {
  if (specs.empty() && unasked_sources.empty()) return;
  ExpectedItems out;
  for (const ExpectedItem& e : set->items) {
    // An object a grouped file's record lists has its series as any
    // instrument's (download --derive computes them once the file is
    // split); the item of a whole file without a record names none.
    if (!IsGroupedItemKey(e.instrument_key) && !tardis::IsUnkeyedKey(e.instrument_key)) {
      for (const derive::DerivedSpec& spec : specs) {
        if (spec.source_data_type() == e.data_type) {
          out.push_back(ExpectedItem{e.day, spec.name, e.instrument_key, e.exchange, e.symbol});
        }
      }
    }
    if (!unasked_sources.count(e.data_type)) out.push_back(e);
  }
  // A name whose source data type is expected nowhere expects nothing: said,
  // as download says a name it skips (a --derive beside --data-types of
  // another type would otherwise pass silently as checked).
  for (const derive::DerivedSpec& spec : specs) {
    bool found = false;
    for (size_t i = 0; i < out.size() && !found; i++) found = out.data_type(i) == spec.name;
    if (!found) {
      set->notes.push_back("--derive " + spec.name + ": nothing to check: no " + spec.source_data_type() +
                           " item (its source data type) is expected in this selection");
    }
  }
  // Items that failed to read back (as zeros) keep their error: replaced by
  // `out`, made of those zeros, the set would read as a sound one.
  if (!set->items.io_status().ok()) return;
  set->items = std::move(out);
  set->items.SortUnique();
}

}  // namespace mt::validate
