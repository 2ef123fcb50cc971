#include "pipeline/item_record.h"

#include <algorithm>
#include <climits>
#include <functional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "core/bounded_json.h"
#include "core/log.h"
#include "storage/layout.h"

namespace mt::pipeline {

std::string ItemRecordObjectName(const storage::Layout& layout, const WorkItem& item) {
  return layout.ItemRecordName(item.day, item.data_type, item.exchange, item.symbol);
}

namespace {

// One listed object as the text writer reads it: views, so a grouped item's
// entries can come straight from its outputs.
struct ObjectView {
  std::string_view name, instrument_key;
  uint64_t rows = 0, bytes = 0;
  std::string_view first_timestamp, last_timestamp;
};

// Writes the text of record `r` to `sink` in pieces of about kPieceBytes,
// its objects the `count` views `object_at(i)` gives (r.objects is not read):
// a grouped item lists one entry per instrument (tens of thousands on a big
// options day), written at the end of the file's conversion while its own
// memory is still held, so neither the text is built whole nor (for a
// grouped item) an entry per object before it (nor a JSON tree, which costs
// several times the text). The layout is that of a one-space indented dump;
// strings go through log::JsonEscape (invalid UTF-8 from a hostile symbol
// becomes U+FFFD, never a throw).
template <typename ObjectAt, typename Sink>
Status WriteRecordText(const ItemRecord& r, size_t count, ObjectAt&& object_at, Sink&& sink) {
  constexpr size_t kPieceBytes = 1u << 20;
  std::string out;
  auto str = [&out](std::string_view indent, std::string_view key, std::string_view value, bool last = false) {
    out.append(indent).append("\"").append(key).append("\": \"").append(log::JsonEscape(value));
    out.append(last ? "\"\n" : "\",\n");
  };
  auto num = [&out](std::string_view indent, std::string_view key, uint64_t value) {
    out.append(indent).append("\"").append(key).append("\": ").append(std::to_string(value)).append(",\n");
  };
  out += "{\n";
  str(" ", "item", r.item);
  str(" ", "outcome", r.outcome);
  num(" ", "rows", r.rows);
  str(" ", "first_timestamp", r.first_timestamp);
  str(" ", "last_timestamp", r.last_timestamp);
  str(" ", "source", r.source);
  str(" ", "reason", r.reason);
  if (count == 0) {
    out += " \"objects\": [],\n";
  } else {
    out += " \"objects\": [\n";
    for (size_t i = 0; i < count; i++) {
      const ObjectView o = object_at(i);
      out += "  {\n";
      str("   ", "name", o.name);
      str("   ", "instrument_key", o.instrument_key);
      num("   ", "rows", o.rows);
      num("   ", "bytes", o.bytes);
      str("   ", "first_timestamp", o.first_timestamp);
      str("   ", "last_timestamp", o.last_timestamp, true);
      out += i + 1 < count ? "  },\n" : "  }\n";
      if (out.size() >= kPieceBytes) {
        MT_RETURN_IF_ERROR(sink(std::string_view(out)));
        out.clear();
      }
    }
    out += " ],\n";
  }
  str(" ", "tool_version", r.tool_version);
  str(" ", "created_at", r.created_at, true);
  out += "}\n";
  return sink(std::string_view(out));
}

ObjectView ViewOf(const RecordedObject& o) {
  return ObjectView{o.name, o.instrument_key, o.rows, o.bytes, o.first_timestamp, o.last_timestamp};
}

// The views of r.objects.
auto ObjectsOf(const ItemRecord& r) {
  return [&r](size_t i) { return ViewOf(r.objects[i]); };
}

// Writes the record's text into `obj` and commits it; aborts it on failure.
// `entries`, read once the text is written, is the state of what object_at
// read the entries from: not OK, the record (which would not list every
// object) is not committed.
template <typename ObjectAt>
Status CommitRecordText(storage::WritableObject* obj, const ItemRecord& r, size_t count, ObjectAt&& object_at,
                        const Status& entries = Status::OK()) {
  Status st = WriteRecordText(r, count, object_at, [obj](std::string_view piece) { return obj->Append(piece); });
  if (st.ok()) st = entries;
  if (st.ok()) st = obj->Commit();
  if (!st.ok()) obj->Abort();
  return st;
}

// A grouped item's record without its objects (rows, first/last over all
// outputs).
ItemRecord GroupedRecordHead(const OutputList& outputs, uint64_t rows, const WorkItem& item,
                             const std::string& source, const std::string& tool_version,
                             const std::string& created_at) {
  ItemRecord rec;
  rec.item = item.Id();
  rec.outcome = rows == 0 ? "no_data" : "done";
  rec.rows = rows;
  rec.source = source;
  rec.tool_version = tool_version;
  rec.created_at = created_at;
  int64_t first = INT64_MAX, last = INT64_MIN;
  for (const auto& o : outputs) {
    if (o.rows == 0) continue;
    first = std::min(first, o.first_local_ts);
    last = std::max(last, o.last_local_ts);
  }
  if (first <= last) {
    rec.first_timestamp = FormatIsoMicros(first);
    rec.last_timestamp = FormatIsoMicros(last);
  }
  return rec;
}

// The record's entry of one output: its object name without the store's
// root (OutputFile::name is the store's description of the object), and
// first/last local_timestamp when it has rows.
RecordedObject RecordedEntry(const OutputFile& o, std::string_view root) {
  std::string_view name = o.name;
  if (name.compare(0, root.size(), root) == 0) name.remove_prefix(root.size());
  while (!name.empty() && name.front() == '/') name.remove_prefix(1);
  RecordedObject ro{std::string(name), o.instrument_key, o.rows, o.bytes, "", ""};
  if (o.rows > 0) {
    ro.first_timestamp = FormatIsoMicros(o.first_local_ts);
    ro.last_timestamp = FormatIsoMicros(o.last_local_ts);
  }
  return ro;
}

}  // namespace

std::string EncodeItemRecord(const ItemRecord& r) {
  std::string text;
  Status st = WriteRecordText(r, r.objects.size(), ObjectsOf(r), [&text](std::string_view piece) {
    text.append(piece);
    return Status::OK();
  });
  (void)st;  // the sink never fails
  return text;
}

namespace {

// What `parse` (the whole text, or its pieces) gives, as DecodeItemRecord
// words it.
using RecordParse = std::function<Result<nlohmann::json>(const nlohmann::json::parser_callback_t&)>;

Result<ItemRecord> DecodeRecord(const RecordParse& parse, const std::string& label,
                                const std::function<void(RecordedObject&&)>& on_object) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidInput(label + ": not a market-tick item record (" + why +
                                "); delete it and download the item again");
  };
  // A record comes from the store, which anyone with write access can fill:
  // bounded like every JSON document read from outside, in depth always. A
  // grouped item lists one object per instrument (about 350 bytes each:
  // 64 MB at some 200,000), so its size bound is that of the biggest
  // documents read whole, and its objects are taken from the parser one at a
  // time and dropped from the JSON tree (which costs several times the
  // text), so what it holds is the record's own entries.
  ItemRecord r;
  bool objects_ok = true;
  std::string top_key;  // the top-level key whose value is being parsed
  auto take = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    if (depth == 1 && event == E::key) {
      top_key = parsed.get<std::string>();
      if (top_key == "objects") {  // a repeated key: the last value counts, as in the tree
        r.objects.clear();
        objects_ok = true;
      }
    }
    if (depth != 2 || top_key != "objects") return true;
    // An element of the top-level "objects" array.
    if (event == E::value || event == E::array_start) {
      objects_ok = false;  // not an object
      return false;
    }
    if (event != E::object_end) return true;
    const nlohmann::json& o = parsed;
    if (!o.contains("name") || !o["name"].is_string()) {
      objects_ok = false;
      return false;
    }
    RecordedObject ro;
    ro.name = o["name"].get<std::string>();
    if (o.contains("instrument_key") && o["instrument_key"].is_string()) {
      ro.instrument_key = o["instrument_key"].get<std::string>();
    }
    if (o.contains("rows") && o["rows"].is_number_unsigned()) ro.rows = o["rows"].get<uint64_t>();
    if (o.contains("bytes") && o["bytes"].is_number_unsigned()) ro.bytes = o["bytes"].get<uint64_t>();
    for (auto [k, field] : {std::pair{"first_timestamp", &ro.first_timestamp}, {"last_timestamp", &ro.last_timestamp}}) {
      if (o.contains(k) && o[k].is_string()) *field = o[k].get<std::string>();
    }
    if (on_object) {
      on_object(std::move(ro));
    } else {
      r.objects.push_back(std::move(ro));
    }
    return false;  // taken: not kept in the tree
  };
  auto parsed = parse(take);
  if (!parsed.ok()) return bad(parsed.status().message());
  const nlohmann::json j = std::move(parsed).value();
  if (!j.is_object()) return bad("not a JSON object");
  auto str = [&](const char* k, std::string* out) {
    auto it = j.find(k);
    if (it != j.end() && it->is_string()) *out = it->get<std::string>();
  };
  str("item", &r.item);
  str("first_timestamp", &r.first_timestamp);
  str("last_timestamp", &r.last_timestamp);
  str("outcome", &r.outcome);
  str("source", &r.source);
  str("reason", &r.reason);
  str("tool_version", &r.tool_version);
  str("created_at", &r.created_at);
  if (r.outcome != "done" && r.outcome != "no_data" && r.outcome != "not_available") {
    return bad("outcome '" + r.outcome + "'");
  }
  if (auto it = j.find("rows"); it != j.end() && it->is_number_unsigned()) r.rows = it->get<uint64_t>();
  if (auto it = j.find("objects"); it != j.end()) {
    if (!it->is_array()) return bad("objects is not an array");
    if (!objects_ok) return bad("an object without a name");
  } else {
    r.objects.clear();  // only a top-level "objects" array lists objects
  }
  return r;
}

}  // namespace

