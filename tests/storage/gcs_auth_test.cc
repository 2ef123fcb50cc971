// Credentials: the RS256 JWT of the service-account flow (checked with the
// public key), the order of sources, refresh before expiry, and that no
// secret leaks into an error.
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/base64.h"
#include "core/cancel.h"
#include "core/exit_code.h"
#include "core/redact.h"
#include "net/gcs_auth.h"

namespace mt::net {
namespace {

using json = nlohmann::json;

struct KeyPair {
  std::string private_pem, public_pem;
};

KeyPair MakeRsaKey() {
  EVP_PKEY* pkey = EVP_RSA_gen(2048);
  KeyPair k;
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  char* p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  k.private_pem.assign(p, n);
  BIO_free(b);
  b = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(b, pkey);
  n = BIO_get_mem_data(b, &p);
  k.public_pem.assign(p, n);
  BIO_free(b);
  EVP_PKEY_free(pkey);
  return k;
}

const KeyPair& Key() {
  static const KeyPair k = MakeRsaKey();
  return k;
}

bool VerifyRs256(const std::string& public_pem, const std::string& data, const std::string& sig) {
  BIO* b = BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size()));
  EVP_PKEY* pkey = PEM_read_bio_PUBKEY(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pkey) == 1 &&
                  EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                                   reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  return ok;
}

std::string KeyFileJson(const std::string& token_uri) {
  return json{{"type", "service_account"},
              {"project_id", "demo"},
              {"private_key_id", "kid-123"},
              {"private_key", Key().private_pem},
              {"client_email", "loader@demo.iam.gserviceaccount.com"},
              {"token_uri", token_uri}}
      .dump();
}

std::string TempFile(const std::string& content) {
  char path[] = "/tmp/mt-gcs-auth-XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << content;
  return path;
}

TEST(GcsAuth, JwtIsSignedRs256WithTheClaimsGoogleExpects) {
  auto key = ParseServiceAccountKey(KeyFileJson("http://127.0.0.1:1/token"), "test");
  ASSERT_TRUE(key.ok()) << key.status().message();
  auto jwt = BuildJwtAssertion(*key, kStorageScope, 1700000000);
  ASSERT_TRUE(jwt.ok()) << jwt.status().message();
  const size_t d1 = jwt->find('.'), d2 = jwt->rfind('.');
  ASSERT_NE(d1, d2);
  EXPECT_EQ(jwt->find_first_of("+/="), std::string::npos);  // base64url, unpadded
  const json header = json::parse(*Base64Decode(jwt->substr(0, d1)));
  const json claims = json::parse(*Base64Decode(jwt->substr(d1 + 1, d2 - d1 - 1)));
  EXPECT_EQ(header["alg"], "RS256");
  EXPECT_EQ(header["typ"], "JWT");
  EXPECT_EQ(header["kid"], "kid-123");
  EXPECT_EQ(claims["iss"], "loader@demo.iam.gserviceaccount.com");
  EXPECT_EQ(claims["aud"], "http://127.0.0.1:1/token");
  EXPECT_EQ(claims["scope"], "https://www.googleapis.com/auth/devstorage.read_write");
  EXPECT_EQ(claims["iat"], 1700000000);
  EXPECT_EQ(claims["exp"], 1700003600);
  const std::string sig = *Base64Decode(jwt->substr(d2 + 1));
  EXPECT_EQ(sig.size(), 256u);
  EXPECT_TRUE(VerifyRs256(Key().public_pem, jwt->substr(0, d2), sig));
  EXPECT_FALSE(VerifyRs256(Key().public_pem, jwt->substr(0, d2) + "x", sig));
}

TEST(GcsAuth, BadKeysAreUsageErrorsWithoutKeyMaterial) {
  ServiceAccountKey k;
  k.client_email = "a@b";
  k.token_uri = "http://t";
  k.private_key = "-----BEGIN PRIVATE KEY-----\nMIIsecretsecretsecret\n-----END PRIVATE KEY-----\n";
  auto jwt = BuildJwtAssertion(k, kStorageScope, 1);
  EXPECT_EQ(jwt.status().code(), Status::Code::kUsage);
  EXPECT_EQ(jwt.status().message().find("secretsecret"), std::string::npos);
  EXPECT_EQ(ParseServiceAccountKey("{}", "f.json").status().code(), Status::Code::kUsage);
  EXPECT_EQ(ParseServiceAccountKey("not json", "f.json").status().code(), Status::Code::kUsage);
}

