#include "validate/incidents.h"

#include <set>

#include "parquet/file_reader.h"
#include "pipeline/instruments_merge.h"
#include "storage/layout.h"

namespace mt::validate {

namespace {

bool Candidate(const ItemResults& items, size_t i) {
  return items.status(i) == ItemStatus::kMissing && items.absent(i);
}

// Incident details come from the Tardis server: printed on stdout and
// written to reports, so control characters become spaces.
std::string Printable(const std::string& s) {
  std::string out = s;
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  return out;
}

std::string Describe(const tardis::IncidentReport& i) {
  std::string out = FormatIsoSeconds(i.from_us) + " .. " + FormatIsoSeconds(i.to_us);
  if (!i.status.empty()) out += " (" + Printable(i.status) + ")";
  if (!i.details.empty()) out += ": " + Printable(i.details);
  return out;
}

}  // namespace

bool OverlapsDay(const tardis::IncidentReport& incident, const Date& day) {
  const int64_t start = MicrosFromDate(day), end = MicrosFromDate(AddDays(day, 1));
  return incident.from_us < end && incident.to_us > start;
}

Result<DayIncidents> IncidentsOnDay(storage::ObjectStore* store, const Date& day) {
  const std::string name = store->layout().InstrumentsObjectName(day);
  auto file = parquet::FileReader::Open(store, name);
  if (!file.ok()) {
    if (file.status().code() == Status::Code::kNotFound) return DayIncidents{};
    return file.status().WithContext("incident reports of " + FormatDate(day) + ": " + store->Describe(name));
  }
  DayIncidents out;
  for (const pipeline::ExchangeSource& src : pipeline::StateOf((*file)->metadata().key_value).sources) {
    for (const tardis::IncidentReport& i : src.incidents) {
      if (OverlapsDay(i, day)) out[src.exchange].push_back(i);
    }
  }
  return out;
}

size_t ApplyIncidents(const std::map<Date, DayIncidents>& incidents, ItemResults* items) {
  size_t changed = 0;
  for (size_t k = 0; k < items->size(); k++) {
    if (!Candidate(*items, k)) continue;
    auto day = incidents.find(items->day(k));
    if (day == incidents.end()) continue;
    const std::string exchange(items->exchange(k));
    auto ex = day->second.find(exchange);
    if (ex == day->second.end()) continue;
    std::string reason;
    for (const tardis::IncidentReport& i : ex->second) {
      if (!OverlapsDay(i, items->day(k))) continue;
      reason += (reason.empty() ? "" : "; ") + Describe(i);
    }
    if (reason.empty()) continue;
    items->SetStatus(k, ItemStatus::kNoDataIncident,
                     "no object; Tardis incident report of " + exchange + ": " + reason);
    changed++;
  }
  return changed;
}

Result<size_t> MarkIncidents(storage::ObjectStore* store, ItemResults* items) {
  std::set<Date> days;
  for (size_t k = 0; k < items->size(); k++) {
    if (Candidate(*items, k)) days.insert(items->day(k));
  }
  std::map<Date, DayIncidents> incidents;
  for (const Date& d : days) {
    MT_ASSIGN_OR_RETURN(DayIncidents di, IncidentsOnDay(store, d));
    if (!di.empty()) incidents.emplace(d, std::move(di));
  }
  return ApplyIncidents(incidents, items);
}

}  // namespace mt::validate
