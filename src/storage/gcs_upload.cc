// Upload protocol: https://cloud.google.com/storage/docs/uploading-objects
// (media upload) and https://cloud.google.com/storage/docs/performing-resumable-uploads
// (session, 308 "Resume Incomplete" with Range: bytes=0-N, status query with
// Content-Range: bytes */SIZE, non-final chunks multiples of 256 KiB).
#include "storage/gcs_upload.h"

#include <cstring>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/crc32c.h"
#include "core/log.h"
#include "core/utf8.h"
#include "storage/gcs_store.h"

namespace mt::storage {

namespace {

std::string ContentTypeFor(const std::string& name) {
  // By the name's extension: what a browser or a console shows the object
  // as (a validate report opens as a page, not a download).
  static const std::pair<const char*, const char*> kTypes[] = {
      {".parquet", "application/vnd.apache.parquet"}, {".json", "application/json"},
      {".html", "text/html; charset=utf-8"},          {".csv", "text/csv; charset=utf-8"},
      {".txt", "text/plain; charset=utf-8"},
  };
  for (const auto& [ext, type] : kTypes) {
    const size_t n = std::strlen(ext);
    if (name.size() >= n && name.compare(name.size() - n, n, ext) == 0) return type;
  }
  return "application/octet-stream";
}

// The persisted size a 308 reports: "Range: bytes=0-N" means N + 1 bytes;
// no Range header means none (documented in "Check the status").
Result<uint64_t> PersistedFromRange(const std::string& range) {
  if (range.empty()) return uint64_t{0};
  unsigned long long first = 0, last = 0;
  if (std::sscanf(range.c_str(), "bytes=%llu-%llu", &first, &last) != 2 || first != 0) {
    return Status::IOError("unexpected Range header in a 308 answer: '" + EscapeOutsideText(range, 100) + "'");
  }
  return static_cast<uint64_t>(last) + 1;
}

class GcsUpload final : public WritableObject {
 public:
  // if_generation: -1 overwrites whatever is there; 0 creates only; > 0
  // replaces only that generation (ifGenerationMatch).
  GcsUpload(GcsStore* store, std::string full_name, int64_t if_generation)
      : store_(store), name_(std::move(full_name)), if_generation_(if_generation),
        content_type_(ContentTypeFor(name_)), chunk_(store->options().chunk_size) {}
  ~GcsUpload() override { Abort(); }

  Status Append(std::string_view data) override {
    if (finished_) return Status::Internal("append after commit/abort: " + Uri());
    if (!error_.ok()) return error_;
    crc_ = Crc32cExtend(crc_, data.data(), data.size());
    appended_ += data.size();
    while (!data.empty()) {
      const size_t take = std::min(data.size(), chunk_ - buf_.size());
      if (buf_.capacity() < buf_.size() + take) {
        // Grow geometrically but never past one chunk: the memory bound.
        buf_.reserve(std::min(chunk_, std::max(buf_.size() + take, 2 * buf_.capacity())));
      }
      buf_.append(data.data(), take);
      data.remove_prefix(take);
      if (buf_.size() == chunk_) {
        error_ = Send(/*final=*/false, nullptr);
        if (!error_.ok()) {
          CancelSession();
          return error_;
        }
      }
    }
    return Status::OK();
  }

  Status Commit() override {
    if (finished_) return Status::Internal("commit after commit/abort: " + Uri());
    finished_ = true;
    if (!error_.ok()) {
      CancelSession();
      return error_;
    }
    GcsObject obj;
    Status st;
    if (session_.empty() && if_generation_ >= 0 && appended_ <= store_->options().resumable_threshold) {
      st = SingleRequest(&obj);
    } else {
      st = Send(/*final=*/true, &obj);
    }
    std::string().swap(buf_);
    if (!st.ok()) {
      CancelSession();
      return st;
    }
    session_.clear();
    return Verify(obj);
  }

  void Abort() override {
    if (!finished_) {
      finished_ = true;
      CancelSession();
    }
    std::string().swap(buf_);
  }

  uint64_t bytes_written() const override { return appended_; }

