// `market-tick convert FILE...`: local Tardis CSV(.gz) files to Parquet.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "cli/gcs_settings.h"
#include "cli/settings.h"
#include "core/log.h"
#include "derive/engine.h"
#include "pipeline/key_resolver.h"
#include "pipeline/plan.h"
#include "pipeline/tick_converter.h"
#include "storage/object_store.h"
#include "tardis/file_name.h"
#include "validate/file_check.h"

namespace mt::cli {

namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

using Settings = EngineSettings;

struct FileResult {
  std::vector<pipeline::OutputFile> outputs;
  std::vector<pipeline::OutputFile> derived;  // --derive objects
  uint64_t rows = 0, csv_bytes = 0;
};

// Derived names skipped (their source is another data type), said once each.
struct DeriveSkips {
  std::mutex mu;
  std::set<std::string> said;
};

Result<FileResult> ConvertOne(const std::string& path, const Settings& s,
                              const pipeline::ConvertTarget& target_in,
                              const tardis::DataTypeSchema* forced, pipeline::StoreKeyResolvers* keys,
                              const std::vector<derive::DerivedSpec>& derived, DeriveSkips* skips) {
  pipeline::ConvertTarget target = target_in;
  pipeline::SourceHints hints;
  hints.source = path;
  hints.data_type = forced;
  pipeline::ConvertSettings cs = s.convert;
  cs.parser.data_type_origin = "--data-type";
  // Neither --data-type nor the name: the header must name one type.
  cs.parser.ambiguous_header_is_error = true;
  if (auto parts = tardis::ParseFileName(path)) {
    hints.day = parts->date;
    hints.exchange = parts->exchange;
    hints.symbol = parts->symbol;
    // The data type is the file's (its name), not the header's: liquidations
    // share the trades header and book_ticker the quotes header.
    const tardis::DataTypeSchema* named = tardis::FindSchema(parts->data_type);
    if (forced && named && named != forced) {
      log::Warn(path + ": --data-type " + forced->name + " overrides the file name's data type " + named->name);
    }
    if (!forced && named) {
      hints.data_type = named;
      cs.parser.data_type_origin = "the file name";
    }
    cs.parser.empty_input_schema = hints.data_type;
  }
  // Into a store, rows are keyed as that day's instrument definitions in it
  // say (the symbol rules where it has none), as download and validate do;
  // with no day in the name, by the definitions of the day each row is
  // filed under.
  std::shared_ptr<const pipeline::KeyResolver> day_keys;
  const pipeline::RowDayKeyResolver by_row_day(keys);
  if (target.store && hints.day) {
    MT_ASSIGN_OR_RETURN(day_keys, keys->ForDay(*hints.day));
    target.keys = day_keys.get();
  } else if (target.store) {
    target.keys = &by_row_day;
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::NotFound(path + ": cannot open (" + std::strerror(errno) + ")");
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  // Derived series read the same batches (declared before the converter,
  // which finishes or aborts them).
  std::unique_ptr<derive::DeriveEngine> derived_engine;
  // A grouped file (OPTIONS, PERPETUALS) would need an open derived object
  // per instrument and series: derived data of grouped files is not computed
  // (yet), rather than break the bounds on open files and memory the raw
  // split keeps.
  if (!derived.empty() && tardis::IsGroupedSymbol(hints.symbol)) {
    log::Warn(path + ": --derive is not computed for grouped files (" + hints.symbol +
              "); convert the instruments' own files for derived data");
  } else if (!derived.empty()) {
    derive::EngineOptions eo;
    eo.specs = derived;
    eo.store = target.store;
    eo.overwrite = target.overwrite;
    eo.writer = cs.writer;
    eo.source = path;
    eo.day = hints.day;
    eo.tool_version = cs.tool_version;
    const pipeline::KeyResolver* resolver = target.keys;
    eo.key = [resolver](const Date& day, const std::string& exchange,
                        const std::string& symbol) -> Result<std::string> {
      auto key = resolver ? resolver->ResolveOn(day, exchange, symbol) : tardis::KeyFromTardisSymbol(exchange, symbol);
      if (!key.ok()) return key.status();
      return key->ToString();
    };
    derived_engine = std::make_unique<derive::DeriveEngine>(std::move(eo));
    target.observers.push_back(derived_engine.get());
  }
  pipeline::TickConverter conv(hints, target, cs);
  std::vector<uint8_t> buf(1 << 20);
  Status st;
  while (st.ok()) {
    if (Interrupted()) {
      st = Status::Cancelled("interrupted");
      break;
    }
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      st = Status::IOError(path + ": read failed (" + std::strerror(errno) + ")");
      break;
    }
    if (n == 0) break;
    st = conv.Write(buf.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  if (st.ok() && conv.bytes_in() == 0) {
    st = Status::InvalidInput(path + ": empty file (0 bytes); a Tardis file is gzip or CSV with a "
                                     "header line");
  }
  if (!st.ok()) {
    conv.Abort();
    return st;
  }
  FileResult r;
  MT_ASSIGN_OR_RETURN(r.outputs, conv.Finish());
  if (derived_engine) {
    for (const auto& d : derived_engine->outputs()) {
      pipeline::OutputFile o;
      o.name = d.name;
      o.instrument_key = d.instrument_key;
      o.rows = d.rows;
      o.bytes = d.bytes;
      r.derived.push_back(std::move(o));
    }
    std::lock_guard<std::mutex> l(skips->mu);
    for (const std::string& name : derived_engine->skipped()) {
      if (skips->said.insert(name).second) {
        log::Warn("--derive " + name + ": skipped for " + path + " and any other input that is not " +
                  derive::ParseDerivedName(name)->source_data_type() + " (it is computed from that data type)");
      }
    }
  }
  // A mislabelled file (rows of another day under this day's name) is
  // written as asked, but said now, by the rule validate --deep applies.
  if (hints.day) {
    for (const auto& o : r.outputs) {
      if (o.rows == 0) continue;
      const std::string problem = OutsideDay(o.min_local_ts, o.max_local_ts, *hints.day);
      if (!problem.empty()) {
        log::Warn(path + ": rows outside the file's day " + FormatDate(*hints.day) + " (from its name): " + problem +
                  "; " + o.name + " will be reported corrupt by validate --deep; check the file name");
      }
    }
  }
  r.rows = conv.rows();
  r.csv_bytes = conv.bytes_out_csv();
  return r;
}

}  // namespace

int RunConvert(const ParsedArgs& args, Context& ctx) {
  if (args.positional.empty()) {
    std::fprintf(stderr, "market-tick convert: no input files (usage: market-tick convert FILE...)\n");
    return kExitUsage;
  }
  auto settings = ConvertSettingsFromArgs(args, ctx);
  if (!settings.ok()) {
    std::fprintf(stderr, "market-tick convert: %s\n", settings.status().message().c_str());
    return kExitUsage;
  }
  const tardis::DataTypeSchema* forced = nullptr;
  if (args.Has("data-type")) {
    forced = tardis::FindSchema(args.Get("data-type"));
    if (!forced) {
      std::fprintf(stderr, "market-tick convert: unknown --data-type '%s' (one of: %s)\n",
                   args.Get("data-type").c_str(), tardis::SupportedDataTypes().c_str());
      return kExitUsage;
    }
  }
  // A file named as the official clients name them gives its exchange; a
  // typo there would key a zero-row day under a venue that does not exist.
  for (const auto& path : args.positional) {
    auto parts = tardis::ParseFileName(path);
    if (!parts) continue;
    if (Status st = pipeline::CheckExchanges({parts->exchange}); !st.ok()) {
      std::fprintf(stderr, "market-tick convert: %s: %s (in the file name)\n", path.c_str(), st.message().c_str());
      return kExitUsage;
    }
  }
  std::string output = args.Get("output", ctx.config.GetOr("OUTPUT_URI", "./data"));
  if (output.rfind("file://", 0) == 0) output = output.substr(7);
  std::unique_ptr<storage::ObjectStore> gcs;  // gs://bucket/prefix: the storage layout in a bucket
  if (output.rfind("gs://", 0) == 0) {
    auto opened = OpenGcsStore(output, ctx);
    if (!opened.ok()) return FailWith("convert", opened.status());
    gcs = std::move(*opened);
  }
  const std::string ow = args.Get("overwrite", "true");
  if (ow != "true" && ow != "false") {
    std::fprintf(stderr, "market-tick convert: --overwrite must be true or false\n");
    return kExitUsage;
  }
  std::vector<derive::DerivedSpec> derived;
  if (args.Has("derive")) {
    auto list = derive::ParseDerivedList(args.Get("derive"));
    if (!list.ok()) {
      std::fprintf(stderr, "market-tick convert: --derive: %s\n", list.status().message().c_str());
      return kExitUsage;
    }
    derived = std::move(*list);
    if (EndsWith(output, ".parquet")) {
      std::fprintf(stderr, "market-tick convert: --derive writes into a store: give --output DIR or gs://BUCKET, "
                           "not one FILE.parquet\n");
      return kExitUsage;
    }
  }
  DeriveSkips skips;
  pipeline::ConvertTarget target;
  target.overwrite = ow == "true";
  std::unique_ptr<storage::ObjectStore> store;
  if (gcs) {
    store = std::move(gcs);
    target.store = store.get();
  } else if (EndsWith(output, ".parquet")) {
    if (args.positional.size() != 1) {
      std::fprintf(stderr, "market-tick convert: --output FILE.parquet takes exactly one input "
                           "file; give a directory for several\n");
      return kExitUsage;
    }
    target.single_file = output;
  } else {
    store = storage::NewLocalStore(output);
    target.store = store.get();
    if (const Status st = store->CheckWritable(); !st.ok()) return FailWith("convert", st);
  }
  pipeline::StoreKeyResolvers key_source(target.store);
  std::unique_ptr<ThreadPool> pool;
  // --threads N: N-1 pool threads and the caller, which inflates and, when it
  // would wait for the pool, runs the pool's queued tasks itself (see
  // ParallelCsvParser). A pool of N threads beside a busy caller would put
  // three threads on two cores, and a parse preempted by the caller holds up
  // every block behind it while the other core idles. Pool threads run below
  // the caller's priority, so inflating, which no other thread can do, goes
  // first. (Measurements: bench/README.md.)
  constexpr int kPoolNice = 5;
  if (settings->threads > 1) pool = std::make_unique<ThreadPool>(settings->threads - 1, kPoolNice);
  settings->convert.writer.pool = pool.get();

  const auto t0 = std::chrono::steady_clock::now();
  const size_t nfiles = args.positional.size();
  int failed = 0, done = 0;
  int code = kExitOk;  // the worst of the files' exit codes (core/exit_code.h)
  uint64_t rows = 0, csv_bytes = 0, out_files = 0, unkeyed_rows = 0, unkeyed_files = 0;
  bool cancelled = false;
  // Results are reported in input order, whatever order files finish in;
  // after an interrupt too, every file written is reported.
  auto report = [&](Result<FileResult> r) {
    if (!r.ok()) {
      if (r.status().code() == Status::Code::kCancelled) {
        cancelled = true;
        return;
      }
      failed++;
      code = WorseExitCode(code, ExitCodeFor(r.status()));
      log::Error(r.status().message());
      return;
    }
    done++;
    rows += r->rows;
    csv_bytes += r->csv_bytes;
    for (const auto& o : r->derived) {  // committed after the raw objects, listed with them
      out_files++;
      std::printf("%s\t%llu\t%llu\n", o.name.c_str(), static_cast<unsigned long long>(o.rows),
                  static_cast<unsigned long long>(o.bytes));
    }
    for (const auto& o : r->outputs) {
      out_files++;
      if (o.unkeyed) {
        // Kept, but not under an instrument key: say which symbol and why.
        unkeyed_files++;
        unkeyed_rows += o.rows;
        log::Warn(o.name + ": " + std::to_string(o.rows) + " rows of symbol '" + o.symbol +
                  "' kept under a fallback name (no instrument key: " + o.note + ")");
      }
      std::printf("%s\t%llu\t%llu\n", o.name.c_str(), static_cast<unsigned long long>(o.rows),
                  static_cast<unsigned long long>(o.bytes));
    }
    std::fflush(stdout);
  };

  // Several files: a file each on up to --threads workers, biggest first,
  // each parsed on its worker's thread and encoded on the shared pool (as
  // download does). A file of one row group cannot overlap its parsing with
  // its encoding, so one file after another leaves a core idle; files side by
  // side do not. When one file is more than its share of the bytes, it would
  // finish alone on one core: then files go one at a time, each parsed on
  // every core.
  std::vector<uint64_t> sizes(nfiles, 0);
  uint64_t total = 0, largest = 0;
  for (size_t i = 0; i < nfiles; i++) {
    struct stat st;
    if (::stat(args.positional[i].c_str(), &st) == 0 && S_ISREG(st.st_mode)) sizes[i] = static_cast<uint64_t>(st.st_size);
    total += sizes[i];
    largest = std::max(largest, sizes[i]);
  }
  const size_t workers = std::min<size_t>(static_cast<size_t>(std::max(1, settings->threads)), nfiles);
  // Side by side only when no two inputs can write the same object (the
  // names give exchange, data type, day and symbol; outputs are named from
  // them): one after another, the later of two such files wins, and that
  // must not depend on which finishes first.
  std::set<std::string> keys;
  bool distinct = true;
  for (size_t i = 0; i < nfiles && distinct; i++) {
    const auto parts = tardis::ParseFileName(args.positional[i]);
    const std::string type = forced ? forced->name : parts ? parts->data_type : "";
    distinct = parts && keys.insert(parts->exchange + '\x1f' + type + '\x1f' + FormatDate(parts->date) +
                                    '\x1f' + parts->symbol).second;
  }
  const bool by_file = pool && workers > 1 && distinct && largest * workers <= total;
  if (!by_file) {
    for (const std::string& path : args.positional) {
      if (Interrupted() || cancelled) break;
      report(ConvertOne(path, *settings, target, forced, &key_source, derived, &skips));
    }
  } else {
    Settings per_file = *settings;
    per_file.convert.parallel_parse = false;
    std::vector<size_t> order(nfiles);
    for (size_t i = 0; i < nfiles; i++) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return sizes[a] > sizes[b]; });
    std::vector<std::optional<Result<FileResult>>> results(nfiles);
    std::mutex mu;
    std::condition_variable cv;
    std::atomic<size_t> next{0};
    std::vector<std::thread> threads;
    for (size_t w = 0; w < workers; w++) {
      threads.emplace_back([&] {
        for (size_t k; (k = next++) < nfiles;) {
          const size_t i = order[k];
          Result<FileResult> r = Interrupted() ? Result<FileResult>(Status::Cancelled("interrupted"))
                                               : ConvertOne(args.positional[i], per_file, target, forced, &key_source,
                                                            derived, &skips);
          std::lock_guard<std::mutex> l(mu);
          results[i].emplace(std::move(r));
          cv.notify_all();
        }
      });
    }
    for (size_t i = 0; i < nfiles; i++) {
      std::unique_lock<std::mutex> l(mu);
      cv.wait(l, [&] { return results[i].has_value(); });
      Result<FileResult> r = std::move(*results[i]);
      results[i].reset();
      l.unlock();
      report(std::move(r));
    }
    for (auto& t : threads) t.join();
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  char summary[256];
  std::snprintf(summary, sizeof summary,
                "converted %d of %zu input files into %llu Parquet files: %llu rows, %.1f MB of CSV "
                "in %.2f s (%.0f MB/s)%s",
                done, args.positional.size(), static_cast<unsigned long long>(out_files),
                static_cast<unsigned long long>(rows), csv_bytes / 1e6, secs,
                secs > 0 ? csv_bytes / 1e6 / secs : 0.0,
                failed ? (", " + std::to_string(failed) + " failed").c_str() : "");
  log::Info(summary);
  if (unkeyed_files) {
    log::Warn(std::to_string(unkeyed_rows) + " rows of " + std::to_string(unkeyed_files) +
              " symbols have no instrument key and were kept under {VENUE}:UNKEYED:{symbol} names; exit code 1");
  }
  if (Interrupted()) {
    log::Warn("interrupted: the file in progress was abandoned, nothing partial was written");
    return kExitInterrupted;
  }
  // Rows without a key are kept but not where validate and readers look for
  // them: a permanent data condition (a rerun cannot change it), so exit 1.
  if (unkeyed_files) code = WorseExitCode(code, kExitFailed);
  return code;
}

}  // namespace mt::cli
