#include "storage/open_store.h"

#include "core/log.h"
#include "net/gcs_auth.h"
#include "storage/layout_record.h"

namespace mt::storage {

const char* SupportedStoreSchemes() { return "file://PATH, gs://BUCKET[/PREFIX] or a plain path"; }

Result<StoreLocation> ResolveStoreUri(const std::string& uri) {
  if (uri.empty()) return Status::Usage("empty output URI (give " + std::string(SupportedStoreSchemes()) + ")");
  size_t n = 0;
  while (n < uri.size() && (std::isalnum(static_cast<unsigned char>(uri[n])) || uri[n] == '+' || uri[n] == '-' ||
                            uri[n] == '.')) {
    n++;
  }
  const bool has_scheme = n > 0 && std::isalpha(static_cast<unsigned char>(uri[0])) && uri.compare(n, 3, "://") == 0;
  if (!has_scheme) return StoreLocation{StoreKind::kLocal, uri};
  const std::string scheme = uri.substr(0, n);
  if (scheme == "file") {
    const std::string path = uri.substr(7);
    if (path.empty()) return Status::Usage("output URI '" + uri + "' names no path");
    return StoreLocation{StoreKind::kLocal, path};
  }
  if (scheme == "gs") return StoreLocation{StoreKind::kGcs, uri};
  // Taken as a path, "s3://b" would become the local folder ./s3:/b.
  return Status::Usage("output URI '" + uri + "': unsupported scheme '" + scheme + "://' (supported: " +
                       SupportedStoreSchemes() + ")");
}

Result<std::unique_ptr<GcsStore>> OpenGcsStore(const std::string& uri, const GcsSettings& s) {
  MT_ASSIGN_OR_RETURN(GsUri gs, ParseGsUri(uri));
  GcsOptions o;
  o.bucket = gs.bucket;
  o.prefix = gs.prefix;
  net::AuthConfig auth;
  if (!s.emulator_host.empty()) {
    std::string host = s.emulator_host;
    if (host.find("://") == std::string::npos) host = "http://" + host;
    while (!host.empty() && host.back() == '/') host.pop_back();
    o.endpoint = host;
    auth.emulator_host = s.emulator_host;
  } else {
    if (!s.endpoint.empty()) o.endpoint = s.endpoint;
    auth.credentials_file = s.credentials_file;
    auth.adc_file = s.adc_file;
    auth.token_uri = s.token_uri;
    auth.metadata_host = s.metadata_host;
  }
  MT_ASSIGN_OR_RETURN(o.auth, net::MakeTokenSource(auth));
  if (s.chunk_size) {
    if (*s.chunk_size == 0 || *s.chunk_size % kGcsChunkQuantum != 0) {
      return Status::Usage("GCS_CHUNK_SIZE must be a multiple of 256 KiB (262144 bytes), got " +
                           std::to_string(*s.chunk_size));
    }
    o.chunk_size = *s.chunk_size;
  }
  if (s.resumable_threshold) o.resumable_threshold = *s.resumable_threshold;
  if (s.list_page_size) o.list_page_size = *s.list_page_size;
  o.retry = s.retry;  // o.cancel: the process's flag
  // Fail now, with what to set, rather than on the first upload.
  auto token = o.auth->AuthorizationHeader();
  if (!token.ok()) return token.status();
  log::Debug("GCS: " + o.endpoint + ", bucket " + o.bucket + ", credentials: " + o.auth->Describe());
  return NewGcsStore(std::move(o));
}

Result<std::unique_ptr<ObjectStore>> OpenStore(const std::string& uri, const StoreConfig& config) {
  MT_ASSIGN_OR_RETURN(const StoreLocation loc, ResolveStoreUri(uri));
  switch (loc.kind) {
    case StoreKind::kGcs: {
      MT_ASSIGN_OR_RETURN(auto gcs, OpenGcsStore(loc.location, config.gcs));
      return std::unique_ptr<ObjectStore>(std::move(gcs));
    }
    case StoreKind::kLocal: break;
  }
  return NewLocalStore(loc.location);
}

Result<std::unique_ptr<ObjectStore>> OpenDataStore(const std::string& uri, const StoreConfig& config) {
  MT_ASSIGN_OR_RETURN(auto store, OpenStore(uri, config));
  MT_RETURN_IF_ERROR(ResolveStoreLayout(store.get(), config.layout));
  return RecordLayoutOnFirstWrite(std::move(store));
}

}  // namespace mt::storage
