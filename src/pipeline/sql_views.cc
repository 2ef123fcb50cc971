#include "pipeline/sql_views.h"

#include <cctype>
#include <map>
#include <optional>

#include "derive/names.h"
#include "tardis/schema.h"

namespace mt::pipeline {

namespace {

// Letters, digits and '_' only: every name of the schema table
// (incremental_book_L2 has upper case) and every BigQuery dataset name; such a
// name needs no escaping inside quotes or a path. Derived names may also hold
// a '.' (trade_bar_0.5vol, book_snapshot_5_grouped0.5_1s): see DerivedName.
bool WordName(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

// A DuckDB identifier, always double-quoted (names are WordName, so no '"'
// to double): a name with upper case or one that is a keyword stays as it is.
std::string Ident(const std::string& s) { return "\"" + s + "\""; }

// A single-quoted SQL string literal (DuckDB: '' for a quote).
std::string Quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

// The stored (canonical) form of a derived name, or nothing: trade_bar_60s is
// stored as trade_bar_1m. The grammar allows letters, digits, '_' and '.' only,
// so the name needs no escaping inside quotes or a path either.
std::optional<std::string> DerivedName(const std::string& t) {
  if (tardis::FindSchema(t)) return std::nullopt;
  auto spec = derive::ParseDerivedName(t);
  if (!spec.ok()) return std::nullopt;
  return spec->name;
}

// BigQuery table names take letters, digits and '_' but no '.': a decimal
// point of a derived name becomes '_' (trade_bar_0.5vol -> trade_bar_0_5vol;
// no two names of the grammar meet, since none has '_' between digits).
std::string BigQueryTableName(std::string name) {
  for (char& c : name) {
    if (c == '.') c = '_';
  }
  return name;
}

// The day of a by_date file: its day folder, the last one in the path
// (greedy `.*`), so a folder above the store named like one (a backup under
// day-1999-12-31/) is not taken for it. by_date views read no Hive
// partitions (hive_partitioning = false): a k=v folder above the store would
// otherwise add a column to every row.
constexpr const char* kDayOfFile = "regexp_extract(filename, '.*/day-([0-9]{4}-[0-9]{2}-[0-9]{2})/', 1)";

// Why DuckDB or BigQuery would read another set of files than the store's
// from a path under `root`, or empty: glob characters ([ ] * ? and DuckDB's
// escape \) expand, matching sibling folders or none; and in a hive store a
// folder above it named like one of its partitions (date=..., data_type=...)
// is read as that partition, its value given to every row.
std::string RootProblem(const storage::Layout& layout, const std::string& root) {
  const size_t glob = root.find_first_of("[]*?\\");
  if (glob != std::string::npos) {
    return std::string("its path holds '") + root[glob] +
           "', which DuckDB and BigQuery read as a wildcard (the views would read other folders' files or "
           "none)";
  }
  if (layout.kind() != storage::LayoutKind::kHive) return "";
  for (const std::string key : {"data_type", "date", "exchange", "exchange_id"}) {
    const std::string part = "/" + key + "=";
    if (root.find(part) != std::string::npos || root.rfind(key + "=", 0) == 0) {
      return "a folder of its path is named like its " + key +
             " partition, which DuckDB would read as that partition of every row";
    }
  }
  return "";
}

// A DuckDB view over one data type. hive: the path's partitions, typed; the
// exchange_id partition stands in for the files' `exchange` column (the same
// value), so a filter on `exchange` skips whole folders and the view has the
// columns of a version 1 store's. by_date: the same columns computed from the
// file name, so a query is the same in both layouts (the files carry
// `exchange` themselves).
std::string DuckDbView(const storage::Layout& layout, const std::string& root, const std::string& name,
                       bool derived) {
  const std::string glob = root + "/" + layout.DataTypeGlob(name, derived);
  if (layout.kind() == storage::LayoutKind::kHive) {
    const std::string key = layout.ExchangeKey();
    const std::string select = key == "exchange" ? "SELECT *" : "SELECT * EXCLUDE (" + key + ") REPLACE (" + key +
                                                                    " AS exchange)";
    return "CREATE OR REPLACE VIEW " + Ident(name) + " AS\n" + select + " FROM read_parquet(" + Quoted(glob) +
           ", hive_partitioning = true, hive_types = {'data_type': VARCHAR, 'date': DATE, '" + key +
           "': VARCHAR}, union_by_name = true);\n";
  }
  return "CREATE OR REPLACE VIEW " + Ident(name) + " AS\nSELECT * EXCLUDE (filename), " + Quoted(name) +
         " AS data_type,\n  CAST(" + kDayOfFile +
         " AS DATE) AS date\n"
         "FROM read_parquet(" +
         Quoted(glob) + ", filename = true, hive_partitioning = false, union_by_name = true);\n";
}

std::string DuckDbInstruments(const storage::Layout& layout, const std::string& root) {
  const std::string glob = root + "/" + layout.InstrumentsGlob();
  if (layout.kind() == storage::LayoutKind::kHive) {
    return "CREATE OR REPLACE VIEW \"instruments\" AS\nSELECT * FROM read_parquet(" + Quoted(glob) +
           ", hive_partitioning = true, hive_types = {'date': DATE}, union_by_name = true);\n";
  }
  return std::string("CREATE OR REPLACE VIEW \"instruments\" AS\nSELECT * EXCLUDE (filename),\n  CAST(") + kDayOfFile +
         " AS DATE) AS date\n"
         "FROM read_parquet(" +
         Quoted(glob) + ", filename = true, hive_partitioning = false, union_by_name = true);\n";
}

// BigQuery's DDL for an external table over Hive partitions (Google's
// "CREATE EXTERNAL TABLE statement"): the partition columns in path order,
// the URI prefix ending just before the first partition. The table's path is
// one backquoted identifier (names are WordName). BigQuery refuses partition
// keys that are also columns of the files: a version 1 hive store, whose
// exchange partition is `exchange` like the files' column, gets a table
// without partition columns (every column from the files).
std::string BigQueryTable(const storage::Layout& layout, const std::string& root, const std::string& dataset,
                          const std::string& name, bool derived) {
  const std::string prefix = root + "/" + (derived ? "derived_data" : "raw_tick_data");
  // `*.parquet`: the wildcard spans folders, and the items' JSON records
  // (…/_items/*.json) beside the data are no Parquet files.
  const std::string uris =
      "  uris = [" + Quoted(root + "/" + layout.DataTypePrefix(name, derived) + "*.parquet") + "]\n);\n";
  const std::string table = "CREATE OR REPLACE EXTERNAL TABLE `" + dataset + "." + BigQueryTableName(name) + "`\n";
  if (layout.hive_version() == storage::Layout::kHiveExchangeV1) {
    return table + "OPTIONS (\n  format = 'PARQUET',\n" + uris;
  }
  return table + "WITH PARTITION COLUMNS (\n  data_type STRING,\n  date DATE,\n  " + layout.ExchangeKey() +
         " STRING\n)\nOPTIONS (\n  format = 'PARQUET',\n  hive_partition_uri_prefix = " + Quoted(prefix) + ",\n" +
         uris;
}

}  // namespace

Result<std::string> SqlDefinitions(storage::ObjectStore* store, const SqlViewsOptions& opts) {
  const storage::Layout& layout = store->layout();
  const bool bigquery = opts.engine == SqlEngine::kBigQuery;
  if (bigquery && layout.kind() != storage::LayoutKind::kHive) {
    return Status::Usage(store->Describe("") + " is a by_date store: BigQuery's external tables read Hive "
                         "partitions only, so write a store with --layout hive (or use --engine duckdb)");
  }
  if (bigquery && opts.root.rfind("gs://", 0) != 0) {
    return Status::Usage("BigQuery reads gs:// stores only; " + opts.root + " is local (use --engine duckdb)");
  }
  // Datasets: letters, digits and '_' (Google's naming rules).
  if (bigquery && opts.dataset.empty()) return Status::Usage("--dataset is empty");
  if (bigquery && !WordName(opts.dataset)) {
    return Status::Usage("--dataset '" + opts.dataset + "': letters, digits and '_' only");
  }
  if (const std::string why = RootProblem(layout, opts.root); !why.empty()) {
    return Status::Usage(opts.root + ": " + why + "; move or link the store to a path without it");
  }
  std::map<std::string, bool> types;  // name -> derived
  bool instruments = false;
  if (!opts.data_types.empty()) {
    for (const std::string& t : opts.data_types) {
      if (auto derived = DerivedName(t)) {
        types[*derived] = true;
      } else if (WordName(t) && tardis::FindSchema(t)) {
        types[t] = false;
      } else {
        return Status::Usage("--data-types: '" + t + "' is neither a Tardis data type nor a derived name");
      }
    }
  } else {
    // The store's objects as it lists them, not gathered (a day may hold
    // millions): only the data types they name are kept.
    for (const char* root : {"raw_tick_data/", "derived_data/"}) {
      MT_RETURN_IF_ERROR(store->ListEach(root, [&](storage::ObjectInfo&& o) {
        bool derived = false;
        auto t = layout.DataTypeOfName(o.name, &derived);
        // Only names of the grammars (a stray folder is no data type).
        if (t && (derived ? DerivedName(*t).has_value() : WordName(*t) && tardis::FindSchema(*t) != nullptr)) {
          types.emplace(*t, derived);
        }
        return Status::OK();
      }));
    }
    // The first file of definitions answers: the listing stops there.
    const Status defs = store->ListEach("instrument_availability/", [&instruments](storage::ObjectInfo&& o) {
      const std::string& n = o.name;
      if (n.size() > 20 && n.compare(n.size() - 20, 20, "/instruments.parquet") == 0) {
        instruments = true;
        return Status::Cancelled("one file of definitions is enough");
      }
      return Status::OK();
    });
    if (!instruments) MT_RETURN_IF_ERROR(defs);
    if (types.empty() && !instruments) {
      return Status::Usage(store->Describe("") + " holds no tick data, derived data or instrument definitions to "
                           "define views over (a " + std::string(layout.name()) + " store)");
    }
  }
  std::string out = bigquery ? "" : "SET TimeZone = 'UTC';\n";
  if (bigquery && layout.hive_version() == storage::Layout::kHiveExchangeV1) {
    out += "-- " + store->Describe("") + " is a hive store of format version 1: its exchange partition is named\n"
           "-- `exchange`, as the files' column, and BigQuery refuses a Hive partition key that is also a\n"
           "-- column of the files. These tables read every column from the files, without partition\n"
           "-- columns (no `date`, no `data_type`, no pruning by path). A store written anew with\n"
           "-- --layout hive names the partition exchange_id and gets partitioned tables.\n";
  }
  for (const auto& [name, derived] : types) {
    out += bigquery ? BigQueryTable(layout, opts.root, opts.dataset, name, derived)
                    : DuckDbView(layout, opts.root, name, derived);
  }
  if (instruments && !bigquery) out += DuckDbInstruments(layout, opts.root);
  return out;
}

}  // namespace mt::pipeline
