#include "net/gcs_auth.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include "core/base64.h"
#include "core/bounded_json.h"
#include "core/log.h"
#include "core/redact.h"
#include "net/retry.h"
#include "core/utf8.h"
#include "net/string_sink.h"

namespace mt::net {

namespace {

using json = nlohmann::json;

constexpr const char* kDefaultTokenUri = "https://oauth2.googleapis.com/token";
constexpr const char* kDefaultMetadataHost = "metadata.google.internal";

std::string StringField(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// OpenSSL's first queued error as text (never contains key material).
std::string OpenSslError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

Result<std::string> SignRs256(const std::string& pem, std::string_view data) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (!bio) return Status::Internal("BIO_new_mem_buf failed");
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!pkey) return Status::Usage("the private_key is not a PEM private key (" + OpenSslError() + ")");
  std::string sig;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  bool ok = ctx && EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, pkey) == 1 &&
            EVP_DigestSignUpdate(ctx, data.data(), data.size()) == 1 &&
            EVP_DigestSignFinal(ctx, nullptr, &len) == 1;
  if (ok) {
    sig.resize(len);
    ok = EVP_DigestSignFinal(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len) == 1;
    sig.resize(len);
  }
  const std::string err = ok ? "" : OpenSslError();
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  if (!ok) return Status::Usage("cannot sign with the private_key (" + err + ")");
  return sig;
}

std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out += '&';
    out += UrlEncode(k) + "=" + UrlEncode(v);
  }
  return out;
}

double SystemNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct Token {
  std::string access_token;
  double expires_in = 0;
};

// One HTTP exchange that yields a token: retried (net/retry.h) on transport
// errors, 408, 429 and 5xx (asking for a token has no side effect), four
// attempts with short waits (0.1, 0.2, 0.4 s, with jitter) unless the caller
// gives a policy: a token is asked for when a command starts or a request
// needs it, and a long wait there would hold everything up.
// `oauth_error`, when given, receives the OAuth error code of a refusal
// ("invalid_grant", ...: RFC 6749 section 5.2) so that callers can say what
// to do about it without matching text.
// A refusal (any final answer but 200: invalid_request, invalid_client,
// unauthorized_client, invalid_grant, a deleted key, a VM without a service
// account) is a configuration a rerun cannot change: a usage error (exit 2),
// with `*refused` set so that callers add what to check. Only what a retry
// can get past (5xx, 429, timeouts, no answer) is kUnavailable (exit 3).
RetryPolicy QuickTokenPolicy() {
  RetryPolicy policy;
  policy.max_attempts = 4;
  policy.base_delay_s = 0.1;
  policy.max_delay_s = 0.4;
  // Fetched under the lock every GCS request waits on: a server's long
  // Retry-After is not waited out here (the request that needed the token
  // fails as retryable, or a refresh keeps the current token).
  policy.cap_retry_after = true;
  return policy;
}

Result<Token> FetchToken(HttpClient* http, HttpRequest req, const std::string& what, const std::string& secret,
                         std::string* oauth_error = nullptr, bool* refused = nullptr,
                         const RetryPolicy& policy = QuickTokenPolicy(), RetryClock* clock = nullptr) {
  Retrier retrier(policy, clock, StopFlags{ProcessCancelFlag()}, RetrySeed(what));
  if (!req.cancel) req.cancel = ProcessCancelFlag();  // the transfer itself stops on SIGINT/SIGTERM
  std::string last;
  while (retrier.MayAttempt()) {
    StringSink sink(64 << 10);
    HttpResult r = http->Fetch(req, &sink);
    retrier.Attempted();
    const int status = r.head.status;
    if (IsTransientTransport(r.transport) || IsTransientHttpStatus(status)) {
      last = r.transport.ok() ? "HTTP " + std::to_string(status) : r.transport.message();
      const Retrier::Next next = retrier.Backoff(RetryAfter(r.head));
      if (next == Retrier::Next::kCancelled) return Status::Cancelled(what + ": interrupted");
      if (next == Retrier::Next::kGiveUp) break;
      continue;
    }
    if (!r.transport.ok()) return r.transport;  // cancelled
    MT_ASSIGN_OR_RETURN(const json j, ParseBoundedJson(sink.body(), what));
    if (status != 200) {
      // OAuth errors: {"error": "invalid_grant", "error_description": "..."}.
      std::string detail = StringField(j, "error");
      if (oauth_error) *oauth_error = detail;
      const std::string desc = StringField(j, "error_description");
      if (!desc.empty()) detail += (detail.empty() ? "" : ": ") + desc;
      if (detail.empty() && j.is_object() && j.contains("error")) detail = StringField(j["error"], "message");
      if (detail.empty()) detail = sink.body();
      if (refused) *refused = true;
      return Status::Usage(what + " refused the credential (HTTP " + std::to_string(status) + ": " +
                           EscapeOutsideText(Redact(detail, secret), 200) + ")");
    }
    Token t;
    t.access_token = StringField(j, "access_token");
    if (j.is_object() && j.contains("expires_in") && j["expires_in"].is_number()) {
      t.expires_in = j["expires_in"].get<double>();
    }
    if (t.access_token.empty()) return Status::Permission(what + " answered without an access_token");
    if (t.expires_in <= 0) t.expires_in = 3600;
    return t;
  }
  return Status::Unavailable(what + " did not answer: " + Redact(last, secret));
}

