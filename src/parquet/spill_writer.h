// Many Parquet files written at once with bounded resources: the files of a
// grouped Tardis file (thousands of instruments, one output each).
//
// Rows are spilled raw: each Append() writes the values of a row group (a
// copy of its columns, no encoding) to ONE anonymous temporary file (the
// spill), AppendSplit() the rows of a batch of many files as a piece per
// file, and memory keeps a few totals per file (where each piece lies goes
// to the piece index, a second temporary file, below). WriteFile() then
// reads one file's pieces back in order, joins them into as few row groups
// as the bounds allow (one per instrument of a grouped file, mostly) and
// encodes them through a FileWriter: the file a FileWriter given those
// joined row groups writes. Encoding once per file instead of once per
// piece gives the compressor whole column chunks rather than thousands of
// small ones, and the footer one row group instead of several.
//
// Resources: two descriptors (the spill and, past one run of entries, its
// piece index; both unlinked from the start, so nothing is left behind by a
// crash or Abort) plus whatever sink WriteFile() is given;
// memory: a write buffer, AppendSplit's buffer (its bound, freed by
// Flush), and per WriteFile() call one joined row group (in the caller's
// Scratch, reused from one file to the next).
// Append/AddFile/Flush: one caller. WriteFile() of different files may run
// on several threads at once after Flush() (the spill is read with pread).
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/status.h"
#include "parquet/file_writer.h"

namespace mt::parquet {

class SpillWriter {
 public:
  // WriteFile() joins pieces into row groups of at most `max_group_rows`
  // rows and about `max_group_bytes` of values (a piece bigger than that is
  // a row group of its own).
  // `index_run_entries`: pieces registered in memory before they go to the
  // piece index's file as a run (tests make it small).
  SpillWriter(std::vector<columnar::ColumnSpec> schema, WriterOptions opts, size_t max_group_rows = 1'000'000,
              size_t max_group_bytes = 32u << 20, size_t index_run_entries = kIndexRunEntries);
  ~SpillWriter();
  SpillWriter(const SpillWriter&) = delete;
  SpillWriter& operator=(const SpillWriter&) = delete;

  // Creates the spill in `dir` (O_TMPFILE, else a temporary name unlinked at
  // once); an empty dir means $TMPDIR, else /tmp. `of` (the input the rows
  // come from) is named in the spill's error messages, so a full disk says
  // which file it stopped.
  Status Open(const std::string& dir, const std::string& of = "");
  // A new output file; returns its id for Append/WriteFile.
  uint32_t AddFile();
  // Appends the rows of `rg` (same schema) to file `file`.
  Status Append(uint32_t file, const columnar::RowGroupData& rg);
  // Appends the rows of `batch` (same schema) to many files at once: row r
  // to file files[slot[r]], one piece per file, its rows in batch order:
  // the pieces Append() would write for each file's rows gathered into a
  // row group of their own, serialized straight from the batch into one
  // reused buffer (no row group per file is built, nothing is allocated
  // per file). String columns flagged in `constant` (exchange, symbol of a
  // grouped file) hold one value per file, that of its first row, and no
  // nulls. Each column of `batch` is freed once copied. A batch whose values
  // take more than `max_buffer_bytes` goes in ranges of rows (a piece per
  // file and range), so the buffer stays about that size.
  Status AppendSplit(columnar::RowGroupData* batch, const std::vector<uint32_t>& slot,
                     const std::vector<uint32_t>& files, const std::vector<bool>& constant,
                     size_t max_buffer_bytes = 16u << 20);
  // AppendSplit() copies a batch's columns on `pool` too (up to a few of
  // its threads, the calling thread among them; HelpedFor), or, without one,
  // on the calling thread. The pieces and their order are the same.
  void SetSplitPool(ThreadPool* pool) { split_pool_ = pool; }
  // Writes what is buffered, so WriteFile() can read every piece, and frees
  // AppendSplit's buffer and scratch.
  Status Flush();
  // Writes file `file` to `sink`: its rows joined into row groups, encoded
  // on `pool` (the calling thread helping) or, without one, on the calling
  // thread (opts.pool is not used), footer with `kv`. String
  // column i of a joined row group starts plain when plain_strings[i] (as
  // columnar::MakeRowGroup). REQUIRES: Flush() succeeded since the last
  // Append(). Thread-safe for different files.
  // With `transform`, each joined row group goes through transform->apply
  // before it is encoded, and the file has transform->schema (columns the
  // rows of every file share, such as a constant key, are added once per row
  // group rather than spilled with every row).
  // `undo`, when set, takes a transformed row group back to the spill's
  // schema after it is encoded, so a Scratch can keep it for the next file.
  // Each split batch's pieces lie in the spill in file id order (AddFile()
  // order), so files written in increasing id order read the spill front to
  // back: a grouped trades day of 3,000 files read its pieces in half the
  // time that way than in an unrelated order (bench/README.md).
  struct GroupTransform {
    std::vector<columnar::ColumnSpec> schema;
    std::function<void(columnar::RowGroupData*)> apply;
    std::function<void(columnar::RowGroupData*)> undo;
  };
  // The memory one WriteFile() call works in (joined row group, piece read
  // back, bytes gathered for the sink), kept by the caller for its next
  // call: the thousands of small objects of a grouped file then refill one
  // heap per thread instead of each allocating (and faulting in) its own.
  // What a file needed beyond kKeepBytes is freed when it is done, so a
  // thread that assembled a big instrument does not hold its memory.
  // One thread at a time; a null Scratch is a fresh one per call.
  class Scratch {
   public:
    static constexpr size_t kKeepBytes = 8u << 20;

