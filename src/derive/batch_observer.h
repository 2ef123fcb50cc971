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
  // After the last batch, before the raw outputs are committed: completes and
  // commits the observer's own outputs.
  virtual Status Finish() = 0;
  // Drops everything not yet committed; called instead of Finish() on error.
  virtual void Abort() = 0;
};

}  // namespace mt::derive