Result<ItemRecord> DecodeItemRecord(std::string_view text, const std::string& label,
                                    const std::function<void(RecordedObject&&)>& on_object) {
  return DecodeRecord(
      [&](const nlohmann::json::parser_callback_t& take) {
        return ParseBoundedJson(text, label, take, kTardisMetadataJsonLimits);
      },
      label, on_object);
}

ItemRecord GroupedItemRecord(storage::ObjectStore* store, const WorkItem& item, const OutputList& outputs,
                             uint64_t rows, const std::string& source, const std::string& tool_version,
                             const std::string& created_at) {
  ItemRecord rec = GroupedRecordHead(outputs, rows, item, source, tool_version, created_at);
  const std::string root = store->Describe("");
  rec.objects.reserve(outputs.size());
  for (const auto& o : outputs) rec.objects.push_back(RecordedEntry(o, root));
  return rec;
}

Status WriteGroupedItemRecord(storage::ObjectStore* store, const WorkItem& item, const OutputList& outputs,
                              uint64_t rows, const std::string& source, const std::string& tool_version,
                              const std::string& created_at, bool overwrite) {
  const ItemRecord head = GroupedRecordHead(outputs, rows, item, source, tool_version, created_at);
  MT_RETURN_IF_ERROR(outputs.read_status());
  const std::string root = store->Describe("");
  RecordedObject entry;  // one at a time, made as it is written, in order
  OutputList::Iterator next = outputs.begin();
  auto object_at = [&](size_t) {
    entry = next != outputs.end() ? RecordedEntry(*next, root) : RecordedObject();
    ++next;
    return ViewOf(entry);
  };
  MT_ASSIGN_OR_RETURN(auto obj, store->Create(ItemRecordObjectName(store->layout(), item), overwrite));
  return CommitRecordText(obj.get(), head, outputs.size(), object_at, outputs.read_status());
}

