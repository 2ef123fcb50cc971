// `market-tick gcs`: what users know from gsutil / gcloud storage (ls, du, cp,
// rm with wildcards; storage/gcs_tool.h and gcs_copy.h do the work) and the
// debugging commands stat, cat and put, all over the GCS client the pipeline
// uses (same credentials, retries and checksums).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <set>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/crc32c.h"
#include "core/log.h"

namespace mt::cli {

namespace {

std::string ObjectLine(const storage::GcsObject& o) {
  return o.name + "\t" + std::to_string(o.size) + "\t" + (o.has_crc32c ? Crc32cToBase64(o.crc32c) : "-") + "\t" +
         std::to_string(o.generation);
}

void Print(const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fflush(stdout);
}

// put: streams the file through the same writer the pipeline uses; prints
// where it went, its size and CRC32C.
Status Put(storage::GcsStore& gcs, const GcsOptions& o) {
  FILE* in = o.source == "-" ? stdin : std::fopen(o.source.c_str(), "rb");
  if (!in) return Status::Usage("cannot open " + o.source);
  // A folder opens but cannot be read: say so before any request, as a usage
  // error (a failed read is retryable, and no rerun makes a folder a file).
  struct stat st_in;
  if (in != stdin && ::fstat(::fileno(in), &st_in) == 0 && S_ISDIR(st_in.st_mode)) {
    std::fclose(in);
    return Status::Usage(o.source + " is a directory: put copies one file (gcs cp -r copies what a folder holds)");
  }
  auto obj = gcs.Create(o.object, o.overwrite);
  if (!obj.ok()) {
    if (in != stdin) std::fclose(in);
    return obj.status();
  }
  uint32_t crc = 0;
  const Status st = storage::StreamFileTo(in, o.source, **obj, ProcessCancelFlag(), &crc);
  if (in != stdin) std::fclose(in);
  if (!st.ok()) {
    (*obj)->Abort();
    return st;
  }
  MT_RETURN_IF_ERROR((*obj)->Commit());
  std::printf("%s\t%llu\t%s\n", gcs.Describe(o.object).c_str(),
              static_cast<unsigned long long>((*obj)->bytes_written()), Crc32cToBase64(crc).c_str());
  return Status::OK();
}

Status Single(storage::GcsStore& gcs, const GcsOptions& o) {
  if (o.sub == "stat") {
    MT_ASSIGN_OR_RETURN(auto obj, gcs.Stat(o.object));
    std::printf("%s\t%s\n", ObjectLine(obj).c_str(), obj.content_type.c_str());
    return Status::OK();
  }
  if (o.sub == "cat") {
    const Status st = gcs.ReadTo(o.object, o.offset, o.length, [](const char* d, size_t n) {
      if (std::fwrite(d, 1, n, stdout) != n) return Status::IOError("write to stdout failed");
      return Status::OK();
    });
    std::fflush(stdout);
    return st;
  }
  return Put(gcs, o);
}

// ls: each URL in turn; one that matches nothing is reported and the others
// still listed (exit 1 at the end). With -l one TOTAL line for all of them.
Status Ls(storage::GcsBuckets& buckets, const GcsOptions& o) {
  Status worst;
  std::vector<storage::LsEntry> all;
  for (const auto& url : o.urls) {
    auto store = buckets.Get(url.bucket);
    if (!store.ok()) return store.status();
    auto entries = storage::ListUrl(**store, url, o.recursive);
    if (!entries.ok()) {
      if (entries.status().code() != Status::Code::kNotFound) return entries.status();
      if (o.urls.size() == 1) return entries.status();
      FailWith("gcs ls", entries.status());
      worst = WorseStatus(worst, entries.status());
      continue;
    }
    if (!o.long_form) {
      Print(storage::FormatLs(*entries, false));
    } else {
      for (auto& e : *entries) all.push_back(std::move(e));
    }
  }
  if (o.long_form) Print(storage::FormatLs(all, true));
  return worst.ok() ? Status::OK() : Status::NotFound("one or more URLs matched no objects");
}

// du: "SIZE  URL" per object, or per URL with -s; "SIZE  total" with -c.
Status Du(storage::GcsBuckets& buckets, const GcsOptions& o) {
  Status worst;
  uint64_t total = 0;
  for (const auto& url : o.urls) {
    auto store = buckets.Get(url.bucket);
    if (!store.ok()) return store.status();
    auto objects = storage::DuObjects(**store, url);
    if (!objects.ok()) {
      if (objects.status().code() != Status::Code::kNotFound) return objects.status();
      if (o.urls.size() == 1) return objects.status();
      FailWith("gcs du", objects.status());
      worst = WorseStatus(worst, objects.status());
      continue;
    }
    uint64_t sum = 0;
    std::string out;
    for (const auto& obj : *objects) {
      sum += obj.size;
      if (!o.summarize) out += std::to_string(obj.size) + "  gs://" + url.bucket + "/" + obj.name + "\n";
    }
    if (o.summarize) out += std::to_string(sum) + "  " + url.Text() + "\n";
    Print(out);
    total += sum;
  }
  if (o.grand_total) Print(std::to_string(total) + "  total\n");
  return worst.ok() ? Status::OK() : Status::NotFound("one or more URLs matched no objects");
}

// The user's yes for a delete of several URLs, or that a pattern or -r
// chose: asked on the terminal; without one (a script, a pipe) only --yes
// gives it.
Status Confirm(size_t n, uint64_t bytes, const std::string& first) {
  const std::string what = std::to_string(n) + (n == 1 ? " object" : " objects") + " (" +
                           storage::HumanBytes(bytes) + ", from " + first + ")";
  if (!::isatty(STDIN_FILENO)) {
    return Status::Usage("refusing to delete " + what +
                         " without confirmation: standard input is not a terminal; pass --yes to delete them");
  }
  std::fprintf(stderr, "delete %s? [y/N] ", what.c_str());
  std::fflush(stderr);
  std::string answer;
  if (!std::getline(std::cin, answer)) answer.clear();
  if (answer == "y" || answer == "Y" || answer == "yes") return Status::OK();
  return Status::InvalidInput("not confirmed: nothing deleted");
}

Status Rm(storage::GcsBuckets& buckets, const GcsOptions& o) {
  // One object named exactly: deleted as such (no listing, no question).
  const storage::GcsUrl& first = o.urls[0];
  if (o.urls.size() == 1 && !o.recursive && !storage::HasWildcard(first.object) && first.object.back() != '/') {
    MT_ASSIGN_OR_RETURN(storage::GcsStore * store, buckets.Get(first.bucket));
    const Status st = store->Delete(first.object);
    if (st.code() == Status::Code::kNotFound) {
      // No such object: a folder of that name says what to do instead.
      auto folder = storage::RmTargets(*store, first, false);
      if (folder.status().code() == Status::Code::kUsage) return folder.status();
    }
    MT_RETURN_IF_ERROR(st);
    log::Info("removed " + first.Text());
    return Status::OK();
  }
  // Everything listed before anything is deleted: the question covers it all.
  // An object several URLs name (gs://b/a* gs://b/ab) is deleted and counted
  // once.
  std::vector<std::pair<storage::GcsStore*, std::vector<storage::GcsObject>>> targets;
  std::set<std::pair<storage::GcsStore*, std::string>> seen;
  size_t n = 0;
  uint64_t bytes = 0;
  for (const auto& url : o.urls) {
    MT_ASSIGN_OR_RETURN(storage::GcsStore * store, buckets.Get(url.bucket));
    MT_ASSIGN_OR_RETURN(std::vector<storage::GcsObject> objects, storage::RmTargets(*store, url, o.recursive));
    std::vector<storage::GcsObject> fresh;
    for (auto& obj : objects) {
      if (!seen.emplace(store, obj.name).second) continue;
      bytes += obj.size;
      fresh.push_back(std::move(obj));
    }
    n += fresh.size();
    targets.emplace_back(store, std::move(fresh));
  }
  if (!o.yes) MT_RETURN_IF_ERROR(Confirm(n, bytes, o.urls[0].Text()));
  Status worst;
  size_t deleted = 0;
  for (auto& [store, objects] : targets) {
    size_t d = 0;
    worst = WorseStatus(worst, storage::DeleteObjects(*store, objects, o.jobs, ProcessCancelFlag(), &d));
    deleted += d;
  }
  log::Info("removed " + std::to_string(deleted) + " of " + std::to_string(n) + " objects (" +
            storage::HumanBytes(bytes) + ")");
  return worst;
}

// cp: one line per item on stdout (copied/skipped/failed, from, to, bytes,
// CRC32C), a summary on stderr.
Status Cp(storage::GcsBuckets& buckets, const GcsOptions& o) {
  MT_ASSIGN_OR_RETURN(storage::CopyReport report, storage::RunCopy(buckets, o.copy));
  size_t copied = 0, skipped = 0, failed = 0;
  uint64_t bytes = 0;
  std::string out;
  for (const auto& it : report.items) {
    if (!it.status.ok()) {
      failed++;
      out += "failed\t" + it.from + "\t" + it.to + "\n";
    } else if (it.skipped) {
      skipped++;
      out += "skipped\t" + it.from + "\t" + it.to + "\n";
    } else {
      copied++;
      bytes += it.bytes;
      out += "copied\t" + it.from + "\t" + it.to + "\t" + std::to_string(it.bytes) + "\t" +
             Crc32cToBase64(it.crc32c) + "\n";
    }
  }
  Print(out);
  log::Info(std::to_string(copied) + " copied (" + storage::HumanBytes(bytes) + "), " + std::to_string(skipped) +
            " skipped (exist), " + std::to_string(failed) + " failed");
  if (report.status.ok() || failed == 0) return report.status;
  // Each failure is logged as it happens; the run ends with the count and
  // the worst one's code (a transient one: run again).
  return Status(report.status.code(), std::to_string(failed) + " of " + std::to_string(report.items.size()) +
                                          " copies failed (see above); nothing partial was left for them");
}

}  // namespace

int RunGcs(const ParsedArgs& args, Context& ctx) {
  auto opts = GcsOptionsFromArgs(args, ctx);
  if (!opts.ok()) return FailWith("gcs", opts.status());
  const std::string name = "gcs " + opts->sub;
  Status st;
  if (opts->sub == "stat" || opts->sub == "cat" || opts->sub == "put") {
    auto store = storage::OpenGcsStore(opts->bucket, opts->gcs);
    if (!store.ok()) return FailWith(name, store.status());
    st = Single(**store, *opts);
  } else {
    storage::GcsBuckets buckets(opts->gcs);
    if (opts->sub == "ls") st = Ls(buckets, *opts);
    if (opts->sub == "du") st = Du(buckets, *opts);
    if (opts->sub == "rm") st = Rm(buckets, *opts);
    if (opts->sub == "cp") st = Cp(buckets, *opts);
  }
  if (st.ok()) return kExitOk;
  if (Interrupted()) return FailWith(name, Status::Cancelled("interrupted"));
  return FailWith(name, st);
}

}  // namespace mt::cli
