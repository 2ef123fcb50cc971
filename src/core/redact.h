// The one redaction step every message leaving the process passes through:
// log lines (text and JSON), error lines of the commands, the run summary
// (--summary-json) and the reports. Secrets are registered where they are
// loaded (the Tardis key by the configuration, GCS tokens, private keys,
// client secrets and refresh tokens by the credential code) and removed from
// any text, however they got into it: a server that echoes our request
// headers in an error body, an exception text, a URL.
//
// Besides the registered values, text that looks like a credential is
// removed whatever its value: the word after "Bearer ", the values of
// access_token, refresh_token, id_token, client_secret, private_key and
// assertion fields (JSON, form or query syntax), PEM private-key blocks and
// the user information of URLs (`https://user:password@host`).
//
// Thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace mt {

// Remembers `secret` for every later RedactSecrets call, with its JSON-escaped
// and percent-encoded forms (an echoed form body or JSON answer carries
// those). Values shorter than 4 bytes are ignored: they would redact
// ordinary words.
void RegisterSecret(std::string_view secret);

// `text` with every registered secret and every credential-looking value
// replaced by "[REDACTED]".
std::string RedactSecrets(std::string_view text);

// Forgets the registered secrets (tests).
void ClearSecretsForTest();

}  // namespace mt
