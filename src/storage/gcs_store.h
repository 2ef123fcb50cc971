// Google Cloud Storage behind the ObjectStore interface, over the JSON API
// (https://cloud.google.com/storage/docs/json_api) with our HttpClient:
//  - uploads stream: an object no larger than `resumable_threshold` goes in
//    one media upload; a larger one through a resumable session in chunks of
//    `chunk_size` (a multiple of 256 KiB). Each open object holds at most
//    chunk_size bytes. A chunk that fails is resumed from the offset the
//    server reports to a status query.
//  - create-only writes (overwrite=false) carry ifGenerationMatch=0; the
//    server's 412 becomes kAlreadyExists. Conditional writes
//    (CreateIfGeneration) carry ifGenerationMatch=<the generation read>
//    (https://cloud.google.com/storage/docs/request-preconditions), and
//    ReadVersioned takes that generation from the x-goog-generation header
//    of the read itself, so the pair is one version. Writes with overwrite=true go
//    through a resumable session, whose requests are safe to repeat.
//  - the CRC32C of the bytes is computed while they stream, sent with the
//    last request (x-goog-hash) and compared with the crc32c of the object
//    the server reports; on a mismatch Commit fails (retryable) and the object
//    is deleted, except the new generation of a CreateIfGeneration replace,
//    which is kept: the generation it replaced is gone, and deleting it
//    would leave no object for the caller's next read-modify-write.
//  - requests are retried (net/retry.h: exponential backoff and jitter,
//    Retry-After honoured) on 408, 429, 5xx and transport errors, only when
//    they are safe to repeat; a whole read whose CRC32C does not match is
//    read again. An object read in ranges of one generation
//    (ReadRangeOfVersion) is checked once its last range is read: the CRC32C
//    of its ranges against the generation's object resource.
// Thread-safe: a store is shared by the download workers; each request
// borrows a connection from a pool. A WritableObject is used by one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "net/gcs_auth.h"
#include "net/http_client.h"
#include "net/retry.h"
#include "storage/object_store.h"

namespace mt::storage {

inline constexpr size_t kGcsChunkQuantum = 256 * 1024;  // resumable chunks are multiples of this

struct GcsOptions {
  std::string endpoint = "https://storage.googleapis.com";  // or the emulator's http://host:port
  std::string bucket;
  std::string prefix;  // object names are prefix + "/" + name; "" for the bucket root
  std::shared_ptr<net::TokenSource> auth;
  size_t chunk_size = 8 << 20;     // REQUIRES: a positive multiple of kGcsChunkQuantum
  size_t resumable_threshold = 0;  // larger objects use a resumable session; 0 (or above) = chunk_size
  int list_page_size = 1000;       // maxResults of each list request
  // Per request (a resumable chunk, a ranged read: per run of attempts
  // without progress). The same policy as downloads (cli: RetryFromConfig).
  net::RetryPolicy retry;
  std::function<std::unique_ptr<net::HttpClient>()> http_factory;  // default: curl
  net::RetryClock* clock = nullptr;                      // the retry waits' clock; null: the system's
  const std::atomic<bool>* cancel = ProcessCancelFlag();  // polled between retries and in their waits
};

// Metadata of one object, from the JSON API object resource.
struct GcsObject {
  std::string name;  // full name in the bucket
  uint64_t size = 0;
  int64_t generation = 0;
  bool has_crc32c = false;
  uint32_t crc32c = 0;
  std::string md5_base64, content_type, updated;
};

// One listing: the objects, and with a delimiter the "directories" (common
// prefixes, each ending with the delimiter), full names in the bucket.
struct GcsListing {
  std::vector<GcsObject> objects;
  std::vector<std::string> prefixes;  // sorted, unique
};

struct GsUri {
  std::string bucket, prefix;
};
// "gs://bucket", "gs://bucket/", "gs://bucket/a/b/" -> {bucket, "a/b"}.
Result<GsUri> ParseGsUri(const std::string& uri);

// An object name as one URL path segment: every byte but RFC 3986
// unreserved characters percent-encoded, '/' included (JSON API rule).
std::string GcsEncodeName(const std::string& name);

class GcsStore final : public ObjectStore {
 public:
  explicit GcsStore(GcsOptions opts);
  ~GcsStore() override;

  // ObjectStore: names are relative to the prefix.
  Result<std::unique_ptr<WritableObject>> Create(const std::string& name, bool overwrite) override;
  Result<bool> Exists(const std::string& name) override;
  Status Remove(const std::string& name) override;
  // The whole object; its CRC32C is checked against x-goog-hash.
  Result<std::string> Read(const std::string& name) override;
  Result<Versioned> ReadVersioned(const std::string& name) override;
  Result<std::unique_ptr<WritableObject>> CreateIfGeneration(const std::string& name, int64_t generation) override;
  // A page of the JSON API at a time; the server's order (by name) is checked.
  Status ListEach(const std::string& prefix, const std::function<Status(ObjectInfo&&)>& each) override;
  std::string Describe(const std::string& name) const override;
  // An upload borrows a client (its connection and the HTTP library's
  // wake-up pair) from the pool, which keeps idle only clients made when
  // that many were in use at once: counted per writer, they are all counted.
  int DescriptorsPerWrite() const override { return 3; }
  bool ReadsOverNetwork() const override { return true; }

