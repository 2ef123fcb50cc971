#include "validate/string_pool.h"

#include <algorithm>
#include <functional>

namespace mt::validate {

uint32_t StringPool::Intern(std::string_view s) {
  if (sizes_.size() * 2 >= slots_.size()) Grow();
  const size_t mask = slots_.size() - 1;
  for (size_t h = std::hash<std::string_view>()(s) & mask;; h = (h + 1) & mask) {
    if (slots_[h] != 0) {
      if (View(slots_[h] - 1) == s) return slots_[h] - 1;
      continue;
    }
    if (blocks_.empty() || s.size() > kBlockBytes - block_used_) {
      // A new block; a string longer than a block has one of its own,
      // full once it is written.
      blocks_.push_back(std::unique_ptr<char[]>(new char[std::max(kBlockBytes, s.size())]));
      block_used_ = 0;
    }
    std::copy(s.begin(), s.end(), blocks_.back().get() + block_used_);
    blocks_of_.push_back(static_cast<uint32_t>(blocks_.size() - 1));
    offsets_.push_back(static_cast<uint32_t>(block_used_));
    sizes_.push_back(static_cast<uint32_t>(s.size()));
    block_used_ = std::min(kBlockBytes, block_used_ + s.size());
    slots_[h] = static_cast<uint32_t>(sizes_.size());
    return slots_[h] - 1;
  }
}

void StringPool::Grow() {
  std::vector<uint32_t> slots(slots_.empty() ? 64 : slots_.size() * 2, 0);
  const size_t mask = slots.size() - 1;
  for (uint32_t id = 0; id < sizes_.size(); id++) {
    size_t h = std::hash<std::string_view>()(View(id)) & mask;
    while (slots[h] != 0) h = (h + 1) & mask;
    slots[h] = id + 1;
  }
  slots_ = std::move(slots);
}

}  // namespace mt::validate
