#include "pipeline/stored_derive.h"

#include <memory>
#include <utility>

#include "core/utf8.h"
#include "parquet/file_reader.h"
#include "storage/layout.h"

namespace mt::pipeline {

namespace {

// Feeds the rows of the raw object open in `reader` to `engine`, row group
// by row group, as the converter's batches (the parsed columns, values dense,
// nulls in `defined`), and finishes it. One row group's columns are in
// memory at a time, read one column after another. The file's instrument_key
// column (absent from files written before it existed) is not the
// converter's: it is skipped.
Status FeedRowGroups(parquet::FileReader* reader, const std::string& label, const tardis::DataTypeSchema& schema,
                     derive::DeriveEngine* engine, const std::atomic<bool>* cancel, uint64_t* rows) {
  const std::vector<columnar::ColumnSpec> spec = schema.ParquetSchema();
  const std::vector<columnar::ColumnSpec> written = schema.OutputSchema();
  const parquet::FileMetaData& md = reader->metadata();
  if (md.leaves.size() != spec.size() && md.leaves.size() != written.size()) {
    return Status::InvalidInput(label + ": " + std::to_string(md.leaves.size()) + " columns where " + schema.name +
                                " has " + std::to_string(written.size()));
  }
  // Leaf of each parsed column: the written columns minus instrument_key.
  const bool keyed = written.size() != spec.size() && md.leaves.size() == written.size();
  std::vector<size_t> leaf(spec.size());
  for (size_t i = 0; i < spec.size(); i++) {
    leaf[i] = keyed && i >= tardis::kInstrumentKeyColumn ? i + 1 : i;
    const parquet::SchemaElement& e = md.schema[md.leaves[leaf[i]].schema_index];
    if (e.name != spec[i].name || e.type != parquet::PhysicalTypeOf(spec[i].kind)) {
      return Status::InvalidInput(label + ": column " + std::to_string(leaf[i] + 1) + " is '" + e.name + "', not " +
                                  schema.name + "'s '" + spec[i].name + "'");
    }
  }
  MT_RETURN_IF_ERROR(engine->OnSchema(schema));
  for (size_t g = 0; g < md.row_groups.size(); g++) {
    if (cancel && cancel->load()) return Status::Cancelled("interrupted");
    columnar::RowGroupData rg = columnar::MakeRowGroup(spec);
    rg.num_rows = static_cast<size_t>(md.row_groups[g].num_rows);
    for (size_t i = 0; i < spec.size(); i++) {
      MT_ASSIGN_OR_RETURN(parquet::ColumnValues v, reader->ReadColumn(g, leaf[i]));
      if (v.num_rows != rg.num_rows || v.defined.size() != rg.num_rows) {
        return Status::InvalidInput(label + ": row group " + std::to_string(g) + " column '" + spec[i].name +
                                    "' has " + std::to_string(v.num_rows) + " rows, not " +
                                    std::to_string(rg.num_rows));
      }
      columnar::ColumnData& c = rg.columns[i];
      for (size_t r = 0; r < rg.num_rows; r++) {
        if (!v.defined[r]) {
          c.AddNull(r);
          continue;
        }
        c.AddDefined();
        switch (spec[i].kind) {
          case columnar::ColumnKind::kTimestampMicros: c.i64.push_back(v.ints[r]); break;
          case columnar::ColumnKind::kDouble: c.f64.push_back(v.doubles[r]); break;
          case columnar::ColumnKind::kBool: c.b.push_back(v.bools[r]); break;
          case columnar::ColumnKind::kString: c.str.Append(v.strings[r]); break;
        }
      }
    }
    MT_RETURN_IF_ERROR(engine->OnBatch(rg));
    *rows += rg.num_rows;
  }
  return engine->Finish();
}

std::string KeyValue(const parquet::FileMetaData& md, const std::string& key) {
  for (const auto& [k, v] : md.key_value) {
    if (k == key) return v;
  }
  return "";
}

}  // namespace

Result<StoredDeriveResult> DeriveFromStoredObject(const StoredDeriveRequest& req) {
  const std::string label = req.store->Describe(req.raw_object);
  if (!req.schema) return Status::InvalidInput(label + ": no schema for its data type");
  // Open's errors name the object.
  MT_ASSIGN_OR_RETURN(std::unique_ptr<parquet::FileReader> reader, parquet::FileReader::Open(req.store, req.raw_object));
  // The object's footer names what it holds: another instrument's or data
  // type's file under this name (copied, or swapped by hand) would give
  // this instrument a series of other rows.
  for (const auto& [field, want] : {std::pair<const char*, std::string>{"instrument_key", req.key},
                                    std::pair<const char*, std::string>{"data_type", req.schema->name}}) {
    const std::string stored = KeyValue(reader->metadata(), field);
    if (!stored.empty() && !want.empty() && stored != want) {
      return Status::InvalidInput(label + ": its metadata says " + field + " " + EscapeOutsideText(stored, 200) +
                                  ", not " + want + ": the object holds other data than its name says; " +
                                  "download or convert it again with --force");
    }
  }
  derive::EngineOptions eo;
  eo.specs = req.specs;
  eo.store = req.store;
  eo.overwrite = req.overwrite;
  eo.writer = req.writer;
  eo.source = label;
  eo.day = req.day;
  eo.exchange = req.exchange.empty() ? KeyValue(reader->metadata(), "exchange") : req.exchange;
  eo.symbol = req.symbol.empty() ? KeyValue(reader->metadata(), "symbol") : req.symbol;
  eo.tool_version = req.tool_version;
  // Every row is the object's instrument.
  const std::string key = req.key;
  eo.key = [key](const Date&, const std::string&, const std::string&) -> Result<std::string> { return key; };
  derive::DeriveEngine engine(std::move(eo));
  StoredDeriveResult out;
  out.bytes_in = reader->file_size();
  const Status st = FeedRowGroups(reader.get(), label, *req.schema, &engine, req.cancel, &out.rows);
  if (!st.ok()) {
    engine.Abort();
    return st;
  }
  out.outputs = engine.outputs();
  return out;
}

Result<StoredDeriveResult> DeriveEachObject(StoredDeriveRequest base, const std::string& exchange,
                                            const std::vector<std::string>& keys) {
  StoredDeriveResult all;
  if (!base.schema) return all;
  for (const std::string& key : keys) {
    base.raw_object = base.store->layout().TickObjectName(base.day, base.schema->name, exchange, key);
    base.key = key;
    // The object was just written by this run, but another run of the same
    // item may replace it while it is read back (two runs at once with other
    // settings or another version, docs/STORAGE.md "Two runs at once"): its
    // footer from one version and its pages from the other read as damaged
    // or cut. A fresh read sees one whole version; up to two more.
    Result<StoredDeriveResult> read = DeriveFromStoredObject(base);
    for (int again = 0; again < 2 && !read.ok(); again++) {
      const Status::Code code = read.status().code();
      if (code == Status::Code::kCancelled || code == Status::Code::kUsage || code == Status::Code::kPermission) break;
      read = DeriveFromStoredObject(base);
    }
    MT_ASSIGN_OR_RETURN(StoredDeriveResult one, std::move(read));
    all.rows += one.rows;
    all.bytes_in += one.bytes_in;
    for (auto& o : one.outputs) all.outputs.push_back(std::move(o));
  }
  return all;
}

std::vector<derive::DerivedSpec> MissingDerived(storage::ObjectStore* store, const Date& day, const std::string& exchange,
                                                const std::string& key,
                                                const std::vector<derive::DerivedSpec>& specs,
                                                std::vector<std::string>* present) {
  std::vector<derive::DerivedSpec> missing;
  for (const derive::DerivedSpec& spec : specs) {
    const std::string name = store->layout().DerivedObjectName(day, spec.name, exchange, key);
    auto d = store->Exists(name);
    if (d.ok() && *d) {
      store->RemoveStaleTemporaries(name);
      if (present) present->push_back(name);
    } else {
      missing.push_back(spec);
    }
  }
  return missing;
}

}  // namespace mt::pipeline