  // `length` bytes from `offset` (to the end when length < 0): one Range
  // request (more only when a transfer is cut).
  Result<std::string> ReadRange(const std::string& name, uint64_t offset, int64_t length) override;
  // Ranges of one generation (&generation=N once the first fixed it); the
  // range that ends a read in order from offset 0 is checked against the
  // generation's object resource (its crc32c and size: one more request).
  Result<std::string> ReadRangeOfVersion(const std::string& name, uint64_t offset, int64_t length,
                                         RangedRead* read) override;
  // A suffix range request (Range: bytes=-n): the tail and the object size.
  Result<Tail> ReadTail(const std::string& name, uint64_t n) override;
  // Streams the object (or a range) to `out`, resuming a cut transfer where it
  // stopped; a whole-object read is checked against the server's CRC32C.
  // `generation`, when given, receives the generation the bytes came from;
  // `on_size`, when given, the size a whole object's answer announces (before
  // its first byte). `pinned_generation` > 0: that generation is read
  // (kNotFound when it is no longer there).
  Status ReadTo(const std::string& name, uint64_t offset, int64_t length,
                const std::function<Status(const char*, size_t)>& out, int64_t* generation = nullptr,
                std::function<void(uint64_t)> on_size = nullptr, int64_t pinned_generation = 0);
  Result<GcsObject> Stat(const std::string& name);
  // With generation > 0 only that generation is deleted (and the request is
  // safe to repeat); kNotFound when there is no such object.
  Status Delete(const std::string& name, int64_t generation = 0);
  // Full object resources under `prefix` (relative), every page.
  Result<std::vector<GcsObject>> ListObjects(const std::string& prefix);
  // The same with a delimiter ("/": one level, the deeper names folded into
  // `prefixes`); "" lists everything under `prefix`.
  Result<GcsListing> ListObjects(const std::string& prefix, const std::string& delimiter);

  // ListObjects a page at a time: each object of a page to `each` before
  // the next page is asked for (an error it returns stops the listing), and
  // with a delimiter the common prefixes of every page to `prefixes`.
  Status ListPages(const std::string& prefix, const std::string& delimiter,
                   const std::function<Status(GcsObject&&)>& each, std::vector<std::string>* prefixes);

  const GcsOptions& options() const { return opts_; }
  std::string FullName(const std::string& name) const;

  // Internals shared with the upload writer.
  struct Response {
    int status = 0;  // 0: no response (see transport)
    net::HttpResponseHead head;
    std::string body;
    Status transport;
    int attempts = 0;
  };
  enum class Retry { kNo, kIdempotent };
  // Sends `req` with the Authorization header (a 401 fetches a new token and
  // repeats once). With kIdempotent, transport errors, 408, 429 and 5xx are
  // retried with backoff; the final failure is then an error Status. With kNo
  // they come back as a Response for the caller to handle. `sink` receives
  // the body when given; otherwise Response::body holds it.
  Result<Response> Execute(net::HttpRequest& req, Retry retry, const std::string& what,
                           net::HttpBodySink* sink = nullptr);
  // A retry loop for one operation, with this store's policy, clock and
  // cancel flag.
  net::Retrier NewRetrier(const std::string& what) const;
  // Counts a failed attempt of `retrier` and waits before the next one: OK to
  // go on; kUnavailable ("gave up after N attempts ...") when the policy allows
  // no further attempt, without waiting; kCancelled when interrupted.
  Status Backoff(net::Retrier* retrier, const std::string& what, const std::string& last_error,
                 double retry_after = -1);
  // A Status for a response that is not a success, with what to do about it.
  Status HttpError(const Response& r, const std::string& what) const;
  // HttpError of a request to the bucket's own collection (a listing, an
  // upload): there a 404 says the bucket does not exist (an empty prefix
  // lists as 200 with no items), a configuration to fix: kUsage (exit 2).
  Status BucketHttpError(const Response& r, const std::string& what) const;
  std::string ObjectUrl(const std::string& full_name) const;
  std::string UploadUrl() const;

 private:
  // The object resource of read.version against what `read` read of it in
  // order: OK, ChecksumMismatch (CRC32C or size), or ReplacedWhileRead.
  Status CheckRangesRead(const std::string& name, const RangedRead& read);
  std::unique_ptr<net::HttpClient> TakeClient();
  void GiveClient(std::unique_ptr<net::HttpClient> c);

  GcsOptions opts_;
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<net::HttpClient>> idle_;
};

Result<std::unique_ptr<GcsStore>> NewGcsStore(GcsOptions opts);

// Parses the object resource JSON of the JSON API.
Result<GcsObject> ParseGcsObject(const std::string& json);
// The crc32c value of an x-goog-hash header ("crc32c=...,md5=...").
std::optional<uint32_t> Crc32cFromGoogHash(const std::string& header);

}  // namespace mt::storage