// Token endpoint double: answers each POST with a new token, or an error.
struct TokenServer {
  int calls = 0;
  int status = 200;
  std::string error = "invalid_grant";  // the OAuth error code of a refusal
  double expires_in = 100;
  std::string last_body;
  std::unique_ptr<HttpClient> Client();
};

class TokenClient : public HttpClient {
 public:
  explicit TokenClient(TokenServer* s) : s_(s) {}
  HttpResult Fetch(const HttpRequest& req, HttpBodySink* sink) override {
    s_->calls++;
    s_->last_body = req.body;
    HttpResult r;
    r.head.status = s_->status;
    const std::string body =
        s_->status == 200
            ? json{{"access_token", "ya29.tok" + std::to_string(s_->calls)}, {"expires_in", s_->expires_in},
                   {"token_type", "Bearer"}}
                  .dump()
            // Echoes what it got, as a careless server might: must not reach the error text.
            : json{{"error", s_->error}, {"error_description", "bad assertion " + req.body}}.dump();
    sink->OnHead(r.head);
    sink->OnBody(body.data(), body.size());
    return r;
  }

 private:
  TokenServer* s_;
};

std::unique_ptr<HttpClient> TokenServer::Client() { return std::make_unique<TokenClient>(this); }

TEST(GcsAuth, ServiceAccountTokenIsCachedAndRefreshedBeforeExpiry) {
  TokenServer server;
  double now = 1700000000;
  const std::string file = TempFile(KeyFileJson("http://127.0.0.1:1/token"));
  AuthConfig cfg;
  cfg.credentials_file = file;
  cfg.http_factory = [&] { return server.Client(); };
  cfg.now = [&] { return now; };
  auto src = MakeTokenSource(cfg);
  ASSERT_TRUE(src.ok()) << src.status().message();
  EXPECT_EQ(server.calls, 0);  // nothing fetched before the first use
  EXPECT_EQ(*(*src)->AuthorizationHeader(), "Bearer ya29.tok1");
  EXPECT_NE(server.last_body.find("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion="),
            std::string::npos);
  now += 40;  // 100 s token: refreshed after half its life
  EXPECT_EQ(*(*src)->AuthorizationHeader(), "Bearer ya29.tok1");
  EXPECT_EQ(server.calls, 1);
  now += 15;
  EXPECT_EQ(*(*src)->AuthorizationHeader(), "Bearer ya29.tok2");
  (*src)->Invalidate();  // a 401 from storage
  EXPECT_EQ(*(*src)->AuthorizationHeader(), "Bearer ya29.tok3");
  // A failed refresh while the token is still valid keeps the old token.
  server.status = 503;
  now += 51;
  EXPECT_EQ(*(*src)->AuthorizationHeader(), "Bearer ya29.tok3");
  EXPECT_NE((*src)->Describe().find("loader@demo.iam.gserviceaccount.com"), std::string::npos);
  std::remove(file.c_str());
}

