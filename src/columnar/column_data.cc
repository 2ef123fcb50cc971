#include "columnar/column_data.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace mt::columnar {

void StringColumn::AppendRange(const StringColumn& src, size_t begin, size_t end) {
  if (begin >= end) return;
  if (src.dict_mode_ && dict_mode_) {
    if (src.indices_.empty()) {  // a constant run of src.dict_[0]
      uint32_t d;
      if (Intern(src.dict_[0], &d)) {
        last_index_ = d;
        if (indices_.empty() && d == 0 && dict_.size() == 1) {
          const_count_ += end - begin;
        } else {
          for (size_t r = begin; r < end; r++) PushIndex(d);
        }
        return;
      }
    } else {
      // The map of the last call with this source and destination holds
      // while neither dictionary was emptied (parsed blocks keep theirs:
      // StringColumn::Clear): each value is looked up once per pair, not
      // once per block.
      std::vector<uint32_t>& remap = src.remap_;  // index + 1, 0: not mapped yet
      if (src.remap_src_ != src.dict_id_.value() || src.remap_dst_ != dict_id_.value()) {
        remap.assign(src.dict_.size(), 0);
        src.remap_src_ = src.dict_id_.value();
        src.remap_dst_ = dict_id_.value();
      } else if (remap.size() < src.dict_.size()) {
        remap.resize(src.dict_.size(), 0);
      }
      size_t r = begin;
      for (; r < end; r++) {
        const uint32_t s = src.indices_[r];
        uint32_t d;
        if (remap[s] != 0) {
          d = remap[s] - 1;
        } else {
          if (!Intern(src.dict_[s], &d)) break;  // now plain (a new dict_id_): the rest below
          remap[s] = d + 1;
        }
        PushIndex(d);
        last_index_ = d;
      }
      begin = r;
    }
    if (begin >= end) return;
  }
  if (!src.dict_mode_ && !dict_mode_) {
    const uint32_t b0 = src.offsets_[begin];
    const uint32_t b1 = end < src.offsets_.size() ? src.offsets_[end] : static_cast<uint32_t>(src.bytes_.size());
    const uint32_t shift = static_cast<uint32_t>(bytes_.size()) - b0;
    const size_t o = offsets_.size();
    offsets_.append(src.offsets_.data() + begin, src.offsets_.data() + end);
    for (size_t i = o; i < offsets_.size(); i++) offsets_[i] += shift;
    bytes_.append(src.bytes_.data() + b0, src.bytes_.data() + b1);
    return;
  }
  for (size_t r = begin; r < end; r++) Append(src.Get(r));
}

void ReserveRows(RowGroupData* rg, size_t rows, const std::vector<size_t>* text_bytes) {
  for (size_t i = 0; i < rg->columns.size(); i++) {
    ColumnData& c = rg->columns[i];
    switch (c.kind) {
      case ColumnKind::kTimestampMicros: c.i64.reserve(rows); break;
      case ColumnKind::kDouble: c.f64.reserve(rows); break;
      case ColumnKind::kBool: c.b.reserve(rows); break;
      case ColumnKind::kString: c.str.Reserve(rows, text_bytes ? (*text_bytes)[i] : 0); break;
    }
  }
}

std::vector<size_t> PlainTextBytes(const RowGroupData& rg) {
  std::vector<size_t> bytes(rg.columns.size(), 0);
  for (size_t i = 0; i < rg.columns.size(); i++) {
    const StringColumn& str = rg.columns[i].str;
    if (!str.dict_mode()) bytes[i] = str.ValueBytes();
  }
  return bytes;
}

void ClearRowGroup(RowGroupData* rg, const std::vector<bool>& plain_strings, bool keep_dicts) {
  for (size_t i = 0; i < rg->columns.size(); i++) {
    ColumnData& c = rg->columns[i];
    c.defined.clear();
    c.null_count = 0;
    c.i64.clear();
    c.f64.clear();
    c.b.clear();
    c.str.Clear(!(i < plain_strings.size() && plain_strings[i]), keep_dicts);
  }
  rg->num_rows = 0;
}

void AppendRows(const RowGroupData& src, size_t row_begin, size_t row_end,
                std::vector<size_t>* value_cursor, RowGroupData* dst) {
  if (row_begin >= row_end) return;
  for (size_t c = 0; c < src.columns.size(); c++) {
    const ColumnData& s = src.columns[c];
    ColumnData& d = dst->columns[c];
    const size_t nrows = row_end - row_begin;
    size_t nvalues = nrows;
    if (!s.defined.empty()) {
      const uint8_t* first = s.defined.data() + row_begin;
      nvalues = static_cast<size_t>(std::count(first, first + nrows, uint8_t{1}));
      if (nvalues < nrows || !d.defined.empty()) {  // dst has a null now, or had one
        if (d.defined.empty()) d.defined.assign(dst->num_rows, 1);
        d.defined.append(first, first + nrows);
      }
      d.null_count += nrows - nvalues;
    } else if (!d.defined.empty()) {
      d.defined.append(nrows, 1);
    }
    const size_t v0 = (*value_cursor)[c];
    const size_t v1 = v0 + nvalues;
    const auto range = [&](const auto& from, auto* to) { to->append(from.data() + v0, from.data() + v1); };
    switch (s.kind) {
      case ColumnKind::kTimestampMicros: range(s.i64, &d.i64); break;
      case ColumnKind::kDouble: range(s.f64, &d.f64); break;
      case ColumnKind::kBool: range(s.b, &d.b); break;
      case ColumnKind::kString: d.str.AppendRange(s.str, v0, v1); break;
    }
    (*value_cursor)[c] = v1;
  }
  dst->num_rows += row_end - row_begin;
}

RowGroupData MakeRowGroup(const std::vector<ColumnSpec>& schema,
                          const std::vector<bool>* plain_strings) {
  RowGroupData rg;
  rg.columns.reserve(schema.size());
  for (size_t i = 0; i < schema.size(); i++) {
    const bool plain = plain_strings && i < plain_strings->size() && (*plain_strings)[i];
    ColumnData& c = rg.columns.emplace_back();
    c.kind = schema[i].kind;
    c.nullable = schema[i].nullable;
    c.str = StringColumn(!plain);
  }
  return rg;
}

}  // namespace mt::columnar
