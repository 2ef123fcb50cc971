#include "core/redact.h"

#include <gtest/gtest.h>

#include "core/exit_code.h"
#include "core/log.h"

namespace mt {
namespace {

class RedactTest : public ::testing::Test {
 protected:
  void SetUp() override { ClearSecretsForTest(); }
  void TearDown() override { ClearSecretsForTest(); }
};

TEST_F(RedactTest, RegisteredSecretGoesWhereverItAppears) {
  RegisterSecret("TDkey-1234567890");
  EXPECT_EQ(RedactSecrets("HTTP 400: {\"headers\":{\"x-key\":\"TDkey-1234567890\"}} and TDkey-1234567890."),
            "HTTP 400: {\"headers\":{\"x-key\":\"[REDACTED]\"}} and [REDACTED].");
  EXPECT_EQ(RedactSecrets("no secret here"), "no secret here");
}

TEST_F(RedactTest, EscapedAndEncodedFormsOfARegisteredSecretGo) {
  RegisterSecret("a/b+c d\"e");
  EXPECT_EQ(RedactSecrets("json a\\/b+c d\\\"e"), "json [REDACTED]");
  EXPECT_EQ(RedactSecrets("form a%2Fb%2Bc%20d%22e"), "form [REDACTED]");
  EXPECT_EQ(RedactSecrets("form a%2Fb%2Bc+d%22e"), "form [REDACTED]");
}

TEST_F(RedactTest, ShortValuesAreNotRegistered) {
  RegisterSecret("abc");
  EXPECT_EQ(RedactSecrets("abcabc"), "abcabc");
}

TEST_F(RedactTest, ARegisteredSecretAfterBearerIsRedactedOnce) {
  RegisterSecret("TDkey-1234567890");
  EXPECT_EQ(RedactSecrets("\"authorization\":\"Bearer TDkey-1234567890\"}"), "\"authorization\":\"Bearer [REDACTED]\"}");
  EXPECT_EQ(RedactSecrets("access_token=TDkey-1234567890&x=1"), "access_token=[REDACTED]&x=1");
}

TEST_F(RedactTest, BearerValuesGoWithoutRegistration) {
  EXPECT_EQ(RedactSecrets("authorization: Bearer abc.def-ghi\r\nhost: x"), "authorization: Bearer [REDACTED]\r\nhost: x");
  EXPECT_EQ(RedactSecrets("{\"authorization\":\"bearer XYZ123\"}"), "{\"authorization\":\"bearer [REDACTED]\"}");
}

TEST_F(RedactTest, CredentialFieldsGoInJsonFormAndQuerySyntax) {
  EXPECT_EQ(RedactSecrets("{\"access_token\": \"ya29.abc\", \"expires_in\": 3599}"),
            "{\"access_token\": \"[REDACTED]\", \"expires_in\": 3599}");
  EXPECT_EQ(RedactSecrets("grant_type=refresh_token&refresh_token=1//0abc&client_secret=shh"),
            "grant_type=refresh_token&refresh_token=[REDACTED]&client_secret=[REDACTED]");
  EXPECT_EQ(RedactSecrets("?assertion=eyJhbGciOi.x.y"), "?assertion=[REDACTED]");
  // A JSON private key, \n escapes and an escaped quote inside, ends at its
  // closing quote; private_key_id is no secret.
  EXPECT_EQ(RedactSecrets("{\"private_key_id\":\"k1\",\"private_key\":\"-----BEGIN X\\nab\\\"c\\n\",\"n\":1}"),
            "{\"private_key_id\":\"k1\",\"private_key\":\"[REDACTED]\",\"n\":1}");
  // Words that only mention a field stay.
  EXPECT_EQ(RedactSecrets("answered without an access_token"), "answered without an access_token");
}

// JSON quoted inside a JSON string (a server's answer in a reason of the
// summary) and tab-separated Bearer values, none of them registered.
TEST_F(RedactTest, EscapedJsonAndTabsAfterBearerGo) {
  EXPECT_EQ(RedactSecrets("{\"reason\":\"HTTP 400: {\\\"access_token\\\":\\\"ya29.X\\\"}\"}"),
            "{\"reason\":\"HTTP 400: {\\\"access_token\\\":\\\"[REDACTED]\\\"}\"}");
  EXPECT_EQ(RedactSecrets("{\\\"refresh_token\\\": \\\"1//0abc\\\", \\\"n\\\": 1}"),
            "{\\\"refresh_token\\\": \\\"[REDACTED]\\\", \\\"n\\\": 1}");
  EXPECT_EQ(RedactSecrets("authorization: Bearer\tsecret-x1\r\n"), "authorization: Bearer\t[REDACTED]\r\n");
  // The same after JSON escaping: the tab is the two characters \t.
  EXPECT_EQ(RedactSecrets("\"authorization: Bearer\\tsecret-x1\""), "\"authorization: Bearer\\t[REDACTED]\"");
  // "bearer" without a separator is a word, not a header.
  EXPECT_EQ(RedactSecrets("grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&x=1"),
            "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&x=1");
}

TEST_F(RedactTest, PemPrivateKeyBlocksGo) {
  EXPECT_EQ(RedactSecrets("key: -----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\ndone"),
            "key: [REDACTED]\ndone");
  EXPECT_EQ(RedactSecrets("cut -----BEGIN RSA PRIVATE KEY-----\nMIIE"), "cut [REDACTED]");
  const std::string cert = "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----";
  EXPECT_EQ(RedactSecrets(cert), cert);
}

// The user information of a URL (a password in TARDIS_DATASETS_URL, a
// token as the user name) goes; an '@' after the host (a path, a query, an
// e-mail address in text) is no user information.
TEST_F(RedactTest, UrlUserInformationGoes) {
  EXPECT_EQ(RedactSecrets("HTTP 500 (http://user:SECRETPW@127.0.0.1:8080/v1/data-feeds/x?from=1)"),
            "HTTP 500 (http://[REDACTED]@127.0.0.1:8080/v1/data-feeds/x?from=1)");
  EXPECT_EQ(RedactSecrets("{\"url\":\"https://ghp_token1@host/a\"}"), "{\"url\":\"https://[REDACTED]@host/a\"}");
  EXPECT_EQ(RedactSecrets("a https://u:p@x, b http://v:q@y"), "a https://[REDACTED]@x, b http://[REDACTED]@y");
  for (const std::string kept : {"https://host/path@v2?by=me@example.com", "http://127.0.0.1:80/x#a@b",
                                  "mail ops@example.com about gs://bucket/a", "://@host"}) {
    EXPECT_EQ(RedactSecrets(kept), kept);
  }
}

TEST(ExitCode, OneMappingForEveryStatus) {
  EXPECT_EQ(ExitCodeFor(Status::OK()), kExitOk);
  EXPECT_EQ(ExitCodeFor(Status::Usage("bad flag")), kExitUsage);
  EXPECT_EQ(ExitCodeFor(Status::Cancelled("sigint")), kExitInterrupted);
  // Transient: a rerun may succeed.
  EXPECT_EQ(ExitCodeFor(Status::Unavailable("HTTP 503")), kExitRetryable);
  EXPECT_EQ(ExitCodeFor(Status::IOError("connection reset")), kExitRetryable);
  // Permanent: a rerun gives the same.
  EXPECT_EQ(ExitCodeFor(Status::InvalidInput("row 7")), kExitFailed);
  EXPECT_EQ(ExitCodeFor(Status::DataLoss("truncated gzip")), kExitFailed);
  EXPECT_EQ(ExitCodeFor(Status::NotFound("404")), kExitFailed);
  EXPECT_EQ(ExitCodeFor(Status::Permission("403")), kExitFailed);
  EXPECT_EQ(ExitCodeFor(Status::AlreadyExists("x")), kExitFailed);
  EXPECT_EQ(ExitCodeFor(Status::Internal("bug")), kExitFailed);
}

TEST(ExitCode, TheWorseOfTwo) {
  EXPECT_EQ(WorseExitCode(kExitOk, kExitRetryable), kExitRetryable);
  EXPECT_EQ(WorseExitCode(kExitRetryable, kExitFailed), kExitFailed);
  EXPECT_EQ(WorseExitCode(kExitFailed, kExitRetryable), kExitFailed);
  EXPECT_EQ(WorseExitCode(kExitUsage, kExitFailed), kExitUsage);
  EXPECT_EQ(WorseExitCode(kExitFailed, kExitInterrupted), kExitInterrupted);
}

}  // namespace
}  // namespace mt
