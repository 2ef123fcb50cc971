// The WritableObject of GcsStore: streaming upload, single request or
// resumable session (see gcs_store.h for the protocol and its guarantees).
#pragma once

#include <memory>
#include <string>

#include "storage/object_store.h"

namespace mt::storage {

class GcsStore;

// `full_name` is the object's name in the bucket (prefix included).
std::unique_ptr<WritableObject> NewGcsUpload(GcsStore* store, std::string full_name, bool overwrite);
// A conditional upload: the object is made only if its live generation is
// still `if_generation` (0: only if there is none), else Commit gives
// kAlreadyExists (the server's 412).
std::unique_ptr<WritableObject> NewGcsUploadIfGeneration(GcsStore* store, std::string full_name,
                                                        int64_t if_generation);

}  // namespace mt::storage
