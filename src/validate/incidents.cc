#include "validate/incidents.h"

#include <set>

#include "parquet/file_reader.h"
#include "pipeline/instruments_merge.h"
#include "storage/layout.h"

namespace mt::validate {

namespace {

bool Candidate(const ItemResult& r) { return r.status == ItemStatus::kMissing && r.absent; }

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

size_t ApplyIncidents(const std::map<Date, DayIncidents>& incidents, std::vector<ItemResult>* items) {
  size_t changed = 0;
  for (ItemResult& r : *items) {
    if (!Candidate(r)) continue;
    auto day = incidents.find(r.item.day);
    if (day == incidents.end()) continue;
    auto ex = day->second.find(r.item.exchange);
    if (ex == day->second.end()) continue;
    std::string reason;
    for (const tardis::IncidentReport& i : ex->second) {
      if (!OverlapsDay(i, r.item.day)) continue;
      reason += (reason.empty() ? "" : "; ") + Describe(i);
    }
    if (reason.empty()) continue;
    r.status = ItemStatus::kNoDataIncident;
    r.reason = "no object; Tardis incident report of " + r.item.exchange + ": " + reason;
    changed++;
  }
  return changed;
}

Result<size_t> MarkIncidents(storage::ObjectStore* store, std::vector<ItemResult>* items) {
  std::set<Date> days;
  for (const ItemResult& r : *items) {
    if (Candidate(r)) days.insert(r.item.day);
  }
  std::map<Date, DayIncidents> incidents;
  for (const Date& d : days) {
    MT_ASSIGN_OR_RETURN(DayIncidents di, IncidentsOnDay(store, d));
    if (!di.empty()) incidents.emplace(d, std::move(di));
  }
  return ApplyIncidents(incidents, items);
}

}  // namespace mt::validate
