// `market-tick gcs`: a small debugging tool over the GCS client the pipeline
// uses (same credentials, retries and checksums): ls, stat, cat, put, rm.
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "cli/commands.h"
#include "cli/gcs_settings.h"
#include "core/crc32c.h"
#include "core/log.h"

namespace mt::cli {

namespace {

// gs://bucket/rest with `rest` kept verbatim (trailing '/' included), so any
// object name or list prefix can be given.
Result<std::pair<std::string, std::string>> SplitUri(const std::string& uri) {
  if (uri.rfind("gs://", 0) != 0) return Status::Usage("'" + uri + "' is not a gs://bucket/object URI");
  const std::string rest = uri.substr(5);
  const size_t slash = rest.find('/');
  std::string bucket = rest.substr(0, slash);
  std::string name = slash == std::string::npos ? "" : rest.substr(slash + 1);
  return std::make_pair(bucket, name);
}

int Fail(const std::string& sub, const Status& st) { return FailWith("gcs " + sub, st); }

std::string ObjectLine(const storage::GcsObject& o) {
  return o.name + "\t" + std::to_string(o.size) + "\t" + (o.has_crc32c ? Crc32cToBase64(o.crc32c) : "-") + "\t" +
         std::to_string(o.generation);
}

}  // namespace

int RunGcs(const ParsedArgs& args, Context& ctx) {
  const auto& pos = args.positional;
  const std::string sub = pos.empty() ? "" : pos[0];
  const bool put = sub == "put";
  if (!(sub == "ls" || sub == "stat" || sub == "cat" || sub == "rm" || put) || pos.size() != (put ? 3u : 2u)) {
    std::fprintf(stderr,
                 "usage: market-tick gcs ls gs://BUCKET[/PREFIX]\n"
                 "       market-tick gcs stat|rm gs://BUCKET/OBJECT\n"
                 "       market-tick gcs cat gs://BUCKET/OBJECT [--offset N] [--length N]\n"
                 "       market-tick gcs put FILE|- gs://BUCKET/OBJECT [--overwrite]\n");
    return kExitUsage;
  }
  auto uri = SplitUri(pos.back());
  if (!uri.ok()) return Fail(sub, uri.status());
  const auto& [bucket, name] = *uri;
  auto store = OpenGcsStore("gs://" + bucket, ctx);
  if (!store.ok()) return Fail(sub, store.status());
  storage::GcsStore& gcs = **store;

  if (sub == "ls") {
    auto objects = gcs.ListObjects(name);
    if (!objects.ok()) return Fail(sub, objects.status());
    for (const auto& o : *objects) std::printf("%s\n", ObjectLine(o).c_str());
    return kExitOk;
  }
  if (name.empty()) return Fail(sub, Status::Usage("no object name in " + pos.back()));
  if (sub == "stat") {
    auto o = gcs.Stat(name);
    if (!o.ok()) return Fail(sub, o.status());
    std::printf("%s\t%s\n", ObjectLine(*o).c_str(), o->content_type.c_str());
    return kExitOk;
  }
  if (sub == "rm") {
    const Status st = gcs.Delete(name);
    return st.ok() ? kExitOk : Fail(sub, st);
  }
  if (sub == "cat") {
    uint64_t offset = 0;
    int64_t length = -1;
    if (args.Has("offset")) offset = std::strtoull(args.Get("offset").c_str(), nullptr, 10);
    if (args.Has("length")) length = std::strtoll(args.Get("length").c_str(), nullptr, 10);
    const Status st = gcs.ReadTo(name, offset, length, [](const char* d, size_t n) {
      if (std::fwrite(d, 1, n, stdout) != n) return Status::IOError("write to stdout failed");
      return Status::OK();
    });
    std::fflush(stdout);
    return st.ok() ? kExitOk : Fail(sub, st);
  }
  // put: stream the file through the same writer the pipeline uses.
  const std::string& src = pos[1];
  FILE* in = src == "-" ? stdin : std::fopen(src.c_str(), "rb");
  if (!in) return Fail(sub, Status::Usage("cannot open " + src));
  auto obj = gcs.Create(name, args.Has("overwrite"));
  if (!obj.ok()) return Fail(sub, obj.status());
  std::vector<char> buf(1 << 20);
  uint32_t crc = 0;
  Status st;
  size_t n;
  while (st.ok() && (n = std::fread(buf.data(), 1, buf.size(), in)) > 0) {
    if (Interrupted()) st = Status::Cancelled("interrupted");
    if (st.ok()) st = (*obj)->Append(std::string_view(buf.data(), n));
    crc = Crc32cExtend(crc, buf.data(), n);
  }
  if (st.ok() && std::ferror(in)) st = Status::IOError("read " + src + " failed");
  if (in != stdin) std::fclose(in);
  if (!st.ok()) {
    (*obj)->Abort();
    return Fail(sub, st);
  }
  st = (*obj)->Commit();
  if (!st.ok()) return Fail(sub, st);
  std::printf("%s\t%llu\t%s\n", gcs.Describe(name).c_str(), static_cast<unsigned long long>((*obj)->bytes_written()),
              Crc32cToBase64(crc).c_str());
  return kExitOk;
}

}  // namespace mt::cli
