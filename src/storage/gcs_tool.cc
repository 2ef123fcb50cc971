#include "storage/gcs_tool.h"

#include <algorithm>
#include <cstdio>
#include <mutex>

#include "core/log.h"
#include "core/exit_code.h"
#include "core/parallel.h"

namespace mt::storage {

Result<GcsStore*> GcsBuckets::Get(const std::string& bucket) {
  auto it = open_.find(bucket);
  if (it != open_.end()) return it->second.get();
  MT_ASSIGN_OR_RETURN(std::unique_ptr<GcsStore> store, OpenGcsStore("gs://" + bucket, settings_));
  GcsStore* raw = store.get();
  open_.emplace(bucket, std::move(store));
  return raw;
}

std::string HumanBytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    u++;
  }
  char buf[32];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buf, sizeof buf, "%.2f %s", v, kUnits[u]);
  }
  return buf;
}

namespace {

std::string UrlOf(const std::string& bucket, const std::string& name) { return "gs://" + bucket + "/" + name; }

Status NothingMatched(const GcsUrl& url) {
  return Status::NotFound(url.Text() + " matched no objects");
}

}  // namespace

Result<std::vector<LsEntry>> ListUrl(GcsStore& store, const GcsUrl& url, bool recursive) {
  MT_ASSIGN_OR_RETURN(UrlMatches m, ExpandUrl(store, url.object));
  std::vector<LsEntry> out;
  auto add_object = [&](GcsObject o) {
    LsEntry e;
    e.url = UrlOf(url.bucket, o.name);
    e.obj = std::move(o);
    out.push_back(std::move(e));
  };
  auto add_folder = [&](const std::string& dir) {
    LsEntry e;
    e.url = UrlOf(url.bucket, dir);
    e.is_folder = true;
    out.push_back(std::move(e));
  };
  for (auto& o : m.objects) add_object(o);
  for (const auto& d : m.dirs) {
    if (recursive) {
      MT_ASSIGN_OR_RETURN(std::vector<GcsObject> under, store.ListObjects(d));
      for (auto& o : under) add_object(std::move(o));
    } else if (m.names_dir) {
      // The URL names this folder: its contents, one level.
      MT_ASSIGN_OR_RETURN(GcsListing l, store.ListObjects(d, "/"));
      for (auto& o : l.objects) add_object(std::move(o));
      for (const auto& p : l.prefixes) add_folder(p);
    } else {
      add_folder(d);
    }
  }
  std::sort(out.begin(), out.end(), [](const LsEntry& a, const LsEntry& b) { return a.url < b.url; });
  out.erase(std::unique(out.begin(), out.end(), [](const LsEntry& a, const LsEntry& b) { return a.url == b.url; }),
            out.end());
  if (out.empty() && !url.object.empty()) return NothingMatched(url);
  return out;
}

std::string FormatLs(const std::vector<LsEntry>& entries, bool long_form) {
  std::string out;
  uint64_t objects = 0, bytes = 0;
  for (const auto& e : entries) {
    if (!long_form) {
      out += e.url + "\n";
      continue;
    }
    if (e.is_folder) {
      out += std::string(34, ' ') + e.url + "\n";
      continue;
    }
    // The JSON API's RFC 3339 time to the second, in UTC as it comes.
    std::string when = e.obj.updated.size() >= 19 ? e.obj.updated.substr(0, 19) + "Z" : e.obj.updated;
    if (when.size() < 20) when.resize(20, ' ');
    char size[32];
    std::snprintf(size, sizeof size, "%10llu", static_cast<unsigned long long>(e.obj.size));
    out += std::string(size) + "  " + when + "  " + e.url + "\n";
    objects++;
    bytes += e.obj.size;
  }
  if (long_form) {
    out += "TOTAL: " + std::to_string(objects) + (objects == 1 ? " object, " : " objects, ") + std::to_string(bytes) +
           " bytes (" + HumanBytes(bytes) + ")\n";
  }
  return out;
}

Result<std::vector<GcsObject>> DuObjects(GcsStore& store, const GcsUrl& url) {
  MT_ASSIGN_OR_RETURN(UrlMatches m, ExpandUrl(store, url.object));
  MT_ASSIGN_OR_RETURN(std::vector<GcsObject> all, MatchedObjects(store, m, true));
  if (all.empty() && !url.object.empty()) return NothingMatched(url);
  return all;
}

Result<std::vector<GcsObject>> RmTargets(GcsStore& store, const GcsUrl& url, bool recursive) {
  MT_ASSIGN_OR_RETURN(UrlMatches m, ExpandUrl(store, url.object));
  MT_ASSIGN_OR_RETURN(std::vector<GcsObject> all, MatchedObjects(store, m, recursive));
  if (all.empty()) {
    if (!recursive && !m.dirs.empty()) {
      return Status::Usage(url.Text() + " names a folder: use rm -r to remove every object under it");
    }
    return NothingMatched(url);
  }
  return all;
}

Status DeleteObjects(GcsStore& store, const std::vector<GcsObject>& objects, int jobs,
                     const std::atomic<bool>* cancel, size_t* deleted) {
  std::mutex mu;
  Status worst;
  std::atomic<size_t> n{0};
  const Status run = ParallelFor(objects.size(), {std::max(1, jobs), cancel}, [&](size_t i) {
    const GcsObject& o = objects[i];
    Status st = store.Delete(o.name, o.generation);
    if (st.code() == Status::Code::kNotFound) st = Status::OK();  // gone already: the goal holds
    if (st.ok()) {
      n++;
      return Status::OK();
    }
    log::Error(st.message());
    std::lock_guard<std::mutex> lock(mu);
    worst = WorseStatus(worst, st);
    return Status::OK();  // the others go on
  });
  *deleted = n.load();
  return WorseStatus(worst, run);
}

}  // namespace mt::storage
