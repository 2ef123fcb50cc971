// Something that reads the parsed column batches of a conversion beside the
// raw Parquet writer (derived data, for one): the converter calls it with
// every batch before routing it, so it computes in the same pass, without a
// second read of the input.
#pragma once

#include "columnar/column_data.h"
#include "core/status.h"
#include "tardis/schema.h"

namespace mt::derive {

class BatchObserver {
 public:
  virtual ~BatchObserver() = default;
  // Once, before the first batch: the data type of the rows.
  virtual Status OnSchema(const tardis::DataTypeSchema& schema) = 0;
  // Every batch in input order, one call at a time (possibly from a pool
  // thread). The batch is only borrowed.
  virtual Status OnBatch(const columnar::RowGroupData& batch) = 0;
  // Rows [begin, end) of `rows`, in input order, as soon as they are parsed
  // (tardis::BatchSink::OnRows), before the batch that holds them goes to
  // OnBatch(); borrowed for the call. An observer takes its rows from here
  // or from OnBatch(), not both: by default from OnBatch().
  virtual Status OnRows(const columnar::RowGroupData& rows, size_t begin, size_t end) {
    (void)rows, (void)begin, (void)end;
    return Status::OK();
  }
  // Whether the observer reads column `index` of `schema` (a copy of the
  // rows may leave the others out). Called after OnSchema().
  virtual bool ReadsColumn(const tardis::DataTypeSchema& schema, size_t index) const {
    (void)schema, (void)index;
    return true;
  }
  // No more rows will come: the observer may complete its outputs (all but
  // making them visible) while the raw ones are finished. Optional: Finish()
  // does it when this was not called.
  virtual Status EndOfInput() { return Status::OK(); }
  // After the last batch, after the raw outputs are committed: completes and
  // commits the observer's own outputs.
  virtual Status Finish() = 0;
  // Drops everything not yet committed; called instead of Finish() on error.
  virtual void Abort() = 0;
};

}  // namespace mt::derive
