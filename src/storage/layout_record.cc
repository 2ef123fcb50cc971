#include "storage/layout_record.h"

#include <atomic>
#include <mutex>

#include "core/bounded_json.h"

namespace mt::storage {

namespace {

// The record's layout, nullopt when there is none.
Result<std::optional<Layout>> ReadRecord(ObjectStore* store) {
  auto bytes = store->Read(kStoreRecordName);
  if (!bytes.ok()) {
    if (bytes.status().code() == Status::Code::kNotFound) return std::optional<Layout>();
    return bytes.status();
  }
  MT_ASSIGN_OR_RETURN(Layout layout, ParseStoreRecord(*bytes, store->Describe(kStoreRecordName)));
  return std::optional<Layout>(layout);
}

// The name of the first object under `prefix` (the listing stops there),
// nullopt when there is none.
Result<std::optional<std::string>> FirstObject(ObjectStore* store, const std::string& prefix) {
  std::optional<std::string> name;
  const Status st = store->ListEach(prefix, [&name](ObjectInfo&& o) {
    name = std::move(o.name);
    return Status::Cancelled("one object is enough");
  });
  if (!name) MT_RETURN_IF_ERROR(st);
  return name;
}

// The hive version of the first tick or derived object under `prefix` that
// names an exchange partition (the listing stops there), 0 when none does.
// Objects that name none are passed over: a `.DS_Store` or `_SUCCESS` file,
// a GCS folder placeholder, sort before the `date=` folders and tell nothing.
Result<int> FirstHiveVersion(ObjectStore* store, const std::string& prefix) {
  int version = 0;
  const Status st = store->ListEach(prefix, [&version](ObjectInfo&& o) {
    version = Layout::HiveVersionOfName(o.name);
    return version != 0 ? Status::Cancelled("one named object is enough") : Status::OK();
  });
  if (version == 0) MT_RETURN_IF_ERROR(st);
  return version;
}

// The layout of the store's objects (the cheapest listings first, each only
// until one answers with an object), else nullopt. A hive store whose first
// tick or derived object in an exchange partition is named with the version
// 1 one (`/exchange=`) is a version 1 store.
Result<std::optional<Layout>> ProbeObjects(ObjectStore* store) {
  for (LayoutKind kind : {LayoutKind::kByDate, LayoutKind::kHive}) {
    for (const std::string& prefix : Layout(kind).ProbePrefixes()) {
      MT_ASSIGN_OR_RETURN(std::optional<std::string> first, FirstObject(store, prefix));
      if (!first) continue;
      if (kind == LayoutKind::kByDate) return std::optional<Layout>(Layout(kind));
      for (const std::string& named : Layout::HiveDataPrefixes()) {
        MT_ASSIGN_OR_RETURN(const int version, FirstHiveVersion(store, named));
        if (version != 0) return std::optional<Layout>(Layout(kind, version));
      }
      return std::optional<Layout>(Layout(kind));
    }
  }
  return std::optional<Layout>();
}

Status Disagree(ObjectStore* store, LayoutKind requested, LayoutKind found, const std::string& why) {
  return Status::Usage("--layout/OUTPUT_LAYOUT " + std::string(LayoutKindName(requested)) + ", but " +
                       store->Describe("") + " is a " + LayoutKindName(found) + " store (" + why +
                       "); one store holds one layout: drop --layout/OUTPUT_LAYOUT, or write to another --output");
}

}  // namespace

std::string StoreRecordJson(const Layout& layout) {
  const int version = layout.kind() == LayoutKind::kHive ? layout.hive_version() : 1;
  return "{\"format_version\":" + std::to_string(version) + ",\"layout\":\"" + layout.name() + "\"}\n";
}

Result<Layout> ParseStoreRecord(std::string_view bytes, const std::string& where) {
  auto bad = [&](const std::string& what) {
    return Status::Usage(where + ": " + what + " (the store's layout record, written by market-tick; restore it "
                         "as the store's objects are named: {\"format_version\":1,\"layout\":\"by_date\"}, "
                         "{\"format_version\":2,\"layout\":\"hive\"}, or version 1 hive for folders named exchange=)");
  };
  MT_ASSIGN_OR_RETURN(const nlohmann::json j, ParseBoundedJson(bytes, where, nullptr, JsonLimits{4096, 4}));
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  auto v = j.find("format_version");
  if (v == j.end() || !v->is_number_integer()) return bad("no integer format_version");
  const int64_t version = v->get<int64_t>();
  if (version < 1) return bad("format_version " + std::to_string(version) + " (versions start at 1)");
  if (version > kStoreRecordFormatVersion) {
    return Status::Usage(where + ": format_version " + std::to_string(v->get<int64_t>()) +
                         " is newer than this market-tick understands (" +
                         std::to_string(kStoreRecordFormatVersion) + "): use a newer market-tick");
  }
  auto l = j.find("layout");
  if (l == j.end() || !l->is_string()) return bad("no layout");
  auto kind = ParseLayoutKind(l->get<std::string>());
  if (!kind) return bad("unknown layout '" + l->get<std::string>() + "'");
  return Layout(*kind, *kind == LayoutKind::kHive && version == 1 ? Layout::kHiveExchangeV1 : Layout::kHiveCurrent);
}

Status ResolveStoreLayout(ObjectStore* store, std::optional<LayoutKind> requested) {
  MT_ASSIGN_OR_RETURN(std::optional<Layout> recorded, ReadRecord(store));
  if (recorded) {
    if (requested && *requested != recorded->kind()) {
      return Disagree(store, *requested, recorded->kind(), "recorded in " + store->Describe(kStoreRecordName));
    }
    store->set_layout(*recorded);
    return Status::OK();
  }
  MT_ASSIGN_OR_RETURN(std::optional<Layout> found, ProbeObjects(store));
  if (found && requested && *requested != found->kind()) {
    return Disagree(store, *requested, found->kind(), "it holds " + std::string(found->name()) + " objects");
  }
  store->set_layout(found ? *found : Layout(requested ? *requested : LayoutKind::kByDate));
  return Status::OK();
}

Status RecordStoreLayout(ObjectStore* store) {
  const Layout layout = store->layout();
  MT_ASSIGN_OR_RETURN(std::optional<Layout> recorded, ReadRecord(store));
  if (!recorded) {
    Status st;
    auto obj = store->Create(kStoreRecordName, /*overwrite=*/false);
    if (obj.ok()) {
      st = (*obj)->Append(StoreRecordJson(layout));
      if (st.ok()) st = (*obj)->Commit();
      if (st.ok()) return Status::OK();
      (*obj)->Abort();
    } else {
      st = obj.status();
    }
    if (st.code() != Status::Code::kAlreadyExists) return st.WithContext("writing " + store->Describe(kStoreRecordName));
    // Another first writer won: its record decides.
    MT_ASSIGN_OR_RETURN(recorded, ReadRecord(store));
    if (!recorded) return Status::IOError(store->Describe(kStoreRecordName) + " exists but cannot be read; retry");
  }
  if (recorded->kind() == layout.kind() && !(*recorded == layout)) {
    // Both hive, another version: a binary of the other version won the race.
    return Status::Usage(store->Describe("") + " was just recorded as a hive store of format version " +
                         std::to_string(recorded->hive_version()) + " (exchange partition " +
                         recorded->ExchangeKey() + "=) by another run, but this run names it " + layout.ExchangeKey() +
                         "=; nothing was written by this run: run it again (it then takes the recorded version), "
                         "and run one market-tick version per store");
  }
  if (!(*recorded == layout)) {
    return Status::Usage(store->Describe("") + " was just recorded as a " + recorded->name() +
                         " store by another run, but this run writes " + layout.name() +
                         "; nothing was written by this run: run again with the same --layout/OUTPUT_LAYOUT as the "
                         "other run, or write to another --output");
  }
  return Status::OK();
}

namespace {

class LayoutRecordingStore : public ObjectStore {
 public:
  explicit LayoutRecordingStore(std::unique_ptr<ObjectStore> inner) : inner_(std::move(inner)) {
    set_layout(inner_->layout());
  }