Status RemoveItemRecord(storage::ObjectStore* store, const WorkItem& item) {
  return store->Remove(ItemRecordObjectName(store->layout(), item));
}

namespace {

// Whether a recorded name may be removed by a run replacing `item`: a safe
// object name of the item's day and data type.
bool OfTheItem(const storage::Layout& layout, const WorkItem& item, const std::string& name) {
  const auto tick = layout.ParseTickObjectName(name);
  return storage::IsSafeObjectName(name) && tick && tick->day == item.day && tick->data_type == item.data_type;
}

}  // namespace

Status ReplacedObjects::Take(const storage::Layout& layout, const WorkItem& item, const StringSpool& names) {
  for (const std::string& name : names) {
    if (!OfTheItem(layout, item, name)) continue;
    OutputFile f;
    f.name = name;
    MT_RETURN_IF_ERROR(names_.Add(f));
  }
  return names.read_status();
}

Status ReplacedObjects::Load(storage::ObjectStore* store, const WorkItem& item) {
  const storage::Layout& layout = store->layout();
  const std::string name = ItemRecordObjectName(layout, item);
  // Read whole before any name is taken: a record that turns out damaged
  // adds none (the names an earlier read took stay).
  OutputList taken;
  Status added;
  auto rec = ReadItemRecord(store, name, [&](RecordedObject&& o) {
    if (!added.ok() || !OfTheItem(layout, item, o.name)) return;
    OutputFile f;
    f.name = std::move(o.name);
    added = taken.Add(f);
  });
  if (!rec.ok() && rec.status().code() == Status::Code::kNotFound) return Status::OK();
  if (!rec.ok() && rec.status().code() == Status::Code::kInvalidInput) {
    log::Warn(store->Describe(name) + ": " + rec.status().message() +
              "; the objects it lists that this run does not write again are not known, and stay");
    return Status::OK();
  }
  MT_RETURN_IF_ERROR(rec.status());
  MT_RETURN_IF_ERROR(added);
  for (const auto& f : taken) MT_RETURN_IF_ERROR(names_.Add(f));
  return taken.read_status();
}