// Caches one token and fetches the next before the current one expires:
// five minutes ahead, or half its lifetime for short-lived tokens.
class CachingTokenSource : public TokenSource {
 public:
  explicit CachingTokenSource(const AuthConfig& cfg) : cfg_(cfg) {
    if (!cfg_.now) cfg_.now = SystemNow;
    if (!cfg_.http_factory) cfg_.http_factory = [] { return NewCurlClient(); };
  }

  Result<std::string> AuthorizationHeader() override {
    std::lock_guard<std::mutex> lock(mu_);
    const double now = cfg_.now();
    if (token_.empty() || now >= refresh_at_) {
      auto http = cfg_.http_factory();
      auto t = Fetch(http.get(), now);
      if (!t.ok()) {
        // A refresh that fails while the old token is still valid is not
        // fatal yet: keep using it and try again a while later (a quarter of
        // what is left of its life, at most 30 s), not on the next request:
        // every request of the run waits on this lock while a refresh runs.
        if (!token_.empty() && now < expires_at_ - 10) {
          refresh_at_ = now + std::min(30.0, (expires_at_ - 10 - now) / 4);
          log::Warn("refreshing the GCS access token failed; using the current one: " + t.status().message());
          return "Bearer " + token_;
        }
        return t.status();
      }
      token_ = t->access_token;
      RegisterSecret(token_);
      expires_at_ = now + t->expires_in;
      refresh_at_ = expires_at_ - std::min(300.0, t->expires_in / 2);
      log::Debug("got a GCS access token from " + Describe() + ", valid for " +
                 std::to_string(static_cast<int>(t->expires_in)) + " s");
    }
    return "Bearer " + token_;
  }

  void Invalidate() override {
    std::lock_guard<std::mutex> lock(mu_);
    token_.clear();
  }

 protected:
  virtual Result<Token> Fetch(HttpClient* http, double now) = 0;
  // Whether a token that is still valid is held (called under the lock, from Fetch).
  bool HoldsUsableToken(double now) const { return !token_.empty() && now < expires_at_ - 10; }
  AuthConfig cfg_;

 private:
  std::mutex mu_;
  std::string token_;
  double expires_at_ = 0, refresh_at_ = 0;
};

class NoAuth final : public TokenSource {
 public:
  explicit NoAuth(std::string host) : host_(std::move(host)) {}
  Result<std::string> AuthorizationHeader() override { return std::string(); }
  std::string Describe() const override { return "no credentials (STORAGE_EMULATOR_HOST=" + host_ + ")"; }

 private:
  std::string host_;
};

// `origin` names where the credential came from, for messages:
// "GOOGLE_APPLICATION_CREDENTIALS=PATH" or "gcloud's application-default
// credentials PATH".
class ServiceAccountSource final : public CachingTokenSource {
 public:
  ServiceAccountSource(const AuthConfig& cfg, ServiceAccountKey key, std::string origin)
      : CachingTokenSource(cfg), key_(std::move(key)), file_(std::move(origin)) {}
  std::string Describe() const override { return "service account " + key_.client_email + " (" + file_ + ")"; }