// A refresh that fails while the token is still valid is tried again a
// while later, not by every request: the source is shared by every request of
// a run and refreshes under its lock, so a token endpoint that fails (or does
// not answer: up to four attempts, each with its timeouts) would otherwise
// hold every upload up for as long as each refresh takes, until the token
// expires.
TEST(GcsAuth, AFailedRefreshIsNotRepeatedByEveryRequest) {
  TokenServer server;
  double now = 1700000000;
  const std::string file = TempFile(KeyFileJson("http://127.0.0.1:1/token"));
  AuthConfig cfg;
  cfg.credentials_file = file;
  cfg.http_factory = [&] { return server.Client(); };
  cfg.now = [&] { return now; };
  auto src = MakeTokenSource(cfg);
  ASSERT_TRUE(src.ok()) << src.status().message();
  EXPECT_EQ(*(*src)->AuthorizationHeader(), "Bearer ya29.tok1");
  EXPECT_EQ(server.calls, 1);
  server.status = 503;
  now += 60;  // due for a refresh (100 s token), valid for 40 s more
  for (int i = 0; i < 3; i++) EXPECT_EQ(*(*src)->AuthorizationHeader(), "Bearer ya29.tok1") << i;
  EXPECT_EQ(server.calls, 1 + 4) << "one refresh of four attempts, not one per request";
  now += 10;  // later: tried again, and it works
  server.status = 200;
  EXPECT_EQ(*(*src)->AuthorizationHeader(), "Bearer ya29.tok6");
  EXPECT_EQ(server.calls, 6);
  // Failing until the token is about to expire: then an error, not the old token.
  server.status = 503;
  now += 100;
  auto expired = (*src)->AuthorizationHeader();
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(ExitCodeFor(expired.status()), 3) << expired.status().message();
  std::remove(file.c_str());
}

TEST(GcsAuth, RefusedKeySaysWhatToCheckAndLeaksNothing) {
  TokenServer server;
  server.status = 400;
  const std::string file = TempFile(KeyFileJson("http://127.0.0.1:1/token"));
  AuthConfig cfg;
  cfg.credentials_file = file;
  cfg.http_factory = [&] { return server.Client(); };
  auto src = MakeTokenSource(cfg);
  ASSERT_TRUE(src.ok());
  auto h = (*src)->AuthorizationHeader();
  ASSERT_FALSE(h.ok());
  const std::string msg = h.status().message();
  // A refused key is configuration a rerun cannot fix: exit 2, not 1 (an item failed).
  EXPECT_EQ(h.status().code(), Status::Code::kUsage);
  EXPECT_EQ(ExitCodeFor(h.status()), 2);
  EXPECT_NE(msg.find("is the key deleted or disabled"), std::string::npos) << msg;
  EXPECT_NE(msg.find("GOOGLE_APPLICATION_CREDENTIALS=" + file), std::string::npos) << msg;
  EXPECT_NE(msg.find("invalid_grant"), std::string::npos) << msg;
  const std::string assertion = server.last_body.substr(server.last_body.find("assertion=") + 10);
  EXPECT_EQ(msg.find(assertion.substr(0, 40)), std::string::npos) << msg;
  EXPECT_EQ(msg.find("PRIVATE KEY"), std::string::npos);
  std::remove(file.c_str());
}

// invalid_request, invalid_client, unauthorized_client (a refused client, a
// deleted key): configuration a rerun cannot fix, exit 2; a token endpoint
// that keeps failing (5xx) is exit 3.
TEST(GcsAuth, RefusedClientIsExit2AndAnOutageExit3) {
  const std::string file = TempFile(KeyFileJson("http://127.0.0.1:1/token"));
  for (const char* error : {"invalid_request", "invalid_client", "unauthorized_client"}) {
    for (int status : {400, 401}) {
      TokenServer server;
      server.status = status;
      server.error = error;
      AuthConfig cfg;
      cfg.credentials_file = file;
      cfg.http_factory = [&] { return server.Client(); };
      auto src = MakeTokenSource(cfg);
      ASSERT_TRUE(src.ok());
      auto h = (*src)->AuthorizationHeader();
      ASSERT_FALSE(h.ok());
      EXPECT_EQ(ExitCodeFor(h.status()), 2) << error << " " << status << ": " << h.status().message();
      EXPECT_NE(h.status().message().find(error), std::string::npos) << h.status().message();
      EXPECT_EQ(server.calls, 1);  // a refusal is final: not retried
    }
  }
  TokenServer down;
  down.status = 503;
  AuthConfig cfg;
  cfg.credentials_file = file;
  cfg.http_factory = [&] { return down.Client(); };
  auto src = MakeTokenSource(cfg);
  ASSERT_TRUE(src.ok());
  auto h = (*src)->AuthorizationHeader();
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(ExitCodeFor(h.status()), 3) << h.status().message();
  std::remove(file.c_str());
}