Status ReplacedObjects::RemoveRecord(storage::ObjectStore* store, const WorkItem& item) {
  std::lock_guard<std::mutex> l(mu_);
  if (record_removed_) return Status::OK();
  if (take_again_) MT_RETURN_IF_ERROR(Load(store, item));
  MT_RETURN_IF_ERROR(RemoveItemRecord(store, item));
  record_removed_ = true;
  return Status::OK();
}

Result<size_t> ReplacedObjects::Finish(storage::ObjectStore* store, const WorkItem& item, const OutputList& now) {
  if (names_.empty()) return size_t{0};
  MT_RETURN_IF_ERROR(RemoveRecord(store, item));
  // The new names by their hash: a collision only keeps an object.
  const std::string root = store->Describe("");
  std::unordered_set<uint64_t> written;
  written.reserve(now.size());
  for (const auto& o : now) written.insert(std::hash<std::string_view>()(RecordedEntry(o, root).name));
  MT_RETURN_IF_ERROR(now.read_status());
  size_t removed = 0;
  for (const auto& o : names_) {
    // Also marks it done: a name taken twice (the record read again) goes once.
    if (!written.insert(std::hash<std::string_view>()(o.name)).second) continue;
    MT_RETURN_IF_ERROR(store->Remove(o.name).WithContext("removing an object the item's new file no longer has"));
    removed++;
  }
  MT_RETURN_IF_ERROR(names_.read_status());
  return removed;
}

std::string RecordDifference(const ItemRecord& theirs, const ItemRecord& ours) {
  if (theirs.rows != ours.rows || theirs.objects.size() != ours.objects.size()) {
    return "the other run's record lists " + std::to_string(theirs.objects.size()) + " objects of " +
           std::to_string(theirs.rows) + " rows, this run wrote " + std::to_string(ours.objects.size()) +
           " objects of " + std::to_string(ours.rows) + " rows";
  }
  std::unordered_map<std::string_view, const RecordedObject*> mine;
  for (const auto& o : ours.objects) mine.emplace(o.name, &o);
  for (const auto& o : theirs.objects) {
    auto it = mine.find(o.name);
    if (it == mine.end()) return "the other run's record lists " + o.name + ", which this run did not write";
    if (it->second->rows != o.rows || it->second->instrument_key != o.instrument_key) {
      return o.name + " has " + std::to_string(o.rows) + " rows in the other run's record, " +
             std::to_string(it->second->rows) + " in this run";
    }
  }
  return "";
}

Status WriteItemRecord(storage::ObjectStore* store, const WorkItem& item, const ItemRecord& record, bool overwrite) {
  const std::string name = ItemRecordObjectName(store->layout(), item);
  MT_ASSIGN_OR_RETURN(auto obj, store->Create(name, overwrite));
  return CommitItemRecord(obj.get(), record);
}