 protected:
  Result<Token> Fetch(HttpClient* http, double now) override {
    MT_ASSIGN_OR_RETURN(std::string jwt, BuildJwtAssertion(key_, cfg_.scope, static_cast<int64_t>(now)));
    RegisterSecret(jwt);
    HttpRequest req;
    req.method = "POST";
    req.url = key_.token_uri;
    req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    req.body = FormEncode({{"grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"}, {"assertion", jwt}});
    req.connect_timeout_s = 10;
    req.total_timeout_s = 30;
    bool refused = false;
    auto t = FetchToken(http, std::move(req), "the token endpoint " + key_.token_uri, jwt, nullptr, &refused);
    if (!t.ok()) {
      return t.status().WithContext("service account " + key_.client_email + " from " + file_ +
                                    (refused ? " (is the key deleted or disabled, or the clock of this machine wrong?)"
                                             : ""));
    }
    return t;
  }

 private:
  ServiceAccountKey key_;
  std::string file_;
};

// gcloud's user credentials: the refresh-token grant (RFC 6749 section 6).
// A refresh token that Google no longer accepts (expired after a password
// change or a session-length policy, or revoked) is answered invalid_grant;
// only a new login helps, and the message says how (like every refusal, a
// usage error: exit 2).
class AuthorizedUserSource final : public CachingTokenSource {
 public:
  AuthorizedUserSource(const AuthConfig& cfg, std::string client_id, std::string client_secret,
                       std::string refresh_token, std::string token_uri, std::string origin)
      : CachingTokenSource(cfg), client_id_(std::move(client_id)), client_secret_(std::move(client_secret)),
        refresh_token_(std::move(refresh_token)), token_uri_(std::move(token_uri)), origin_(std::move(origin)) {}
  std::string Describe() const override { return "user credentials (" + origin_ + ")"; }

 protected:
  Result<Token> Fetch(HttpClient* http, double) override {
    HttpRequest req;
    req.method = "POST";
    req.url = token_uri_;
    req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    req.body = FormEncode({{"grant_type", "refresh_token"},
                           {"client_id", client_id_},
                           {"client_secret", client_secret_},
                           {"refresh_token", refresh_token_}});
    req.connect_timeout_s = 10;
    req.total_timeout_s = 30;
    std::string oauth_error;
    bool refused = false;
    auto t = FetchToken(http, std::move(req), "the token endpoint " + token_uri_, refresh_token_, &oauth_error,
                        &refused);
    if (!t.ok()) {
      if (oauth_error == "invalid_grant") {
        return Status::Usage("user credentials from " + origin_ +
                             ": the refresh token is expired or revoked (" + t.status().message() +
                             "); run 'gcloud auth application-default login' to sign in again");
      }
      if (refused) {
        return t.status().WithContext("user credentials from " + origin_ +
                                      " (run 'gcloud auth application-default login' again, or use a "
                                      "service-account key)");
      }
      return t.status().WithContext("user credentials from " + origin_);
    }
    return t;
  }

 private:
  std::string client_id_, client_secret_, refresh_token_, token_uri_, origin_;
};

// 127.0.0.0/8, localhost or [::1], with or without a port.
bool IsLoopback(const std::string& host_port) {
  return host_port.rfind("127.", 0) == 0 || host_port.rfind("localhost", 0) == 0 || host_port.rfind("[::1]", 0) == 0;
}

class MetadataSource final : public CachingTokenSource {
 public:
  MetadataSource(const AuthConfig& cfg, std::string host) : CachingTokenSource(cfg), host_(std::move(host)) {}
  std::string Describe() const override { return "the metadata server at " + host_; }