 private:
  std::string Uri() const { return "gs://" + store_->options().bucket + "/" + name_; }
  std::string EncodedName() const { return GcsEncodeName(name_); }
  std::string HashHeader() const { return "crc32c=" + Crc32cToBase64(crc_); }
  std::string Precondition() const {
    return if_generation_ < 0 ? "" : "&ifGenerationMatch=" + std::to_string(if_generation_);
  }
  Status PreconditionFailed() const {
    if (if_generation_ > 0) {
      return Status::AlreadyExists(Uri() + " was changed by another writer since generation " +
                                   std::to_string(if_generation_) + " was read");
    }
    return Status::AlreadyExists(Uri() + " already exists");
  }

  // The object the server made must be ours byte for byte: same size and
  // CRC32C. If not, the write fails (retryable: a rerun writes it again), and
  // the new generation is removed (that generation only) for a create-only
  // write or an overwrite, whose callers then find the object missing and
  // write it again. A replace of generation N (ifGenerationMatch=N, a
  // read-modify-write) keeps it: N is gone once the new generation exists, so deleting that
  // would leave no object at all, and its callers' next read would take the
  // object for never written (a merged file would lose every row the other
  // writers put in it). Kept, the damaged generation is what the caller's
  // next read-modify-write reads, checks and replaces.
  Status Verify(const GcsObject& obj) {
    std::string problem;
    if (obj.size != appended_) {
      problem = "size " + std::to_string(obj.size) + " instead of " + std::to_string(appended_);
    } else if (obj.has_crc32c && obj.crc32c != crc_) {
      problem = "crc32c " + Crc32cToBase64(obj.crc32c) + " instead of " + Crc32cToBase64(crc_);
    }
    if (problem.empty()) {
      if (!obj.has_crc32c) log::Debug(Uri() + ": the server reported no crc32c; size checked only");
      return Status::OK();
    }
    if (if_generation_ > 0) {
      return Status::IOError(Uri() + ": the stored object does not match what was sent (" + problem +
                             "); kept generation " + std::to_string(obj.generation) + ": it replaced generation " +
                             std::to_string(if_generation_) +
                             ", so deleting it would leave no object; the next write of it replaces it");
    }
    const std::string deleted = Remove(obj);
    return Status::IOError(Uri() + ": the stored object does not match what was sent (" + problem + "); " +
                           deleted);
  }

  // Deletes the generation the server just made; says how that went.
  std::string Remove(const GcsObject& obj) {
    net::HttpRequest del;
    del.method = "DELETE";
    del.url = store_->ObjectUrl(name_);
    if (obj.generation > 0) del.url += "?ifGenerationMatch=" + std::to_string(obj.generation);
    auto r = store_->Execute(del, obj.generation > 0 ? GcsStore::Retry::kIdempotent : GcsStore::Retry::kNo,
                             "delete " + Uri());
    if (!r.ok()) return "deleting it failed: " + r.status().message();
    if (r->status != 204 && r->status != 200 && r->status != 404) {
      return "deleting it failed: " + store_->HttpError(*r, "delete").message();
    }
    return "deleted it";
  }

  // Objects up to the threshold: one media upload with its precondition
  // (create-only, or replace that generation) and the checksum for the
  // server to check. Safe to repeat thanks to the precondition: a repeat of
  // a request that went through finds the precondition failed.
  Status SingleRequest(GcsObject* out) {
    net::HttpRequest req;
    req.method = "POST";
    req.url = store_->UploadUrl() + "?uploadType=media&name=" + EncodedName() + Precondition();
    req.headers = {{"Content-Type", content_type_}, {"X-Goog-Hash", HashHeader()}};
    req.body.swap(buf_);
    auto r = store_->Execute(req, GcsStore::Retry::kIdempotent, "upload " + Uri());
    req.body.swap(buf_);
    if (!r.ok()) return r.status();
    if (r->status == 200 || r->status == 201) {
      MT_ASSIGN_OR_RETURN(*out, ParseGcsObject(r->body));
      return Status::OK();
    }
    if (r->status == 412) {
      // After a retry the object may be our own first attempt, whose answer
      // was lost: identical size and checksum means the write happened.
      if (r->attempts > 1) {
        auto st = StatFull();
        if (st.ok() && st->size == appended_ && st->has_crc32c && st->crc32c == crc_) {
          *out = *st;
          return Status::OK();
        }
      }
      return PreconditionFailed();
    }
    return store_->BucketHttpError(*r, "upload " + Uri());
  }

