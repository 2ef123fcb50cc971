// A test double around a store (the local one, in the tests): every call
// goes to it, and Create also records the names created, in order, and
// raises `flag` (when given) as its Nth object is created: an interrupt
// (SIGTERM) arriving while a grouped file's objects are written; or runs
// `before_create` first.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "storage/object_store.h"

namespace mt::testing {

class CreateWatch final : public storage::ObjectStore {
 public:
  explicit CreateWatch(storage::ObjectStore* inner, std::atomic<bool>* flag = nullptr, int at = 0)
      : inner_(inner), flag_(flag), at_(at) {}
  Result<std::unique_ptr<storage::WritableObject>> Create(const std::string& name, bool overwrite) override {
    if (++creates == at_ && flag_) flag_->store(true);
    if (before_create) before_create(name);
    {
      std::lock_guard<std::mutex> l(mu);
      names.push_back(name);
    }
    return inner_->Create(name, overwrite);
  }
  Result<bool> Exists(const std::string& name) override { return inner_->Exists(name); }
  Status Remove(const std::string& name) override { return inner_->Remove(name); }
  Result<std::string> Read(const std::string& name) override { return inner_->Read(name); }
  Result<Versioned> ReadVersioned(const std::string& name) override { return inner_->ReadVersioned(name); }
  Result<std::unique_ptr<storage::WritableObject>> CreateIfGeneration(const std::string& name,
                                                                       int64_t generation) override {
    return inner_->CreateIfGeneration(name, generation);
  }
  Status ListEach(const std::string& prefix, const std::function<Status(storage::ObjectInfo&&)>& each) override {
    return inner_->ListEach(prefix, each);
  }
  std::string Describe(const std::string& name) const override { return inner_->Describe(name); }
  std::string SpillDirectory() const override { return inner_->SpillDirectory(); }
  bool BatchesCommits() const override { return inner_->BatchesCommits(); }
  Status SyncSealed() override { return inner_->SyncSealed(); }
  // Called with each name before it is created (another run's work done at
  // that point: a race made deterministic). May be empty.
  std::function<void(const std::string&)> before_create;
  std::atomic<int> creates{0};
  std::mutex mu;
  std::vector<std::string> names;

 private:
  storage::ObjectStore* inner_;
  std::atomic<bool>* flag_;
  int at_;
};

}  // namespace mt::testing
