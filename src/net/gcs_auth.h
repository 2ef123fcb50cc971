// Credentials for Google Cloud Storage, chosen in Google's Application
// Default Credentials order (README.md, Configuration; docs/STORAGE.md):
//   1. STORAGE_EMULATOR_HOST: an emulator, no Authorization header at all;
//   2. GOOGLE_APPLICATION_CREDENTIALS: a JSON credential file. A
//      service-account key signs a JWT (RS256, OpenSSL) that the token
//      endpoint exchanges for an access token (RFC 7523, the JWT bearer
//      grant); an authorized_user file trades its refresh token (RFC 6749
//      section 6). A variable that names a missing file is an error, not a
//      reason to look further (as Google's libraries do);
//   3. gcloud's ADC file (`gcloud auth application-default login` writes it:
//      $CLOUDSDK_CONFIG/application_default_credentials.json, else
//      $HOME/.config/gcloud/application_default_credentials.json), either type;
//      absent, the next source;
//   4. the metadata server of a GCE VM / Cloud Batch / GKE node
//      (GCE_METADATA_HOST overrides its address, as in Google's clients).
//      On Google Cloud (OnGoogleCloud) and with no usable token yet, a server
//      that does not answer is waited for (MetadataPatience: GKE's metadata
//      server refuses connections for the first seconds of a pod); elsewhere,
//      or at a loopback address (a test double), four quick attempts.
// Access tokens are cached and fetched again before they expire. Tokens,
// private keys, refresh tokens, client secrets and assertions never appear in
// logs or in error messages; messages name the credential's file, never its
// contents.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/status.h"
#include "net/http_client.h"
#include "net/retry.h"

namespace mt::net {

inline constexpr const char* kStorageScope = "https://www.googleapis.com/auth/devstorage.read_write";

// Thread-safe: one source is shared by every request of a store.
class TokenSource {
 public:
  virtual ~TokenSource() = default;
  // The Authorization header value ("Bearer ..."), or "" when the endpoint
  // needs none (emulators). Fetches or refreshes the token when needed.
  virtual Result<std::string> AuthorizationHeader() = 0;
  // Forgets the cached token (the server answered 401), so that the next
  // AuthorizationHeader() fetches a new one.
  virtual void Invalidate() {}
  // Which credential this is, for messages: never a secret.
  virtual std::string Describe() const = 0;
};

struct ServiceAccountKey {
  std::string client_email;
  std::string private_key;     // PEM
  std::string private_key_id;
  std::string token_uri;
};

// Parses a service-account key file's JSON; `origin` names it in errors.
Result<ServiceAccountKey> ParseServiceAccountKey(const std::string& json, const std::string& origin);

// The signed JWT of the JWT bearer grant: header {alg RS256, typ JWT, kid},
// claims {iss, scope, aud = token_uri, iat = now, exp = now + 3600}.
Result<std::string> BuildJwtAssertion(const ServiceAccountKey& key, const std::string& scope, int64_t now_unix);

struct AuthConfig {
  std::string emulator_host;     // STORAGE_EMULATOR_HOST
  std::string credentials_file;  // GOOGLE_APPLICATION_CREDENTIALS
  std::string adc_file;          // gcloud's ADC file (GcloudAdcFile); "" when no place is known
  std::string token_uri;         // GCS_TOKEN_URI: the OAuth token endpoint for every file credential
                                 // (default: the file's token_uri, else Google's)
  std::string metadata_host;     // GCE_METADATA_HOST; default metadata.google.internal
  std::string scope = kStorageScope;
  std::function<std::unique_ptr<HttpClient>()> http_factory;  // default: curl
  std::function<double()> now;                                // unix seconds; default: system clock
  std::function<bool()> on_google_cloud;                      // default: OnGoogleCloud()
  RetryClock* retry_clock = nullptr;                          // the waits between attempts; default: system
};

// Whether this machine is a Google Cloud VM (GCE, Cloud Batch, a GKE node, a
// container on one): its DMI product name starts with "Google", which is what
// Google's own auth libraries check before they wait for a metadata server.
bool OnGoogleCloud();

// The metadata server's token fetch on Google Cloud: attempts with backoff
// until about 30 s after the first, as a pod or VM's metadata server can take
// seconds to start; SIGINT/SIGTERM end every wait at once.
RetryPolicy MetadataPatience();

// Picks the credential by the order above. Nothing is fetched yet.
Result<std::shared_ptr<TokenSource>> MakeTokenSource(const AuthConfig& config);

// The message for "no credential worked": what to set.
std::string MissingCredentialsHint();

// Where gcloud keeps the application-default credentials on Linux and macOS:
// $CLOUDSDK_CONFIG/application_default_credentials.json when CLOUDSDK_CONFIG
// is set, else $HOME/.config/gcloud/application_default_credentials.json;
// "" when neither variable is set.
std::string GcloudAdcFile(const std::string& cloudsdk_config, const std::string& home);

}  // namespace mt::net