  Result<std::unique_ptr<WritableObject>> Create(const std::string& name, bool overwrite) override {
    MT_RETURN_IF_ERROR(BeforeWrite(name));
    return inner_->Create(name, overwrite);
  }
  Result<std::unique_ptr<WritableObject>> CreateIfGeneration(const std::string& name, int64_t generation) override {
    MT_RETURN_IF_ERROR(BeforeWrite(name));
    return inner_->CreateIfGeneration(name, generation);
  }
  Status WriteRefusal() const override {
    if (!decided_.load(std::memory_order_acquire)) return Status::OK();
    return record_status_;  // written once, before decided_
  }

  Result<bool> Exists(const std::string& name) override { return inner_->Exists(name); }
  Result<std::string> Read(const std::string& name) override { return inner_->Read(name); }
  Result<std::string> ReadRange(const std::string& name, uint64_t offset, int64_t length) override {
    return inner_->ReadRange(name, offset, length);
  }
  Result<std::string> ReadRangeOfVersion(const std::string& name, uint64_t offset, int64_t length,
                                         RangedRead* read) override {
    return inner_->ReadRangeOfVersion(name, offset, length, read);
  }
  Result<Tail> ReadTail(const std::string& name, uint64_t n) override { return inner_->ReadTail(name, n); }
  Status ListEach(const std::string& prefix, const std::function<Status(ObjectInfo&&)>& each) override {
    return inner_->ListEach(prefix, each);
  }
  Result<Versioned> ReadVersioned(const std::string& name) override { return inner_->ReadVersioned(name); }
  std::string Describe(const std::string& name) const override { return inner_->Describe(name); }
  Status CheckWritable() override { return inner_->CheckWritable(); }
  std::string SpillDirectory() const override { return inner_->SpillDirectory(); }
  int DescriptorsPerWrite() const override { return inner_->DescriptorsPerWrite(); }
  bool ReadsOverNetwork() const override { return inner_->ReadsOverNetwork(); }
  bool BatchesCommits() const override { return inner_->BatchesCommits(); }
  Status SyncSealed() override { return inner_->SyncSealed(); }
  void RemoveStaleTemporaries(const std::string& name) override { inner_->RemoveStaleTemporaries(name); }
  Status Remove(const std::string& name) override {
    MT_RETURN_IF_ERROR(BeforeWrite(name));
    return inner_->Remove(name);
  }

 private:
  // The record first (once); its status decides every write of the run.
  Status BeforeWrite(const std::string& name) {
    if (name == kStoreRecordName) return Status::OK();
    if (decided_.load(std::memory_order_acquire)) return record_status_;
    std::lock_guard<std::mutex> l(mu_);
    if (!decided_.load(std::memory_order_relaxed)) {
      record_status_ = RecordStoreLayout(this);
      // A retryable failure (the record could not be read or written now)
      // is tried again by the next write; a decision (recorded, or lost to
      // another layout) holds for the run.
      if (record_status_.ok() || !record_status_.retryable()) decided_.store(true, std::memory_order_release);
      else return record_status_;
    }
    return record_status_;
  }

  std::unique_ptr<ObjectStore> inner_;
  std::mutex mu_;
  std::atomic<bool> decided_{false};
  Status record_status_;
};

}  // namespace

std::unique_ptr<ObjectStore> RecordLayoutOnFirstWrite(std::unique_ptr<ObjectStore> inner) {
  return std::make_unique<LayoutRecordingStore>(std::move(inner));
}

}  // namespace mt::storage