   private:
    friend class SpillWriter;
    columnar::RowGroupData rg;
    bool rg_ready = false;  // rg has the spill's columns, to be cleared and refilled
    std::string piece;
    std::string out;
  };
  Status WriteFile(uint32_t file, storage::WritableObject* sink,
                   const std::vector<std::pair<std::string, std::string>>& kv,
                   const std::vector<bool>& plain_strings, ThreadPool* pool = nullptr,
                   const GroupTransform* transform = nullptr, Scratch* scratch = nullptr) const;

  // Calls `fn` with file `file`'s rows read back in order, in the row groups
  // WriteFile() would join them into (string column i plain when
  // plain_strings[i]), one at a time. REQUIRES: Flush() succeeded since the
  // last Append(). Thread-safe for different files.
  Status ReadFile(uint32_t file, const std::vector<bool>& plain_strings,
                  const std::function<Status(columnar::RowGroupData)>& fn) const;

  int64_t num_rows(uint32_t file) const { return files_[file].num_rows; }
  // File `file` will not be written or read (its object existed): its
  // pieces are dropped as the index is read. Thread-safe.
  void Discard(uint32_t file) const;
  // Values of file `file`'s largest joined row group (what WriteFile holds
  // in memory at once, before encoding), about.
  uint64_t largest_group_bytes(uint32_t file) const {
    return std::min<uint64_t>(files_[file].values, max_group_bytes_);
  }
  size_t max_group_bytes() const { return max_group_bytes_; }
  uint64_t spill_bytes() const { return spill_size_; }
  // Bytes AppendSplit's buffer holds until Flush(): about its bound.
  size_t split_buffer_bytes() const { return split_buf_.capacity(); }

 private:
  // Where one appended piece lies in the spill.
  struct Piece {
    uint64_t offset;
    uint64_t bytes;   // serialized length
    uint64_t values;  // MemoryBytes() of the rows, for the row group bound
    int64_t num_rows;
  };
  // Per file, in memory: its totals only. Where its pieces lie is in the
  // piece index (below), whose size grows with the pieces (a file of tens of
  // thousands of instruments has one per instrument and batch: millions).
  struct File {
    int64_t num_rows = 0;
    uint64_t values = 0;
  };
  // The piece index: one entry per piece, gathered in index_buf_ and, past
  // index_run_entries_, written to a temporary file of its own as a run
  // sorted by (file, offset). WriteFile()/ReadFile() then take a file's
  // pieces from every run at once (TakePieces), as a merge: files taken in
  // increasing id order (the order the callers write them in) read each run
  // front to back, through a small window per run, so memory does not grow
  // with the input; each file is taken once. An index that never filled a
  // run stays in memory (memory_index_, sorted alike), where a file's pieces
  // are found by a search, as often and in any order.
  struct IndexEntry {
    Piece piece;
    uint32_t file;
  };
  // A run's order: by file, a file's pieces in the order they were appended
  // (their offsets grow).
  static bool IndexOrder(const IndexEntry& a, const IndexEntry& b) {
    return a.file != b.file ? a.file < b.file : a.piece.offset < b.piece.offset;
  }
  static constexpr size_t kIndexRunEntries = 64 * 1024;
  static constexpr size_t kIndexWindowEntries = 256;
  struct IndexRun {
    uint64_t offset = 0;  // in the index file
    uint64_t left = 0;    // entries not yet in `window`
    std::vector<IndexEntry> window;
    size_t at = 0;  // next entry of `window`
  };
  void Register(uint32_t file, const Piece& piece);
  Status WriteIndexRun();
  // Appends file `file`'s pieces, in order, to *out; each file once.
  Status TakePieces(uint32_t file, std::vector<Piece>* out) const;
  // The head of run r (refilling its window), nullptr at its end.
  const IndexEntry* RunHead(IndexRun* r) const;
  size_t index_run_entries_ = kIndexRunEntries;
  std::vector<IndexEntry> index_buf_;
  std::vector<IndexEntry> memory_index_;
  int index_fd_ = -1;
  uint64_t index_size_ = 0;
  std::string spill_dir_;
  std::string of_;  // Open()'s `of`, for messages
  // How messages name the spill's file `what` ("spill", "spill index"):
  // "DIR/(market-tick WHAT of INPUT)".
  std::string Label(std::string_view what) const;
  Status index_status_;
  mutable std::mutex take_mu_;
  mutable std::vector<IndexRun> runs_;  // after Flush()
  // Pieces of files passed over by a call for a later file (callers on
  // several threads take files a little out of order), until taken.
  mutable std::unordered_map<uint32_t, std::vector<Piece>> early_;
  mutable std::vector<bool> discarded_, taken_;
  mutable Status take_status_;