  Result<GcsObject> StatFull() {
    net::HttpRequest req;
    req.url = store_->ObjectUrl(name_);
    MT_ASSIGN_OR_RETURN(auto r, store_->Execute(req, GcsStore::Retry::kIdempotent, "stat " + Uri()));
    if (r.status != 200) return store_->HttpError(r, "stat " + Uri());
    return ParseGcsObject(r.body);
  }

  Status StartSession() {
    net::HttpRequest req;
    req.method = "POST";
    req.url = store_->UploadUrl() + "?uploadType=resumable&name=" + EncodedName();
    req.url += Precondition();
    req.headers = {{"Content-Type", "application/json; charset=UTF-8"}, {"X-Upload-Content-Type", content_type_}};
    req.body = nlohmann::json{{"name", name_}, {"contentType", content_type_}}.dump();
    // Starting a session creates no object: safe to repeat.
    MT_ASSIGN_OR_RETURN(auto r, store_->Execute(req, GcsStore::Retry::kIdempotent, "start upload of " + Uri()));
    if (r.status == 412) return PreconditionFailed();
    if (r.status != 200 && r.status != 201) return store_->BucketHttpError(r, "start upload of " + Uri());
    session_ = r.head.Header("location");
    if (session_.empty()) return Status::IOError("start upload of " + Uri() + ": no Location header in the answer");
    return Status::OK();
  }

  // Takes the server's persisted size from a 308 and drops those bytes from
  // the buffer. Returns how many bytes it moved forward.
  Result<uint64_t> Advance(const net::HttpResponseHead& head) {
    MT_ASSIGN_OR_RETURN(uint64_t persisted, PersistedFromRange(head.Header("range")));
    if (persisted < persisted_ || persisted > persisted_ + buf_.size()) {
      return Status::IOError(Uri() + ": the server reports " + std::to_string(persisted) +
                             " bytes stored, outside the " + std::to_string(persisted_) + ".." +
                             std::to_string(persisted_ + buf_.size()) + " this upload can resume from");
    }
    const uint64_t moved = persisted - persisted_;
    buf_.erase(0, moved);
    persisted_ = persisted;
    return moved;
  }

  Status SessionGone(int status) {
    return Status::Unavailable(Uri() + ": the upload session is gone (HTTP " + std::to_string(status) +
                               ": expired or cancelled); the object has to be written again");
  }