Status CommitItemRecord(storage::WritableObject* obj, const ItemRecord& record) {
  return CommitRecordText(obj, record, record.objects.size(), ObjectsOf(record));
}

namespace {

// The positions of n names, found again from a name listed: each name is
// kept as its hash and position, not as a copy, and a hit is confirmed on
// the name itself, made again by name(i) (hashes collide). A day's listing
// is looked up in it as the store gives it, so what a lookup of an item's
// objects holds grows with the item's names, not with every object of the
// day.
class NameIndex {
 public:
  // name(i) for i < n; "" leaves i out.
  NameIndex(size_t n, std::function<std::string(size_t)> name) : name_(std::move(name)) {
    entries_.reserve(n);
    for (size_t i = 0; i < n; i++) {
      const std::string s = name_(i);
      if (!s.empty()) entries_.push_back({std::hash<std::string_view>()(s), i});
    }
    std::sort(entries_.begin(), entries_.end());
  }
  // Calls found(i) for every i whose name is `listed`.
  template <class F>
  void Find(std::string_view listed, F&& found) const {
    const Entry key{std::hash<std::string_view>()(listed), 0};
    for (auto it = std::lower_bound(entries_.begin(), entries_.end(), key);
         it != entries_.end() && it->hash == key.hash; ++it) {
      if (name_(it->index) == listed) found(it->index);
    }
  }

 private:
  struct Entry {
    size_t hash, index;
    bool operator<(const Entry& o) const { return hash != o.hash ? hash < o.hash : index < o.index; }
  };
  std::function<std::string(size_t)> name_;
  std::vector<Entry> entries_;
};

// The sizes `record` gives its objects, made those of the objects in the
// store: read in the fewest listings (under the names' common prefix), each
// listed object looked up among the record's as the listing goes (the prefix
// may hold a whole day's objects). Returns whether any changed; an object the
// listing does not show keeps its size.
Result<bool> TakeStoredSizes(storage::ObjectStore* store, ItemRecord* record) {
  if (record->objects.empty()) return false;
  std::string_view prefix = record->objects.front().name;
  for (const auto& o : record->objects) {
    size_t n = 0;
    while (n < prefix.size() && n < o.name.size() && prefix[n] == o.name[n]) n++;
    prefix = prefix.substr(0, n);
  }
  const NameIndex index(record->objects.size(), [record](size_t i) { return record->objects[i].name; });
  bool changed = false;
  MT_RETURN_IF_ERROR(store->ListEach(std::string(prefix), [&](storage::ObjectInfo&& listed) {
    index.Find(listed.name, [&](size_t i) {
      RecordedObject& o = record->objects[i];
      if (listed.size != o.bytes) {
        o.bytes = listed.size;
        changed = true;
      }
    });
    return Status::OK();
  }));
  return changed;
}

// SettleRecordRace's kSame: the other run's record stays, listing `theirs`'
// objects.
RecordRace SettledSame(ItemRecord&& theirs) {
  RecordRace r;
  r.kind = RecordRace::kSame;
  r.objects.reserve(theirs.objects.size());
  for (auto& o : theirs.objects) r.objects.push_back(o.name);
  return r;
}

}  // namespace