// Secrets are registered for redaction as soon as they are loaded or
// received: an echo of them in any later message is removed, in the forms
// a server would echo them (raw, JSON-escaped, form-encoded).
TEST(GcsAuth, LoadedAndReceivedSecretsAreRedactedFromAnyText) {
  ClearSecretsForTest();
  const std::string user = TempFile(json{{"type", "authorized_user"},
                                         {"client_id", "cid.apps"},
                                         {"client_secret", "GOCSPX-s3cr3t-value"},
                                         {"refresh_token", "1//0refresh-token-value"}}
                                        .dump());
  AuthConfig cfg;
  cfg.credentials_file = user;
  ASSERT_TRUE(MakeTokenSource(cfg).ok());
  EXPECT_EQ(RedactSecrets("echo: GOCSPX-s3cr3t-value and 1%2F%2F0refresh-token-value"),
            "echo: [REDACTED] and [REDACTED]");

  TokenServer server;
  const std::string sa = TempFile(KeyFileJson("http://127.0.0.1:1/token"));
  cfg.credentials_file = sa;
  cfg.http_factory = [&] { return server.Client(); };
  auto src = MakeTokenSource(cfg);
  ASSERT_TRUE(src.ok());
  const std::string pem = Key().private_pem;
  const size_t line = pem.find('\n') + 1;
  const std::string pem_body = pem.substr(line, pem.find('\n', line) - line);  // one line of the key alone
  EXPECT_EQ(RedactSecrets("key " + json(pem).dump()), "key \"[REDACTED]\"");
  EXPECT_EQ(RedactSecrets("cut excerpt: " + pem_body + "\nMII"), "cut excerpt: [REDACTED]\nMII");
  ASSERT_TRUE((*src)->AuthorizationHeader().ok());
  EXPECT_EQ(RedactSecrets("token ya29.tok1 seen"), "token [REDACTED] seen");
  const std::string assertion = server.last_body.substr(server.last_body.find("assertion=") + 10);
  EXPECT_EQ(RedactSecrets("body " + assertion), "body [REDACTED]");
  std::remove(user.c_str());
  std::remove(sa.c_str());
  ClearSecretsForTest();
}

TEST(GcsAuth, SourceOrderAndClearErrors) {
  AuthConfig cfg;
  cfg.emulator_host = "127.0.0.1:9199";
  cfg.credentials_file = "/nonexistent/key.json";  // ignored: the emulator wins
  auto emu = MakeTokenSource(cfg);
  ASSERT_TRUE(emu.ok());
  EXPECT_EQ(*(*emu)->AuthorizationHeader(), "");

  cfg.emulator_host.clear();
  auto missing = MakeTokenSource(cfg);
  EXPECT_EQ(missing.status().code(), Status::Code::kUsage);
  EXPECT_NE(missing.status().message().find("GOOGLE_APPLICATION_CREDENTIALS=/nonexistent/key.json"),
            std::string::npos);

  // A file without end is refused once it passes what a credential file
  // can be (it was read until memory ran out).
  cfg.credentials_file = "/dev/zero";
  auto endless = MakeTokenSource(cfg);
  EXPECT_EQ(endless.status().code(), Status::Code::kUsage);
  EXPECT_NE(endless.status().message().find("GOOGLE_APPLICATION_CREDENTIALS=/dev/zero is longer than 1 MiB"),
            std::string::npos)
      << endless.status().message();

  const std::string other = TempFile(R"({"type":"external_account"})");
  cfg.credentials_file = other;
  auto unsupported = MakeTokenSource(cfg);
  EXPECT_NE(unsupported.status().message().find("external_account"), std::string::npos);
  std::remove(other.c_str());

  // No file: the metadata server; nothing listens here. That is transient
  // for a batch task on a VM (kUnavailable: exit 3, run again), and the
  // error says what to set for a machine off Google Cloud.
  cfg.credentials_file.clear();
  cfg.metadata_host = "127.0.0.1:1";
  auto md = MakeTokenSource(cfg);
  ASSERT_TRUE(md.ok());
  auto h = (*md)->AuthorizationHeader();
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), Status::Code::kUnavailable);
  EXPECT_TRUE(h.status().retryable());
  EXPECT_NE(h.status().message().find("GOOGLE_APPLICATION_CREDENTIALS"), std::string::npos);
  EXPECT_NE(h.status().message().find("STORAGE_EMULATOR_HOST"), std::string::npos);
}