 protected:
  Result<Token> Fetch(HttpClient* http, double now) override {
    HttpRequest req;
    req.url = "http://" + host_ + "/computeMetadata/v1/instance/service-accounts/default/token";
    if (cfg_.scope != kStorageScope) req.url += "?scopes=" + UrlEncode(cfg_.scope);
    req.headers = {{"Metadata-Flavor", "Google"}};
    // Off GCE the name does not resolve or nothing listens: fail fast.
    req.connect_timeout_s = 3;
    req.total_timeout_s = 10;
    // On Google Cloud a metadata server that does not answer yet is starting
    // (a new GKE pod's refuses connections for seconds): wait for it rather
    // than fail the task, but only while no valid token is held (a refresh
    // that fails keeps the current token, and every request waits on this
    // one). A loopback address is a test double or a local proxy: quick.
    const bool patient = !HoldsUsableToken(now) && !IsLoopback(host_) &&
                         (cfg_.on_google_cloud ? cfg_.on_google_cloud() : OnGoogleCloud());
    auto t = FetchToken(http, std::move(req), "the metadata server at " + host_, "", nullptr, nullptr,
                        patient ? MetadataPatience() : QuickTokenPolicy(), cfg_.retry_clock);
    if (!t.ok()) {
      if (t.status().code() == Status::Code::kUnavailable) {
        // Transient on a VM (a metadata server that is restarting or
        // overloaded): kUnavailable, so a batch task exits 3 and runs again.
        // Off Google Cloud nothing answers either: the hint says what to set.
        return Status::Unavailable("no Google Cloud credentials: " + t.status().message() +
                                   ". On a Google Cloud VM this is transient: run again. Elsewhere: " +
                                   MissingCredentialsHint());
      }
      return t.status().WithContext("the VM's service account (metadata server)");
    }
    return t;
  }

 private:
  std::string host_;
};

}  // namespace

std::string MissingCredentialsHint() {
  return "Set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file (JSON), run 'gcloud auth "
         "application-default login' (your user credentials), run on a Google Cloud VM or Cloud Batch job with a "
         "service account, or set STORAGE_EMULATOR_HOST to use a storage emulator";
}

std::string GcloudAdcFile(const std::string& cloudsdk_config, const std::string& home) {
  constexpr const char* kName = "application_default_credentials.json";
  std::string dir;
  if (!cloudsdk_config.empty()) {
    dir = cloudsdk_config;
  } else if (!home.empty()) {
    dir = home + (home.back() == '/' ? "" : "/") + ".config/gcloud";
  } else {
    return "";
  }
  if (dir.back() != '/') dir += '/';
  return dir + kName;
}

Result<ServiceAccountKey> ParseServiceAccountKey(const std::string& text, const std::string& origin) {
  auto parsed = ParseBoundedJson(text, origin);
  if (!parsed.ok()) return Status::Usage(parsed.status().message());  // a configuration to fix
  const json j = std::move(parsed).value();
  if (j.is_discarded() || !j.is_object()) return Status::Usage(origin + " is not a JSON key file");
  ServiceAccountKey k;
  k.client_email = StringField(j, "client_email");
  k.private_key = StringField(j, "private_key");
  k.private_key_id = StringField(j, "private_key_id");
  k.token_uri = StringField(j, "token_uri");
  if (k.token_uri.empty()) k.token_uri = kDefaultTokenUri;
  if (k.client_email.empty() || k.private_key.empty()) {
    return Status::Usage(origin + " lacks client_email or private_key: download a new JSON key of the service "
                                  "account (IAM > Service accounts > Keys)");
  }
  return k;
}

Result<std::string> BuildJwtAssertion(const ServiceAccountKey& key, const std::string& scope, int64_t now) {
  json header = {{"alg", "RS256"}, {"typ", "JWT"}};
  if (!key.private_key_id.empty()) header["kid"] = key.private_key_id;
  const json claims = {{"iss", key.client_email}, {"scope", scope}, {"aud", key.token_uri},
                       {"iat", now},              {"exp", now + 3600}};
  const std::string signing_input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump());
  MT_ASSIGN_OR_RETURN(std::string sig, SignRs256(key.private_key, signing_input));
  return signing_input + "." + Base64UrlEncode(sig);
}

