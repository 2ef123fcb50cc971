#include "cli/gcs_settings.h"

#include "cli/settings.h"
#include "core/log.h"

namespace mt::cli {

Result<std::unique_ptr<storage::GcsStore>> OpenGcsStore(const std::string& uri, const Context& ctx) {
  MT_ASSIGN_OR_RETURN(storage::GsUri gs, storage::ParseGsUri(uri));
  storage::GcsOptions o;
  o.bucket = gs.bucket;
  o.prefix = gs.prefix;

  net::AuthConfig auth;
  if (auto emu = ctx.config.Get("STORAGE_EMULATOR_HOST")) {
    std::string host = *emu;
    if (host.find("://") == std::string::npos) host = "http://" + host;
    while (!host.empty() && host.back() == '/') host.pop_back();
    o.endpoint = host;
    auth.emulator_host = *emu;
  } else {
    if (auto ep = ctx.config.Get("GCS_ENDPOINT")) o.endpoint = *ep;
    auth.credentials_file = ctx.config.GetOr("GOOGLE_APPLICATION_CREDENTIALS", "");
    auth.metadata_host = ctx.config.GetOr("GCE_METADATA_HOST", "");
  }
  MT_ASSIGN_OR_RETURN(o.auth, net::MakeTokenSource(auth));

  if (auto v = ctx.config.Get("GCS_CHUNK_SIZE")) {
    MT_ASSIGN_OR_RETURN(o.chunk_size, ByteSize("GCS_CHUNK_SIZE", *v));
    if (o.chunk_size % storage::kGcsChunkQuantum != 0) {
      return Status::Usage("GCS_CHUNK_SIZE must be a multiple of 256 KiB (262144 bytes), got " + *v);
    }
  }
  if (auto v = ctx.config.Get("GCS_RESUMABLE_THRESHOLD")) {
    MT_ASSIGN_OR_RETURN(o.resumable_threshold, ByteSize("GCS_RESUMABLE_THRESHOLD", *v));
  }
  if (auto v = ctx.config.Get("GCS_LIST_PAGE_SIZE")) {
    MT_ASSIGN_OR_RETURN(size_t n, PositiveInt("GCS_LIST_PAGE_SIZE", *v, 1, 1000));
    o.list_page_size = static_cast<int>(n);
  }
  MT_ASSIGN_OR_RETURN(o.retry, RetryFromConfig(ctx));

  // Fail now, with what to set, rather than on the first upload.
  auto token = o.auth->AuthorizationHeader();
  if (!token.ok()) return token.status();
  log::Debug("GCS: " + o.endpoint + ", bucket " + o.bucket + ", credentials: " + o.auth->Describe());
  return storage::NewGcsStore(std::move(o));
}

}  // namespace mt::cli
