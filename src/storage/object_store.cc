// Default ranged reads of ObjectStore: whole-object reads, sliced. Correct
// for any store; stores that can do better override them.
#include "storage/object_store.h"

#include <chrono>
#include <random>
#include <thread>

namespace mt::storage {

Result<std::string> ObjectStore::ReadRange(const std::string& name, uint64_t offset, int64_t length) {
  MT_ASSIGN_OR_RETURN(std::string all, Read(name));
  if (offset >= all.size()) return std::string();
  const uint64_t left = all.size() - offset;
  const uint64_t n = length < 0 ? left : std::min<uint64_t>(left, static_cast<uint64_t>(length));
  return all.substr(offset, n);
}

Result<ObjectStore::Tail> ObjectStore::ReadTail(const std::string& name, uint64_t n) {
  MT_ASSIGN_OR_RETURN(std::string all, Read(name));
  Tail t;
  t.object_size = all.size();
  t.bytes = n >= all.size() ? std::move(all) : all.substr(all.size() - n);
  return t;
}

Result<std::vector<ObjectInfo>> ObjectStore::List(const std::string& prefix) {
  std::vector<ObjectInfo> out;
  MT_RETURN_IF_ERROR(ListEach(prefix, [&out](ObjectInfo&& o) {
    out.push_back(std::move(o));
    return Status::OK();
  }));
  return out;
}

Status ReplacedWhileRead(std::string message) {
  return Status::Unavailable(std::move(message)).WithDetail(Status::Detail::kReplacedWhileRead);
}

bool IsReplacedWhileRead(const Status& st) { return st.detail() == Status::Detail::kReplacedWhileRead; }

Status ReadAgainIfReplaced(const std::function<Status()>& read) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  Status st;
  for (int attempt = 1; attempt <= kReadsOfAReplacedObject; attempt++) {
    st = read();
    if (!IsReplacedWhileRead(st) || attempt == kReadsOfAReplacedObject) break;
    const int ms = std::uniform_int_distribution<int>(2, 10 * attempt)(rng);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }
  return st;
}

Result<ObjectStore::Versioned> ObjectStore::ReadVersioned(const std::string& name) {
  return Status::Internal(Describe(name) + ": this store has no conditional writes");
}

Result<std::unique_ptr<WritableObject>> ObjectStore::CreateIfGeneration(const std::string& name, int64_t) {
  return Status::Internal(Describe(name) + ": this store has no conditional writes");
}

}  // namespace mt::storage