  Status FlushBuffer();
  // The end of the row group that starts at pieces[i] (the pieces [i, end)
  // join within the bounds); adds its rows and values to *rows, *values.
  size_t GroupEnd(const std::vector<Piece>& pieces, size_t i, size_t* rows, size_t* values) const;
  // Appends the rows of pieces [i, j) to `rg`, read through `buf`.
  Status ReadPieces(const std::vector<Piece>& pieces, size_t i, size_t j, std::string* buf,
                    columnar::RowGroupData* rg) const;
  // The last split batch's write, when a pool thread may be doing it; waits
  // for it (or does it) and returns its result.
  struct PendingWrite;
  std::shared_ptr<PendingWrite> pending_write_;
  Status WaitWrite();
  Status ReadSpill(uint64_t offset, size_t n, char* out) const;

  std::vector<columnar::ColumnSpec> schema_;
  WriterOptions opts_;
  size_t max_group_rows_;
  size_t max_group_bytes_;
  Status status_;
  int fd_ = -1;
  std::string path_;        // for messages
  uint64_t spill_size_ = 0;  // bytes appended, buffered ones included
  std::string buffer_;       // appended bytes not yet written
  std::vector<File> files_;
  // AppendSplit's scratch, reused from batch to batch: the pieces being
  // built, and per file of the batch (slot) its rows, counts and cursors.
  columnar::PodVector<char> split_buf_;
  std::vector<uint64_t> slot_rows_, slot_values_, slot_text_, slot_at_, slot_first_, piece_start_, piece_values_;
  std::vector<uint64_t*> text_row_;  // per column: its row of slot_text_ (plain strings), else null
  std::vector<uint64_t> piece_bytes_;
  std::vector<uint32_t> piece_order_;  // slots in the order their pieces lie in the spill
  std::vector<size_t> value_at_;  // per column: index of the range's first value
  std::vector<size_t> in_range_;  // per column: its values in the range
  std::vector<uint64_t> def_gap_;
  std::vector<uint32_t> scatter_cols_;  // columns copied row by row
  std::vector<uint8_t> width_;          // per column: bytes per value (timestamps) or length (plain strings)
  std::vector<int64_t> ts_base_;        // per timestamp column of width 4: what its offsets count from
  // Per worker of a range's scatter: cursors of the defined flags, text ends.
  std::vector<std::vector<uint64_t>> worker_flags_;
  std::vector<std::vector<uint32_t>> worker_ends_;
  // AppendSplitRange's counting sort: the range's rows by slot (perm_), where
  // each slot's rows start in it (perm_start_, m + 1 entries).
  std::vector<uint32_t> perm_;
  std::vector<uint64_t> perm_start_, perm_cur_;
  ThreadPool* split_pool_ = nullptr;
  // Columns go to at most this many threads at once: a batch has a handful
  // that cost much, and each worker keeps cursors per file of the batch.
  static constexpr size_t kMaxSplitHelpers = 3;
  Status AppendSplitRange(columnar::RowGroupData* batch, size_t r0, size_t r1, const std::vector<uint32_t>& slot,
                          const std::vector<uint32_t>& files, const std::vector<bool>& constant);
  // AppendSplitRange of rows [r0, r1) in parts of at most `max_files` files.
  Status AppendSplitParts(columnar::RowGroupData* batch, size_t r0, size_t r1, const std::vector<uint32_t>& slot,
                          const std::vector<uint32_t>& files, const std::vector<bool>& constant, size_t max_files);
  // What a piece takes per column beside its values, about: its header in
  // the buffer and its counts and cursors per column and file.
  static constexpr size_t kPieceColumnBytes = 40;
  // AppendSplitParts' scratch: per row its part's slot; per slot of the
  // batch its slot in the part; the part's files and their batch slots.
  std::vector<uint32_t> part_slot_, part_of_, part_files_, part_slots_;
  // A column without nulls into each piece in turn, through perm_: cur[k]
  // (and text[k], a plain string column's) the offsets in `base` where
  // piece k's values (text) go, moved past what is written.
  void GatherColumn(const columnar::ColumnData& d, size_t c, bool dict, size_t m, char* base, uint64_t* cur,
                    uint64_t* text) const;
  // The values of rows [pr, pe) written from p on; returns the end.
  template <typename T>
  static char* GatherValues(const T* v, const uint32_t* pr, const uint32_t* pe, char* p);
  // Rows [r0, r1) of a column with nulls (`def`, its defined flags) to the
  // pieces' cursors, offsets in `base` (v0: the index of the range's first
  // value). ScatterValues of timestamps as u32 offsets from `least`.
  static void ScatterOffsets(const int64_t* v, const uint8_t* def, size_t r0, size_t r1, size_t v0,
                             const uint32_t* slot, char* base, uint64_t* cur, int64_t least);
  template <typename T>
  void ScatterValues(const T* v, const uint8_t* def, size_t r0, size_t r1, size_t v0, const uint32_t* slot,
                     char* base, uint64_t* cur);
};

}  // namespace mt::parquet
