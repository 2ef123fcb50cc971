#include "cli/commands.h"

namespace mt::cli {

const std::vector<Command>& Commands() {
  static const std::vector<Command> kCommands = {
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
