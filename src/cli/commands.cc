#include "cli/commands.h"

#include "cli/settings.h"

namespace mt::cli {

namespace {

std::vector<FlagSpec> SelectionFlags(bool download) {
  std::vector<FlagSpec> f = {
      {"from", true, "first UTC day, YYYY-MM-DD"},
      {"to", true, "last UTC day, inclusive (default: --from)"},
      {"exchanges", true, "Tardis exchange ids, comma separated (env EXCHANGES)"},
      {"data-types", true, "data types, comma separated (env DATA_TYPES; default trades)"},
      {"symbols", true, "Tardis symbols; exchange:SYMBOL pins one exchange (env SYMBOLS)"},
      {"shard", true, "I/N: run shard I of N (also SHARD_INDEX/SHARD_COUNT, BATCH_TASK_INDEX/BATCH_TASK_COUNT)"},
      {"shards", true, "shard count with JOB_COMPLETION_INDEX (Kubernetes); for plan: print N shard sizes"},
  };
  if (!download) {
    f.push_back({"json", false, "print the plan as JSON"});
    return f;
  }
  for (auto& e : std::vector<FlagSpec>{
           {"output", true, "output directory (env OUTPUT_URI; default ./data)"},
           {"concurrency", true, "files in flight (env MAX_CONCURRENT_REQUESTS; default 8)"},
           {"force", false, "redo items whose object exists"},
           {"dry-run", false, "print the URLs that would be downloaded and stop"},
           {"summary-json", true, "write the run summary as JSON to this file"},
       }) {
    f.push_back(e);
  }
  for (auto& e : EngineFlags()) f.push_back(e);
  return f;
}

}  // namespace

const std::vector<Command>& Commands() {
  static const std::vector<Command> kCommands = {
      {"download", "download Tardis files and convert them to Parquet in storage",
       "--from D [--to D] --exchanges a,b --data-types t1,t2 --symbols s1,s2 [--output DIR]",
       SelectionFlags(true), RunDownload},
      {"plan", "print the work items a download would run, and shard sizes",
       "--from D [--to D] --exchanges a,b --data-types t1,t2 --symbols s1,s2 [--json] [--shards N]",
       SelectionFlags(false), RunPlan},
      {"convert", "convert local Tardis CSV(.gz) files to Parquet",
       "FILE.csv[.gz]... [--output DIR | FILE.parquet] [--data-type T]",
       {
           {"output", true,
            "output directory (storage layout) or one FILE.parquet (env OUTPUT_URI; default ./data)"},
           {"data-type", true, "expected Tardis data type; the header must match it"},
           {"compression", true, "zstd (default), snappy or none"},
           {"zstd-level", true, "ZSTD level, 1-19 (default 3)"},
           {"batch-size", true, "rows per Parquet row group (env BATCH_SIZE; default 1000000)"},
           {"threads", true, "encoding threads (default: number of cores)"},
           {"encodings", true,
            "modern (default: delta, byte-stream-split) or plain (dictionary and PLAIN only)"},
           {"gzip-engine", true, "isal (default when built with ISA-L) or zlib"},
           {"overwrite", true, "replace existing outputs: true (default) or false"},
       },
       RunConvert},
      {"schemas", "print the Parquet schema of every data type (Markdown)", "", {}, RunSchemas},
  };
  return kCommands;
}

}  // namespace mt::cli
