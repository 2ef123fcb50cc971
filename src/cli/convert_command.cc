// `market-tick convert FILE...`: local Tardis CSV(.gz) files to Parquet
// (pipeline/convert_job.h).
#include <cstdio>

#include "cli/commands.h"
#include "cli/options.h"

namespace mt::cli {

namespace {

template <typename Outputs>  // of pipeline::OutputFile
void PrintOutputs(const Outputs& outputs) {
  for (const auto& o : outputs) {
    std::printf("%s\t%llu\t%llu\n", o.name.c_str(), static_cast<unsigned long long>(o.rows),
                static_cast<unsigned long long>(o.bytes));
  }
}

}  // namespace

int RunConvert(const ParsedArgs& args, Context& ctx) {
  auto opts = ConvertOptionsFromArgs(args, ctx);
  if (!opts.ok()) return FailWith("convert", opts.status());
  std::unique_ptr<storage::ObjectStore> store;  // none with --output FILE.parquet
  if (opts->job.target.single_file.empty()) {
    auto opened = storage::OpenDataStore(opts->output, opts->store);
    if (!opened.ok()) return FailWith("convert", opened.status());
    store = std::move(*opened);
    if (const Status st = store->CheckWritable(); !st.ok()) return FailWith("convert", st);
    opts->job.target.store = store.get();
  }
  // Each file's objects as it is done, in input order: derived objects are
  // committed after the raw ones but listed with them.
  const pipeline::ConvertSummary summary = pipeline::RunConvertJob(opts->job, [](const pipeline::ConvertFileResult& r) {
    PrintOutputs(r.derived);
    PrintOutputs(r.outputs);
    FlushResultLines();
  });
  // The store recorded its layout before the first object (a run whose
  // inputs all fail leaves the output as it was); a store of another layout
  // was refused when it was opened, or, when a run of the other layout
  // recorded it first, at the first write (exit 2, nothing written).
  Status status = summary.status;
  if (store) status = WorseStatus(status, store->WriteRefusal());
  return ExitCodeFor(status);  // failures are logged by the job
}

}  // namespace mt::cli
