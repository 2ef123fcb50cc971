// Distinct strings, each held once, by id: what the expected items and the
// results of a validation are made of. A grouped item expects an item per
// instrument of its record (hundreds of thousands on a big options day), and
// a std::string per field of each (the day's data type, exchange and symbol
// repeated in every item) cost several times the key itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace mt::validate {

class StringPool {
 public:
  // The id of `s`, added when new. Ids are never reused; nothing is removed.
  uint32_t Intern(std::string_view s);
  std::string_view View(uint32_t id) const {
    return std::string_view(blocks_[blocks_of_[id]].get() + offsets_[id], sizes_[id]);
  }
  size_t size() const { return sizes_.size(); }

 private:
  // The bytes are kept in blocks that never move (nor hold room from
  // growing); a string longer than a block has one of its own. An
  // open-addressing table of ids finds them.
  static constexpr size_t kBlockBytes = size_t{1} << 20;
  void Grow();
  std::vector<std::unique_ptr<char[]>> blocks_;
  size_t block_used_ = kBlockBytes;                    // of the last block
  std::vector<uint32_t> blocks_of_, offsets_, sizes_;  // by id
  std::vector<uint32_t> slots_;                        // id + 1; 0 empty
};

}  // namespace mt::validate