Result<RecordRace> SettleRecordRace(storage::ObjectStore* store, const WorkItem& item, const ItemRecord& ours) {
  const std::string name = ItemRecordObjectName(store->layout(), item);
  // Read whole, with its generation for the size fix below: this run holds
  // its own record's entries already (`ours`), so the other's text and
  // entries add about as much again, in a race of two runs only.
  auto read = store->ReadVersioned(name);
  if (!read.ok()) {
    return read.status().WithContext("another run wrote the completion record first, and reading it failed");
  }
  if (read->generation == 0) {
    // Removed since (by hand): this run's record goes in its place.
    const Status st = WriteItemRecord(store, item, ours, false);
    if (!st.ok()) return st.WithContext("writing the completion record");
    return RecordRace{};
  }
  auto theirs = DecodeItemRecord(read->bytes, store->Describe(name));
  if (!theirs.ok()) {
    return theirs.status().WithContext("another run wrote the completion record first");
  }
  if (theirs->outcome == "not_available") {
    // The source answered 404 to the other run and has the file now: the
    // objects are there, so this run's record replaces that one (as a rerun
    // would).
    const Status st = WriteItemRecord(store, item, ours, true);
    if (!st.ok()) return st.WithContext("writing the completion record over a not_available one");
    return RecordRace{};
  }
  if (std::string diff = RecordDifference(*theirs, ours); !diff.empty()) {
    RecordRace r;
    r.kind = RecordRace::kDifferent;
    r.difference = std::move(diff);
    return r;
  }
  std::unordered_map<std::string_view, uint64_t> our_size;
  for (const auto& o : ours.objects) our_size.emplace(o.name, o.bytes);
  bool same_sizes = true;
  for (const auto& o : theirs->objects) same_sizes = same_sizes && our_size[o.name] == o.bytes;
  if (same_sizes) return SettledSame(std::move(theirs).value());  // whichever run wrote an object last
  // Both runs have written every object by now (the other one before its
  // record, this one before trying its own), so the sizes the store shows
  // are final, and the record is made to give those.
  ItemRecord fixed = std::move(theirs).value();
  auto changed = TakeStoredSizes(store, &fixed);
  Status st = changed.status();
  if (st.ok() && *changed) {
    // Only over the record just read: a third writer's record is kept.
    auto w = store->CreateIfGeneration(name, read->generation);
    st = w.status();
    if (w.ok()) st = CommitItemRecord(w->get(), fixed);
    if (st.code() == Status::Code::kAlreadyExists) st = Status::OK();
  }
  if (!st.ok()) {
    // The rows are right; only the sizes of some objects in the record are
    // the other run's.
    log::Warn(item.Id() + ": could not give the completion record the sizes of the objects this run wrote last: " +
              st.message());
  }
  return SettledSame(std::move(fixed));
}

Result<ItemRecord> ReadItemRecord(storage::ObjectStore* store, const std::string& name,
                                  const std::function<void(RecordedObject&&)>& on_object) {
  // Read in pieces, each parsed as it comes: a grouped item of many
  // instruments has a record of hundreds of MB, which is never held whole.
  // A record smaller than a piece is one read. An error of the store is
  // returned as it is (kNotFound: no record).
  constexpr int64_t kPieceBytes = int64_t{4} << 20;
  uint64_t offset = 0;
  storage::ObjectStore::RangedRead ranges;  // every piece of the version the first came from
  bool last = false;                        // the previous piece was short: the object ended
  Status read_error;
  auto read = [&]() -> Result<std::string> {
    if (last) return std::string();
    auto piece = store->ReadRangeOfVersion(name, offset, kPieceBytes, &ranges);
    if (!piece.ok()) {
      read_error = piece.status();
      return piece.status();
    }
    offset += piece->size();
    last = piece->size() < static_cast<uint64_t>(kPieceBytes);
    return piece;
  };
  const std::string label = store->Describe(name);
  auto rec = DecodeRecord(
      [&](const nlohmann::json::parser_callback_t& take) {
        return ParseBoundedJsonPieces(read, label, take, kTardisMetadataJsonLimits);
      },
      label, on_object);
  if (!read_error.ok()) return read_error;
  return rec;
}

Result<ItemRecord> ReadItemRecordAgainIfTorn(storage::ObjectStore* store, const std::string& name,
                                             const net::RetryPolicy& retry, net::RetryClock* clock, StopFlags stop,
                                             const std::function<void()>& on_read,
                                             const std::function<void(RecordedObject&&)>& on_object) {
  net::RetryPolicy policy = retry;
  policy.max_attempts = kRecordReads;
  policy.base_delay_s = 0;
  net::Retrier retrier(policy, clock, stop, net::RetrySeed(name));
  while (true) {
    if (on_read) on_read();
    retrier.Attempted();
    auto rec = ReadItemRecord(store, name, on_object);
    if (rec.ok() || !(storage::IsReplacedWhileRead(rec.status()) || net::IsChecksumMismatch(rec.status()))) {
      return rec;
    }
    if (retrier.Backoff() != net::Retrier::Next::kRetry) return rec;
    log::Debug(rec.status().message() + " (reading the completion record again, read " +
               std::to_string(retrier.attempts() + 1) + " of " + std::to_string(kRecordReads) + ")");
  }
}

}  // namespace mt::pipeline
