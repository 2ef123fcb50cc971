// A test double of storage::ObjectStore that keeps objects in memory, for
// tests of logic above the store (planning, expected items, key lookups)
// that need objects to read and no file system. It keeps the contract the
// pipeline relies on: an object is visible only after Commit, create-only
// commits refuse an existing name with kAlreadyExists, Abort (or dropping
// the writer) leaves nothing, List returns names under a prefix in name
// order, and conditional writes (ReadVersioned / CreateIfGeneration) see a
// generation that changes with every commit. Tests of the local store's own
// file behaviour (temporary names, locks, permissions) use the local store.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "storage/layout.h"
#include "storage/object_store.h"

namespace mt::testing {

class MemoryStoreDouble : public storage::ObjectStore {
 public:
  Result<std::unique_ptr<storage::WritableObject>> Create(const std::string& name, bool overwrite) override {
    return std::unique_ptr<storage::WritableObject>(
        new Writer(this, name, overwrite ? Writer::kOverwrite : Writer::kCreateOnly, 0));
  }
  Result<std::unique_ptr<storage::WritableObject>> CreateIfGeneration(const std::string& name,
                                                                      int64_t generation) override {
    return std::unique_ptr<storage::WritableObject>(new Writer(this, name, Writer::kIfGeneration, generation));
  }
  Result<bool> Exists(const std::string& name) override {
    std::lock_guard<std::mutex> l(mu_);
    return objects_.count(name) > 0;
  }
  Status Remove(const std::string& name) override {
    std::lock_guard<std::mutex> l(mu_);
    objects_.erase(name);
    return Status::OK();
  }
  Result<std::string> Read(const std::string& name) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = objects_.find(name);
    if (it == objects_.end()) return Status::NotFound("no object " + Describe(name));
    return it->second.bytes;
  }
  Result<Versioned> ReadVersioned(const std::string& name) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = objects_.find(name);
    if (it == objects_.end()) return Versioned{};
    return Versioned{it->second.bytes, it->second.generation};
  }
  // Gathered first, so that `each` may use the store.
  Status ListEach(const std::string& prefix, const std::function<Status(storage::ObjectInfo&&)>& each) override {
    std::vector<storage::ObjectInfo> out;
    {
      std::lock_guard<std::mutex> l(mu_);
      for (auto it = objects_.lower_bound(prefix); it != objects_.end() && it->first.rfind(prefix, 0) == 0; ++it) {
        out.push_back({it->first, it->second.bytes.size()});
      }
    }
    for (auto& o : out) MT_RETURN_IF_ERROR(each(std::move(o)));
    return Status::OK();
  }
  std::string Describe(const std::string& name) const override { return "memory://" + name; }

  // Test set-up and inspection.
  void Put(const std::string& name, std::string bytes) {
    std::lock_guard<std::mutex> l(mu_);
    Object& o = objects_[name];
    o.bytes = std::move(bytes);
    o.generation = ++last_generation_;
  }
  std::vector<std::string> Names() const {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<std::string> out;
    for (const auto& [name, o] : objects_) out.push_back(name);
    return out;
  }

 private:
  struct Object {
    std::string bytes;
    int64_t generation = 0;
  };

  class Writer : public storage::WritableObject {
   public:
    enum Mode { kCreateOnly, kOverwrite, kIfGeneration };
    Writer(MemoryStoreDouble* store, std::string name, Mode mode, int64_t generation)
        : store_(store), name_(std::move(name)), mode_(mode), generation_(generation) {}
    Status Append(std::string_view data) override {
      if (done_) return Status::Internal("append to " + name_ + " after commit or abort");
      bytes_.append(data);
      written_ += data.size();
      return Status::OK();
    }
    Status Commit() override {
      if (done_) return Status::Internal("commit of " + name_ + " after commit or abort");
      done_ = true;
      std::lock_guard<std::mutex> l(store_->mu_);
      auto it = store_->objects_.find(name_);
      const int64_t current = it == store_->objects_.end() ? 0 : it->second.generation;
      if ((mode_ == kCreateOnly && current != 0) || (mode_ == kIfGeneration && current != generation_)) {
        return Status::AlreadyExists(store_->Describe(name_) + " exists (or changed)");
      }
      Object& o = store_->objects_[name_];
      o.bytes = std::move(bytes_);
      o.generation = ++store_->last_generation_;
      return Status::OK();
    }
    void Abort() override {
      done_ = true;
      bytes_.clear();
    }
    uint64_t bytes_written() const override { return written_; }

   private:
    MemoryStoreDouble* store_;
    std::string name_;
    Mode mode_;
    int64_t generation_;
    std::string bytes_;
    uint64_t written_ = 0;
    bool done_ = false;
  };

  mutable std::mutex mu_;
  std::map<std::string, Object> objects_;
  int64_t last_generation_ = 0;
};

// Runs `body` once per store layout (by_date, hive) with an empty store of
// that layout: for rules that must hold in both.
template <typename Body>
void ForEachLayout(Body body) {
  for (storage::LayoutKind kind : {storage::LayoutKind::kByDate, storage::LayoutKind::kHive}) {
    MemoryStoreDouble store;
    const storage::Layout layout(kind);
    store.set_layout(layout);
    body(store, layout);
  }
}

}  // namespace mt::testing
