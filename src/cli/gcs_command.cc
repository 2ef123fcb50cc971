// `market-tick gcs`: a small debugging tool over the GCS client the pipeline
// uses (same credentials, retries and checksums): ls, stat, cat, put, rm.
#include <cstdio>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/crc32c.h"

namespace mt::cli {

namespace {

std::string ObjectLine(const storage::GcsObject& o) {
  return o.name + "\t" + std::to_string(o.size) + "\t" + (o.has_crc32c ? Crc32cToBase64(o.crc32c) : "-") + "\t" +
         std::to_string(o.generation);
}

// put: streams the file through the same writer the pipeline uses; prints
// where it went, its size and CRC32C.
Status Put(storage::GcsStore& gcs, const GcsOptions& o) {
  FILE* in = o.source == "-" ? stdin : std::fopen(o.source.c_str(), "rb");
  if (!in) return Status::Usage("cannot open " + o.source);
  auto obj = gcs.Create(o.object, o.overwrite);
  if (!obj.ok()) {
    if (in != stdin) std::fclose(in);
    return obj.status();
  }
  std::vector<char> buf(1 << 20);
  uint32_t crc = 0;
  Status st;
  size_t n;
  while (st.ok() && (n = std::fread(buf.data(), 1, buf.size(), in)) > 0) {
    if (Interrupted()) st = Status::Cancelled("interrupted");
    if (st.ok()) st = (*obj)->Append(std::string_view(buf.data(), n));
    crc = Crc32cExtend(crc, buf.data(), n);
  }
  if (st.ok() && std::ferror(in)) st = Status::IOError("read " + o.source + " failed");
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

Status Run(storage::GcsStore& gcs, const GcsOptions& o) {
  if (o.sub == "ls") {
    MT_ASSIGN_OR_RETURN(auto objects, gcs.ListObjects(o.object));
    for (const auto& obj : objects) std::printf("%s\n", ObjectLine(obj).c_str());
    return Status::OK();
  }
  if (o.sub == "stat") {
    MT_ASSIGN_OR_RETURN(auto obj, gcs.Stat(o.object));
    std::printf("%s\t%s\n", ObjectLine(obj).c_str(), obj.content_type.c_str());
    return Status::OK();
  }
  if (o.sub == "rm") return gcs.Delete(o.object);
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

}  // namespace

int RunGcs(const ParsedArgs& args, Context& ctx) {
  auto opts = GcsOptionsFromArgs(args, ctx);
  if (!opts.ok()) return FailWith("gcs", opts.status());
  auto store = storage::OpenGcsStore(opts->bucket, opts->gcs);
  if (!store.ok()) return FailWith("gcs " + opts->sub, store.status());
  const Status st = Run(**store, *opts);
  return st.ok() ? kExitOk : FailWith("gcs " + opts->sub, st);
}

}  // namespace mt::cli