// A metadata server that is not up yet: every connection is refused for the
// first `refuse` calls, then a token is served. Counts the calls.
struct StartingMetadataServer {
  int refuse = 0;
  int calls = 0;
  std::unique_ptr<HttpClient> Client();
};
class StartingMetadataClient : public HttpClient {
 public:
  explicit StartingMetadataClient(StartingMetadataServer* s) : s_(s) {}
  HttpResult Fetch(const HttpRequest&, HttpBodySink* sink) override {
    HttpResult r;
    if (s_->calls++ < s_->refuse) {
      r.transport = Status::Unavailable("Couldn't connect to server (connection refused)");
      return r;
    }
    r.head.status = 200;
    const std::string body = json{{"access_token", "ya29.md"}, {"expires_in", 3600}}.dump();
    sink->OnHead(r.head);
    sink->OnBody(body.data(), body.size());
    return r;
  }

 private:
  StartingMetadataServer* s_;
};
std::unique_ptr<HttpClient> StartingMetadataServer::Client() { return std::make_unique<StartingMetadataClient>(this); }

// Virtual time: every wait passes at once and is added up.
class VirtualRetryClock : public RetryClock {
 public:
  double Now() override { return t; }
  bool Sleep(double seconds, StopFlags stop) override {
    if (stop.Set()) return false;
    t += seconds;
    return true;
  }
  double t = 0;
};

// On Google Cloud the first token waits for a metadata server that starts
// slowly (a new GKE pod's refuses connections for seconds), up to about 30 s;
// off Google Cloud, and at a loopback address, four quick attempts, so a
// machine with no credentials gets its error at once.
TEST(GcsAuth, MetadataServerIsWaitedForOnGoogleCloudOnly) {
  ResetCancelForTesting();
  for (const bool gcp : {true, false}) {
    StartingMetadataServer server;
    server.refuse = 8;  // about 10 s of backoff
    VirtualRetryClock clock;
    AuthConfig cfg;
    cfg.metadata_host = "169.254.169.254";
    cfg.on_google_cloud = [gcp] { return gcp; };
    cfg.retry_clock = &clock;
    cfg.http_factory = [&] { return server.Client(); };
    auto src = MakeTokenSource(cfg);
    ASSERT_TRUE(src.ok());
    auto h = (*src)->AuthorizationHeader();
    if (gcp) {
      ASSERT_TRUE(h.ok()) << h.status().message();
      EXPECT_EQ(*h, "Bearer ya29.md");
      EXPECT_EQ(server.calls, 9);
      EXPECT_GT(clock.t, 2.0);
      EXPECT_LT(clock.t, 30.0);
    } else {
      ASSERT_FALSE(h.ok());
      EXPECT_EQ(ExitCodeFor(h.status()), 3) << h.status().message();
      EXPECT_EQ(server.calls, 4);
      EXPECT_LT(clock.t, 1.0);
      EXPECT_NE(h.status().message().find("GOOGLE_APPLICATION_CREDENTIALS"), std::string::npos);
    }
  }
  // A server that never comes up: given up after about 30 s, exit 3.
  StartingMetadataServer never;
  never.refuse = 1000;
  VirtualRetryClock clock;
  AuthConfig cfg;
  cfg.on_google_cloud = [] { return true; };
  cfg.retry_clock = &clock;
  cfg.http_factory = [&] { return never.Client(); };
  auto h = (*MakeTokenSource(cfg))->AuthorizationHeader();
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(ExitCodeFor(h.status()), 3) << h.status().message();
  EXPECT_GT(clock.t, 15.0);
  EXPECT_LE(clock.t, 30.0);
  EXPECT_GT(never.calls, 6);
  EXPECT_LE(never.calls, MetadataPatience().max_attempts);
  // A loopback address is a test double or a proxy: quick even on Google Cloud.
  never.calls = 0;
  clock.t = 0;
  cfg.metadata_host = "127.0.0.1:8080";
  EXPECT_FALSE((*MakeTokenSource(cfg))->AuthorizationHeader().ok());
  EXPECT_EQ(never.calls, 4);
}

