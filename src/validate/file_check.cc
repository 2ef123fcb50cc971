#include "validate/file_check.h"

#include <cstring>

#include "core/utf8.h"
#include "parquet/column_writer.h"
#include "parquet/file_reader.h"
#include "tardis/file_name.h"
#include "tardis/instrument_key.h"

namespace mt::validate {

namespace {

using columnar::ColumnKind;
using parquet::LogicalType;

std::string Describe(const parquet::SchemaElement& e) {
  std::string s = "'" + e.name + "' " + (e.type ? parquet::PhysicalTypeName(*e.type) : "GROUP");
  if (e.repetition) s += std::string(" ") + parquet::RepetitionName(*e.repetition);
  const std::string lt = parquet::LogicalTypeName(e.logical);
  if (!lt.empty()) s += " " + lt;
  return s;
}

std::string Describe(const columnar::ColumnSpec& c) {
  std::string s = "'" + c.name + "' " + parquet::PhysicalTypeName(parquet::PhysicalTypeOf(c.kind)) +
                  (c.nullable ? " OPTIONAL" : " REQUIRED");
  if (c.kind == ColumnKind::kString) s += " STRING";
  if (c.kind == ColumnKind::kTimestampMicros) s += " TIMESTAMP(MICROS,UTC)";
  return s;
}

bool Matches(const parquet::SchemaElement& e, const columnar::ColumnSpec& c) {
  if (e.name != c.name || e.type != parquet::PhysicalTypeOf(c.kind)) return false;
  const auto rep = c.nullable ? parquet::Repetition::kOptional : parquet::Repetition::kRequired;
  if (e.repetition != rep) return false;
  switch (c.kind) {
    case ColumnKind::kString:
      return e.logical.kind == LogicalType::Kind::kString ||
             (e.logical.kind == LogicalType::Kind::kNone &&
              e.converted_type == static_cast<int32_t>(parquet::ConvertedType::kUtf8));
    case ColumnKind::kTimestampMicros:
      if (e.logical.kind == LogicalType::Kind::kTimestamp) {
        return e.logical.unit == parquet::fid::kTuMicros && e.logical.adjusted_to_utc;
      }
      return e.logical.kind == LogicalType::Kind::kNone &&
             e.converted_type == static_cast<int32_t>(parquet::ConvertedType::kTimestampMicros);
    default:
      return e.logical.kind == LogicalType::Kind::kNone;
  }
}

// The reason goes to stdout, the HTML report and the missing-data report's
// STRING column, and may quote a damaged file's bytes (a footer value):
// valid UTF-8 on one line, or DuckDB refuses the report.
constexpr size_t kReasonBytes = 2000;  // of one reason, escaped

FileCheck Corrupt(std::string reason) {
  FileCheck c;
  c.status = ItemStatus::kCorrupt;
  c.reason = EscapeOutsideText(reason, kReasonBytes);
  return c;
}

std::optional<int64_t> StatI64(const std::optional<std::string>& v) {
  if (!v || v->size() != 8) return std::nullopt;
  int64_t x;
  std::memcpy(&x, v->data(), 8);
  return x;
}

// The string statistics of column `name` in row group `g`; false when the
// writer gave none (nothing to check).
bool StringStats(const parquet::FileMetaData& md, size_t g, const char* name, std::string_view* mn,
                 std::string_view* mx) {
  const int leaf = md.FindLeaf(name);
  if (leaf < 0) return false;
  const auto& cc = md.row_groups[g].columns[static_cast<size_t>(leaf)];
  if (!cc.statistics || !cc.statistics->min_value || !cc.statistics->max_value) return false;
  *mn = *cc.statistics->min_value;
  *mx = *cc.statistics->max_value;
  return true;
}

std::string Quoted(std::string_view v) { return "'" + EscapeOutsideText(v, 80) + "'"; }

// Why the rows are not this item's (see CheckFooter), or "".
std::string ContentMismatch(const parquet::FileMetaData& md, bool row_keys, const std::string& instrument_key, const std::string& exchange,
                            const std::string& symbol) {
  const bool grouped = tardis::IsGroupedSymbol(tardis::AsciiUpper(symbol));
  const std::string want_symbol = tardis::FileNameSymbol(symbol);
  // An options chain's options: VENUE:OPTION:BASE-QUOTE-... of VENUE:OPTIONS:BASE-QUOTE.
  std::string option_prefix;
  if (row_keys) {
    const size_t p = instrument_key.find(":OPTIONS:");
    if (p != std::string::npos) {
      option_prefix = instrument_key.substr(0, p) + ":OPTION:" + instrument_key.substr(p + 9) + "-";
    }
  }
  const std::string item = "this item's (" + exchange + " " + symbol + ")";
  std::string first_symbol;  // of a grouped file's instrument: the same in every row group
  for (size_t g = 0; g < md.row_groups.size(); g++) {
    if (md.row_groups[g].num_rows == 0) continue;
    const std::string where = " (row group " + std::to_string(g) + " statistics)";
    std::string_view mn, mx;
    if (StringStats(md, g, "exchange", &mn, &mx) && (mn != exchange || mx != exchange)) {
      return "rows of exchange " + Quoted(mn != exchange ? mn : mx) + where + ", not " + item +
             ": the file holds another instrument's data";
    }
    if (!row_keys && StringStats(md, g, "symbol", &mn, &mx)) {
      if (mn != mx) {
        return "rows of several symbols, " + Quoted(mn) + " to " + Quoted(mx) + where + ", where " + item +
               " has one: the file holds another instrument's data";
      }
      if (grouped && first_symbol.empty()) first_symbol = std::string(mn);
      if ((!grouped && tardis::FileNameSymbol(mn) != want_symbol) || (grouped && mn != first_symbol)) {
        return "rows of symbol " + Quoted(mn) + where + ", not " + item + ": the file holds another instrument's data";
      }
    }
    // A file of one instrument names it in every row: the object's key.
    if (!row_keys && !instrument_key.empty() && StringStats(md, g, "instrument_key", &mn, &mx) &&
        (mn != instrument_key || mx != instrument_key)) {
      return "rows of instrument_key " + Quoted(mn != instrument_key ? mn : mx) + where + ", not this object's " +
             instrument_key;
    }
    if (const int leaf = md.FindLeaf("instrument_key"); !row_keys && !instrument_key.empty() && leaf >= 0) {
      const auto& st = md.row_groups[g].columns[static_cast<size_t>(leaf)].statistics;
      if (st && st->null_count.value_or(0) > 0) {
        return "rows without an instrument_key" + where + " in the file of " + instrument_key;
      }
    }
    // Sorted bytes: both ends share the prefix only if every value does.
    if (!option_prefix.empty() && StringStats(md, g, "instrument_key", &mn, &mx) &&
        (mn.rfind(option_prefix, 0) != 0 || mx.rfind(option_prefix, 0) != 0)) {
      return "rows of instrument_key " + Quoted(mn.rfind(option_prefix, 0) != 0 ? mn : mx) + where +
             ", not an option of " + instrument_key + ": the file holds another chain's data";
    }
  }
  return "";
}

// CheckFooter of a file of data type `type` whose columns are `want`;
// `row_keys`: an options chain (an instrument_key column per row).
FileCheck CheckFooterAs(const parquet::FileMetaData& md, const std::string& type,
                        const std::vector<columnar::ColumnSpec>& want, bool row_keys, const Date& day,
                        const std::string& instrument_key, const std::string& exchange, const std::string& symbol) {
  const bool flat = md.schema.size() == md.leaves.size() + 1;
  if (!flat || md.leaves.size() != want.size()) {
    return Corrupt("schema does not match " + type + ": " + std::to_string(md.leaves.size()) + " columns" +
                   (flat ? "" : " (nested)") + " where " + type + " has " + std::to_string(want.size()));
  }
  for (size_t i = 0; i < want.size(); i++) {
    const parquet::SchemaElement& e = md.schema[md.leaves[i].schema_index];
    if (!Matches(e, want[i])) {
      return Corrupt("schema does not match " + type + ": column " + std::to_string(i + 1) + " is " + Describe(e) +
                     ", expected " + Describe(want[i]));
    }
  }
  if (auto dt = md.Metadata("data_type"); dt && !dt->empty() && *dt != type) {
    return Corrupt("file metadata says data_type " + *dt + ", not " + type);
  }
  if (auto key = md.Metadata("instrument_key"); key && !key->empty() && !instrument_key.empty() &&
                                                *key != instrument_key) {
    return Corrupt("file metadata says instrument_key " + *key + ", not " + instrument_key);
  }
  if (auto rc = md.Metadata("row_count"); rc && !rc->empty() && *rc != std::to_string(md.num_rows)) {
    return Corrupt("file metadata says row_count " + *rc + " but the footer has " + std::to_string(md.num_rows) +
                   " rows");
  }
  if (!exchange.empty() && !symbol.empty()) {
    if (std::string problem = ContentMismatch(md, row_keys, instrument_key, exchange, symbol); !problem.empty()) {
      return Corrupt(std::move(problem));
    }
  }
  FileCheck out;
  out.rows = md.num_rows;
  if (md.num_rows == 0) {
    out.status = ItemStatus::kNoData;
    return out;
  }
  // local_timestamp statistics: inside [day, day + 1) and rising across row groups.
  const int lts = md.FindLeaf("local_timestamp");
  std::optional<int64_t> prev_max;
  for (size_t g = 0; g < md.row_groups.size(); g++) {
    if (md.row_groups[g].num_rows == 0) continue;
    const auto& cc = md.row_groups[g].columns[static_cast<size_t>(lts)];
    if (!cc.statistics) return out;  // another writer without statistics: nothing to check
    const auto mn = StatI64(cc.statistics->min_value), mx = StatI64(cc.statistics->max_value);
    if (!mn || !mx) return out;
    if (*mn > *mx) return Corrupt("row group " + std::to_string(g) + " local_timestamp statistics have min > max");
    if (prev_max && *mn < *prev_max) {
      return Corrupt("row group " + std::to_string(g) + " starts at local_timestamp " + FormatIsoMicros(*mn) +
                     ", before the previous row group ends (" + FormatIsoMicros(*prev_max) + ")");
    }
    prev_max = *mx;
    if (!out.first_local_ts) out.first_local_ts = *mn;
    out.last_local_ts = *mx;
  }
  if (out.first_local_ts) {
    if (std::string problem = OutsideDay(*out.first_local_ts, *out.last_local_ts, day); !problem.empty()) {
      return Corrupt(std::move(problem));
    }
  }
  return out;
}

}  // namespace

FileCheck CheckFooter(const parquet::FileMetaData& md, const tardis::DataTypeSchema& schema, const Date& day,
                      const std::string& instrument_key, const std::string& exchange, const std::string& symbol) {
  // Schema: exactly the data type's columns, in order. Files written before
  // every tick file had an instrument_key column (a store of an earlier
  // version) have the parsed columns only: a file without that column is
  // checked as one of those, so old stores stay valid; a file with it must
  // have it where this version writes it.
  const bool keyless = !schema.row_keys && md.FindLeaf("instrument_key") < 0;
  // Rows kept without a key (VENUE:UNKEYED:SYMBOL) have a null
  // instrument_key: no key to check them against.
  static const std::string kNoKey;
  return CheckFooterAs(md, schema.name, keyless ? schema.ParquetSchema() : schema.OutputSchema(), schema.row_keys,
                       day, tardis::IsUnkeyedKey(instrument_key) ? kNoKey : instrument_key, exchange, symbol);
}

FileCheck CheckDerivedFooter(const parquet::FileMetaData& md, const derive::DerivedSpec& spec, const Date& day,
                             const std::string& instrument_key, const std::string& exchange,
                             const std::string& symbol) {
  return CheckFooterAs(md, spec.name, derive::DerivedParquetSchema(spec), false, day, instrument_key, exchange,
                       symbol);
}

namespace {

// NAME's footer checked by CHECK. A file that cannot be opened is corrupt;
// *read_error (when given) gets such a failure when it is not about the data.
template <typename FooterCheck>
FileCheck CheckOpened(storage::ObjectStore* store, const std::string& name, Status* read_error, FooterCheck check) {
  auto r = parquet::FileReader::Open(store, name);
  if (!r.ok()) {
    const Status& st = r.status();
    if (read_error && st.code() != Status::Code::kInvalidInput) *read_error = st;
    std::string msg = st.message();
    // The reader prefixes the location; the report already names the object.
    const std::string where = store->Describe(name) + ": ";
    if (msg.rfind(where, 0) == 0) msg = msg.substr(where.size());
    return Corrupt(st.code() == Status::Code::kInvalidInput ? msg : "cannot read: " + msg);
  }
  return check((*r)->metadata());
}

}  // namespace

FileCheck CheckDerivedObject(storage::ObjectStore* store, const std::string& name, const derive::DerivedSpec& spec,
                             const Date& day, const std::string& instrument_key, Status* read_error,
                             const std::string& exchange, const std::string& symbol) {
  return CheckOpened(store, name, read_error, [&](const parquet::FileMetaData& md) {
    return CheckDerivedFooter(md, spec, day, instrument_key, exchange, symbol);
  });
}

FileCheck CheckObject(storage::ObjectStore* store, const std::string& name, const tardis::DataTypeSchema& schema,
                      const Date& day, const std::string& instrument_key, Status* read_error,
                      const std::string& exchange, const std::string& symbol) {
  return CheckOpened(store, name, read_error, [&](const parquet::FileMetaData& md) {
    return CheckFooter(md, schema, day, instrument_key, exchange, symbol);
  });
}

}  // namespace mt::validate
