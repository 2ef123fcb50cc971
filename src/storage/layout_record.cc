#include "storage/layout_record.h"

#include <atomic>
#include <mutex>

#include "core/bounded_json.h"

namespace mt::storage {

namespace {

// The record's layout, nullopt when there is none.
Result<std::optional<LayoutKind>> ReadRecord(ObjectStore* store) {
  auto bytes = store->Read(kStoreRecordName);
  if (!bytes.ok()) {
    if (bytes.status().code() == Status::Code::kNotFound) return std::optional<LayoutKind>();
    return bytes.status();
  }
  MT_ASSIGN_OR_RETURN(LayoutKind kind, ParseStoreRecord(*bytes, store->Describe(kStoreRecordName)));
  return std::optional<LayoutKind>(kind);
}

// by_date when the store has by_date objects (the cheapest listings first,
// each only until one answers with an object), else nullopt.
Result<std::optional<LayoutKind>> ProbeObjects(ObjectStore* store) {
  for (LayoutKind kind : {LayoutKind::kByDate, LayoutKind::kHive}) {
    for (const std::string& prefix : Layout(kind).ProbePrefixes()) {
      // The first object answers: the listing stops there.
      bool found = false;
      const Status st = store->ListEach(prefix, [&found](ObjectInfo&&) {
        found = true;
        return Status::Cancelled("one object is enough");
      });
      if (found) return std::optional<LayoutKind>(kind);
      MT_RETURN_IF_ERROR(st);
    }
  }
  return std::optional<LayoutKind>();
}

Status Disagree(ObjectStore* store, LayoutKind requested, LayoutKind found, const std::string& why) {
  return Status::Usage("--layout/OUTPUT_LAYOUT " + std::string(LayoutKindName(requested)) + ", but " +
                       store->Describe("") + " is a " + LayoutKindName(found) + " store (" + why +
                       "); one store holds one layout: drop --layout/OUTPUT_LAYOUT, or write to another --output");
}

}  // namespace

std::string StoreRecordJson(LayoutKind kind) {
  return "{\"format_version\":" + std::to_string(kStoreRecordFormatVersion) + ",\"layout\":\"" +
         LayoutKindName(kind) + "\"}\n";
}

Result<LayoutKind> ParseStoreRecord(std::string_view bytes, const std::string& where) {
  auto bad = [&](const std::string& what) {
    return Status::Usage(where + ": " + what + " (the store's layout record, written by market-tick; restore it "
                         "as {\"format_version\":1,\"layout\":\"by_date\"} or \"hive\", as the store's objects are named)");
  };
  MT_ASSIGN_OR_RETURN(const nlohmann::json j, ParseBoundedJson(bytes, where, nullptr, JsonLimits{4096, 4}));
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  auto v = j.find("format_version");
  if (v == j.end() || !v->is_number_integer()) return bad("no integer format_version");
  if (v->get<int64_t>() > kStoreRecordFormatVersion) {
    return Status::Usage(where + ": format_version " + std::to_string(v->get<int64_t>()) +
                         " is newer than this market-tick understands (" +
                         std::to_string(kStoreRecordFormatVersion) + "): use a newer market-tick");
  }
  auto l = j.find("layout");
  if (l == j.end() || !l->is_string()) return bad("no layout");
  auto kind = ParseLayoutKind(l->get<std::string>());
  if (!kind) return bad("unknown layout '" + l->get<std::string>() + "'");
  return *kind;
}

Status ResolveStoreLayout(ObjectStore* store, std::optional<LayoutKind> requested) {
  MT_ASSIGN_OR_RETURN(std::optional<LayoutKind> recorded, ReadRecord(store));
  if (recorded) {
    if (requested && *requested != *recorded) {
      return Disagree(store, *requested, *recorded, "recorded in " + store->Describe(kStoreRecordName));
    }
    store->set_layout(Layout(*recorded));
    return Status::OK();
  }
  MT_ASSIGN_OR_RETURN(std::optional<LayoutKind> found, ProbeObjects(store));
  if (found && requested && *requested != *found) {
    return Disagree(store, *requested, *found, "it holds " + std::string(LayoutKindName(*found)) + " objects");
  }
  store->set_layout(Layout(found ? *found : requested ? *requested : LayoutKind::kByDate));
  return Status::OK();
}

Status RecordStoreLayout(ObjectStore* store) {
  const LayoutKind kind = store->layout().kind();
  MT_ASSIGN_OR_RETURN(std::optional<LayoutKind> recorded, ReadRecord(store));
  if (!recorded) {
    Status st;
    auto obj = store->Create(kStoreRecordName, /*overwrite=*/false);
    if (obj.ok()) {
      st = (*obj)->Append(StoreRecordJson(kind));
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
  if (*recorded != kind) {
    return Status::Usage(store->Describe("") + " was just recorded as a " + LayoutKindName(*recorded) +
                         " store by another run, but this run writes " + LayoutKindName(kind) +
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
  bool BatchesCommits() const override { return inner_->BatchesCommits(); }
  Status SyncSealed() override { return inner_->SyncSealed(); }
  void RemoveStaleTemporaries(const std::string& name) override { inner_->RemoveStaleTemporaries(name); }

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
