#include "storage/gcs_store.h"

#include <algorithm>

#include "core/time_util.h"

#include <nlohmann/json.hpp>

#include "core/bounded_json.h"
#include "core/crc32c.h"
#include "core/log.h"
#include "core/open_files.h"
#include "core/utf8.h"
#include "net/string_sink.h"
#include "storage/gcs_upload.h"

namespace mt::storage {

namespace {

using json = nlohmann::json;

std::string UserAgent() { return std::string("market-tick/") + MT_VERSION; }

std::string StringField(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// The JSON API sends 64-bit numbers as strings.
int64_t IntField(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return 0;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) return std::strtoll(it->get<std::string>().c_str(), nullptr, 10);
  return 0;
}

// The message of a JSON API error body ({"error": {"message": ...}}), or the
// start of a non-JSON body.
std::string ErrorDetail(const std::string& body) {
  auto parsed = ParseBoundedJson(body, "the GCS error answer");
  const json j = parsed.ok() ? std::move(parsed).value() : json(json::value_t::discarded);
  if (j.is_object() && j.contains("error")) {
    const json& e = j["error"];
    if (e.is_object()) return EscapeOutsideText(StringField(e, "message"));
    if (e.is_string()) return EscapeOutsideText(e.get<std::string>());
  }
  return EscapeOutsideText(body, 200);
}

// Streams a media download into a callback: only 200/206 bodies, with the
// CRC32C of what passed, the generation and where the range started.
class MediaSink : public net::HttpBodySink {
 public:
  explicit MediaSink(const std::function<Status(const char*, size_t)>& out) : out_(out) {}
  // Before each request: the answer's state starts empty, because a request
  // that gets no answer at all (a refused or reset connection) calls no
  // method of the sink, and the last answer's state must not pass for the new one's.
  void BeginRequest(uint64_t from, int64_t max_bytes) {
    head = net::HttpResponseHead();
    media = false;
    error_body.clear();
    got = 0;
    skip = 0;
    requested_from = from;
    limit = max_bytes;
  }
  Status OnHead(const net::HttpResponseHead& h) override {
    head = h;
    media = h.status == 200 || h.status == 206;
    error_body.clear();
    got = 0;
    skip = h.status == 200 ? requested_from : 0;
    // A whole object's announced size, so a reader can hold it in one
    // buffer instead of growing one (twice its size while it is copied).
    if (on_size && h.status == 200 && requested_from == 0) {
      const std::string len = h.Header("content-length");
      char* end = nullptr;
      const unsigned long long n = std::strtoull(len.c_str(), &end, 10);
      if (!len.empty() && end && *end == '\0') on_size(n);
    }
    return Status::OK();
  }
  Status OnBody(const char* d, size_t n) override {
    if (!media) {
      if (error_body.size() < 4096) error_body.append(d, std::min(n, 4096 - error_body.size()));
      return Status::OK();
    }
    if (skip > 0) {  // a server that ignored our Range: drop what was already delivered
      const size_t s = std::min<uint64_t>(skip, n);
      skip -= s;
      d += s;
      n -= s;
    }
    if (limit >= 0) n = std::min<uint64_t>(n, static_cast<uint64_t>(limit) - std::min<uint64_t>(got, limit));
    if (n == 0) return Status::OK();
    crc = Crc32cExtend(crc, d, n);
    got += n;
    return out_(d, n);
  }

  net::HttpResponseHead head;
  bool media = false;
  std::string error_body;
  uint64_t got = 0, skip = 0, requested_from = 0;
  int64_t limit = -1;
  uint32_t crc = 0;  // of every byte passed on, across requests
  std::function<void(uint64_t)> on_size;

