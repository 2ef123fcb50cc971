#include "cli/commands.h"

#include "cli/settings.h"
#include "pipeline/estimate.h"
#include "pipeline/instruments_job.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/cancel.h"
#include "core/log.h"
#include "core/redact.h"
#include "core/utf8.h"

namespace mt::cli {

const char* const kVersion = MT_VERSION;

namespace {

// The outputs' help: the spec's variable and default are printed after it.
constexpr const char* kOutputHelp =
    "output directory or gs://BUCKET/PREFIX; without it and OUTPUT_URI, gs://$GCS_BUCKET when GCS_BUCKET is set";

// --layout of every command that opens a store (storage/layout_record.h).
const FlagSpec kLayoutFlag = {
    "layout", true,
    "by_date (default) or hive: how a new store names its objects; a store keeps the layout it was first written "
    "with (recorded in market-tick-store.json), and a --layout that disagrees is an error (docs/STORAGE.md)",
    "OUTPUT_LAYOUT"};

// The instrument filters of download, plan and validate (plan.h PlanRequest).
std::vector<FlagSpec> FilterFlags() {
  return {
      {"instrument-types", true, "with definitions: spot, perpetual, future, option, combo, prediction", "INSTRUMENT_TYPES"},
      {"base", true, "with definitions: base assets, e.g. BTC,ETH", "BASE_ASSETS"},
      {"quote", true, "with definitions: quote assets, e.g. USDT", "QUOTE_ASSETS"},
      {"max-instruments", true, "with definitions: at most N instruments per day, in key order", "MAX_INSTRUMENTS"},
      {"max-days-to-expiry", true, "with definitions: futures and options expiring within N days of the day"},
  };
}

// --from and --to of every command that takes days (settings.h DayFromFlag).
constexpr const char* kFromHelp = "first UTC day: YYYY-MM-DD or YYYY-MM-DDT00:00:00Z (midnight UTC only)";
constexpr const char* kToHelp =
    "last UTC day, INCLUSIVE (default: --from); same forms as --from. tardis-dev's to_date is exclusive: its "
    "to_date 2024-02-01 is --to 2024-01-31 here";

std::vector<FlagSpec> SelectionFlags(bool download) {
  std::vector<FlagSpec> f = {
      {"from", true, kFromHelp},
      {"to", true, kToHelp},
      {"exchanges", true, "Tardis exchange ids, comma separated; an unknown id is an error", "EXCHANGES"},
      {"data-types", true,
       "data types, comma separated; default: trades with --symbols, else what each instrument lists", "DATA_TYPES"},
      {"symbols", true,
       "Tardis symbols; exchange:SYMBOL pins one exchange, a bare symbol goes to the exchanges whose stored "
       "definitions (else symbol rules) know it, an instrument key (DERIBIT:PERPETUAL:BTC-USD) names the "
       "instrument the stored definitions give it. Without it the instruments come from the day's "
       "instrument definitions in the output store",
       "SYMBOLS"},
  };
  for (auto& e : FilterFlags()) f.push_back(e);
  f.push_back({"shard", true, "I/N: run shard I of N (also SHARD_INDEX/SHARD_COUNT, BATCH_TASK_INDEX/BATCH_TASK_COUNT)"});
  f.push_back({"shards", true,
               "shard count with JOB_COMPLETION_INDEX (Kubernetes); for plan: print N shard sizes (the flag only)",
               "SHARD_COUNT"});
  f.push_back({"derive", true,
               download ? "derived data types computed from each item in the same pass, comma separated (as convert "
                          "--derive; only for items of their source data type); an item whose raw object exists but a "
                          "derived one does not gets it computed from the stored raw Parquet, without a request "
                          "(docs/DERIVED.md)"
                        : "also list the derived items (one per item of the source data type and name) that download "
                          "--derive would write"});
  f.push_back({"estimate", false,
               std::string(download ? "with --dry-run: " : "") +
                   "sample Tardis dataset sizes (HEAD requests spread over days, exchanges, data types and symbols) "
                   "and print the expected download size, object count and machine-hours (docs/ESTIMATES.md)"});
  f.push_back({"estimate-samples", true, "--estimate: at most this many sampled files", "ESTIMATE_SAMPLES",
               std::to_string(pipeline::kDefaultEstimateSamples)});
  f.push_back({"estimate-mb-per-second", true,
               "--estimate: MB (10^6 bytes) of compressed download one machine downloads and converts per second "
               "(bench/README.md, download + convert on 2 cores)",
               "ESTIMATE_MB_PER_SECOND", std::to_string(static_cast<int>(pipeline::kDefaultEstimateMbPerSecond))});
  if (!download) {
    f.push_back({"json", false, "print the plan as JSON"});
    f.push_back({"output", true, std::string("where instrument definitions are read: ") + kOutputHelp,
                 "OUTPUT_URI", "./data"});
    f.push_back(kLayoutFlag);
    return f;
  }
  for (auto& e : std::vector<FlagSpec>{
           {"output", true, kOutputHelp, "OUTPUT_URI", "./data"},
           kLayoutFlag,
           {"concurrency", true, "files in flight", "MAX_CONCURRENT_REQUESTS", "8"},
           {"force", false, "redo items whose object exists"},
           {"dry-run", false, "print the URLs that would be downloaded and stop"},
           {"from-report", false,
            "download exactly the missing and corrupt items of the days' missing-data reports (market-tick validate)"},
           {"summary-json", true, "write the run summary as JSON to this file (whole or not at all; if it cannot be written, the run fails)"},
       }) {
    f.push_back(e);
  }
  for (auto& e : EngineFlags()) f.push_back(e);
  return f;
}

std::vector<FlagSpec> ValidateFlags() {
  std::vector<FlagSpec> f = {
      {"from", true, kFromHelp},
      {"to", true, kToHelp},
      {"exchanges", true, "Tardis exchange ids, comma separated; default: all", "EXCHANGES"},
      {"data-types", true,
       "data types, comma separated; default: what each instrument lists, trades with --symbols; a derived name "
       "(book_snapshot_10_1s, trade_bar_1m) is expected wherever its source data type is, without the source's own "
       "files unless that is listed too",
       "DATA_TYPES"},
      {"derive", true,
       "derived names expected beside every expected item of their source data type (as download --derive "
       "writes them); their files are checked like any other (docs/DERIVED.md)"},
      {"symbols", true, "expect these Tardis symbols (as download) instead of the instrument definitions", "SYMBOLS"},
  };
  for (auto& e : FilterFlags()) f.push_back(e);
  for (auto& e : std::vector<FlagSpec>{
           {"output", true, std::string("the storage to check: ") + kOutputHelp, "OUTPUT_URI", "./data"},
           kLayoutFlag,
           {"deep", false, "read every present file's footer: rows, schema, timestamps inside the day, truncation"},
           {"report", true, "write a self-contained HTML coverage report to this file, or to gs://BUCKET/NAME.html"},
           {"concurrency", true, "footers read at once with --deep", "", "16"},
           {"read-only", false, "do not write missing_data_reports/ objects"},
           {"summary-json", true,
            "write the counts per status (total and per data type) and the verdict as JSON to this file (whole or not "
            "at all; if it cannot be written, the run fails)"},
       }) {
    f.push_back(e);
  }
  return f;
}

// derive's flags: download's selection and shard, its own names and runs.
std::vector<FlagSpec> DeriveFlags() {
  std::vector<FlagSpec> f = {
      {"from", true, "first UTC day, YYYY-MM-DD"},
      {"to", true, kToHelp},
      {"exchanges", true,
       "Tardis exchange ids, comma separated; without --symbols, every stored raw object of these exchanges "
       "(default: all)",
       "EXCHANGES"},
      {"data-types", true,
       "derived names to compute (as --derive), and optionally their source data types (incremental_book_L2, "
       "trades)",
       "DATA_TYPES"},
      {"derive", true,
       "derived data types to compute, comma separated: book_snapshot_{depth}_{interval}, "
       "book_snapshot_{depth}_grouped{step}_{interval}, trade_bar_{interval}, trade_bar_{n}ticks, "
       "trade_bar_{volume}vol (docs/DERIVED.md)"},
      {"symbols", true,
       "Tardis symbols (as download: exchange:SYMBOL or bare); without it, every raw object stored for the days "
       "(a grouped symbol such as OPTIONS: the objects its download recorded)",
       "SYMBOLS"},
  };
  for (auto& e : FilterFlags()) f.push_back(e);
  for (auto& e : std::vector<FlagSpec>{
           {"shard", true, "I/N: run shard I of N (also SHARD_INDEX/SHARD_COUNT, BATCH_TASK_INDEX/BATCH_TASK_COUNT)"},
           {"shards", true, "shard count with JOB_COMPLETION_INDEX (Kubernetes)", "SHARD_COUNT"},
           {"output", true, std::string("the store holding the raw data, where derived data is written: ") + kOutputHelp,
            "OUTPUT_URI", "./data"},
           kLayoutFlag,
           {"concurrency", true, "items at once (items with book snapshots run one at a time)", "", "2"},
           {"force", false, "recompute derived objects that exist"},
           {"from-report", false,
            "compute exactly the missing and corrupt derived items of the days' missing-data reports (market-tick "
            "validate), of the names given if any"},
           {"summary-json", true,
            "write the run summary as JSON to this file (whole or not at all; if it cannot be written, the run "
            "fails)"},
       }) {
    f.push_back(e);
  }
  for (auto& e : EngineFlags()) {
    if (e.name != "batch-size" && e.name != "gzip-engine") f.push_back(e);
  }
  return f;
}

// convert's flags: the engine's (shared with download) between its own.
std::vector<FlagSpec> ConvertFlags() {
  std::vector<FlagSpec> f = {
      {"output", true,
       "output directory, file://PATH or gs://BUCKET/PREFIX (storage layout, instruments keyed as the day's "
       "definitions there say, from `market-tick instruments`), or one FILE.parquet",
       "OUTPUT_URI", "./data"},
      kLayoutFlag,
      {"data-type", true,
       "the files' Tardis data type (default: from the file name, {exchange}_{data_type}_{YYYY-MM-DD}_{SYMBOL}"
       ".csv.gz); the header must be that type's. Needed when the name gives none and the header fits two "
       "types: liquidations share the trades header, book_ticker the quotes header"},
  };
  for (FlagSpec e : EngineFlags()) {
    if (e.name == "threads") {
      e.help = "threads in all: one reads and inflates, all parse and encode (default: number of cores); with "
               "--derive and --threads 2 or more, one more thread computes the derived series beside them";
    }
    f.push_back(std::move(e));
  }
  // One spelling of "redo what exists" across commands: --force. convert
  // replaced outputs by default before --force existed, and still does.
  f.push_back({"force", false, "replace outputs that exist (convert's default)"});
  f.push_back({"no-force", false, "keep outputs that exist: create-only, an existing object is left as it is"});
  f.push_back({"overwrite", true, "old spelling: true = --force, false = --no-force", "", "", true});
  f.push_back({"derive", true,
               "derived data types to compute in the same pass, comma separated: book_snapshot_{depth}_{interval}, "
               "book_snapshot_{depth}_grouped{step}_{interval}, trade_bar_{interval}, trade_bar_{n}ticks, "
               "trade_bar_{volume}vol (interval {n}ms, {n}s or {n}m); written to derived_data/ in the output store "
               "(see docs/DERIVED.md)"});
  return f;
}

}  // namespace

int FailWith(const std::string& command, const Status& status) {
  const std::string line = "market-tick" + (command.empty() ? "" : " " + command) + ": " + status.message();
  if (log::JsonEnabled()) {
    log::Error(line);
  } else {
    // As log::Write: one line, whatever outside text the message quotes.
    std::fprintf(stderr, "%s\n", EscapeControlChars(RedactSecrets(line)).c_str());
  }
  return ExitCodeFor(status);
}

void FlushResultLines() {
  if (std::fflush(stdout) == 0 && !std::ferror(stdout)) return;
  static std::atomic<bool> said{false};
  if (!said.exchange(true)) {
    log::Error(std::string("stdout cannot be written (") + std::strerror(errno) +
               "): its reader went away; stopping as if interrupted");
  }
  RequestCancel();
}

const std::vector<Command>& Commands() {
  static const std::vector<Command> kCommands = {
      {"instruments",
       "build instrument definitions per day from Tardis metadata; each run adds its exchanges to the files",
       "--from D [--to D] [--exchanges a,b] [--quote USDT] [--output URI] [--format table|csv|json]",
       {
           {"from", true, kFromHelp},
           {"to", true, kToHelp},
           {"exchanges", true, "Tardis exchange ids, comma separated (default: the seed's eight venues)", "EXCHANGES",
            pipeline::kDefaultInstrumentExchanges},
           {"quote", true, "keep only instruments with these quote assets, e.g. USDT,USDC (default: all)"},
           {"output", true, kOutputHelp, "OUTPUT_URI", "./data"},
           kLayoutFlag,
           {"format", true, "table, csv or json: print the definitions of the range to stdout instead"},
           {"force", false,
            "rewrite the requested exchanges in files that hold them (other exchanges' rows are kept; "
            "without it a run adds only exchanges a file lacks or holds provisionally, i.e. days after "
            "the exchange's exportedUntil, and, with a key, those a run without one wrote with symbols rejected)"},
           {"summary-json", true, "write the run summary (rejected symbols with reasons) as JSON to this file (whole or not at all; if it cannot be written, the run fails)"},
       },
       RunInstruments},
      {"download", "download Tardis files and convert them to Parquet in storage",
       "--from D [--to D] --exchanges a,b --data-types t1,t2 --symbols s1,s2 [--output DIR] [--dry-run [--estimate]]",
       SelectionFlags(true), RunDownload},
      {"plan", "print the work items a download would run, shard sizes, and (--estimate) what it will cost",
       "--from D [--to D] --exchanges a,b --data-types t1,t2 --symbols s1,s2 [--json] [--shards N] [--estimate]",
       SelectionFlags(false), RunPlan},
      {"convert", "convert local Tardis CSV(.gz) files to Parquet",
       "FILE.csv[.gz]... [--output DIR | FILE.parquet] [--data-type T] [--derive LIST]",
       ConvertFlags(), RunConvert},
      {"derive", "compute derived data (book snapshots, trade bars) from raw Parquet already stored; no download",
       "--from D [--to D] --derive LIST [--exchanges a,b] [--symbols s1,s2] [--output URI] [--shard I/N] [--force]",
       DeriveFlags(), RunDerive},
      {"schemas", "print the Parquet schema of every data type and the units of its numbers per venue (Markdown)",
       "[--exchange ID]",
       {{"exchange", true, "print the unit of every numeric column on this venue (a Tardis exchange id) instead"}},
       RunSchemas},
      {"validate", "check stored data against instrument definitions; missing-data and HTML coverage reports",
       "--from D [--to D] [--exchanges a,b] [--data-types t1,t2] [--symbols s1,s2] [--derive LIST] "
       "[--output URI] [--report FILE.html] [--deep]",
       ValidateFlags(),
       RunValidate},
      {"sql", "print DuckDB views or BigQuery external tables over a store, one per data type",
       "[--engine duckdb|bigquery] [--output URI] [--data-types t1,t2] [--dataset NAME]",
       {
           {"engine", true, "duckdb (views over read_parquet) or bigquery (external tables; hive stores in gs:// only)",
            "", "duckdb"},
           {"output", true, std::string("the store: ") + kOutputHelp, "OUTPUT_URI", "./data"},
           kLayoutFlag,
           {"data-types", true,
            "data types and derived names, comma separated (default: every one the store holds, found by listing it)"},
           {"dataset", true, "bigquery: the dataset of the tables", "", "market_tick"},
       },
       RunSql},
      {"gcs",
       "gsutil-style tools on gs:// objects with the pipeline's GCS client: ls, du, cp, rm (wildcards * ** ?); "
       "stat, cat, put",
       "ls [-l] [-r] URL... | du [-s] [-c] URL... | cp [-r] [-n] [--jobs N] SRC... DST | rm [-r] [--yes] URL... | "
       "stat|cat|put ...\n\n"
       "  URL is gs://BUCKET[/NAME]; NAME may hold ? (one character), * (any characters but '/') and ** (any\n"
       "  characters). A URL ending in '/' (or the bucket alone) names a folder.\n"
       "  ls        the objects and folders a URL names, as gs:// URLs; -l adds size and update time (UTC) and\n"
       "            a TOTAL line; -r lists every object below a folder\n"
       "  du        bytes of every object a URL names (folders recursively); -s one line per URL, -c a total\n"
       "  cp        local files to gs://, or gs:// objects to local files; -r copies folders/directories;\n"
       "            CRC32C checked both ways; downloads are written to a temporary file and renamed (a failed\n"
       "            copy leaves nothing); existing targets are replaced unless -n. Into a destination that\n"
       "            ends in '/', is a directory or takes several sources, each source keeps its last name part;\n"
       "            cp -r up copies links to files as files and skips links to directories (with a note)\n"
       "  rm        deletes the named object; a pattern or -r (every object below a folder) asks first on a\n"
       "            terminal; without one, --yes is required (else exit 2, nothing deleted)\n"
       "  stat      NAME SIZE CRC32C GENERATION CONTENT-TYPE, tab separated\n"
       "  cat       the object's bytes to stdout (--offset, --length: a range)\n"
       "  put       FILE|- to one object, create-only unless --force",
       {
           {"l", false, "ls: long form (size, updated, URL) and a TOTAL line"},
           {"r", false, "ls, cp, rm: recursive (every object below a folder; cp: directories)"},
           {"R", false, "same as -r"},
           {"s", false, "du: one total per URL"},
           {"c", false, "du: a grand total line"},
           {"n", false, "cp: no-clobber, skip targets that exist"},
           {"yes", false, "rm: delete what a pattern or -r names without asking"},
           {"jobs", true, "cp, rm: transfers or deletes at once, 1 to 16", "GCS_JOBS", "8"},
           {"offset", true, "cat: first byte"},
           {"length", true, "cat: number of bytes"},
           {"force", false, "put: replace an existing object (default: create-only)"},
           {"overwrite", false, "old spelling of --force", "", "", true},
       },
       RunGcs},
  };
  return kCommands;
}

}  // namespace mt::cli