namespace {

// A credential file of either type; `origin` names it in every message (the
// path, never the contents). `what_to_fix` says where the file comes from.
Result<std::shared_ptr<TokenSource>> SourceFromFile(const AuthConfig& cfg, const std::string& path,
                                                    const std::string& origin, const std::string& what_to_fix) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Usage(origin + ": cannot read the file; " + what_to_fix);
  // A credential file is a few KB: read at most kMaxCredentialFileBytes, so
  // a path to a file without end (/dev/zero) fails instead of reading until
  // memory runs out.
  constexpr size_t kMaxCredentialFileBytes = 1u << 20;
  std::string text(kMaxCredentialFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxCredentialFileBytes) {
    return Status::Usage(origin + " is longer than 1 MiB, which no credential file is; " + what_to_fix);
  }
  auto parsed = ParseBoundedJson(text, origin);
  if (!parsed.ok()) return Status::Usage(parsed.status().message() + "; " + what_to_fix);  // a configuration to fix
  const json j = std::move(parsed).value();
  if (j.is_discarded() || !j.is_object()) return Status::Usage(origin + " is not a JSON credential file; " + what_to_fix);
  // Key-file secrets are registered as soon as they are read, so that no
  // message from here on can show them.
  for (const char* field : {"private_key", "client_secret", "refresh_token"}) {
    RegisterSecret(StringField(j, field));
  }
  const std::string type = StringField(j, "type");
  if (type == "service_account") {
    MT_ASSIGN_OR_RETURN(ServiceAccountKey key, ParseServiceAccountKey(text, origin));
    if (!cfg.token_uri.empty()) key.token_uri = cfg.token_uri;
    // Fail now, not at the first upload, when the key cannot sign.
    MT_RETURN_IF_ERROR(SignRs256(key.private_key, "probe").status().WithContext(origin));
    return std::shared_ptr<TokenSource>(new ServiceAccountSource(cfg, std::move(key), origin));
  }
  if (type == "authorized_user") {
    const std::string id = StringField(j, "client_id"), secret = StringField(j, "client_secret"),
                      refresh = StringField(j, "refresh_token");
    if (id.empty() || secret.empty() || refresh.empty()) {
      return Status::Usage(origin + " lacks client_id, client_secret or refresh_token; run 'gcloud auth "
                                    "application-default login' to write a new one");
    }
    std::string uri = cfg.token_uri.empty() ? StringField(j, "token_uri") : cfg.token_uri;
    if (uri.empty()) uri = kDefaultTokenUri;
    return std::shared_ptr<TokenSource>(new AuthorizedUserSource(cfg, id, secret, refresh, uri, origin));
  }
  return Status::Usage(origin + " has type '" + EscapeOutsideText(type, 60) +
                       "'; supported: service_account (a key file) and authorized_user ('gcloud auth "
                       "application-default login')");
}

}  // namespace

bool OnGoogleCloud() {
  std::ifstream in("/sys/class/dmi/id/product_name");
  std::string name;
  std::getline(in, name);
  return name.rfind("Google", 0) == 0;
}

RetryPolicy MetadataPatience() {
  RetryPolicy policy;
  policy.max_attempts = 30;
  policy.base_delay_s = 0.25;
  policy.max_delay_s = 4;
  policy.max_total_s = 30;
  policy.cap_retry_after = true;  // as QuickTokenPolicy
  return policy;
}

Result<std::shared_ptr<TokenSource>> MakeTokenSource(const AuthConfig& cfg) {
  if (!cfg.emulator_host.empty()) return std::shared_ptr<TokenSource>(new NoAuth(cfg.emulator_host));
  if (!cfg.credentials_file.empty()) {
    return SourceFromFile(cfg, cfg.credentials_file, "GOOGLE_APPLICATION_CREDENTIALS=" + cfg.credentials_file,
                          "point it at a service-account key file or an authorized_user file (JSON), or unset it");
  }
  // gcloud's file counts only when it exists: without it, the next source
  // (Google's rule). One that exists but cannot be used is an error.
  if (!cfg.adc_file.empty()) {
    struct stat st;
    if (::stat(cfg.adc_file.c_str(), &st) == 0) {
      auto source = SourceFromFile(cfg, cfg.adc_file, "gcloud's application-default credentials " + cfg.adc_file,
                                   "run 'gcloud auth application-default login' again, or remove the file");
      if (source.ok()) log::Debug("GCS credentials: " + (*source)->Describe());
      return source;
    }
  }
  std::string host = cfg.metadata_host.empty() ? kDefaultMetadataHost : cfg.metadata_host;
  if (host.rfind("http://", 0) == 0) host = host.substr(7);
  while (!host.empty() && host.back() == '/') host.pop_back();
  return std::shared_ptr<TokenSource>(new MetadataSource(cfg, host));
}

}  // namespace mt::net