 private:
  const std::function<Status(const char*, size_t)>& out_;
};

}  // namespace

Result<GsUri> ParseGsUri(const std::string& uri) {
  if (uri.rfind("gs://", 0) != 0) return Status::Usage("'" + uri + "' is not a gs://bucket[/prefix] URI");
  std::string rest = uri.substr(5);
  const size_t slash = rest.find('/');
  GsUri out;
  out.bucket = rest.substr(0, slash);
  if (slash != std::string::npos) out.prefix = rest.substr(slash + 1);
  while (!out.prefix.empty() && out.prefix.back() == '/') out.prefix.pop_back();
  while (!out.prefix.empty() && out.prefix.front() == '/') out.prefix.erase(0, 1);
  if (out.bucket.empty()) return Status::Usage("'" + uri + "' names no bucket: use gs://BUCKET[/PREFIX]");
  for (char c : out.bucket) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '-' ||
          c == '_' || c == '.')) {
      return Status::Usage("'" + out.bucket + "' is not a valid bucket name (lowercase letters, digits, - _ .)");
    }
  }
  return out;
}

std::string GcsEncodeName(const std::string& name) { return net::UrlEncode(name); }

std::optional<uint32_t> Crc32cFromGoogHash(const std::string& header) {
  // Several x-goog-hash headers arrive joined by ", ".
  size_t p = header.find("crc32c=");
  if (p == std::string::npos) return std::nullopt;
  p += 7;
  size_t e = header.find_first_of(", ", p);
  return Crc32cFromBase64(header.substr(p, e == std::string::npos ? std::string::npos : e - p));
}

Result<GcsObject> ParseGcsObject(const std::string& text) {
  MT_ASSIGN_OR_RETURN(const json j, ParseBoundedJson(text, "the GCS object resource"));
  if (j.is_discarded() || !j.is_object()) return Status::IOError("GCS answered with no object resource: " + text.substr(0, 120));
  GcsObject o;
  o.name = StringField(j, "name");
  o.size = static_cast<uint64_t>(IntField(j, "size"));
  o.generation = IntField(j, "generation");
  const std::string crc = StringField(j, "crc32c");
  if (auto c = Crc32cFromBase64(crc); c && !crc.empty()) {
    o.has_crc32c = true;
    o.crc32c = *c;
  }
  o.md5_base64 = StringField(j, "md5Hash");
  o.content_type = StringField(j, "contentType");
  o.updated = StringField(j, "updated");
  return o;
}

GcsStore::GcsStore(GcsOptions opts) : opts_(std::move(opts)) {
  if (!opts_.http_factory) opts_.http_factory = [] { return net::NewCurlClient(); };
  // An object that fills a chunk goes through a session whatever the threshold.
  if (opts_.resumable_threshold == 0 || opts_.resumable_threshold > opts_.chunk_size) {
    opts_.resumable_threshold = opts_.chunk_size;
  }
  while (!opts_.endpoint.empty() && opts_.endpoint.back() == '/') opts_.endpoint.pop_back();
}

GcsStore::~GcsStore() = default;

Result<std::unique_ptr<GcsStore>> NewGcsStore(GcsOptions opts) {
  if (opts.bucket.empty()) return Status::Usage("GCS store without a bucket");
  if (!opts.auth) return Status::Usage("GCS store without credentials");
  if (opts.chunk_size == 0 || opts.chunk_size % kGcsChunkQuantum != 0) {
    return Status::Usage("the GCS upload chunk size must be a positive multiple of 256 KiB (262144), got " +
                         std::to_string(opts.chunk_size));
  }
  if (opts.list_page_size < 1) opts.list_page_size = 1000;
  return std::make_unique<GcsStore>(std::move(opts));
}

std::string GcsStore::FullName(const std::string& name) const {
  if (opts_.prefix.empty()) return name;
  if (name.empty()) return opts_.prefix + "/";
  return opts_.prefix + "/" + name;
}

std::string GcsStore::Describe(const std::string& name) const {
  return "gs://" + opts_.bucket + "/" + FullName(name);
}

std::string GcsStore::ObjectUrl(const std::string& full_name) const {
  return opts_.endpoint + "/storage/v1/b/" + opts_.bucket + "/o/" + GcsEncodeName(full_name);
}