// SIGTERM during the waits for a metadata server ends them at once: the
// command stops (exit 130) instead of waiting out the 30 s.
TEST(GcsAuth, MetadataWaitEndsAtOnceOnCancel) {
  ResetCancelForTesting();
  StartingMetadataServer never;
  never.refuse = 1000000;
  AuthConfig cfg;
  cfg.on_google_cloud = [] { return true; };
  cfg.http_factory = [&] { return never.Client(); };
  auto src = MakeTokenSource(cfg);
  ASSERT_TRUE(src.ok());
  std::thread term([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    RequestCancel();
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto h = (*src)->AuthorizationHeader();
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  term.join();
  ResetCancelForTesting();
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), Status::Code::kCancelled) << h.status().message();
  EXPECT_EQ(ExitCodeFor(h.status()), 130);
  EXPECT_GE(waited, 0.5);
  EXPECT_LT(waited, 1.5);
}

// gcloud's ADC file: CLOUDSDK_CONFIG names gcloud's directory, else
// ~/.config/gcloud; a file absent there means the next source, one present
// but unusable is an error naming it (never its contents).
TEST(GcsAuth, GcloudAdcFileLocationAndFallThrough) {
  EXPECT_EQ(GcloudAdcFile("/cfg", "/home/u"), "/cfg/application_default_credentials.json");
  EXPECT_EQ(GcloudAdcFile("/cfg/", ""), "/cfg/application_default_credentials.json");
  EXPECT_EQ(GcloudAdcFile("", "/home/u"), "/home/u/.config/gcloud/application_default_credentials.json");
  EXPECT_EQ(GcloudAdcFile("", "/home/u/"), "/home/u/.config/gcloud/application_default_credentials.json");
  EXPECT_EQ(GcloudAdcFile("", ""), "");

  AuthConfig cfg;
  cfg.metadata_host = "127.0.0.1:1";
  cfg.adc_file = "/nonexistent/application_default_credentials.json";
  auto md = MakeTokenSource(cfg);
  ASSERT_TRUE(md.ok()) << md.status().message();
  EXPECT_EQ((*md)->Describe(), "the metadata server at 127.0.0.1:1");

  const std::string user = TempFile(json{{"type", "authorized_user"},
                                         {"client_id", "cid"},
                                         {"client_secret", "cs-not-in-messages"},
                                         {"refresh_token", "rt-not-in-messages"}}
                                        .dump());
  cfg.adc_file = user;
  auto src = MakeTokenSource(cfg);
  ASSERT_TRUE(src.ok()) << src.status().message();
  EXPECT_EQ((*src)->Describe(), "user credentials (gcloud's application-default credentials " + user + ")");
  // GOOGLE_APPLICATION_CREDENTIALS comes first, even when it names a missing file.
  cfg.credentials_file = "/nonexistent/key.json";
  EXPECT_EQ(MakeTokenSource(cfg).status().code(), Status::Code::kUsage);
  cfg.credentials_file.clear();

  const std::string broken = TempFile("{\"type\": \"authorized_user\", \"client_id\": \"x\"}");
  cfg.adc_file = broken;
  auto bad = MakeTokenSource(cfg);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kUsage);
  EXPECT_NE(bad.status().message().find("gcloud's application-default credentials " + broken), std::string::npos);
  EXPECT_NE(bad.status().message().find("gcloud auth application-default login"), std::string::npos);
  std::remove(user.c_str());
  std::remove(broken.c_str());
  ClearSecretsForTest();
}

}  // namespace
}  // namespace mt::net
