// Known Tardis incidents (the exchange's incidentReports, kept by
// `market-tick instruments` in each definitions file's exchange_sources[]
// metadata, docs/INSTRUMENTS.md) applied to validate's results: an expected
// item whose object is absent, on a day an incident of its exchange
// overlaps, is no_data_incident rather than missing (docs/VALIDATE.md).
// Tardis incident reports name a period only, no symbol or data type, so an
// incident covers every item of its exchange on the days it touches.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/time_util.h"
#include "storage/object_store.h"
#include "tardis/metadata.h"
#include "validate/item.h"
#include "validate/item_results.h"

namespace mt::validate {

// Exchange -> its incidents that overlap one day, as listed.
using DayIncidents = std::map<std::string, std::vector<tardis::IncidentReport>>;

// Whether [from, to) overlaps the day [00:00, 24:00) UTC.
bool OverlapsDay(const tardis::IncidentReport& incident, const Date& day);

// The day's incidents from its definitions file's metadata; none when the
// day has no definitions file. An unreadable file is an error naming it.
Result<DayIncidents> IncidentsOnDay(storage::ObjectStore* store, const Date& day);

// Turns each missing item with `absent` set whose exchange has an incident
// overlapping its day in `incidents` into no_data_incident, its reason
// naming the incident(s). Pure: no I/O. Returns how many items changed.
size_t ApplyIncidents(const std::map<Date, DayIncidents>& incidents, ItemResults* items);

// Reads the incidents of every day that has an absent missing item (one
// footer read per such day, none when nothing is missing) and applies them.
// Returns how many items changed, or the first read error.
Result<size_t> MarkIncidents(storage::ObjectStore* store, ItemResults* items);

}  // namespace mt::validate
