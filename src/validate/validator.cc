#include "validate/validator.h"

#include <algorithm>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "core/external_sort.h"
#include "core/parallel.h"
#include "core/spill_vector.h"
#include "derive/names.h"
#include "pipeline/item_record.h"
#include "storage/layout.h"
#include "tardis/instrument_key.h"
#include "tardis/schema.h"
#include "validate/file_check.h"

namespace mt::validate {

ValidationResult Validate(storage::ObjectStore* store, const ExpectedSet& expected, const ValidateOptions& opts) {
  ValidationResult res;
  res.items = ItemResults(opts.memory_bytes);
  // On an error of the store: as many results as expected items, those not
  // reached unchecked (missing, nothing else known).
  auto padded = [&]() -> ValidationResult {
    while (res.items.size() < expected.items.size()) res.items.push_back(ItemResult());
    return std::move(res);
  };
  // Listing, day by day: the items are sorted by day, and each run of
  // items of one day is checked against that day's listings alone (an
  // object's name holds its day). Neither a listing nor the names the items
  // look up in it are held: the names (each item's object, each record) are
  // sorted through an ExternalSorter, merged with the listings as the store
  // gives them (in name order, a page at a time), and what was found goes,
  // through another sorter, back to the items in their order. So a day of
  // millions of objects takes what one of thousands does.
  std::set<std::string> listed_days;                     // the day's prefixes to list, in name order
  std::unordered_set<std::string> listed_raw_for_items;  // raw prefixes of raw items' days
  // "TYPE VENUE" of the day's raw items: a by_date listing holds the day's
  // every data type and exchange, and objects outside the selection are not
  // unexpected (validate --data-types trades counted the day's quotes).
  std::unordered_set<std::string> raw_scope;
  // Derived items (docs/DERIVED.md): their spec by data type.
  std::unordered_map<std::string, std::optional<derive::DerivedSpec>> derived;
  auto derived_spec = [&](const std::string& type) -> const std::optional<derive::DerivedSpec>& {
    auto it = derived.find(type);
    if (it != derived.end()) return it->second;
    std::optional<derive::DerivedSpec> spec;
    if (!tardis::FindSchema(type)) {
      if (auto d = derive::ParseDerivedName(type); d.ok()) spec = *d;
    }
    return derived.emplace(type, std::move(spec)).first->second;
  };
  const storage::Layout& layout = store->layout();
  // The object of an expected item: the name its record gave (ExpectedItem::
  // object), else the one its key gives.
  auto object_of = [&](const ExpectedItem& e) {
    if (!e.object.empty()) return e.object;
    const std::optional<derive::DerivedSpec>& spec = derived_spec(e.data_type);
    return spec ? layout.DerivedObjectName(e.day, e.data_type, e.exchange, e.instrument_key)
                : layout.TickObjectName(e.day, e.data_type, e.exchange, e.instrument_key);
  };
  // Whether a present object that no item takes is an unexpected one: only
  // the raw prefix's objects count (derived objects of names not asked for
  // are not unexpected, and raw prefixes listed for derived items' records
  // are not counted), of the day's raw items' data types and venues.
  auto unexpected = [&](std::string_view name) {
    const auto tick = layout.ParseTickObjectName(name);
    return tick && listed_raw_for_items.count(layout.DayListPrefix(tick->day, tick->data_type, false)) &&
           raw_scope.count(tick->data_type + " " + VenueOfKey(tick->instrument_key));
  };
  // What the merge found for item k of the day: its object (present, its
  // size) and, for an item that is not grouped, its record. A grouped item's
  // record is one of few (one per grouped file), kept by name. Distinct
  // items name distinct objects (an item's name holds its day, data type and
  // key, which the items never repeat).
  struct Found {
    bool object = false;
    uint64_t size = 0;
    bool record = false;
  };
  // A query: the name, '\0' (no name holds one), its kind, the item's index
  // among the day's (8 bytes, big-endian). An answer: the item's index, the
  // kind, and the object's size.
  enum : char { kObjectQuery = 'o', kRecordQuery = 'r', kGroupedRecordQuery = 'g' };
  const auto bytewise = [](std::string_view a, std::string_view b) { return a < b; };
  auto put_index = [](std::string* out, uint64_t k) {
    for (int b = 7; b >= 0; b--) out->push_back(static_cast<char>((k >> (8 * b)) & 0xff));
  };
  auto get_u64 = [](std::string_view in) {
    uint64_t v = 0;
    for (int b = 0; b < 8; b++) v = (v << 8) | static_cast<unsigned char>(in[b]);
    return v;
  };
  std::set<std::string> grouped_records;  // the day's grouped items' records: asked for
  std::set<std::string> present_records;  // of those, present
  size_t day_unexpected = 0;              // present, not asked for, unexpected
  std::unique_ptr<ExternalSorter> answers;
  std::string answer;        // the next answer, read ahead
  bool have_answer = false;  // whether `answer` holds one
  // The day's items [first, end): their prefixes listed, their names looked
  // up; false on an error of the store (res.store_error set).
  auto list_items = [&](size_t first, size_t end) {
    ExternalSorter queries(bytewise, opts.memory_bytes);
    std::string q;
    auto query = [&](const std::string& name, char kind, uint64_t k) {
      q.assign(name);
      q.push_back('\0');
      q.push_back(kind);
      put_index(&q, k);
      queries.Add(q);
    };
    for (size_t i = first; i < end; i++) {
      const ExpectedItem e = expected.items[i];
      const std::optional<derive::DerivedSpec>& spec = derived_spec(e.data_type);
      const std::string prefix = layout.DayListPrefix(e.day, e.data_type, spec.has_value());
      if (!spec) {
        listed_raw_for_items.insert(prefix);
        raw_scope.insert(e.data_type + " " + VenueOfKey(e.instrument_key));
      }
      listed_days.insert(prefix);
      // A derived item's source may be 404 at the source: its record (under
      // the raw prefix) says so, so that prefix is listed too.
      if (spec) listed_days.insert(layout.DayListPrefix(e.day, spec->source_data_type(), false));
      const std::string record =
          layout.ItemRecordName(e.day, spec ? spec->source_data_type() : e.data_type, e.exchange, e.symbol);
      if (tardis::IsGroupedSymbol(e.symbol)) {
        if (grouped_records.insert(record).second) query(record, kGroupedRecordQuery, 0);
        if (IsGroupedItemKey(e.instrument_key)) continue;  // the whole file: its record only
      } else {
        query(record, kRecordQuery, i - first);
      }
      query(object_of(e), kObjectQuery, i - first);
    }
    queries.Finish();
    answers = std::make_unique<ExternalSorter>(bytewise, opts.memory_bytes);
    bool have = queries.Next(&q);
    std::vector<std::pair<char, uint64_t>> run;  // the queries of one name
    std::string a;
    auto name_of = [](const std::string& query) { return std::string_view(query).substr(0, query.size() - 10); };
    // The day's prefixes, in name order: none is another's prefix (each
    // ends in its day's folder), so their listings one after another are in
    // name order too, as the queries are.
    for (const std::string& prefix : listed_days) {
      const bool own = listed_raw_for_items.count(prefix) || prefix.rfind("derived_data/", 0) == 0;
      const Status st = store->ListEach(prefix, [&](storage::ObjectInfo&& o) {
        if (own) res.listed_objects++;
        while (have && name_of(q) < o.name) have = queries.Next(&q);
        run.clear();
        while (have && name_of(q) == o.name) {
          run.emplace_back(q[q.size() - 9], get_u64(std::string_view(q).substr(q.size() - 8)));
          have = queries.Next(&q);
        }
        // An object no item names is unexpected now or never; one that an
        // item names is, when that item does not take it (counted there).
        if (std::none_of(run.begin(), run.end(), [](const auto& r) { return r.first == kObjectQuery; }) &&
            unexpected(o.name)) {
          day_unexpected++;
        }
        for (const auto& [kind, k] : run) {
          if (kind == kGroupedRecordQuery) {
            present_records.insert(o.name);
            continue;
          }
          a.clear();
          put_index(&a, k);
          a.push_back(kind);
          put_index(&a, o.size);
          answers->Add(a);
        }
        return Status::OK();
      });
      if (!st.ok()) {
        res.store_error = st;
        return false;
      }
    }
    answers->Finish();
    have_answer = answers->Next(&answer);
    for (const ExternalSorter* sorter : {&queries, answers.get()}) {
      if (res.listing_note.empty() && !sorter->note().empty()) res.listing_note = sorter->note();
    }
    if (!queries.status().ok()) {
      // Names that failed to read back: nothing found can be trusted.
      res.store_error = queries.status();
      return false;
    }
    return true;
  };
  // What was found for item k of the day (the items asked in order).
  auto found_for = [&](uint64_t k) {
    Found f;
    while (have_answer && get_u64(answer) < k) have_answer = answers->Next(&answer);
    while (have_answer && get_u64(answer) == k) {
      if (answer[8] == kObjectQuery) {
        f.object = true;
        f.size = get_u64(std::string_view(answer).substr(9));
      } else {
        f.record = true;
      }
      have_answer = answers->Next(&answer);
    }
    return f;
  };
  // Completion records (pipeline/item_record.h). A grouped item's record is
  // read (once per item): it says which objects the file became. Any other
  // item has a record only when the source answered 404, so its presence in
  // the listing is enough and costs no read (thousands of 404s on GCS would
  // be thousands of round trips).
  // A grouped record as the items of its file need it: its outcome and the
  // hashes of the keys and names it lists, sorted (a grouped item lists an
  // object per instrument, hundreds of thousands on a big options day: their
  // entries are not kept, nor the record's text; a scan per expected item
  // was quadratic). A listed key or name always finds its hash, so hashing
  // can only err one way: an unlisted item whose hash some listed entry
  // shares looks listed and, with no object, is reported missing (a false
  // alarm); it never lets an object the record lists go unchecked.
  // The hashes are gathered in temporary files: a record of more than
  // `max_hashes` of them (millions of objects) is not held in memory, and
  // its items are looked up a range of hashes at a time before the day's
  // checks (`day_listed`), with the same answers.
  const size_t max_hashes = std::max<size_t>(opts.memory_bytes * 4 / sizeof(uint64_t), 1);
  struct RecordIndex {
    Status status;  // of the read
    std::string outcome, created_at;
    std::vector<uint64_t> keys, names;
    // --deep: (name hash, rows) of each listed object, sorted; not kept for
    // a big record.
    std::vector<std::pair<uint64_t, uint64_t>> name_rows;
    // A record of more hashes than fit: them, unsorted.
    bool big = false;
    SpillVector<uint64_t> big_keys, big_names, big_rows;
    bool Lists(std::string_view key, std::string_view name) const {
      return std::binary_search(keys.begin(), keys.end(), std::hash<std::string_view>()(key)) ||
             std::binary_search(names.begin(), names.end(), std::hash<std::string_view>()(name));
    }
    // The rows the record lists for object `name`: -1 when not known (no
    // rows kept, two listed names share the hash, or none listed: a record
    // lists an object for rows it has, so 0 is an entry without them).
    int64_t RowsOf(std::string_view name) const {
      const uint64_t h = std::hash<std::string_view>()(name);
      auto lo = std::lower_bound(name_rows.begin(), name_rows.end(), std::pair<uint64_t, uint64_t>{h, 0});
      if (lo == name_rows.end() || lo->first != h || (lo + 1 != name_rows.end() && (lo + 1)->first == h)) return -1;
      return lo->second == 0 ? -1 : static_cast<int64_t>(lo->second);
    }
  };
  // Read again, as download does, when another run's commit tore the read
  // or its pieces failed the CRC32C (the hashes a failed read gave go).
  auto read_index = [store, &opts, max_hashes](const std::string& name) {
    RecordIndex index;
    index.big_keys = SpillVector<uint64_t>(opts.memory_bytes);
    index.big_names = SpillVector<uint64_t>(opts.memory_bytes);
    index.big_rows = SpillVector<uint64_t>(opts.memory_bytes);
    const bool deep = opts.deep;
    auto rec = pipeline::ReadItemRecordAgainIfTorn(
        store, name, net::RetryPolicy{}, nullptr, StopFlags{opts.cancel},
        [&index] {
          index.big_keys.clear();
          index.big_names.clear();
          index.big_rows.clear();
        },
        [&index, deep](pipeline::RecordedObject&& o) {
          index.big_keys.push_back(std::hash<std::string_view>()(o.instrument_key));
          index.big_names.push_back(std::hash<std::string_view>()(o.name));
          if (deep) index.big_rows.push_back(o.rows);
        });
    for (const SpillVector<uint64_t>* v : {&index.big_keys, &index.big_names, &index.big_rows}) {
      // Hashes that failed to read back from their file: the store's I/O
      // error as far as the checks go (retryable).
      if (rec.ok() && !v->status().ok()) rec = v->status();
    }
    if (!rec.ok()) {
      index = RecordIndex();
      index.status = rec.status();
      return index;
    }
    index.outcome = rec->outcome;
    index.created_at = rec->created_at;
    // Under --deep each name also keeps its rows (two more words).
    if (index.big_keys.size() + index.big_names.size() * (deep ? 3 : 1) > max_hashes) {
      index.big = true;
      index.big_rows.clear();
      return index;
    }
    if (deep) {
      index.name_rows.reserve(index.big_names.size());
      for (size_t i = 0; i < index.big_names.size() && i < index.big_rows.size(); i++) {
        index.name_rows.emplace_back(index.big_names.Get(i), index.big_rows.Get(i));
      }
      index.big_rows.clear();
      std::sort(index.name_rows.begin(), index.name_rows.end());
    }
    for (auto [from, to] : {std::pair{&index.big_keys, &index.keys}, std::pair{&index.big_names, &index.names}}) {
      to->reserve(from->size());
      for (size_t i = 0; i < from->size(); i++) to->push_back(from->Get(i));
      from->clear();
      std::sort(to->begin(), to->end());
    }
    return index;
  };
  std::unordered_map<std::string, RecordIndex> records;
  // Each record read once, whichever items need it.
  auto record_of = [&](const std::string& name) -> const RecordIndex& {
    auto it = records.find(name);
    if (it == records.end()) it = records.emplace(name, read_index(name)).first;
    return it->second;
  };
  // The name of the record item i of the day is checked against (grouped
  // items but the item of a whole file), or "".
  auto consulted_record = [&](const ExpectedItem& e) -> std::string {
    if (!tardis::IsGroupedSymbol(e.symbol) || IsGroupedItemKey(e.instrument_key)) return "";
    const std::optional<derive::DerivedSpec>& spec = derived_spec(e.data_type);
    return layout.ItemRecordName(e.day, spec ? spec->source_data_type() : e.data_type, e.exchange, e.symbol);
  };
  // A record that cannot be read (cut short, not JSON: not the store's
  // retryable errors) says nothing of its items: they are corrupt. A plain
  // rerun downloads the file again but does not replace a record it cannot
  // read (it takes it for another run's); --force does.
  auto unreadable_record = [](const std::string& group, const Status& st) {
    return "the completion record of " + group + " cannot be read (" + st.message() +
           "); download --force of this item writes it again";
  };
  // Whether the record lists item (first + k), for the items of the day's
  // big records: each record's hashes are read a range of them at a time
  // (as many as fit), and the items that consult it are looked up in each.
  // A bit per item of the day.
  std::vector<bool> day_listed;
  struct Query {
    uint64_t key, name;  // hashes
    uint64_t item;       // of the day's items
  };
  auto look_up_big_records = [&](size_t first, size_t end) -> Status {
    day_listed.assign(end - first, false);
    std::vector<std::string> big;  // records, in the order items first consult them
    for (size_t i = first; i < end; i++) {
      const std::string record = consulted_record(expected.items[i]);
      if (record.empty() || !present_records.count(record)) continue;
      const RecordIndex& rec = record_of(record);
      if (rec.big && std::find(big.begin(), big.end(), record) == big.end()) big.push_back(record);
    }
    for (const std::string& record : big) {
      const RecordIndex& rec = records.at(record);
      SpillVector<Query> queries(opts.memory_bytes);
      for (size_t i = first; i < end; i++) {
        const ExpectedItem e = expected.items[i];
        if (consulted_record(e) != record) continue;
        queries.push_back(Query{std::hash<std::string_view>()(e.instrument_key),
                                std::hash<std::string_view>()(object_of(e)), i - first});
      }
      // Ranges of the hashes' space, each of about max_hashes of them.
      const uint64_t total = rec.big_keys.size() + rec.big_names.size();
      const uint64_t ranges = (total + max_hashes - 1) / max_hashes;
      auto range_of = [ranges](uint64_t h) {
        return static_cast<uint64_t>((static_cast<unsigned __int128>(h) * ranges) >> 64);
      };
      std::vector<uint64_t> keys, names;
      for (uint64_t r = 0; r < ranges; r++) {
        keys.clear();
        names.clear();
        for (auto [from, to] : {std::pair{&rec.big_keys, &keys}, std::pair{&rec.big_names, &names}}) {
          for (size_t i = 0; i < from->size(); i++) {
            const uint64_t h = from->Get(i);
            if (range_of(h) == r) to->push_back(h);
          }
          std::sort(to->begin(), to->end());
        }
        for (size_t q = 0; q < queries.size(); q++) {
          const Query query = queries.Get(q);
          if ((range_of(query.key) == r && std::binary_search(keys.begin(), keys.end(), query.key)) ||
              (range_of(query.name) == r && std::binary_search(names.begin(), names.end(), query.name))) {
            day_listed[query.item] = true;
          }
        }
      }
      for (const Status* st : {&rec.big_keys.status(), &rec.big_names.status(), &queries.status()}) {
        if (!st->ok()) return *st;
      }
    }
    return Status::OK();
  };
  // The present items' indexes, for the footer checks (in the temporary
  // file past the budget: the range may hold any number), each with the rows
  // its grouped item's record lists for its object (-1: not compared).
  struct ToCheck {
    uint64_t item;
    int64_t listed_rows;
  };
  SpillVector<ToCheck> to_check(opts.memory_bytes);
  size_t day_end = 0;    // end of the current day's run of items
  size_t day_first = 0;  // its first
  for (size_t i = 0; i < expected.items.size(); i++) {
    if (i == day_end) {
      // The previous day is done: its leftovers counted, its listings and
      // records dropped; the next day's listed.
      res.unexpected_objects += day_unexpected;
      day_unexpected = 0;
      if (answers && !answers->status().ok() && res.store_error.ok()) res.store_error = answers->status();
      answers.reset();
      listed_days = {};
      grouped_records = {};
      present_records = {};
      listed_raw_for_items = {};
      raw_scope = {};
      records = decltype(records)();
      const Date day = expected.items.day(i);
      for (day_end = i + 1; day_end < expected.items.size() && expected.items.day(day_end) == day;) day_end++;
      if (!list_items(i, day_end)) {
        // As when every listing came first: no item is checked then.
        res.items.clear();
        res.unexpected_objects = 0;
        return padded();
      }
      day_first = i;
      if (Status st = look_up_big_records(i, day_end); !st.ok()) {
        // As a record that failed to read when its first item needed it:
        // the items before this day's keep their results.
        res.store_error = st;
        return padded();
      }
    }
    const ExpectedItem& e = expected.items[i];
    ItemResult r;
    r.item = e;
    const std::optional<derive::DerivedSpec>& spec = derived_spec(e.data_type);
    const std::string object = object_of(e);
    const Found found = found_for(i - day_first);
    const bool present = found.object;
    bool taken = false;  // the item took its object: it is not an unexpected one
    int64_t listed_rows = -1;  // what its record lists for the object (raw objects of grouped items, --deep)
    auto take = [&taken] { taken = true; };
    // Fills r; false on an error of the store (res.store_error set).
    const bool ok = [&]() -> bool {
      r.object = object;
      // A derived item's 404 is its source item's.
      const std::string record =
          layout.ItemRecordName(e.day, spec ? spec->source_data_type() : e.data_type, e.exchange, e.symbol);
      const bool has_record = tardis::IsGroupedSymbol(e.symbol) ? present_records.count(record) > 0 : found.record;
      if (tardis::IsGroupedSymbol(e.symbol)) {
        // One file of many objects: complete only with its record, written
        // after the last object. An object the record does not list had no
        // rows in the file.
        const std::string group = e.exchange + " " + e.symbol;
        if (IsGroupedItemKey(e.instrument_key)) {
          // The whole file (ExpectedFromPlan): what its record says, if any.
          r.object = record;
          r.absent = true;
          const RecordIndex* rec = has_record ? &record_of(record) : nullptr;
          if (rec && rec->status.retryable()) {
            res.store_error = rec->status;
            return false;
          }
          if (rec && !rec->status.ok()) {
            r.status = ItemStatus::kCorrupt;
            r.reason = unreadable_record(group, rec->status);
          } else if (!rec) {
            r.status = ItemStatus::kMissing;
            r.reason = "no completion record for " + group +
                       " (not downloaded, or a download stopped before it finished)";
          } else if (rec->outcome == "not_available") {
            r.status = ItemStatus::kNotAvailable;
            r.reason = group + ": HTTP 404 at the source (" + rec->created_at + ")";
          } else {
            r.status = ItemStatus::kNoData;
            r.rows = 0;
            r.reason = group + " had no rows of an instrument with a key";
          }
          return true;
        }
        if (!has_record) {
          r.status = ItemStatus::kMissing;
          r.absent = !present;
          r.reason =
              !present ? "no object" : "no completion record for " + group + " (a download stopped before it finished)";
          if (present) take();  // its object, not an unexpected one
          return true;
        }
        const RecordIndex& rec = record_of(record);
        if (!rec.status.ok()) {
          if (rec.status.retryable()) {
            res.store_error = rec.status;
            return false;
          }
          r.status = ItemStatus::kCorrupt;
          r.reason = unreadable_record(group, rec.status);
          if (present) take();  // its object, not an unexpected one
          return true;
        }
        if (rec.outcome == "not_available") {
          r.status = ItemStatus::kNotAvailable;
          r.absent = !present;
          r.reason = group + ": HTTP 404 at the source (" + rec.created_at + ")";
          return true;
        }
        if (rec.big ? !day_listed[i - day_first] : !rec.Lists(e.instrument_key, r.object)) {
          r.status = ItemStatus::kNoData;
          r.reason = group + " had no rows for this instrument";
          r.rows = 0;
          return true;
        }
        if (!present) {
          r.status = ItemStatus::kMissing;
          r.reason =
              spec ? "its source object is listed in the completion record of " + group + ", but no derived object"
                   : "listed in the completion record of " + group + ", but no object";
          return true;
        }
        if (opts.deep && !spec && !rec.big) listed_rows = rec.RowsOf(r.object);
      } else if (!present) {
        r.status = has_record ? ItemStatus::kNotAvailable : ItemStatus::kMissing;
        r.absent = true;
        r.reason = has_record ? "HTTP 404 at the source (recorded by download)" : "no object";
        return true;
      }
      r.bytes = found.size;
      take();
      if (r.bytes < 12) {
        r.status = ItemStatus::kCorrupt;
        r.reason = "object of " + std::to_string(r.bytes) + " bytes is too short for Parquet";
      } else if (opts.deep) {
        to_check.push_back(ToCheck{i, listed_rows});
      } else {
        r.status = ItemStatus::kDone;
      }
      return true;
    }();
    res.items.push_back(r);
    if (!ok) return padded();
    // An object its item left (a grouped item's without rows in the file,
    // or 404 at the source) is as any the day's items do not name.
    if (present && !taken && unexpected(object)) day_unexpected++;
  }
  res.unexpected_objects += day_unexpected;
  if (answers && !answers->status().ok() && res.store_error.ok()) res.store_error = answers->status();
  answers.reset();
  records = decltype(records)();

  std::atomic<size_t> done{0};
  std::mutex mu;
  // res.items and to_check are read and written under mu (neither is
  // thread-safe, reads included); the footer checks run outside it.
  const Status run = ParallelFor(to_check.size(), ParallelOptions{opts.concurrency, opts.cancel}, [&](size_t k) {
    ItemResult r;
    size_t index;
    int64_t listed_rows;
    {
      std::lock_guard<std::mutex> l(mu);
      const ToCheck t = to_check.Get(k);
      index = static_cast<size_t>(t.item);
      listed_rows = t.listed_rows;
      r = res.items[index];
    }
    const tardis::DataTypeSchema* schema = tardis::FindSchema(r.item.data_type);
    const std::optional<derive::DerivedSpec>& spec = derived.at(r.item.data_type);  // filled above, read only here
    Status read_error;
    FileCheck c = spec ? CheckDerivedObject(store, r.object, *spec, r.item.day, r.item.instrument_key, &read_error,
                                            r.item.exchange, r.item.symbol)
                       : CheckObject(store, r.object, *schema, r.item.day, r.item.instrument_key, &read_error,
                                     r.item.exchange, r.item.symbol);
    r.status = c.status;
    r.reason = std::move(c.reason);
    r.rows = c.rows;
    if ((r.status == ItemStatus::kDone || r.status == ItemStatus::kNoData) && listed_rows >= 0 &&
        c.rows != listed_rows) {
      // Written after the record (another file's conversion, a run of the
      // object's own item): whole, but not what the record says the file
      // gave.
      r.status = ItemStatus::kCorrupt;
      r.reason = "the object has " + std::to_string(c.rows) + " rows, the completion record of " + r.item.exchange +
                 " " + r.item.symbol + " lists " + std::to_string(listed_rows) +
                 ": it was written again after the record; download --force of the item writes both again";
    }
    r.first_local_ts = c.first_local_ts;
    r.last_local_ts = c.last_local_ts;
    if (read_error.code() == Status::Code::kNotFound) {
      r.status = ItemStatus::kMissing;
      r.reason = "object disappeared while validating";
      r.rows = -1;
    }
    {
      std::lock_guard<std::mutex> l(mu);
      res.items.Set(index, r);
      if (!read_error.ok() && read_error.code() != Status::Code::kNotFound && res.store_error.ok()) {
        res.store_error = read_error;
      }
    }
    const size_t d = done.fetch_add(1) + 1;
    if (opts.progress && (d % 1000 == 0 || d == to_check.size())) opts.progress(d, to_check.size());
    return Status::OK();
  });
  // Only an interrupt stops the loop early (fn reports every problem in its item).
  if (run.code() == Status::Code::kCancelled) res.cancelled = true;
  // Expected items read back from their temporary file as zeros: nothing
  // checked can be trusted (retryable, as a store's I/O error).
  if (!expected.items.io_status().ok() && res.store_error.ok()) res.store_error = expected.items.io_status();
  if (!to_check.status().ok() && res.store_error.ok()) res.store_error = to_check.status();
  return res;
}

ValidationResult ValidateReleasing(storage::ObjectStore* store, ExpectedSet* expected, const ValidateOptions& opts) {
  ValidationResult res = Validate(store, *expected, opts);
  expected->items.clear();
  return res;
}

bool Complete(const ExpectedSet& expected, const ValidationResult& result) {
  if (!expected.definition_problems.empty() || !expected.unlisted_exchanges.empty() || !result.store_error.ok() ||
      result.cancelled) {
    return false;
  }
  for (size_t i = 0; i < result.items.size(); i++) {
    if (IsProblem(result.items.status(i))) return false;
  }
  return true;
}

}  // namespace mt::validate
