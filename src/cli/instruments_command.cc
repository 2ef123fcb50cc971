// `market-tick instruments`: Tardis metadata -> canonical instrument
// definitions per day (docs/INSTRUMENTS.md), written as
// instrument_availability/by_date/day-D/instruments.parquet plus the
// aggregate for the range (pipeline/instruments_job.h), or printed with
// --format.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/cancel.h"
#include "core/log.h"
#include "core/spilled_blobs.h"

namespace mt::cli {

namespace {

// One line per file, in day order: done NAME ROWS [provisional:EXCHANGES] or skipped NAME.
void PrintFiles(const std::vector<pipeline::InstrumentsFileResult>& files) {
  for (const auto& f : files) {
    if (!f.written) {
      std::printf("skipped\t%s\n", f.name.c_str());
      continue;
    }
    std::string line = "done\t" + f.name + "\t" + std::to_string(f.rows);
    for (size_t i = 0; i < f.provisional.size(); i++) line += (i ? "," : "\tprovisional:") + f.provisional[i];
    std::printf("%s\n", line.c_str());
  }
}

}  // namespace

Status PrintSpilledText(const SpilledBlobs& text, std::FILE* out, const std::function<bool()>& cancelled) {
  const int fd = ::fileno(out);
  // Where the text starts in a regular file (its end when it is open to
  // append), -1 for anything else, and for a file written over (the text
  // starts before its end: cutting it back would drop what it held past
  // the text's bytes).
  off_t start = -1;
  struct stat st;
  if (std::fflush(out) == 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags >= 0) start = (flags & O_APPEND) ? st.st_size : ::lseek(fd, 0, SEEK_CUR);
    if (start >= 0 && start < st.st_size) start = -1;
  }
  std::string piece;
  uint64_t printed = 0;  // bytes of the text written to `out`
  int err = 0;
  for (uint64_t at = 0; at < text.size(); at += piece.size()) {
    if (cancelled()) {
      // Cut back only a file that ends within the text's bytes (all of
      // them, or the part a failed flush got there): one another writer
      // appended to since holds its bytes after ours.
      std::fflush(out);
      const bool ours = start >= 0 && ::fstat(fd, &st) == 0 && st.st_size >= start &&
                        static_cast<uint64_t>(st.st_size) <= static_cast<uint64_t>(start) + printed;
      if (start >= 0 && !ours) {
        log::Warn(
            "instruments: interrupted while printing; the file stdout goes to was written to by another "
            "besides, so it is not cut back: it holds part of the definitions");
      } else if (start >= 0 && ::ftruncate(fd, start) != 0) {
        log::Warn(std::string("instruments: interrupted while printing; the file stdout goes to cannot be cut back (") +
                  std::strerror(errno) + "): it holds part of the definitions");
      } else if (start < 0) {
        log::Warn("instruments: interrupted while printing; the definitions printed are incomplete");
      } else {
        log::Warn("instruments: interrupted while printing; no part of the definitions is left in the file stdout "
                  "goes to");
      }
      return Status::Cancelled("interrupted");
    }
    if (!text.Read(at, static_cast<size_t>(std::min<uint64_t>(text.size() - at, uint64_t{1} << 20)), &piece)) {
      return text.status().WithContext("the formatted definitions");
    }
    if (std::fwrite(piece.data(), 1, piece.size(), out) != piece.size()) {
      err = errno;
      break;
    }
    printed += piece.size();
  }
  // Text that did not reach stdout (a full disk, a reader gone) is no
  // success: the file it went to is cut short.
  if (std::fflush(out) != 0 && err == 0) err = errno;
  if (err != 0 || std::ferror(out)) {
    return Status::IOError(std::string("stdout cannot be written (") +
                           (err != 0 ? std::strerror(err) : "a write error") +
                           "): the printed definitions are incomplete");
  }
  return Status::OK();
}

int RunInstruments(const ParsedArgs& args, Context& ctx) {
  auto opts = InstrumentsOptionsFromArgs(args, ctx);
  if (!opts.ok()) return FailWith("instruments", opts.status());
  std::unique_ptr<storage::ObjectStore> store;
  if (opts->format.empty()) {
    auto opened = storage::OpenDataStore(opts->output, opts->store);
    if (!opened.ok()) return FailWith("instruments", opened.status());
    store = std::move(*opened);
    // An output that cannot be written (a read-only file system, no
    // permission, a file where the folder goes) would fail every file after
    // the metadata was fetched, and no rerun can fix it: a configuration
    // error before any request, as for download and convert.
    if (const Status st = store->CheckWritable(); !st.ok()) return FailWith("instruments", st);
  }
  const pipeline::InstrumentsReport report = pipeline::RunInstrumentsJob(opts->job, store.get());
  if (report.text && report.status.ok()) {
    const Status printed = PrintSpilledText(*report.text, stdout, [] { return CancelRequested(); });
    // Interrupted: said already.
    if (printed.code() == Status::Code::kCancelled) return ExitCodeFor(printed);
    if (!printed.ok()) return FailWith("instruments", printed);
  }
  PrintFiles(report.files);
  // The job has logged its failure already (a --summary-json that could
  // not be written too).
  if (!report.status.ok()) return ExitCodeFor(report.status);
  return kExitOk;
}

}  // namespace mt::cli