  // Sends the buffered bytes into the session: when !final only whole 256 KiB
  // multiples (the rest stays buffered); when final everything, with the total
  // size, and `out` receives the object. A failed request is followed by a
  // status query, and sending resumes at the offset the server reports.
  Status Send(bool final, GcsObject* out) {
    if (session_.empty()) MT_RETURN_IF_ERROR(StartSession());
    const std::string what = "upload " + Uri();
    // A run of attempts that stores nothing has the policy's budget; a chunk
    // (or part of one) stored starts a new run.
    net::Retrier retrier = store_->NewRetrier(what);
    while (true) {
      const size_t n = final ? buf_.size() : buf_.size() / kGcsChunkQuantum * kGcsChunkQuantum;
      if (!final && n == 0) return Status::OK();
      const uint64_t total = persisted_ + buf_.size();
      net::HttpRequest req;
      req.method = "PUT";
      req.url = session_;
      req.headers = {{"Content-Type", content_type_}};
      if (n > 0) {
        req.headers.emplace_back("Content-Range", "bytes " + std::to_string(persisted_) + "-" +
                                                      std::to_string(persisted_ + n - 1) + "/" +
                                                      (final ? std::to_string(total) : "*"));
      } else if (total > 0) {
        req.headers.emplace_back("Content-Range", "bytes */" + std::to_string(total));
      }  // an empty object in one request: no Content-Range at all
      if (final) req.headers.emplace_back("X-Goog-Hash", HashHeader());
      const bool whole = n == buf_.size();
      if (whole) {
        req.body.swap(buf_);
      } else {
        req.body.assign(buf_, 0, n);
      }
      auto r = store_->Execute(req, GcsStore::Retry::kNo, what);
      if (whole) req.body.swap(buf_);
      if (!r.ok()) return r.status();

      int status = r->status;
      net::HttpResponseHead head = r->head;
      std::string body = r->body;
      std::string last_error;
      if (net::IsTransientHttpStatus(status)) {
        last_error = status == 0 ? r->transport.message() : "HTTP " + std::to_string(status);
        MT_RETURN_IF_ERROR(store_->Backoff(&retrier, what, last_error, net::RetryAfter(head)));
        // Where does the server stand? (The chunk may have landed in part.)
        net::HttpRequest q;
        q.method = "PUT";
        q.url = session_;
        q.headers = {{"Content-Range", "bytes */" + (final ? std::to_string(total) : std::string("*"))}};
        MT_ASSIGN_OR_RETURN(auto qr, store_->Execute(q, GcsStore::Retry::kIdempotent, what + " (status query)"));
        status = qr.status;
        head = qr.head;
        body = qr.body;
        if (status == 308) {
          MT_ASSIGN_OR_RETURN(uint64_t moved, Advance(head));
          log::Info(what + ": " + last_error + "; resuming at byte " + std::to_string(persisted_) + " (" +
                    std::to_string(moved) + " more bytes were stored)");
          if (moved > 0) retrier.Restart();
          continue;
        }
      }
      if (status == 308) {
        MT_ASSIGN_OR_RETURN(uint64_t moved, Advance(head));
        if (moved == 0) {
          // Nothing taken: do not spin; count it as a failure.
          MT_RETURN_IF_ERROR(store_->Backoff(&retrier, what, "the server stored none of the chunk"));
        } else {
          retrier.Restart();
        }
        if (final || buf_.size() >= kGcsChunkQuantum) continue;
        return Status::OK();
      }
      if (status == 200 || status == 201) {
        MT_ASSIGN_OR_RETURN(GcsObject obj, ParseGcsObject(body));
        if (!final) {
          // The server closed the object early (the firebase emulator does
          // this with chunks): it holds a prefix of the data. Remove it.
          const std::string deleted = Remove(obj);
          // Permanent for this server and configuration: a usage problem.
          return Status::Usage(what + ": the server finished the object after " + std::to_string(obj.size) +
                                 " bytes although more were coming (it does not support chunked uploads; "
                                 "raise GCS_CHUNK_SIZE above the object size); " + deleted);
        }
        buf_.clear();
        persisted_ = total;
        *out = std::move(obj);
        return Status::OK();
      }
      if (status == 412) return PreconditionFailed();
      if (status == 404 || status == 410) return SessionGone(status);
      GcsStore::Response e;
      e.status = status;
      e.head = head;
      e.body = body;
      return store_->HttpError(e, what);
    }
  }

  // Best effort: tells the server to drop an unfinished session (GCS answers
  // 499). An abandoned session expires on its own after a week anyway.
  void CancelSession() {
    if (session_.empty()) return;
    net::HttpRequest req;
    req.method = "DELETE";
    req.url = session_;
    session_.clear();
    auto r = store_->Execute(req, GcsStore::Retry::kNo, "cancel upload of " + Uri());
    (void)r;
  }

  GcsStore* store_;
  std::string name_;
  int64_t if_generation_;
  std::string content_type_;
  size_t chunk_;
  std::string buf_;          // bytes not yet stored by the server; at most one chunk
  uint64_t appended_ = 0;    // bytes given to Append
  uint64_t persisted_ = 0;   // bytes the server has stored (object offset of buf_[0])
  uint32_t crc_ = 0;         // CRC32C of all appended bytes
  std::string session_;      // resumable session URI: a capability, never logged
  Status error_;             // sticky: after a failure every call returns it
  bool finished_ = false;
};

}  // namespace

std::unique_ptr<WritableObject> NewGcsUpload(GcsStore* store, std::string full_name, bool overwrite) {
  return std::make_unique<GcsUpload>(store, std::move(full_name), overwrite ? -1 : 0);
}

std::unique_ptr<WritableObject> NewGcsUploadIfGeneration(GcsStore* store, std::string full_name,
                                                        int64_t if_generation) {
  return std::make_unique<GcsUpload>(store, std::move(full_name), if_generation < 0 ? 0 : if_generation);
}

}  // namespace mt::storage