std::string GcsStore::UploadUrl() const { return opts_.endpoint + "/upload/storage/v1/b/" + opts_.bucket + "/o"; }

std::unique_ptr<net::HttpClient> GcsStore::TakeClient() {
  {
    std::lock_guard<std::mutex> l(pool_mu_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
  }
  return opts_.http_factory();
}

namespace {

// Idle clients each keep their connection open: its socket and the pair of
// sockets curl wakes itself with, three descriptors. At most a quarter of
// the open-file limit goes to them: under a low `ulimit -n` the connections
// a burst of reads left idle held every descriptor, and the next request
// elsewhere (a Tardis metadata fetch) failed as "Couldn't connect to server".
size_t MaxIdleClients() {
  constexpr uint64_t kMaxIdle = 32, kDescriptorsPerClient = 3;
  const uint64_t limit = OpenFileLimit();
  return static_cast<size_t>(limit == 0 ? kMaxIdle : std::min(kMaxIdle, limit / 4 / kDescriptorsPerClient));
}

}  // namespace

void GcsStore::GiveClient(std::unique_ptr<net::HttpClient> c) {
  static const size_t max_idle = MaxIdleClients();
  std::lock_guard<std::mutex> l(pool_mu_);
  if (idle_.size() < max_idle) idle_.push_back(std::move(c));
}

net::Retrier GcsStore::NewRetrier(const std::string& what) const {
  return net::Retrier(opts_.retry, opts_.clock, StopFlags{opts_.cancel}, net::RetrySeed(what));
}

Status GcsStore::Backoff(net::Retrier* retrier, const std::string& what, const std::string& last_error,
                         double retry_after) {
  retrier->Attempted();
  switch (retrier->Backoff(retry_after, [&](double delay) {
    log::Debug(what + ": " + last_error + "; attempt " + std::to_string(retrier->attempts() + 1) + " in " +
               std::to_string(delay) + " s");
  })) {
    case net::Retrier::Next::kRetry:
      return Status::OK();
    case net::Retrier::Next::kGiveUp:
      return Status::Unavailable(what + ": gave up after " + std::to_string(retrier->attempts()) + " attempts in " +
                                 std::to_string(static_cast<int>(retrier->Elapsed())) + " s; last error: " + last_error);
    case net::Retrier::Next::kCancelled:
      break;
  }
  return Status::Cancelled(what + ": interrupted");
}

Result<GcsStore::Response> GcsStore::Execute(net::HttpRequest& req, Retry retry, const std::string& what,
                                             net::HttpBodySink* sink) {
  const auto base_headers = req.headers;
  opts_.retry.ApplyTimeouts(&req);
  // A transfer in progress stops when the run is cancelled (SIGINT/SIGTERM),
  // not only the waits between attempts.
  if (!req.cancel) req.cancel = opts_.cancel;
  net::Retrier retrier = NewRetrier(what);
  bool reauthorized = false;
  for (int attempt = 1;; attempt++) {
    MT_ASSIGN_OR_RETURN(std::string authorization, opts_.auth->AuthorizationHeader());
    req.headers = base_headers;
    req.headers.emplace_back("User-Agent", UserAgent());
    if (!authorization.empty()) req.headers.emplace_back("Authorization", authorization);
    net::StringSink collect(32 << 20);
    auto client = TakeClient();
    net::HttpResult r = client->Fetch(req, sink ? sink : &collect);
    GiveClient(std::move(client));
    req.headers = base_headers;  // no token left behind in the caller's request

    Response resp;
    resp.status = r.transport.ok() ? r.head.status : 0;
    resp.head = r.head;
    resp.transport = r.transport;
    resp.attempts = attempt;
    if (!sink) resp.body = std::move(collect.body());
    if (!r.sink_error.ok()) return r.sink_error;
    if (r.transport.code() == Status::Code::kCancelled) return Status::Cancelled(what + ": interrupted");
    if (resp.status == 401 && !reauthorized) {
      // An expired or revoked token: get a new one and try once more.
      reauthorized = true;
      opts_.auth->Invalidate();
      continue;
    }
    if (!net::IsTransientHttpStatus(resp.status) || retry == Retry::kNo) return resp;
    const std::string last = resp.status == 0 ? r.transport.message()
                                              : "HTTP " + std::to_string(resp.status) + " " + ErrorDetail(resp.body);
    MT_RETURN_IF_ERROR(Backoff(&retrier, what, net::Redact(last, ""), net::RetryAfter(resp.head)));
  }
}

Status GcsStore::HttpError(const Response& r, const std::string& what) const {
  if (r.status == 0) return Status::Unavailable(what + ": " + r.transport.message());
  const std::string detail = net::Redact(ErrorDetail(r.body), "");
  const std::string head = what + ": HTTP " + std::to_string(r.status) + (detail.empty() ? "" : " (" + detail + ")");
  switch (r.status) {
    case 401:
    case 403:
      return Status::Permission(head + ". The credential in use, " + opts_.auth->Describe() +
                                ", is not allowed this on bucket " + opts_.bucket +
                                ": grant it roles/storage.objectUser there, or set GOOGLE_APPLICATION_CREDENTIALS "
                                "to a key of an account that has it")
          .WithDetail(Status::Detail::kCredentials);
    case 404:
      return Status::NotFound(head);
    case 412:
      return Status::AlreadyExists(head);
    default:
      if (net::IsTransientHttpStatus(r.status)) return Status::Unavailable(head);
      // Any other refusal (400 for an invalid bucket name, or a
      // requester-pays bucket without a billing project) is the same on
      // every attempt: a permanent failure, not one a fleet retries forever.
      // kPermission, as 401/403: a refusal of the store, not bad data (which
      // kInvalidInput means to validate and to the readers of objects).
      return Status::Permission(head + ": GCS refuses this request, and a rerun gets the same answer; fix the "
                                       "bucket or its settings (see the reason above)");
  }
}

Status GcsStore::BucketHttpError(const Response& r, const std::string& what) const {
  if (r.status != 404) return HttpError(r, what);
  const std::string detail = net::Redact(ErrorDetail(r.body), "");
  return Status::Usage(what + ": HTTP 404" + (detail.empty() ? "" : " (" + detail + ")") + ": bucket gs://" +
                       opts_.bucket + " does not exist (or " + opts_.endpoint +
                       " is not the GCS JSON API): create it, or fix the output URI (OUTPUT_URI, GCS_BUCKET)");
}

Result<std::unique_ptr<WritableObject>> GcsStore::Create(const std::string& name, bool overwrite) {
  if (name.empty()) return Status::Usage("empty object name");
  return NewGcsUpload(this, FullName(name), overwrite);
}

Result<GcsObject> GcsStore::Stat(const std::string& name) {
  net::HttpRequest req;
  req.url = ObjectUrl(FullName(name));
  MT_ASSIGN_OR_RETURN(Response r, Execute(req, Retry::kIdempotent, "stat " + Describe(name)));
  if (r.status != 200) return HttpError(r, "stat " + Describe(name));
  return ParseGcsObject(r.body);
}

Result<bool> GcsStore::Exists(const std::string& name) {
  net::HttpRequest req;
  req.url = ObjectUrl(FullName(name)) + "?fields=name";
  MT_ASSIGN_OR_RETURN(Response r, Execute(req, Retry::kIdempotent, "check " + Describe(name)));
  if (r.status == 200) return true;
  if (r.status == 404) return false;
  return HttpError(r, "check " + Describe(name));
}

Status GcsStore::ReadTo(const std::string& name, uint64_t offset, int64_t length,
                        const std::function<Status(const char*, size_t)>& out, int64_t* generation_out,
                        std::function<void(uint64_t)> on_size, int64_t pinned_generation) {
  const std::string what = "read " + Describe(name);
  const bool whole = offset == 0 && length < 0;
  MediaSink sink(out);
  sink.on_size = std::move(on_size);
  uint64_t done = 0;  // bytes handed to `out`
  int64_t generation = pinned_generation;
  std::optional<uint32_t> server_crc;
  // A run of attempts without progress has the policy's budget; a cut
  // transfer that brought bytes starts a new run at once.
  net::Retrier retrier = NewRetrier(what);
  while (true) {
    if (length >= 0 && done >= static_cast<uint64_t>(length)) break;
    net::HttpRequest req;
    req.url = ObjectUrl(FullName(name)) + "?alt=media";
    // Later pieces of a resumed read must come from the same generation.
    if (generation > 0) req.url += "&generation=" + std::to_string(generation);
    const uint64_t from = offset + done;
    if (from > 0 || length >= 0) {
      std::string range = "bytes=" + std::to_string(from) + "-";
      if (length >= 0) range += std::to_string(offset + static_cast<uint64_t>(length) - 1);
      req.headers.emplace_back("Range", range);
    }
    // The bytes as stored: no decompressive transcoding of gzip objects.
    req.headers.emplace_back("Accept-Encoding", "gzip");
    sink.BeginRequest(from, length >= 0 ? length - static_cast<int64_t>(done) : -1);
    MT_ASSIGN_OR_RETURN(Response r, Execute(req, Retry::kNo, what, &sink));
    if (r.status == 416) break;  // empty range at the end of the object
    if (!sink.media && !net::IsTransientHttpStatus(r.status)) {
      Response e = r;
      e.body = sink.error_body;
      return HttpError(e, what);
    }
    if (sink.media) {
      if (generation == 0) generation = std::strtoll(r.head.Header("x-goog-generation").c_str(), nullptr, 10);
      if (!server_crc && r.status == 200) server_crc = Crc32cFromGoogHash(r.head.Header("x-goog-hash"));
      done += sink.got;
      if (r.transport.ok() && r.status != 0) {
        if (r.status == 200 && length < 0) break;  // the whole rest arrived
        if (r.status == 206) {
          // Content-Range: bytes a-b/total; done when b + 1 reaches the end we want.
          unsigned long long a = 0, b = 0, total = 0;
          const std::string cr = r.head.Header("content-range");
          if (std::sscanf(cr.c_str(), "bytes %llu-%llu/%llu", &a, &b, &total) == 3 &&
              (b + 1 >= total || (length >= 0 && b + 1 >= offset + static_cast<uint64_t>(length)))) {
            break;
          }
          if (sink.got == 0) return Status::IOError(what + ": empty 206 answer (Content-Range '" + cr + "')");
          continue;
        }
        if (length >= 0) break;
      }
    }
    // A cut transfer or a transient status: go on from where we are.
    if (sink.got > 0) {
      retrier.Restart();
    } else {
      const std::string last = r.status == 0 ? r.transport.message() : "HTTP " + std::to_string(r.status);
      MT_RETURN_IF_ERROR(Backoff(&retrier, what, last, net::RetryAfter(r.head)));
    }
  }
  if (whole && server_crc && *server_crc != sink.crc) {
    return net::ChecksumMismatch(what + ": CRC32C mismatch: got " + Crc32cToBase64(sink.crc) + ", the server has " +
                                 Crc32cToBase64(*server_crc));
  }
  if (generation_out) *generation_out = generation;
  return Status::OK();
}

Result<std::string> GcsStore::Read(const std::string& name) {
  std::string data;
  Status st;
  // A whole read that fails its checksum is read again (a corrupt transfer),
  // at once: the bytes came, they were damaged on the way.
  for (int i = 0; i < 3; i++) {
    data.clear();
    st = ReadTo(
        name, 0, -1,
        [&](const char* d, size_t n) {
          data.append(d, n);
          return Status::OK();
        },
        nullptr,
        // Announced sizes past the biggest document read whole are not
        // taken on trust: such a read grows its buffer as bytes arrive.
        [&](uint64_t n) { data.reserve(std::min<uint64_t>(n, kTardisMetadataJsonLimits.max_bytes)); });
    if (st.ok()) return data;
    if (!net::IsChecksumMismatch(st)) return st;
    log::Warn(st.message() + "; reading again");
  }
  return st;
}

Result<ObjectStore::Versioned> GcsStore::ReadVersioned(const std::string& name) {
  Versioned v;
  Status st;
  for (int i = 0; i < 3; i++) {
    v.bytes.clear();
    v.generation = 0;
    st = ReadTo(
        name, 0, -1,
        [&](const char* d, size_t n) {
          v.bytes.append(d, n);
          return Status::OK();
        },
        &v.generation);
    if (st.ok()) break;
    if (st.code() == Status::Code::kNotFound) return Versioned{};
    if (!net::IsChecksumMismatch(st)) return st;
    log::Warn(st.message() + "; reading again");
  }
  if (!st.ok()) return st;
  if (v.generation <= 0) {
    // Without it a conditional write could not name the version it replaces.
    return Status::IOError("read " + Describe(name) + ": the answer carried no x-goog-generation header");
  }
  return v;
}

Result<std::unique_ptr<WritableObject>> GcsStore::CreateIfGeneration(const std::string& name, int64_t generation) {
  if (name.empty()) return Status::Usage("empty object name");
  return NewGcsUploadIfGeneration(this, FullName(name), generation);
}

Result<std::string> GcsStore::ReadRange(const std::string& name, uint64_t offset, int64_t length) {
  std::string data;
  MT_RETURN_IF_ERROR(ReadTo(name, offset, length, [&](const char* d, size_t n) {
    data.append(d, n);
    return Status::OK();
  }));
  return data;
}

Result<std::string> GcsStore::ReadRangeOfVersion(const std::string& name, uint64_t offset, int64_t length,
                                                 RangedRead* read) {
  std::string data;
  int64_t generation = 0;
  const Status st = ReadTo(
      name, offset, length,
      [&](const char* d, size_t n) {
        data.append(d, n);
        return Status::OK();
      },
      &generation, nullptr, read->version);
  if (read->version > 0 && st.code() == Status::Code::kNotFound) {
    return ReplacedWhileRead("read " + Describe(name) + ": it was replaced while it was read; read it again");
  }
  MT_RETURN_IF_ERROR(st);
  if (read->version == 0) read->version = generation;
  // ReadTo checks whole reads only: the hashes GCS gives are the whole
  // object's, so the ranges' CRC32C is carried here, in order, and compared
  // with the object's once a range reaches its end.
  read->in_order = read->in_order && offset == read->next;
  if (read->in_order) {
    read->crc32c = Crc32cExtend(read->crc32c, data.data(), data.size());
    read->next += data.size();
  }
  const bool ended = length < 0 || data.size() < static_cast<uint64_t>(length);
  if (ended && read->in_order && read->version > 0) MT_RETURN_IF_ERROR(CheckRangesRead(name, *read));
  return data;
}

Status GcsStore::CheckRangesRead(const std::string& name, const RangedRead& read) {
  // The object resource of the generation read: its crc32c and size are the
  // JSON API's record of that version's bytes (the media answers' headers
  // are not documented for ranges).
  const std::string what = "check the ranges read of " + Describe(name);
  net::HttpRequest req;
  req.url = ObjectUrl(FullName(name)) + "?generation=" + std::to_string(read.version) + "&fields=size%2Ccrc32c";
  MT_ASSIGN_OR_RETURN(Response r, Execute(req, Retry::kIdempotent, what));
  if (r.status == 404) {
    return ReplacedWhileRead("read " + Describe(name) + ": it was replaced while it was read; read it again");
  }
  if (r.status != 200) return HttpError(r, what);
  MT_ASSIGN_OR_RETURN(GcsObject o, ParseGcsObject(r.body));
  if (o.size != read.next || (o.has_crc32c && o.crc32c != read.crc32c)) {
    return net::ChecksumMismatch("read " + Describe(name) + " in ranges: CRC32C mismatch: got " +
                                 Crc32cToBase64(read.crc32c) + " over " + std::to_string(read.next) +
                                 " bytes, the object has " + (o.has_crc32c ? Crc32cToBase64(o.crc32c) : "none") +
                                 " over " + std::to_string(o.size) + "; read it again");
  }
  return Status::OK();
}

Result<ObjectStore::Tail> GcsStore::ReadTail(const std::string& name, uint64_t n) {
  const std::string what = "read the tail of " + Describe(name);
  Tail t;
  if (n == 0) {
    MT_ASSIGN_OR_RETURN(GcsObject o, Stat(name));
    t.object_size = o.size;
    return t;
  }
  // Keeps the last n bytes of whatever comes (a 200 carries the whole object).
  class TailSink : public net::HttpBodySink {
   public:
    explicit TailSink(uint64_t n) : n_(n) {}
    Status OnHead(const net::HttpResponseHead& h) override {
      status = h.status;
      bytes.clear();
      total = 0;
      return Status::OK();
    }
    Status OnBody(const char* d, size_t len) override {
      total += len;
      bytes.append(d, len);
      if (bytes.size() > 2 * n_ + (1 << 20)) bytes.erase(0, bytes.size() - n_);
      return Status::OK();
    }
    int status = 0;
    std::string bytes;
    uint64_t total = 0;

   private:
    uint64_t n_;
  } sink(n);
  net::HttpRequest req;
  req.url = ObjectUrl(FullName(name)) + "?alt=media";
  req.headers = {{"Range", "bytes=-" + std::to_string(n)}, {"Accept-Encoding", "gzip"}};
  MT_ASSIGN_OR_RETURN(Response r, Execute(req, Retry::kIdempotent, what, &sink));
  if (r.status == 416) return t;  // an empty object has no suffix
  if (r.status == 206) {
    unsigned long long a = 0, b = 0, total = 0;
    const std::string cr = r.head.Header("content-range");
    if (std::sscanf(cr.c_str(), "bytes %llu-%llu/%llu", &a, &b, &total) != 3) {
      return Status::IOError(what + ": unexpected Content-Range '" + EscapeOutsideText(cr, 100) + "'");
    }
    t.object_size = total;
  } else if (r.status == 200) {
    t.object_size = sink.total;
  } else {
    Response e = r;
    e.body = sink.bytes;
    return HttpError(e, what);
  }
  if (sink.bytes.size() > n) sink.bytes.erase(0, sink.bytes.size() - n);
  t.bytes = std::move(sink.bytes);
  t.version = std::strtoll(r.head.Header("x-goog-generation").c_str(), nullptr, 10);
  return t;
}

Status GcsStore::Delete(const std::string& name, int64_t generation) {
  net::HttpRequest req;
  req.method = "DELETE";
  req.url = ObjectUrl(FullName(name));
  if (generation > 0) req.url += "?ifGenerationMatch=" + std::to_string(generation);
  const std::string what = "delete " + Describe(name);
  MT_ASSIGN_OR_RETURN(Response r, Execute(req, generation > 0 ? Retry::kIdempotent : Retry::kNo, what));
  if (r.status == 204 || r.status == 200) return Status::OK();
  // A repeated delete whose first try went through finds nothing: done.
  if (r.status == 404 && r.attempts > 1) return Status::OK();
  return HttpError(r, what);
}

Status GcsStore::Remove(const std::string& name) {
  // By name, an object already gone being success: safe to repeat, so
  // retried as reads are (a 503 must not fail an item whose file is read).
  net::HttpRequest req;
  req.method = "DELETE";
  req.url = ObjectUrl(FullName(name));
  const std::string what = "delete " + Describe(name);
  MT_ASSIGN_OR_RETURN(Response r, Execute(req, Retry::kIdempotent, what));
  if (r.status == 204 || r.status == 200 || r.status == 404) return Status::OK();
  return HttpError(r, what);
}

Result<std::vector<GcsObject>> GcsStore::ListObjects(const std::string& prefix) {
  MT_ASSIGN_OR_RETURN(GcsListing listing, ListObjects(prefix, ""));
  return std::move(listing.objects);
}

Result<GcsListing> GcsStore::ListObjects(const std::string& prefix, const std::string& delimiter) {
  GcsListing out;
  MT_RETURN_IF_ERROR(ListPages(
      prefix, delimiter,
      [&out](GcsObject&& o) {
        out.objects.push_back(std::move(o));
        return Status::OK();
      },
      &out.prefixes));
  // Pages each carry their own prefixes: one entry per prefix, in name order.
  std::sort(out.prefixes.begin(), out.prefixes.end());
  out.prefixes.erase(std::unique(out.prefixes.begin(), out.prefixes.end()), out.prefixes.end());
  return out;
}

Status GcsStore::ListPages(const std::string& prefix, const std::string& delimiter,
                           const std::function<Status(GcsObject&&)>& each, std::vector<std::string>* prefixes) {
  const std::string full = opts_.prefix.empty() ? prefix : opts_.prefix + "/" + prefix;
  std::string token;
  const std::string what = "list " + Describe(prefix);
  do {
    net::HttpRequest req;
    req.url = opts_.endpoint + "/storage/v1/b/" + opts_.bucket + "/o?prefix=" + net::UrlEncode(full) +
              "&maxResults=" + std::to_string(opts_.list_page_size) +
              "&fields=" +
              net::UrlEncode(std::string("items(name,size,generation,crc32c,md5Hash,contentType,updated),") +
                             (delimiter.empty() ? "" : "prefixes,") + "nextPageToken");
    if (!delimiter.empty()) req.url += "&delimiter=" + net::UrlEncode(delimiter);
    if (!token.empty()) req.url += "&pageToken=" + net::UrlEncode(token);
    MT_ASSIGN_OR_RETURN(Response r, Execute(req, Retry::kIdempotent, what));
    if (r.status != 200) return BucketHttpError(r, what);
    MT_ASSIGN_OR_RETURN(const json j, ParseBoundedJson(r.body, what + " (" + req.url + ")"));
    if (j.is_discarded() || !j.is_object()) return Status::IOError(what + ": the answer is not JSON");
    if (auto it = j.find("items"); it != j.end() && it->is_array()) {
      for (const auto& item : *it) {
        MT_ASSIGN_OR_RETURN(GcsObject o, ParseGcsObject(item.dump()));
        MT_RETURN_IF_ERROR(each(std::move(o)));
      }
    }
    if (auto it = j.find("prefixes"); prefixes != nullptr && it != j.end() && it->is_array()) {
      for (const auto& p : *it) {
        if (p.is_string()) prefixes->push_back(p.get<std::string>());
      }
    }
    const std::string next = StringField(j, "nextPageToken");
    if (!next.empty() && next == token) return Status::IOError(what + ": the server repeated page token " + next);
    token = next;
  } while (!token.empty());
  return Status::OK();
}

Status GcsStore::ListEach(const std::string& prefix, const std::function<Status(ObjectInfo&&)>& each) {
  const size_t strip = opts_.prefix.empty() ? 0 : opts_.prefix.size() + 1;
  // The JSON API lists by name; callers merge listings with other sorted
  // sequences, so a name out of order is the server's error, not a reorder.
  std::string last;
  bool first = true;
  return ListPages(
      prefix, "",
      [&](GcsObject&& o) {
        std::string name = o.name.substr(std::min(strip, o.name.size()));
        if (!first && name <= last) {
          return Status::IOError("list " + Describe(prefix) + ": the server listed " + Describe(name) + " after " +
                                 Describe(last) + ", out of name order");
        }
        first = false;
        last = name;
        return each(ObjectInfo{std::move(name), o.size});
      },
      nullptr);
}

}  // namespace mt::storage
