// A GcsStore configured from the environment (README.md, Configuration): endpoint and
// credentials (STORAGE_EMULATOR_HOST > GOOGLE_APPLICATION_CREDENTIALS >
// metadata server), upload chunking and retries.
#pragma once

#include <memory>
#include <string>

#include "cli/commands.h"
#include "storage/gcs_store.h"

namespace mt::cli {

// `uri` is gs://bucket[/prefix]. Checks the credential once (a token is
// fetched) so that a missing one fails before any work starts.
//
// Settings read: STORAGE_EMULATOR_HOST, GCS_ENDPOINT (another JSON API base
// URL, with auth), GOOGLE_APPLICATION_CREDENTIALS, GCE_METADATA_HOST,
// GCS_CHUNK_SIZE (bytes, or with a K/M suffix for KiB/MiB; a multiple of
// 256 KiB; default 8M), GCS_RESUMABLE_THRESHOLD (bytes; default: the chunk
// size), GCS_LIST_PAGE_SIZE, and the RETRY_* settings.
Result<std::unique_ptr<storage::GcsStore>> OpenGcsStore(const std::string& uri, const Context& ctx);

}  // namespace mt::cli
